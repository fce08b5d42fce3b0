"""The fixed parts of an exported PyTorch script (``pytorch.py`` writes the rest).

The script has two halves. Everything between the ``# <numpy>`` and ``# </numpy>`` markers
needs numpy only: the feature pipeline (``prepare_array``), the targets, the data file, the
learning-rate schedule, the batch order and the dropout masks, each a port of the engine's
definition (``data/dataset.py``, ``data/toy.py``, ``engine/losses.py``,
``engine/schedules.py``, ``engine/rng.py``). The tests execute that half without torch and
hold it to the engine. The torch half builds the model, loads the weights and the
optimizer state and continues training.

Names the generated part defines before NUMPY_PART: the constants listed in
``pytorch.CONSTANTS``. Names it defines between NUMPY_PART and TORCH_PART: none; after
TORCH_PART it adds the ``Network`` class, ``data_loss``, ``make_optimizer`` and ``main``.
"""

from __future__ import annotations

# Toy input features: the same formulas as data/toy.py FEATURE_TRANSFORMS (a test holds
# every registry entry to this table).
TRANSFORM_SOURCE = {
    "x1": "lambda R: R[:, 0]",
    "x2": "lambda R: R[:, 1]",
    "x1^2": "lambda R: R[:, 0] ** 2",
    "x2^2": "lambda R: R[:, 1] ** 2",
    "x1*x2": "lambda R: R[:, 0] * R[:, 1]",
    "sin(x1)": "lambda R: np.sin(R[:, 0])",
    "sin(x2)": "lambda R: np.sin(R[:, 1])",
}

