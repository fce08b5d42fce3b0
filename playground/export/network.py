"""The network of an exported PyTorch script: the trainer's blocks as torch modules, its
arrays under their ``state_dict`` keys, the optimizer and its state in torch.optim's terms.

Built from ``Trainer.plan.layers`` (``engine/blocks``), so every block kind is exported the
same way whatever built it (the spec, or ``Trainer(layers=...)``). Between blocks the script
reshapes as the engine reads its flat activations: a dense layer reads a flat vector (an
``nn.Flatten`` first if the previous block gave images or sequences), a convolution, pooling
or recurrent block reads its ``in_shape`` (an ``nn.Unflatten``). Torch's flat parameter order
(``order``) differs from theta's only in the dense weights, stored transposed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from playground.engine import codes as C
from playground.engine.activations import BY_CODE
from playground.engine.blocks.registry import P_BOFF
from playground.errors import PlaygroundError


class ExportError(PlaygroundError):
    """The experiment cannot be exported as asked (the message says why)."""


# torch module of each activation (by the registry's name); None: nothing to apply
ACTIVATION_SOURCE = {
    "linear": None,
    "sigmoid": "nn.Sigmoid()",
    "tanh": "nn.Tanh()",
    "relu": "nn.ReLU()",
    "leaky_relu": "nn.LeakyReLU({slope!r})",
    "elu": "nn.ELU()",
    "gelu": "nn.GELU()",
    "softplus": "nn.Softplus()",
    "sine": "Sine()",
    "softmax": "nn.Softmax(dim=1)",
}
# the data loss of the outputs' pre-activations z and activations a ('mean' reductions)
LOSS_SOURCE = {
    "mse": "F.mse_loss(a, Y)",
    "mae": "F.l1_loss(a, Y)",
    "huber": "F.huber_loss(a, Y, delta=HUBER_DELTA)",
    "bce": "F.binary_cross_entropy_with_logits(z, Y)",
    "cce": "F.cross_entropy(z, Y)  # Y: class probabilities (one-hot)",
    "kl_div": 'F.kl_div(F.log_softmax(z, dim=1), Y, reduction="batchmean")',
    "hinge": (
        "torch.clamp(1 - Y * a, min=0).mean() if Y.shape[1] == 1 else F.multi_margin_loss(a, Y.argmax(dim=1))"
    ),
}
OPTIMIZER_CLASS = {
    "sgd": "SGD",
    "momentum": "SGD",
    "nesterov": "SGD",
    "adagrad": "Adagrad",
    "rmsprop": "RMSprop",
    "adam": "Adam",
    "adamw": "AdamW",
    "lbfgs": "LBFGS",
}
BLOCK_KINDS = ("dense", "conv2d", "maxpool2d", "avgpool2d", "flatten", "rnn", "lstm", "gru")


@dataclass
class Module:
    source: str  # the constructor, as written in the script
    comment: str = ""
    keys: tuple[str, ...] = ()  # state_dict keys of the block's arrays, in theta order


# --------------------------------------------------------------------------- the network


def _act_source(code: int, slope: float) -> str | None:
    name = BY_CODE[int(code)].name
    if name not in ACTIVATION_SOURCE:
        raise ExportError(f"the activation {name!r} has no PyTorch export yet")
    src = ACTIVATION_SOURCE[name]
    return None if src is None else src.format(slope=float(slope))


def _needs(layer) -> tuple[int, ...] | None:
    """The per-sample shape a block reads (None: a flat vector)."""
    if layer.kind in ("conv2d", "maxpool2d", "avgpool2d", "rnn", "lstm", "gru"):
        return tuple(int(v) for v in layer.in_shape)
    return None


def _gives(layer) -> tuple[int, ...]:
    if layer.kind in ("conv2d", "maxpool2d", "avgpool2d"):
        return tuple(int(v) for v in layer.out_shape)
    if layer.kind in ("rnn", "lstm", "gru") and layer.return_sequences:
        return (int(layer.in_shape[0]), int(layer.units))
    return (int(layer.n_out),)


def _reshape(cur: tuple[int, ...], need: tuple[int, ...] | None) -> list[Module]:
    if need is None:
        return [Module("nn.Flatten()")] if len(cur) > 1 else []
    if cur == need:
        return []
    mods = [Module("nn.Flatten()")] if len(cur) > 1 else []
    return mods + [Module(f"nn.Unflatten(1, {need!r})")]


def _block(layer, index: int) -> list[Module]:
    """The torch module(s) of one engine block; ``index``: its position in nn.Sequential."""
    kind = layer.kind
    if kind == "dense":
        keys = (f"layers.{index}.weight", f"layers.{index}.bias")
        return [Module(f"nn.Linear({layer.n_in}, {layer.n_out})", "", keys)]
    if kind == "conv2d":
        cin, h, w = layer.in_shape
        cout, ho, wo = layer.out_shape
        k, s, pad = int(layer.kernel), int(layer.stride), int(layer.pad)
        after_h = max(0, (ho - 1) * s + k - h - pad)  # torch's 'same' pads the extra one after
        after_w = max(0, (wo - 1) * s + k - w - pad)
        keys = (f"layers.{index}.weight",) + ((f"layers.{index}.bias",) if layer.bias else ())
        bias = "" if layer.bias else ", bias=False"
        if after_h == after_w == pad:
            return [Module(f"nn.Conv2d({cin}, {cout}, {k}, stride={s}, padding={pad}{bias})", "", keys)]
        keys = tuple(key.replace(f"layers.{index}.", f"layers.{index + 1}.") for key in keys)
        return [
            Module(f"nn.ZeroPad2d(({pad}, {after_w}, {pad}, {after_h}))"),
            Module(f"nn.Conv2d({cin}, {cout}, {k}, stride={s}{bias})", "", keys),
        ]
    if kind in ("maxpool2d", "avgpool2d"):
        cls = "MaxPool2d" if kind == "maxpool2d" else "AvgPool2d"
        return [Module(f"nn.{cls}({int(layer.kernel)}, stride={int(layer.stride)})")]
    if kind == "flatten":
        return [Module("nn.Flatten()")]
    if kind in ("rnn", "lstm", "gru"):
        T, feats = layer.in_shape
        args = f"{kind!r}, {feats}, {layer.units}"
        if layer.return_sequences:
            args += ", return_sequences=True"
        if layer.bptt:
            args += f", bptt={int(layer.bptt)}"
        if kind == "rnn":
            args += f", nonlinearity={'relu' if layer.cell_activation == C.RELU else 'tanh'!r}"
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        return [Module(f"Recurrent({args})", "", tuple(f"layers.{index}.cell.{n}_l0" for n in names))]
    raise ExportError(f"the layer kind {kind!r} has no PyTorch export yet")


def network_modules(layers, input_shape) -> tuple[list[Module], list[tuple[int, tuple[str, ...]]], str]:
    """(modules of nn.Sequential, [(block index, its state_dict keys)] for blocks with
    arrays, the output activation's module) for the trainer's blocks."""
    mods: list[Module] = []
    keyed: list[tuple[int, tuple[str, ...]]] = []
    cur = tuple(int(v) for v in input_shape)
    last = len(layers) - 1
    for l, layer in enumerate(layers):
        mods += _reshape(cur, _needs(layer)) if layer.kind != "flatten" else []
        block = _block(layer, len(mods))
        mods += block
        keys = tuple(k for m in block for k in m.keys)
        if keys:
            keyed.append((l, keys))
        cur = _gives(layer)
        block[-1].comment = f"block {l}: {layer.kind}, output {' x '.join(map(str, cur))}"
        if l == last:
            break
        act = _act_source(layer.activation, layer.slope)
        if act is not None:
            mods.append(Module(act))
        if layer.dropout > 0:
            mods.append(Module(f"StepDropout({float(layer.dropout)!r}, {l})"))
    if layers[last].kind != "dense":
        raise ExportError("the network must end with a dense output layer")
    out = _act_source(layers[last].activation, 0.0) or "nn.Identity()"
    return mods, keyed, out


def torch_arrays(trainer, keyed) -> tuple[dict[str, np.ndarray], list[str], list, np.ndarray]:
    """The weights by state_dict key in torch's shapes; the keys of the penalised weights
    (not biases); [(key, theta index of each value in torch's shape)]; and ``order``, the
    theta index of each value of torch's flat parameter vector (L-BFGS's state)."""
    plan, theta = trainer.plan, trainer.theta
    out: dict[str, np.ndarray] = {}
    penalised: list[str] = []
    where = []
    for l, keys in keyed:
        arrays = plan.arrays[l]
        boff = int(plan.ints[l, P_BOFF])
        if len(keys) != len(arrays):
            raise ExportError(
                f"block {l} ({plan.layers[l].kind}) has {len(arrays)} arrays, expected {len(keys)}"
            )
        for key, (_, shape, off) in zip(keys, arrays, strict=True):
            idx = np.arange(off, off + int(np.prod(shape))).reshape(shape)
            if plan.layers[l].kind == "dense" and len(shape) == 2:
                idx = idx.T  # our W is (fan_in, fan_out); torch's Linear.weight is (out, in)
            out[key] = np.ascontiguousarray(theta[idx])
            where.append((key, idx))
            if off < boff:
                penalised.append(key)
    order = np.concatenate([idx.ravel() for _, idx in where]) if where else np.zeros(0, dtype=np.int64)
    if not np.array_equal(np.sort(order), np.arange(trainer.layout.n_params)):
        raise ExportError("the exported arrays do not cover the network's parameters exactly once")
    return out, penalised, where, order


def optimizer_state(trainer, where, order: np.ndarray) -> dict:
    """torch.optim's state of each parameter from the trainer's (empty before the first step)."""
    tr = trainer.spec.training
    name, r = tr.optimizer.name, tr.optimizer.resolved()
    out: dict[str, np.ndarray] = {}
    if trainer.opt_t == 0:
        return out
    if name == "lbfgs":
        if trainer.lbfgs is None:  # no history kept: torch starts a fresh one too
            return out
        s = trainer.lbfgs.to_arrays()
        for k, v in s.items():
            if k in ("old_dirs", "old_stps"):
                v = v[:, order] if v.shape[0] else np.zeros((0, len(order)))
            elif k in ("d", "prev_flat_grad") and v.size:
                v = v[order]
            out[f"optimizer/lbfgs/{k}"] = v
        return out
    slots = {
        "sgd": [(0, "momentum_buffer")] if r.get("momentum", 0.0) != 0.0 else [],
        "adagrad": [(0, "sum")],
        "rmsprop": [(0, "square_avg")]
        + ([(1, "grad_avg")] if r.get("centered") else [])
        + ([(2, "momentum_buffer")] if r.get("momentum", 0.0) > 0 else []),
        "adam": [(0, "exp_avg"), (1, "exp_avg_sq")] + ([(2, "max_exp_avg_sq")] if r.get("amsgrad") else []),
    }
    slots["momentum"] = slots["nesterov"] = slots["sgd"]
    slots["adamw"] = slots["adam"]
    for key, idx in where:
        for row, slot in slots[name]:
            out[f"optimizer/{slot}/{key}"] = np.ascontiguousarray(trainer.opt_state[row][idx])
        if name not in ("sgd", "momentum", "nesterov"):
            out[f"optimizer/step/{key}"] = np.array(float(trainer.opt_t))
    return out


def optimizer_source(trainer) -> str:
    tr = trainer.spec.training
    name, r = tr.optimizer.name, dict(tr.optimizer.resolved())
    if name not in OPTIMIZER_CLASS:
        raise ExportError(f"the optimizer {name!r} has no PyTorch export yet")
    if "betas" in r:
        r["betas"] = tuple(float(b) for b in r["betas"])
    if name == "lbfgs":
        r["line_search_fn"] = "strong_wolfe"
    args = ["module.parameters()"] + [f"{k}={v!r}" for k, v in r.items()]
    call = f"torch.optim.{OPTIMIZER_CLASS[name]}({', '.join(args)})"
    if len(call) <= 90:
        return call
    inner = "".join(f"        {a},\n" for a in args)
    return f"torch.optim.{OPTIMIZER_CLASS[name]}(\n{inner}    )"
