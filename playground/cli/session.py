"""`playground info` and `playground export`, and resuming a session: the session commands.

Each returns an exit code: 0 on success, 2 after printing one clear line on stderr.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

from playground.errors import PlaygroundError

EXIT_ERROR = 2


def _fail(message: str) -> int:
    print(f"playground: error: {one_line(message)}", file=sys.stderr)
    return EXIT_ERROR


def _failed(e: PlaygroundError | OSError | MemoryError, path) -> int:
    """EXIT_ERROR after one line saying what went wrong with ``path``."""
    if isinstance(e, OSError):
        return _fail(os_error(e, path))
    if isinstance(e, MemoryError):
        return _fail(f"{path}: not enough memory")
    return _fail(str(e))


def one_line(message: str, limit: int = 2000) -> str:
    """A message as one line of bounded length (a hostile file may put anything in one)."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def os_error(e: OSError, fallback) -> str:
    from playground.spec import short_path

    return f"{short_path(e.filename or fallback)}: {e.strerror or e}"


def steps_to_run(steps: int | None, epochs: float | None, steps_per_epoch: int, default_epochs: float) -> int:
    """The number of steps ``--steps``/``--epochs`` ask for; PlaygroundError if impossible."""
    from playground.errors import PlaygroundError
    from playground.spec import MAX_STEPS

    if steps is not None:
        if steps < 0:
            raise PlaygroundError("--steps must be >= 0")
        if steps > MAX_STEPS:
            raise PlaygroundError(f"--steps must be at most {MAX_STEPS:,}")
        return int(steps)
    if epochs is None:
        epochs = default_epochs
    if not (math.isfinite(epochs) and epochs >= 0):
        raise PlaygroundError("--epochs must be a finite number >= 0")
    n = epochs * steps_per_epoch
    if n > MAX_STEPS:
        raise PlaygroundError(f"--epochs {epochs:g} is {n:,.0f} steps; at most {MAX_STEPS:,} are allowed")
    return math.ceil(n)


