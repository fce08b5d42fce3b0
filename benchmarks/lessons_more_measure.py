"""Numbers behind the conv_vs_dense and local_minima lessons (docs/LESSONS.md).

    PLAYGROUND_ENGINE_START=compiled python benchmarks/lessons_more_measure.py

conv_vs_dense: every network of the lesson at seeds 1, 2, 3 (parameters, training loss,
test loss and accuracy). local_minima: each variant's final loss, seed 26 trained 10x
longer, random slices around its final weights (is the centre the minimum, how high is the
rim), the straight-line barrier to every relabelling/sign flip of the other minima, and
the Hessian's eigenvalues at the end (finite differences)."""

from __future__ import annotations

import itertools
import warnings

import numpy as np

from playground.experiment import Experiment
from playground.landscape import LossProbe, compute_slice, line_losses
from playground.lessons import load_lesson


def train(spec, steps):
    e = Experiment(spec)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        e.train(steps=steps)
    return e


def conv_vs_dense():
    lesson = load_lesson("conv_vs_dense")
    print("== conv_vs_dense (test set: 150 images)")
    for name in ("cnn_a", "dense_a", "dense_wide"):
        v = lesson.variant(name)
        for seed in (1, 2, 3):
            e = train(v.spec.with_changes("seed", seed), v.steps)
            m = e.evaluate()
            print(
                f"  {name:<10} seed {seed} params {e.trainer.layout.n_params:5d}  "
                f"train loss {m['train_loss']:.4f}  "
                f"test loss {m['test_loss']:.4f}  test accuracy {m['test_accuracy']:.3f}"
            )


def copies(e, th):
    out = []
    k = e.trainer.layout.views(th)[0][0].shape[1]
    for perm in itertools.permutations(range(k)):
        for signs in itertools.product((1.0, -1.0), repeat=k):
            t = th.copy()
            (W1, b1), (W2, _b2) = e.trainer.layout.views(t)
            s, p = np.array(signs), list(perm)
            W1[...], b1[...], W2[...] = W1[:, p] * s, b1[p] * s, W2[p, :] * s[:, None]
            out.append(t)
    return out


def hessian_eigenvalues(probe, th, h=1e-3):
    n = th.size
    E = np.eye(n) * h
    H = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            H[i, j] = H[j, i] = (
                probe(th + E[i] + E[j])
                - probe(th + E[i] - E[j])
                - probe(th - E[i] + E[j])
                + probe(th - E[i] - E[j])
            ) / (4 * h * h)
    return np.linalg.eigvalsh(H)


def local_minima():
    lesson = load_lesson("local_minima")
    print("== local_minima")
    ex = {v.name: train(v.spec, v.steps) for v in lesson.variants}
    th = {k: e.trainer.theta.astype(np.float64).copy() for k, e in ex.items()}
    for v in lesson.variants:
        m = ex[v.name].evaluate()
        print(
            f"  {v.name:<8} {v.title:<20} train loss {m['train_loss']:.4f}  "
            f"test accuracy {m['test_accuracy']:.3f}"
        )
    stuck = ex["stuck_a"]
    for steps in (6000, 30000):
        print(f"  stuck_a after {steps} steps: {train(stuck.spec, steps).evaluate()['train_loss']:.4f}")
    probe = LossProbe(stuck.trainer)
    centre = probe(th["stuck_a"])
    for span in (1.0, 0.25, 0.05):
        for seed in (0, 1, 2):
            s = compute_slice(stuck, kind="random", resolution=21, span=span, seed=seed)
            rim = np.concatenate([s.loss[0], s.loss[-1], s.loss[:, 0], s.loss[:, -1]])
            print(
                f"  slice span {span} seed {seed}: centre {s.loss[10, 10]:.5f}  min {np.nanmin(s.loss):.5f}  "
                f"rim min {rim.min():.4f}  max {np.nanmax(s.loss):.3f}"
            )
    ev = hessian_eigenvalues(probe, th["stuck_a"])
    print(f"  Hessian eigenvalues at stuck_a: {np.array2string(ev, precision=5)}")
    ts = np.linspace(0, 1, 41)
    for a, b in (("stuck_a", "good_a"), ("stuck_a", "middle"), ("stuck_a", "stuck_b"), ("good_a", "good_b")):
        tops = [line_losses(probe, th[a], t, ts).max() for t in copies(ex[b], th[b])]
        print(
            f"  line {a} -> {b} (ends {probe(th[a]):.4f}, {probe(th[b]):.4f}): highest point, per copy "
            f"{[round(float(x), 3) for x in tops]}, lowest {min(tops):.4f}"
        )
    print(f"  (centre {centre:.5f})")


if __name__ == "__main__":
    conv_vs_dense()
    local_minima()