NUMPY_PART = '''
M64 = (1 << 64) - 1
MISSING = {"", "NA", "NaN", "nan", "?", "null", "None"}  # what the app's CSV reader reads as missing


def _shown(names, limit=8):
    more = f", ... ({len(names)} in all)" if len(names) > limit else ""
    return ", ".join(map(repr, names[:limit])) + more


def _columns(X):
    """X as a list of 1-D arrays, one per RAW_COLUMNS entry: X is a mapping of column name ->
    values (a dict, a pandas DataFrame) or rows of the columns in RAW_COLUMNS order."""
    if hasattr(X, "keys"):
        missing = [c for c in RAW_COLUMNS if c not in X]
        if missing:
            raise ValueError(f"prepare: no column {missing[0]!r}; the model takes {_shown(RAW_COLUMNS)}")
        cols = [np.asarray(X[c]).reshape(-1) for c in RAW_COLUMNS]
        if len({len(c) for c in cols}) > 1:
            raise ValueError("prepare: the columns have different lengths")
        return cols
    A = np.asarray(X)
    if A.ndim == 1 and len(RAW_COLUMNS) == 1:
        A = A.reshape(-1, 1)
    if A.ndim != 2 or A.shape[1] != len(RAW_COLUMNS):
        raise ValueError(
            f"prepare: X must be (n, {len(RAW_COLUMNS)}), one column each of {_shown(RAW_COLUMNS)} "
            f"(or a mapping of column names to values), got shape {A.shape}"
        )
    return [A[:, j] for j in range(A.shape[1])]


def _number(values, name):
    if values.dtype.kind in "fiub":
        v = values.astype(np.float64)
    else:
        v = np.empty(len(values))
        for i, s in enumerate(values):
            if str(s).strip() in MISSING:
                raise ValueError(f"prepare: column {name!r}, row {i + 1}: the value is missing ({str(s)!r})")
            try:
                v[i] = float(s)
            except (TypeError, ValueError):
                where = f"column {name!r}, row {i + 1}"
                raise ValueError(f"prepare: {where}: {str(s)!r} is not a number") from None
    bad = ~np.isfinite(v)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"prepare: column {name!r}, row {i + 1}: {v[i]} is not a finite number")
    return v


def _one_hot(values, name, categories):
    values = np.asarray(values).astype(str)
    unknown = sorted(set(values.tolist()) - set(categories))
    if unknown:
        raise ValueError(
            f"prepare: column {name!r}: {unknown[0]!r} was not seen in training; known values: "
            f"{_shown(categories)}"
        )
    return [(values == c).astype(np.float64) for c in categories]


def _normalize(F):
    """(features - OFFSET) / SCALE with the constants fitted on the training split."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = (F - OFFSET) / SCALE
        bad = ~np.isfinite(out) & np.isfinite(F)
        if bad.any():  # F - OFFSET overflowed (huge values): divide first, as the app does
            cols = bad.any(axis=0)
            out[:, cols] = F[:, cols] / SCALE[cols] - OFFSET[cols] / SCALE[cols]
    return out


def prepare_array(X):
    """Raw inputs, as in the data file, -> the float64 array the model takes (n, *INPUT_SHAPE)."""
    size = int(np.prod(INPUT_SHAPE))
    if ARRAYS:
        A = np.asarray(X, dtype=np.float64)
        if A.ndim < 2 or int(np.prod(A.shape[1:])) != size:
            raise ValueError(
                f"prepare: X must be (n, {', '.join(map(str, INPUT_SHAPE))}) arrays or (n, {size}) rows, "
                f"got shape {A.shape}"
            )
        F = A.reshape(len(A), size) / PIXEL_SCALE
    else:
        cols = _columns(X)
        parts = []
        for (name, categories), col in zip(ENCODING, cols):
            if categories is None:
                parts.append(_number(col, name))
            else:
                parts.extend(_one_hot(col, name, categories))
        F = np.column_stack(parts) if parts else np.empty((len(cols[0]), 0))
        if TRANSFORMS:
            F = np.column_stack([FEATURES[t](F) for t in TRANSFORMS]).astype(np.float64, copy=False)
    if F.shape[1] != size:
        raise ValueError(f"prepare: the inputs give {F.shape[1]} features, the model takes {size}")
    return _normalize(F).reshape((len(F),) + tuple(INPUT_SHAPE))


def encode_targets(y):
    """Class indices (classification) or values (regression) -> the target matrix the loss
    compares the outputs with (0/1, or -1/+1 for hinge and tanh; one-hot for several outputs)."""
    if TASK == "regression":
        return np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    y = np.asarray(y, dtype=np.int64)
    if N_OUT == 1:
        pos = (y == 1).astype(np.float64)[:, None]
        return 2.0 * pos - 1.0 if (LOSS == "hinge" or OUTPUT == "tanh") else pos
    onehot = np.zeros((len(y), N_OUT))
    onehot[np.arange(len(y)), y] = 1.0
    return 2.0 * onehot - 1.0 if (OUTPUT == "tanh" and LOSS != "hinge") else onehot


def load_data(path=None):
    """The rows the app trained and tested on, as in the data file, and their labels:
    (X_train, y_train, X_test, y_test); X as prepare() takes it."""
    with np.load(path or DATA_FILE, allow_pickle=False) as d:
        out = []
        for part in ("train", "test"):
            if ARRAYS:
                X = d[f"{part}/X"]
            else:
                cols = [d[f"{part}/{j}"] for j in range(len(RAW_COLUMNS))]
                if all(c.dtype.kind == "f" for c in cols):
                    X = np.column_stack(cols) if cols else np.empty((0, 0))
                else:
                    X = dict(zip(RAW_COLUMNS, cols))
            out += [X, d[f"{part}/y"]]
    return tuple(out)


def read_csv(path, delimiter=None):
    """More rows of a CSV file like the one the app read: {column name: list of text values}
    (prepare() accepts it). Columns without a header are named "column 1", "column 2", ..."""
    import csv

    with open(path, newline="", encoding="utf-8-sig") as f:
        lines = list(csv.reader(f, delimiter=delimiter or CSV_DELIMITER))[CSV_SKIP_LINES:]
    lines = [r for r in lines if any(cell.strip() for cell in r)]
    if CSV_HEADER:
        header, lines = [c.strip() for c in lines[0]], lines[1:]
    else:
        header = [f"column {j + 1}" for j in range(max(map(len, lines), default=0))]
    return {name: [r[j].strip() if j < len(r) else "" for r in lines] for j, name in enumerate(header)}


def learning_rate(step):
    """The schedule's learning rate at optimizer step ``step`` (0 = the first): torch's StepLR,
    ExponentialLR, CosineAnnealingLR (held at eta_min past t_max) in closed form, counted in
    steps or whole epochs, times a linear warm-up (t + 1) / warmup while t < warmup."""
    s = SCHEDULE
    t = step if s["unit"] == "step" else step // STEPS_PER_EPOCH
    kind = s["kind"]
    if kind == "constant":
        lr = LR
    elif kind == "step":
        lr = LR * s["gamma"] ** (t // s["step_size"])
    elif kind == "exponential":
        lr = LR * s["gamma"] ** t
    elif kind == "cosine":
        cos = math.cos(math.pi * min(t, s["t_max"]) / s["t_max"])
        lr = s["eta_min"] + (LR - s["eta_min"]) * (1.0 + cos) / 2.0
    else:
        raise ValueError(f"unknown schedule {kind!r}")
    if s["warmup"] > 0:
        lr *= min((t + 1.0) / s["warmup"], 1.0)
    return lr


def splitmix64(x):
    """The app's counter-based random numbers (splitmix64), on Python ints."""
    z = (x + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def epoch_order(epoch, n):
    """The order the app visits the n training rows in during ``epoch`` (Fisher-Yates keyed by
    the seed and the epoch)."""
    perm = list(range(n))
    h = splitmix64(SHUFFLE_KEY ^ splitmix64(epoch))
    for i in range(n - 1, 0, -1):
        h = splitmix64(h)
        j = h % (i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    return np.asarray(perm, dtype=np.int64)


_ORDER = {}


def batch_rows(step, n):
    """Indices of the training rows of optimizer step ``step``: mini-batches of BATCH_SIZE in
    a new order every epoch, the last one of an epoch smaller; all rows in order when the
    batch holds them all."""
    b = min(BATCH_SIZE, n)
    spe = -(-n // b)
    epoch, k = divmod(step, spe)
    if b >= n:
        order = np.arange(n, dtype=np.int64)
    else:
        if _ORDER.get("key") != (epoch, n):
            _ORDER.update(key=(epoch, n), order=epoch_order(epoch, n))
        order = _ORDER["order"]
    return order[k * b : k * b + b]


def dropout_uniform(step, layer, rows, units):
    """The uniform draws behind the app's dropout masks: one per (row of the batch, unit) of
    block ``layer`` at optimizer step ``step``."""
    base = np.uint64(splitmix64(DROPOUT_KEY ^ splitmix64(step)))
    r = np.asarray(rows, dtype=np.uint64)[:, None] << np.uint64(24)
    u = np.arange(units, dtype=np.uint64)[None, :]
    with np.errstate(over="ignore"):
        z = base + ((np.uint64(layer) << np.uint64(48)) + r + u) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def dropout_mask(step, layer, rows, units, p):
    """Inverted dropout: 1 / (1 - p) where the draw is >= p, else 0."""
    return np.where(dropout_uniform(step, layer, rows, units) >= p, 1.0 / (1.0 - p), 0.0)
'''

