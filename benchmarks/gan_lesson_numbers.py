"""The mode-collapse lesson's numbers: modes covered per seed per variant over the iterations,
and the discriminator's mean logit on generated points (how confidently it rejects them).

python benchmarks/gan_lesson_numbers.py [SEEDS]   (default 0-5; about 2 minutes on a busy machine)
"""

import sys

import numpy as np

from playground.gan.race import race
from playground.lessons import load_lesson

seeds = [int(s) for s in sys.argv[1].split(",")] if len(sys.argv) > 1 else list(range(6))
lesson = load_lesson("gan_mode_collapse")
every = lesson.every
table = {}
for seed in seeds:
    pairs = [(v.name, v.spec.with_changes("seed", seed)) for v in lesson.variants]
    for e in race(pairs, lesson.steps, every):
        logit = float(np.mean(e.trainer.records[-500:, 3]))
        table.setdefault(e.label, []).append(([r["modes_covered"] for r in e.rows], logit, e.rows[-1]))
for v in lesson.variants:
    print(f"== {v.name}: {v.title}")
    for seed, (modes, logit, last) in zip(seeds, table[v.name]):
        print(
            f"  seed {seed}: modes {' '.join(map(str, modes))}  distance {last['sliced_wasserstein']:.3f}"
            f"  D logit on fakes {logit:+.2f}  collapse {last['collapse']}"
        )
    finals = [t[0][-1] for t in table[v.name]]
    peaks = [max(t[0]) for t in table[v.name]]
    print(f"  final {finals} (mean {np.mean(finals):.1f})  peak {peaks}")
