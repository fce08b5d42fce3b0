"""Check the convolution and pooling blocks against PyTorch (a script, not a test: the
product and its suite never need torch).

Two steps, because torch lives in its own venv:

    .venv/bin/python benchmarks/check_torch_blocks.py dump /tmp/blocks.npz
    ~/torch-venv/bin/python benchmarks/check_torch_blocks.py check /tmp/blocks.npz

``dump`` builds W4's network (shared/BENCHMARKS.md) and a few variants (stride, valid and
even-kernel same padding, average pooling, no bias), runs one batch, and saves weights,
data, outputs, the loss, the gradient, and the parameters after 5 Adam steps; and recurrent
networks (rnn, lstm, gru; last step or every step; truncated backpropagation through time)
with their outputs, loss and gradient. ``check`` rebuilds each network in torch with those
weights and compares (float64).
"""

from __future__ import annotations

import sys

import numpy as np

CONV = {"kind": "conv2d", "activation": "relu"}
NETS = {
    "W4": [
        {**CONV, "filters": 8, "kernel_size": 3, "padding": "same"},
        {"kind": "maxpool2d", "size": 2},
        {**CONV, "filters": 16, "kernel_size": 3, "padding": "same"},
        {"kind": "maxpool2d", "size": 2},
        {"kind": "flatten"},
    ],
    "strided valid, avg pool, no bias": [
        {**CONV, "filters": 4, "kernel_size": 3, "stride": 2, "bias": False, "activation": "tanh"},
        {"kind": "avgpool2d", "size": 2, "stride": 1},
    ],
    "even kernel same, overlapping max": [
        {**CONV, "filters": 5, "kernel_size": 2, "padding": "same"},
        {"kind": "maxpool2d", "size": 3, "stride": 2},
        {"kind": "dense", "units": 7, "activation": "tanh"},
    ],
}


def dump(path: str) -> None:
    from playground.engine.trainer import Trainer
    from playground.spec import ExperimentSpec

    rng = np.random.default_rng(0)
    X = rng.random((32, 1, 8, 8))
    y = rng.integers(0, 10, 32)
    Y = np.eye(10)[y]
    out = {"X": X, "y": y}
    for i, hidden in enumerate(NETS.values()):
        spec = ExperimentSpec.from_dict(
            {
                "data": {"kind": "image", "name": "digits"},
                "network": {"hidden": hidden, "output_activation": "softmax", "init": "torch_default",
                            "bias_init": "torch_default"},
                "training": {"loss": "cce", "batch_size": 32, "optimizer": {"name": "adam", "lr": 1e-3}},
            }
        )  # fmt: skip
        tr = Trainer(spec, (1, 8, 8), 10, X, Y)
        arrays = [(n, shape, off) for a in tr.plan.arrays for (n, shape, off) in a]
        out[f"{i}/theta"] = tr.theta.copy()
        out[f"{i}/layout"] = np.array([[off, int(np.prod(shape))] for _, shape, off in arrays])
        out[f"{i}/pred"] = tr.predict(X)
        lv, g = tr.loss_and_grad()
        out[f"{i}/loss"], out[f"{i}/grad"] = np.array(lv), g
        tr.run(5)
        out[f"{i}/theta5"] = tr.theta.copy()
    _dump_recurrent(out)
    np.savez(path, **out)
    print(f"wrote {path}")


RECURRENT = [("rnn", False, 0), ("lstm", False, 0), ("gru", False, 0), ("lstm", True, 0), ("gru", True, 0),
             ("lstm", False, 2), ("gru", False, 4)]  # fmt: skip
T, F, H = 6, 2, 4


def _dump_recurrent(out: dict) -> None:
    from playground.engine import codes as C
    from playground.engine.blocks import Layer
    from playground.engine.trainer import Trainer
    from playground.spec import ExperimentSpec

    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(9, T, F)), rng.normal(size=(9, 2))
    out["rX"], out["rY"] = X, Y
    spec = ExperimentSpec.from_dict(
        {"network": {"output_activation": "linear", "init": "torch_default", "bias_init": "torch_default"},
         "training": {"loss": "mse", "batch_size": 9}}
    )  # fmt: skip
    for j, (kind, retseq, bptt) in enumerate(RECURRENT):
        n = T * H if retseq else H
        layers = [
            Layer(kind, T * F, n, C.LINEAR, in_shape=(T, F), units=H, return_sequences=retseq, bptt=bptt)
        ]
        layers += [Layer("flatten", n, n, C.LINEAR)] if retseq else []
        layers += [Layer("dense", n, 2, C.LINEAR)]
        tr = Trainer(spec, (T, F), 2, X, Y, layers=layers)
        lv, g = tr.loss_and_grad()
        out[f"r{j}/theta"], out[f"r{j}/grad"], out[f"r{j}/loss"] = tr.theta.copy(), g, np.array(lv)
        out[f"r{j}/pred"] = tr.predict(X)