TORCH_PART = '''
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402,N812
from torch import nn  # noqa: E402

DTYPE = getattr(torch, DTYPE_NAME)
CLOCK = {"step": STEP}  # the optimizer step the dropout masks are drawn for


class Sine(nn.Module):
    def forward(self, x):
        return torch.sin(x)


class StepDropout(nn.Module):
    """torch.nn.Dropout(p) with the app's masks (a function of the seed, the step, the block,
    the row of the batch and the unit), so a continued run drops the same units; identity in
    eval mode."""

    def __init__(self, p, layer):
        super().__init__()
        self.p, self.layer = p, layer

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        rows = np.arange(x.shape[0]) % CHUNK
        mask = dropout_mask(CLOCK["step"], self.layer, rows, x[0].numel(), self.p)
        return x * torch.as_tensor(mask, dtype=x.dtype).reshape(x.shape)

    def extra_repr(self):
        return f"p={self.p}, layer={self.layer}"


class Recurrent(nn.Module):
    """One torch.nn.RNN / LSTM / GRU layer (batch_first, zero initial state) giving the last
    step's hidden state or, with return_sequences, every step's. With bptt = k > 0 training
    backpropagates through time in chunks of k steps counted from the end (the state is
    detached between them); inference runs the whole sequence."""

    def __init__(self, kind, features, units, return_sequences=False, bptt=0, nonlinearity="tanh"):
        super().__init__()
        cell = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
        kw = {"nonlinearity": nonlinearity} if kind == "rnn" else {}
        self.cell = cell(features, units, batch_first=True, **kw)
        self.return_sequences, self.bptt = return_sequences, bptt

    def forward(self, x):
        T, k = x.shape[1], self.bptt
        if self.training and 0 < k < T:
            edges = sorted({max(T - i * k, 0) for i in range(T // k + 2)})
            outs, state = [], None
            for a, b in zip(edges[:-1], edges[1:]):
                if state is not None:
                    state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
                o, state = self.cell(x[:, a:b], state)
                outs.append(o)
            o = torch.cat(outs, dim=1)
        else:
            o, _ = self.cell(x)
        return o if self.return_sequences else o[:, -1]
'''

