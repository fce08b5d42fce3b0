"""W6 of shared/BENCHMARKS.md on the GAN kernels, and the coverage of the default settings.

W6 "GAN ring": 8 gaussians (std 0.02) on a ring of radius 2, batch 128, N(0, 1) noise of
dim 2; G 2-16-16-2 and D 2-16-16-1 with ReLU, PyTorch's default init; the non-saturating
loss (BCE with logits); Adam lr 1e-3 betas (0.5, 0.999) for both; one iteration = one D
step + one G step; float32. Timed as peers.py times it: blocks of K iterations (K
calibrated, at most 4000), each from the same initial weights and fresh optimizer states,
median over rounds; then modes covered out of 8 after 5000 untimed iterations (>= 2% of
2000 generated samples within 0.2 of a centre). One difference: each step draws its own
noise (peers.py's G step reuses the D step's fake batch), so our iteration does one more
generator forward pass of 128 rows.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import replace

from playground.gan.model import GanTrainer
from playground.gan.spec import GanDataSpec, GanLayerSpec, GanNetSpec, GanSpec, GanTrainingSpec, NoiseSpec
from playground.spec import OptimizerSpec

STEP_CAP = 4000  # peers.py's cap for Adam blocks (denormal moments after ~7k steps)
QUALITY_ITERATIONS = 5000
COVERAGE_ITERATIONS = 10_000  # the default settings' training for the coverage check (~5 s)


def w6_spec(seed: int = 0) -> GanSpec:
    """BENCHMARKS.md's W6, spelled out (independent of the app's defaults)."""
    net = GanNetSpec(
        hidden=(GanLayerSpec(16, "relu"), GanLayerSpec(16, "relu")),
        init="torch_default",
        bias_init="torch_default",
        optimizer=OptimizerSpec("adam", 1e-3, {"betas": (0.5, 0.999)}),
        batch_size=128,
    )
    return GanSpec(
        seed=seed,
        data=GanDataSpec(kind="ring", modes=8, radius=2.0, std=0.02),
        noise=NoiseSpec(2, "normal"),
        generator=net,
        discriminator=net,
        training=GanTrainingSpec(loss="non_saturating", d_steps=1, dtype="float32"),
    )


def _calibrate(spec: GanSpec, target: float) -> int:
    k = 16
    while True:
        tr = GanTrainer(spec)
        t0 = time.perf_counter()
        tr.run(k)
        dt = time.perf_counter() - t0
        if dt > target / 4 or k >= STEP_CAP:
            return max(1, min(STEP_CAP, int(k * target / dt)))
        k *= 4


def bench_w6(quick: bool = False, log=None) -> dict:
    """Iterations/s of W6 (median of timing blocks) and modes covered after 5000 untimed
    iterations."""
    target = 0.12 if quick else 0.4
    repeats = 3 if quick else 7
    spec = w6_spec()
    t0 = time.perf_counter()
    GanTrainer(spec).run(5)  # compile (or load from the cache)
    warm = time.perf_counter() - t0
    k = _calibrate(spec, target)
    rates = []
    for _ in range(repeats):
        tr = GanTrainer(spec)  # the same initial weights, fresh Adam states
        t = time.perf_counter()
        tr.run(k)
        rates.append(k / (time.perf_counter() - t))
    quality = GanTrainer(spec)
    quality.run(QUALITY_ITERATIONS)
    fit = quality.fit()
    out = {
        "iterations_per_s": statistics.median(rates),
        "min": min(rates),
        "max": max(rates),
        "iterations_per_block": k,
        "repeats": repeats,
        "warmup_s": warm,
        "modes_covered_5000": fit["modes_covered"],
        "share_near_a_mode": fit["share_near"],
    }
    if log:
        log(
            f"W6 GAN ring float32     {out['iterations_per_s']:>10,.0f} its/s   (min {out['min']:,.0f}, "
            f"max {out['max']:,.0f}; {k} per block); modes after 5000: {fit['modes_covered']}/8"
        )
    return out


def default_coverage(
    seeds=range(5), iterations: int = COVERAGE_ITERATIONS, spec: GanSpec | None = None
) -> list:
    """Per seed: modes covered after ``iterations`` of the default settings, and the time."""
    from playground.gan.spec import default_gan_spec

    base = spec or default_gan_spec()
    rows = []
    for seed in seeds:
        tr = GanTrainer(replace(base, seed=seed))
        t0 = time.perf_counter()
        tr.run(iterations)
        dt = time.perf_counter() - t0
        fit = tr.fit()
        rows.append(
            {
                "seed": seed,
                "modes_covered": fit["modes_covered"],
                "modes": fit["modes"],
                "collapse": fit["collapse"],
                "sliced_wasserstein": fit["sliced_wasserstein"],
                "iterations": iterations,
                "seconds": dt,
            }
        )
    return rows


if __name__ == "__main__":
    print(bench_w6(quick=True, log=print))
    for r in default_coverage():
        print(r)