def _plain(v):
    if isinstance(v, (np.floating, float)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


def _summary(exp) -> dict:
    spec = exp.spec
    d = spec.data
    ds = exp.dataset
    data = {
        "kind": d.kind,
        "name": d.name if d.kind in ("toy", "sequence") or (d.kind == "image" and not d.path) else d.path,
        "task": ds.task,
        "n_train": ds.n_train,
        "n_test": ds.n_test,
        "inputs": list(ds.feature_names),
    }
    if ds.class_names:
        data["classes"] = list(ds.class_names)
    return {
        "name": spec.name,
        "data": data,
        "network": [int(s) for s in exp.trainer.layout.sizes],
        "activations": [h.activation for h in spec.network.hidden] + [spec.network.output_activation],
        "layers": _layers(exp),
        "input_shape": "x".join(str(v) for v in exp.trainer.input_shape),
        "n_params": int(exp.trainer.layout.n_params),
        "optimizer": {"name": spec.training.optimizer.name, "lr": spec.training.optimizer.lr},
        "loss": spec.training.loss,
        "batch_size": spec.training.batch_size,
        "step": int(exp.step),
        "epoch": float(exp.epoch),
        "status": exp.status,
        "message": exp.message,
        "metrics": {k: _plain(v) for k, v in exp.metrics().items() if k not in ("step", "epoch", "status")},
        "history_rows": len(exp.history),
        "events": [[int(s), t] for s, t in exp.events],
        "source": str(exp.provenance.path) if exp.provenance.path else None,
    }


def _layers(exp) -> list[str]:
    """One line per layer block: what it is and the shape it gives (``shapes.py``'s terms)."""
    from playground.engine.activations import BY_CODE
    from playground.shapes import format_shape

    out = []
    for layer in exp.trainer.plan.layers:
        act = BY_CODE[layer.activation].name
        shape = format_shape(layer.out_shape or (layer.n_out,))
        if layer.kind == "conv2d":
            what = f"conv2d {layer.out_shape[0]}@{layer.kernel}x{layer.kernel} stride {layer.stride} {act}"
        elif layer.kind in ("maxpool2d", "avgpool2d"):
            what = f"{layer.kind} {layer.kernel}x{layer.kernel} stride {layer.stride}"
        elif layer.kind == "flatten":
            what = "flatten"
        elif layer.kind in ("rnn", "lstm", "gru"):
            cell = f" {BY_CODE[layer.cell_activation].name}" if layer.kind == "rnn" else ""
            steps = " every step" if layer.return_sequences else ""
            bptt = f" bptt {layer.bptt}" if layer.bptt else ""
            what = f"{layer.kind} {layer.units}{cell}{steps}{bptt}"
        else:
            what = f"dense {layer.n_out} {act}"
        out.append(f"{what} -> {shape}")
    return out


def _print_summary(s: dict) -> None:
    d = s["data"]
    print(f"data:       {d['kind']} {d['name']} ({d['task']}, {d['n_train']} train / {d['n_test']} test)")
    if "x" in s["input_shape"] or any(not line.startswith("dense") for line in s["layers"]):
        print(f"network:    input {s['input_shape']}, {s['n_params']} parameters")
        for line in s["layers"]:
            print(f"              {line}")
    else:
        net = "-".join(str(n) for n in s["network"])
        print(f"network:    {net} ({', '.join(s['activations'])}; {s['n_params']} parameters)")
    print(f"optimizer:  {s['optimizer']['name']} lr={s['optimizer']['lr']:g}, batch {s['batch_size']}")
    print(f"loss:       {s['loss']}")
    print(f"progress:   step {s['step']}, epoch {s['epoch']:.2f}")
    metrics = ", ".join(
        f"{k} {v:.4g}" for k, v in s["metrics"].items() if isinstance(v, (int, float)) and k != "grad_norm"
    )
    print(f"metrics:    {metrics or '-'}")
    status = s["status"] + (f" ({s['message']})" if s["message"] else "")
    print(f"status:     {status}")


def _default_out(path: Path, is_session: bool) -> Path:
    return path if is_session else path.with_suffix(".playground")


def cmd_train_session(
    path: str | Path,
    steps: int | None = None,
    epochs: float | None = None,
    out: str | Path | None = None,
    as_json: bool = False,
) -> int:
    """Resume a session (or start one from a spec JSON), train, and write ``out`` (default:
    the session itself, or ``<spec>.playground`` next to a spec)."""
    from playground.session import is_session_file, load

    try:
        p = Path(path)
        if steps is not None or epochs is not None:  # refuse bad arguments before loading
            steps_to_run(steps, epochs, 1, 1.0)
        session = is_session_file(p)
        exp = load(p)
        n = steps_to_run(steps, epochs, exp.trainer.steps_per_epoch, 1.0)
        exp.train(steps=n)
        target = Path(out) if out is not None else _default_out(p, session)
        exp.save(target, view=exp.provenance.view_state)
    except (PlaygroundError, OSError, MemoryError) as e:
        return _failed(e, path)
    s = _summary(exp)
    s["saved"] = str(target)
    if as_json:
        print(json.dumps(s, indent=2, allow_nan=False))
    else:
        _print_summary(s)
        print(f"saved:      {target}")
    return 0


def cmd_info(path: str | Path, as_json: bool = False) -> int:
    """Summary of a session or spec: data, network, optimizer, loss, progress, metrics, status."""
    from playground.session import load

    try:
        exp = load(path)
    except (PlaygroundError, OSError, MemoryError) as e:
        return _failed(e, path)
    s = _summary(exp)
    if as_json:
        print(json.dumps(s, indent=2, allow_nan=False))
    else:
        _print_summary(s)
    return 0


def cmd_export(
    path: str | Path, history_csv: str | Path | None = None, weights: str | Path | None = None
) -> int:
    """History as CSV (header row; per-layer columns expanded) and/or weights as .npz
    (W1, b1, W2, b2, ...) or .json ([{"W": [[...]], "b": [...]}, ...])."""
    from playground.session import atomic_write, load

    if history_csv is None and weights is None:
        return _fail("nothing to export: give a history CSV and/or a weights file")
    if weights is not None and Path(weights).suffix.lower() not in (".npz", ".json"):
        return _fail(f"{weights}: weights can be exported as .npz or .json only")
    try:
        exp = load(path)
        if history_csv is not None:
            text = exp.history.csv_text().encode("utf-8")
            atomic_write(history_csv, lambda f: f.write(text))
        if weights is not None:
            wp = Path(weights)
            params, names = exp.params, exp.trainer.layout.names()
            if wp.suffix.lower() == ".npz":  # W1, b1, ... ; a recurrent layer's as weight_ih1, ...
                arrays = {}
                for i, (arrs, ns) in enumerate(zip(params, names, strict=True), start=1):
                    for name, a in zip(ns, arrs, strict=True):
                        arrays[f"{name}{i}"] = a
                with open(wp, "wb") as f:
                    np.savez(f, **arrays)
            else:
                doc = [
                    {name: a.tolist() for name, a in zip(ns, arrs, strict=True)}
                    for arrs, ns in zip(params, names, strict=True)
                ]
                wp.write_text(json.dumps(doc), encoding="utf-8")
    except (PlaygroundError, OSError, MemoryError) as e:
        return _failed(e, path)
    return 0
