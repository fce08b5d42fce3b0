"""A plain-SGD generator (no Adam rescaling) under minimax vs non-saturating, on the lesson's ring:
distance start -> end / modes covered, and D's mean logit on generated points (s).

python benchmarks/gan_lesson_stall.py ITERATIONS LR1,LR2 N_SEEDS
"""

import sys

import numpy as np

from playground.gan.model import GanTrainer
from playground.gan.spec import GanSpec

iters = int(sys.argv[1])
for lr in [float(x) for x in sys.argv[2].split(",")]:
    for loss in ("minimax", "non_saturating"):
        out = []
        for seed in range(int(sys.argv[3])):
            spec = GanSpec.from_dict(
                {
                    "seed": seed,
                    "data": {"radius": 0.8},
                    "training": {"d_steps": 5, "loss": loss},
                    "generator": {"output_activation": "tanh", "optimizer": {"name": "sgd", "lr": lr}},
                }
            )
            tr = GanTrainer(spec)
            f0 = tr.fit()
            tr.run(iters)
            f = tr.fit()
            fake_logit = float(np.mean(tr.records[-200:, 3]))
            dist = f"{f0['sliced_wasserstein']:.2f}->{f['sliced_wasserstein']:.2f}"
            out.append(f"{dist}/{f['modes_covered']} s={fake_logit:.1f}")
        print(f"lr {lr} {loss:<15}", "  ".join(out), flush=True)