RUN_PART = '''

def load_weights(module, path=None):
    """The trained weights from the .npz beside this script (plain arrays, no pickle)."""
    with np.load(path or WEIGHTS_FILE, allow_pickle=False) as w:
        state = {k: torch.tensor(w[k], dtype=DTYPE) for k in module.state_dict()}
    module.load_state_dict(state)


def prepare(X):
    """Raw input columns, as in the data file, -> the tensor model() takes."""
    return torch.as_tensor(prepare_array(X), dtype=DTYPE)


model = Network().to(DTYPE)
load_weights(model)
model.eval()


def penalty():
    """The L1 / L2 penalty of the weights (not the biases), added to the loss for the gradient
    only: the printed loss is the data loss, as in the app."""
    if REGULARIZATION == "none" or RATE == 0:
        return 0.0
    params = dict(model.named_parameters())
    if REGULARIZATION == "l1":
        return RATE * sum(params[n].abs().sum() for n in PENALISED)
    return 0.5 * RATE * sum((params[n] ** 2).sum() for n in PENALISED)


def load_optimizer_state(optimizer, path=None):
    """The app's optimizer state (moments, step counts), so training continues exactly."""
    params = dict(model.named_parameters())
    with np.load(path or WEIGHTS_FILE, allow_pickle=False) as w:
        keys = [k for k in w.files if k.startswith("optimizer/")]
        if OPTIMIZER == "lbfgs":
            if keys:
                _load_lbfgs_state(optimizer, {k.split("/", 2)[2]: w[k] for k in keys})
            return
        for key in keys:
            _, slot, name = key.split("/", 2)
            value = w[key]
            if slot == "step":
                optimizer.state[params[name]][slot] = torch.tensor(float(value))
            else:
                optimizer.state[params[name]][slot] = torch.tensor(value, dtype=DTYPE)


def _load_lbfgs_state(optimizer, s):
    state = optimizer.state[next(iter(model.parameters()))]
    state["n_iter"], state["func_evals"] = int(s["n_iter"]), int(s["func_evals"])
    if s["old_dirs"].shape[0]:
        state["old_dirs"] = [torch.tensor(v, dtype=DTYPE) for v in s["old_dirs"]]
        state["old_stps"] = [torch.tensor(v, dtype=DTYPE) for v in s["old_stps"]]
        state["ro"] = [torch.tensor(v, dtype=DTYPE) for v in s["ro"]]
    for name in ("d", "prev_flat_grad"):
        if s[name].size:
            state[name] = torch.tensor(s[name], dtype=DTYPE)
    if s["H_diag"].size:
        state["H_diag"] = torch.tensor(float(s["H_diag"]), dtype=DTYPE)
    for name in ("t", "prev_loss"):
        if s[name].size:
            state[name] = float(s[name])


class Training:
    """The app's training, continued from where it was exported: the same data, batches,
    dropout masks, loss, optimizer (with its state), schedule, penalty and clipping."""

    def __init__(self):
        X_train, y_train, X_test, y_test = load_data()
        self.y_train, self.y_test = np.asarray(y_train), np.asarray(y_test)
        self.X_train, self.X_test = prepare(X_train), prepare(X_test)
        self.Y_train = torch.as_tensor(encode_targets(y_train), dtype=DTYPE)
        self.Y_test = torch.as_tensor(encode_targets(y_test), dtype=DTYPE)
        self.step = STEP
        self.optimizer = make_optimizer(model)
        load_optimizer_state(self.optimizer)

    def _loss(self, rows):
        z = model.logits(self.X_train[rows])
        return data_loss(z, model.output(z), self.Y_train[rows])

    def _closure(self, rows, seen):
        """L-BFGS's closure: the loss with its penalty, its gradient; ``seen`` gets the data loss."""
        self.optimizer.zero_grad()
        loss = self._loss(rows)
        seen.append(loss.item())
        total = loss + penalty()
        total.backward()
        return total

    def train(self, steps, every=0, log=print):
        """``steps`` optimizer steps; returns each step's data loss (of its batch, with dropout)."""
        n, losses = len(self.X_train), []
        for _ in range(steps):
            CLOCK["step"] = self.step
            model.train()
            for group in self.optimizer.param_groups:
                group["lr"] = learning_rate(self.step)
            if OPTIMIZER == "lbfgs":
                seen = []
                self.optimizer.step(lambda seen=seen: self._closure(torch.arange(n), seen))
                loss_value = seen[0]
            else:
                rows = torch.as_tensor(batch_rows(self.step, n))
                self.optimizer.zero_grad()
                loss = self._loss(rows)
                loss_value = loss.item()
                if not math.isfinite(loss_value):
                    losses.append(loss_value)
                    log(f"step {self.step}: the loss became {loss_value}; stopping")
                    break
                (loss + penalty()).backward()
                if CLIP_NORM:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
                self.optimizer.step()
            self.step += 1
            losses.append(loss_value)
            if every and self.step % every == 0:
                log(f"step {self.step}  epoch {self.step / STEPS_PER_EPOCH:.2f}  loss {loss_value:.6g}")
        model.eval()
        return losses

    def evaluate(self):
        """Loss and accuracy (classification) or R^2 (regression) on both splits, no dropout."""
        model.eval()
        out = {}
        with torch.no_grad():
            for part, X, Y, y in (("train", self.X_train, self.Y_train, self.y_train),
                                  ("test", self.X_test, self.Y_test, self.y_test)):
                z = model.logits(X)
                a = model.output(z)
                out[f"{part}_loss"] = data_loss(z, a, Y).item()
                a = a.numpy()
                if TASK == "classification":
                    pred = (a[:, 0] > THRESHOLD).astype(np.int64) if a.shape[1] == 1 else a.argmax(axis=1)
                    out[f"{part}_accuracy"] = float(np.mean(pred == y))
                else:
                    Yn = Y.numpy()
                    sst = float(((Yn - Yn.mean(axis=0)) ** 2).sum())
                    out[f"{part}_r2"] = 1.0 - float(((a - Yn) ** 2).sum()) / sst if sst > 0 else float("nan")
        return out


_TRAINING = []


def train(steps, every=0, log=print):
    """Continue the app's training for ``steps`` optimizer steps (see Training)."""
    if not _TRAINING:
        _TRAINING.append(Training())
    return _TRAINING[0].train(steps, every, log)


def main(argv=None):
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="optimizer steps to train")
    p.add_argument("--every", type=int, default=0, help="print the loss every N steps")
    p.add_argument("--save", help="write the trained weights to this .npz (same keys as the exported one)")
    args = p.parse_args(argv)
    run = Training()
    _TRAINING[:] = [run]
    every = args.every or max(1, args.steps // 10)
    fmt = "  ".join
    print(f"step {run.step}: " + fmt(f"{k} {v:.6g}" for k, v in run.evaluate().items()))
    run.train(args.steps, every)
    print(f"step {run.step}: " + fmt(f"{k} {v:.6g}" for k, v in run.evaluate().items()))
    if args.save:
        np.savez(args.save, **{k: v.detach().numpy() for k, v in model.state_dict().items()})
        print(f"wrote {args.save}")


if __name__ == "__main__":
    main()
'''
