"""Scan GAN settings for the mode-collapse lesson (minimax vs non-saturating): final modes per seed."""

import json
import sys
import time

from playground.gan.race import race
from playground.gan.spec import GanSpec

CONFIGS = json.loads(open(sys.argv[1]).read())
iters, every = int(sys.argv[2]), int(sys.argv[3])
seeds = [int(s) for s in sys.argv[4].split(",")]
losses = sys.argv[5].split(",")
for name, base in CONFIGS.items():
    t0 = time.time()
    out = {}
    for seed in seeds:
        s0 = GanSpec.from_dict({**base, "seed": seed})
        pairs = [(loss, s0.with_changes("training.loss", loss)) for loss in losses]
        for e in race(pairs, iters, every):
            out.setdefault(e.label, []).append(e.rows)
    print(f"== {name} ({time.time() - t0:.0f}s)")
    for label, runs in out.items():
        traj = " | ".join(" ".join(str(r["modes_covered"]) for r in rows) for rows in runs)
        sw = [round(rows[-1]["sliced_wasserstein"], 2) for rows in runs]
        print(f"  {label:<15} {traj}   final {[rows[-1]['modes_covered'] for rows in runs]} sw {sw}")
    sys.stdout.flush()
