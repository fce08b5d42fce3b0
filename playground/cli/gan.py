"""`playground gan`: train a GAN spec (JSON) or resume a GAN session headless.

    playground gan SPEC.json|SESSION.playground-gan [--iterations N] [--json] [--out OUT.playground-gan]
    playground gan SPEC.json --compare training.loss=minimax,non_saturating,wgan_gp [--every N]

Prints the iterations done, iterations/s, both losses and the fit (modes covered, sliced
Wasserstein distance, mode collapse), or one JSON object with --json. ``--compare`` races
variants of the spec from the same start (``playground.gan.race``) and prints their fit
every ``--every`` iterations. Exit code 0, 1 when training diverged, 2 for a bad spec,
file or argument (one error line, as every command).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from playground.errors import SpecError

DEFAULT_ITERATIONS = 5000
MAX_ITERATIONS = 10**12
CHUNK = 20_000


def add_gan_parser(subparsers) -> None:
    g = subparsers.add_parser("gan", help="train a GAN spec (JSON) or resume a GAN session (.playground-gan)")
    g.add_argument("file")
    g.add_argument("--iterations", type=int, default=None, help=f"default {DEFAULT_ITERATIONS}")
    g.add_argument("--json", action="store_true", help="print one JSON object with the result")
    g.add_argument("--out", help="save the trained session to this .playground-gan file")
    g.add_argument("--compare", help="race variants from the same start: dotted.path=value1,value2,...")
    g.add_argument("--every", type=int, default=None, help="--compare: iterations between fit rows")
    g.set_defaults(func=cmd_gan)


def _open(path: Path):
    from playground.gan import session
    from playground.gan.model import GanTrainer
    from playground.gan.spec import GanSpec

    if path.suffix == session.SUFFIX or (path.is_file() and path.read_bytes()[:2] == b"PK"):
        return session.load(path)[0]
    return GanTrainer(GanSpec.from_file(path))


def _compile(tr) -> None:
    """Compile (or load from the cache) the kernels before timing: a throwaway iteration."""
    from playground.gan.model import GanTrainer

    if tr.backend == "numba":
        GanTrainer(tr.spec, real=tr.real).run(1)


def result(tr, iterations: int, seconds: float, status: str, message: str = "") -> dict:
    fit = tr.fit()
    last = tr.records[-1] if len(tr.records) else None
    out = {
        "iterations": tr.iteration,
        "iterations_run": iterations,
        "d_steps": tr.d_steps,
        "g_steps": tr.g_steps,
        "seconds": seconds,
        "iterations_per_s": iterations / seconds if seconds > 0 else None,
        "d_loss": float(last[0]) if last is not None else None,
        "g_loss": float(last[1]) if last is not None else None,
        "modes_covered": fit["modes_covered"],
        "modes": fit["modes"],
        "share_near_data": fit["share_near"],
        "sliced_wasserstein": fit["sliced_wasserstein"],
        "mode_collapse": fit["collapse"],
        "status": status,
    }
    if message:
        out["message"] = message
    return out


def cmd_gan(args) -> int:
    n = DEFAULT_ITERATIONS if args.iterations is None else args.iterations
    if not 0 <= n <= MAX_ITERATIONS:
        raise SpecError("--iterations", f"must be between 0 and {MAX_ITERATIONS:,}")
    tr = _open(Path(args.file))
    if args.compare:
        return _compare(args, tr, n)
    _compile(tr)
    start = tr.iteration
    t0 = time.perf_counter()
    status, message = "ok", ""
    done = 0
    while done < n:
        rep = tr.run(min(CHUNK, n - done))
        done += rep.iterations
        if not rep.ok:
            status, message = "diverged", rep.message
            break
    seconds = time.perf_counter() - t0
    if args.out:
        from playground.gan import session

        session.save(tr, args.out)
    res = result(tr, tr.iteration - start, seconds, status, message)
    if args.json:
        print(json.dumps(res))
    else:
        print(f"Trained {res['iterations_run']:,} iterations in {seconds:.2f} s ({tr.iteration:,} in all)")
        for k in (
            "d_loss",
            "g_loss",
            "modes_covered",
            "share_near_data",
            "sliced_wasserstein",
            "mode_collapse",
        ):
            v = res[k]
            print(f"  {k:<18} {v:.4f}" if isinstance(v, float) else f"  {k:<18} {v}")
        if message:
            print(f"  diverged: {message}")
        if args.out:
            print(f"Saved GAN session to {args.out}")
    return 1 if status == "diverged" else 0


def _compare(args, tr, n: int) -> int:
    from playground.gan.race import parse_compare, race, variants

    if args.out:
        raise SpecError("--out", "does not go with --compare (a race saves no session)")
    every = args.every or max(1, n // 5)
    if every < 1:
        raise SpecError("--every", "must be >= 1")
    path, values = parse_compare(args.compare)
    entries = race(variants(tr.spec, path, values), n, every)
    if args.json:
        print(json.dumps([{"label": e.label, "status": e.status, "rows": e.rows} for e in entries]))
    else:
        print(f"{'variant':<28} {'iteration':>10} {'modes':>7} {'distance':>9}  collapse")
        for e in entries:
            for r in e.rows:
                modes = f"{r['modes_covered']}/{r['modes']}"
                collapse = "yes" if r["collapse"] else ""
                dist = r["sliced_wasserstein"]
                print(f"{e.label:<28} {r['iteration']:>10,} {modes:>7} {dist:>9.4f}  {collapse}")
            if e.status != "ok":
                print(f"{e.label:<28} diverged")
    return 1 if any(e.status != "ok" for e in entries) else 0
