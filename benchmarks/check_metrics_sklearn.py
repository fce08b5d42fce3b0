"""playground.metrics against scikit-learn (a check, not a dependency of the product or tests).

Two steps, two interpreters (the project's venv has no sklearn; the torch venv has no numba):

    .venv/bin/python benchmarks/check_metrics_sklearn.py dump /tmp/metrics_cases.json
    ~/torch-venv/bin/python benchmarks/check_metrics_sklearn.py check /tmp/metrics_cases.json

``dump`` trains small experiments (blobs, spiral3, xor, sine, plane) and adds synthetic cases
(a class never predicted, a class absent from the truth, multi-target regression), writing
the true and predicted values with playground.metrics' numbers; ``check`` recomputes them with
sklearn.metrics and prints the largest difference of each case.
"""

from __future__ import annotations

import json
import sys


def dump(path: str) -> None:
    import numpy as np

    from playground import Experiment
    from playground.metrics import classification_metrics, metrics_report, regression_metrics

    cases = []
    for name, steps in (("blobs", 200), ("spiral3", 300), ("xor", 150), ("sine", 400), ("plane", 200)):
        spec = {"data": {"name": name}, "seed": 3}
        if name in ("sine", "plane"):
            spec["training"] = {"loss": "mse"}
            spec["network"] = {"output_activation": "linear"}
        exp = Experiment.from_spec(spec)
        exp.train(steps=steps)
        rep = metrics_report(exp)
        ds = exp.dataset
        for part, X, y in (("train", ds.X_train, ds.y_train), ("test", ds.X_test, ds.y_test)):
            if ds.task == "classification":
                pred = exp.predict_classes(X)
                cases.append({"name": f"{name}/{part}", "task": "classification", "k": len(ds.class_names),
                              "y": np.asarray(y).tolist(), "p": np.asarray(pred).tolist(),
                              "ours": rep["splits"][part]})  # fmt: skip
            else:
                cases.append({"name": f"{name}/{part}", "task": "regression",
                              "y": np.asarray(y).reshape(len(y), -1).tolist(),
                              "p": exp.predict(X).tolist(), "ours": rep["splits"][part]})  # fmt: skip
    rng = np.random.default_rng(0)
    synthetic = {
        "never predicted": (rng.integers(0, 3, 200), rng.integers(0, 2, 200)),
        "absent from truth": (rng.integers(0, 2, 150), rng.integers(0, 3, 150)),
        "random 5 classes": (rng.integers(0, 5, 300), rng.integers(0, 5, 300)),
    }
    for name, (y, p) in synthetic.items():
        k = 3 if name != "random 5 classes" else 5
        counts = np.zeros((k, k), np.int64)
        np.add.at(counts, (y, p), 1)
        cases.append({"name": name, "task": "classification", "k": k, "y": y.tolist(), "p": p.tolist(),
                      "ours": classification_metrics(counts)})  # fmt: skip
    y = rng.normal(size=(120, 3)) * [1.0, 5.0, 0.1]
    p = y + rng.normal(size=(120, 3)) * [0.3, 2.0, 0.2]
    cases.append({"name": "3 targets", "task": "regression", "y": y.tolist(), "p": p.tolist(),
                  "ours": regression_metrics(y, p)})  # fmt: skip
    with open(path, "w") as f:
        json.dump(cases, f)
    print(f"{len(cases)} cases written to {path}")


def check(path: str) -> None:
    import numpy as np
    from sklearn import metrics as M

    with open(path) as f:
        cases = json.load(f)
    worst = 0.0
    for case in cases:
        ours = case["ours"]
        y, p = np.asarray(case["y"]), np.asarray(case["p"])
        diffs = []
        if case["task"] == "classification":
            labels = list(range(case["k"]))
            cm = M.confusion_matrix(y, p, labels=labels)
            assert cm.tolist() == ours["confusion"], case["name"]
            pr, rc, f1, sup = M.precision_recall_fscore_support(y, p, labels=labels, zero_division=0)
            for i, row in enumerate(ours["per_class"]):
                diffs += [row["precision"] - pr[i], row["recall"] - rc[i], row["f1"] - f1[i]]
                assert row["support"] == sup[i]
            for avg in ("macro", "weighted"):  # sklearn's default labels: those present
                a = M.precision_recall_fscore_support(y, p, average=avg, zero_division=0)
                diffs += [ours[avg]["precision"] - a[0], ours[avg]["recall"] - a[1], ours[avg]["f1"] - a[2]]
            diffs.append(ours["accuracy"] - M.accuracy_score(y, p))
        else:
            y2, p2 = y.reshape(len(y), -1), p.reshape(len(p), -1)
            rmse = M.root_mean_squared_error(y2, p2, multioutput="raw_values")
            mae = M.mean_absolute_error(y2, p2, multioutput="raw_values")
            r2 = M.r2_score(y2, p2, multioutput="raw_values")
            for j, row in enumerate(ours["targets"]):
                diffs += [row["rmse"] - rmse[j], row["mae"] - mae[j], row["r2"] - r2[j]]
            pooled = M.r2_score(y2, p2, multioutput="variance_weighted")
            diffs += [ours["all"]["r2"] - pooled,
                      ours["all"]["mae"] - M.mean_absolute_error(y2.ravel(), p2.ravel()),
                      ours["all"]["rmse"] - M.root_mean_squared_error(y2.ravel(), p2.ravel())]  # fmt: skip
        d = float(np.max(np.abs(diffs)))
        worst = max(worst, d)
        print(f"{case['name']:<22} {case['task']:<15} max |ours - sklearn| = {d:.3g}")
    print(f"worst: {worst:.3g}")


if __name__ == "__main__":
    {"dump": dump, "check": check}[sys.argv[1]](sys.argv[2])
