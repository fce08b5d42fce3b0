"""`playground bench` and `playground warmup`: the engine's speed and its compiled kernels."""

from __future__ import annotations

import time


def cmd_bench(args) -> int:
    from playground.bench import main as bench_main

    return bench_main(quick=args.quick, as_json=args.json)


def cmd_warmup(args) -> int:
    """Compile (or load from the cache) every kernel a session can need."""
    from playground.engine.warmup import warm_up

    t0 = time.perf_counter()
    warm_up()
    print(f"engine ready in {time.perf_counter() - t0:.1f} s")
    return 0
