"""Where sweep runs execute: in this process, a local process pool, or a Dask cluster.

Each executor calls ``runner(task)`` for every task and ``on_result(row)`` in the calling
thread as results arrive; ``should_stop()`` is polled between results to cancel.
"""

from __future__ import annotations

import os

from playground.errors import PlaygroundError

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")  # one BLAS thread per run


def run_local(tasks, workers, runner, on_result, should_stop) -> None:
    """Run ``tasks`` in this process (``workers`` 1) or a pool of spawned processes; calls
    ``on_result(row)`` in this thread as each finishes and stops early when ``should_stop()``."""
    if workers <= 1 or len(tasks) == 1:
        for t in tasks:
            if should_stop is not None and should_stop():
                return
            on_result(runner(t))
        return
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        # one BLAS/OpenMP thread per worker process (the runs are the parallelism); the
        # workers start during the first submits and inherit this environment
        saved = {k: os.environ.get(k) for k in _THREAD_VARS}
        for k in _THREAD_VARS:
            os.environ.setdefault(k, "1")
        try:
            pending = {pool.submit(runner, t) for t in tasks}
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for fut in done:
                on_result(fut.result())
            if should_stop is not None and should_stop():
                break
    except BrokenProcessPool:
        raise PlaygroundError(
            "a worker process died; finished runs are saved: run the same command again to resume"
        ) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_dask(tasks, scheduler, runner, on_result, should_stop) -> None:
    """As :func:`run_local`, on a Dask cluster (a scheduler address or a distributed.Client)."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise PlaygroundError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
    own = isinstance(scheduler, str)
    if own:
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as e:
            raise PlaygroundError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
    else:
        client = scheduler
    futures = []
    try:
        futures = [client.submit(runner, t, pure=False, retries=2) for t in tasks]
        for fut in as_completed(futures):
            on_result(fut.result())
            if should_stop is not None and should_stop():
                break
    finally:
        for fut in futures:
            if not fut.done():
                fut.cancel()
        if own:
            client.close()
