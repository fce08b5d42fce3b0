"""`playground bench` and `playground warmup`: the engine's speed and its compiled kernels."""

from __future__ import annotations

import time


def cmd_bench(args) -> int:
    from playground.bench import main as bench_main

    return bench_main(quick=args.quick, as_json=args.json)


def cmd_warmup(args) -> int:
    """Compile (or load from the cache) every kernel a session can need; with ``--dtype``
    only that precision's (the app's background compile process), with ``--progress`` one
    line per phase (``readiness.PROGRESS_PREFIX``)."""
    from playground.engine.warmup import compile_and_mark, compile_half, progress_printer, warm_up

    t0 = time.perf_counter()
    dtype = getattr(args, "dtype", None)
    say = progress_printer(dtype or "all") if getattr(args, "progress", False) else None
    if dtype and getattr(args, "half", None):
        compile_half(dtype, args.half, say)
        return 0
    if dtype:
        compile_and_mark(dtype, say)
    else:
        warm_up(say=say)
        from playground.gan.warmup import compile_kernels as compile_gan

        for gan_dtype in ("float32", "float64"):  # GAN mode's kernels (installers run this)
            if say is not None:
                say(f"GAN kernels ({gan_dtype})", 1, 1)
            compile_gan(gan_dtype)
    try:
        print(f"engine ready in {time.perf_counter() - t0:.1f} s", flush=True)
    except OSError:  # the app that started this has gone: the cache is what counts
        pass
    return 0