def _check_recurrent(d) -> float:
    import torch

    X, Y = torch.tensor(d["rX"]), torch.tensor(d["rY"])
    worst = 0.0
    for j, (kind, retseq, bptt) in enumerate(RECURRENT):
        cell = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](F, H, batch_first=True)
        lin = torch.nn.Linear(T * H if retseq else H, 2)
        arrays = [cell.weight_ih_l0, cell.weight_hh_l0, cell.bias_ih_l0, cell.bias_hh_l0]
        theta, off = d[f"r{j}/theta"], 0
        with torch.no_grad():
            for p in arrays:
                p.copy_(torch.tensor(theta[off : off + p.numel()].reshape(p.shape)))
                off += p.numel()
            lin.weight.copy_(
                torch.tensor(theta[off : off + lin.weight.numel()].reshape(lin.weight.shape[::-1]).T)
            )
            lin.bias.copy_(torch.tensor(theta[off + lin.weight.numel() :]))
        if bptt:  # chunks of bptt steps counted from the end, the state detached between them
            edges = sorted({max(T - i * bptt, 0) for i in range(T // bptt + 2)})
            state = None
            for a0, a1 in zip(edges[:-1], edges[1:], strict=True):
                o, state = cell(X[:, a0:a1], state)
                state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
            last = o[:, -1]
        else:
            o, _ = cell(X)
            last = o.reshape(len(X), -1) if retseq else o[:, -1]
        pred = lin(last)
        loss = torch.nn.functional.mse_loss(pred, Y)
        loss.backward()
        grad = np.concatenate([p.grad.numpy().ravel() for p in arrays] + [lin.weight.grad.T.numpy().ravel(),
                               lin.bias.grad.numpy()])  # fmt: skip
        errs = {
            "predictions": np.abs(pred.detach().numpy() - d[f"r{j}/pred"]).max(),
            "loss": abs(loss.item() - float(d[f"r{j}/loss"])),
            "gradient": np.abs(grad - d[f"r{j}/grad"]).max(),
        }
        worst = max(worst, *errs.values())
        name = f"{kind} {'every step' if retseq else 'last step'}" + (f", bptt {bptt}" if bptt else "")
        print(f"{name:36s} " + "  ".join(f"{k} {v:.1e}" for k, v in errs.items()))
    return worst


def _torch_net(hidden):
    import torch.nn as nn

    layers, c, h, w, flat = [], 1, 8, 8, None
    for layer in hidden:
        kind = layer["kind"]
        if kind == "conv2d":
            k, s = layer["kernel_size"], layer.get("stride", 1)
            pad = "same" if layer.get("padding") == "same" else 0
            layers += [nn.Conv2d(c, layer["filters"], k, s, padding=pad, bias=layer.get("bias", True))]
            layers += [nn.ReLU() if layer["activation"] == "relu" else nn.Tanh()]
            c = layer["filters"]
            if pad == 0:
                h, w = (h - k) // s + 1, (w - k) // s + 1
        elif kind in ("maxpool2d", "avgpool2d"):
            k, s = layer["size"], layer.get("stride", layer["size"])
            layers += [(nn.MaxPool2d if kind == "maxpool2d" else nn.AvgPool2d)(k, s)]
            h, w = (h - k) // s + 1, (w - k) // s + 1
        elif kind == "flatten":
            layers += [nn.Flatten()]
            flat = c * h * w
        else:
            if flat is None:
                layers += [nn.Flatten()]
                flat = c * h * w
            layers += [nn.Linear(flat, layer["units"]), nn.Tanh()]
            flat = layer["units"]
    if flat is None:
        layers += [nn.Flatten()]
        flat = c * h * w
    layers += [nn.Linear(flat, 10)]
    return nn.Sequential(*layers)


def check(path: str) -> int:
    import torch

    torch.set_default_dtype(torch.float64)
    d = np.load(path)
    X, y = torch.tensor(d["X"]), torch.tensor(d["y"])
    worst = 0.0
    for i, (name, hidden) in enumerate(NETS.items()):
        net = _torch_net(hidden)
        params = list(net.parameters())
        theta, lay = d[f"{i}/theta"], d[f"{i}/layout"]
        with torch.no_grad():
            for p, (off, size) in zip(params, lay, strict=True):
                v = theta[off : off + size]
                # our dense W is (fan_in, fan_out): torch's Linear weight is its transpose
                p.copy_(torch.tensor(v.reshape(p.shape[::-1]).T if p.ndim == 2 else v.reshape(p.shape)))
        logits = net(X)
        loss = torch.nn.functional.cross_entropy(logits, y)
        loss.backward()
        grad = np.concatenate(
            [(p.grad.T if p.ndim == 2 else p.grad).detach().numpy().ravel() for p in params]
        )
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        for _ in range(5):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(X), y).backward()
            opt.step()
        theta5 = np.concatenate(
            [(p.T if p.ndim == 2 else p).detach().numpy().ravel() for p in net.parameters()]
        )
        errs = {
            "predictions": np.abs(torch.softmax(logits, 1).detach().numpy() - d[f"{i}/pred"]).max(),
            "loss": abs(loss.item() - float(d[f"{i}/loss"])),
            "gradient": np.abs(grad - d[f"{i}/grad"]).max(),
            "after 5 Adam steps": np.abs(theta5 - d[f"{i}/theta5"]).max(),
        }
        worst = max(worst, *errs.values())
        print(f"{name:36s} " + "  ".join(f"{k} {v:.1e}" for k, v in errs.items()))
    worst = max(worst, _check_recurrent(d))
    print("max abs difference", f"{worst:.1e}")
    return 0 if worst < 1e-9 else 1


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("dump", "check"):
        sys.exit(__doc__)
    sys.exit(dump(sys.argv[2]) if sys.argv[1] == "dump" else check(sys.argv[2]))
