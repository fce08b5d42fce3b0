"""`playground train`: train a spec or resume a session headless, print (or --json) the result."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

DEFAULT_EPOCHS = 100  # `playground train SPEC` without --steps/--epochs


def _progress_printer(total: int, stream=sys.stderr):
    """A one-line progress bar with the live loss, only on a terminal."""
    if not stream.isatty():
        return lambda m: None
    t0 = time.perf_counter()

    def show(m: dict) -> None:
        frac = min(1.0, m["step"] / max(total, 1))
        bar = "#" * int(30 * frac)
        rate = m["step"] / max(time.perf_counter() - t0, 1e-9)
        stream.write(
            f"\r[{bar:<30}] {100 * frac:5.1f}%  step {m['step']:,}  "
            f"train {m['train_loss']:.4f}  test {m.get('test_loss', float('nan')):.4f}  {rate:,.0f} steps/s "
        )
        stream.flush()

    return show


def _result_dict(exp) -> dict:
    m = exp.metrics()
    keys = [
        k
        for k in ("train_loss", "test_loss", "train_accuracy", "test_accuracy", "train_r2", "test_r2")
        if k in m
    ]
    out = {k: m[k] for k in keys}
    out.update(
        steps=exp.step,
        epochs=exp.epoch,
        status=exp.status,
        wall_time_s=exp.wall_time,
        steps_per_s=exp.step / exp.wall_time if exp.wall_time > 0 else None,
    )
    if exp.status == "diverged":
        out["message"] = exp.message
    return out


def cmd_train(args) -> int:
    from playground.cli.session import steps_to_run
    from playground.session import load

    if args.steps is not None or args.epochs is not None:  # refuse bad arguments before loading
        steps_to_run(args.steps, args.epochs, 1, DEFAULT_EPOCHS)
    exp = load(Path(args.file))  # a session resumes; a spec starts fresh (memory checked first)
    steps = steps_to_run(args.steps, args.epochs, exp.trainer.steps_per_epoch, DEFAULT_EPOCHS)
    start = exp.step
    show = _progress_printer(start + steps)
    exp.train(steps=steps, callback=None if args.json else show)
    if not args.json and sys.stderr.isatty():
        sys.stderr.write("\n")
    if args.out:
        from playground.session import save

        save(exp, args.out)
    res = _result_dict(exp)
    if args.json:
        print(json.dumps(res))
    else:
        print(f"Trained {exp.step - start:,} steps ({exp.epoch:.1f} epochs) in {exp.wall_time:.2f} s")
        for k, v in res.items():
            if k in ("steps", "epochs", "wall_time_s"):
                continue
            print(f"  {k:<16} {v:.4f}" if isinstance(v, float) else f"  {k:<16} {v}")
        if args.out:
            print(f"Saved session to {args.out}")
    return 1 if exp.status == "diverged" else 0
