"""Sweeps: grid parsing and validation, runs, summary, storage and resume, SVG, CLI, Dask."""

from __future__ import annotations

import csv
import json
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from playground.errors import PlaygroundError, SpecError
from playground.sweep import (
    SweepResult,
    build_tasks,
    parse_grid,
    parse_value,
    run_sweep,
    run_task,
)
from playground.sweep.run import reach, record_curve
from playground.sweep.svg import heatmap_svg, lines_svg

SVG = "{http://www.w3.org/2000/svg}"

SPEC = {
    "seed": 44,
    "data": {"kind": "toy", "name": "xor", "n_samples": 120, "noise": 0.0},
    "network": {"hidden": [{"units": 4, "activation": "tanh"}], "output_activation": "sigmoid"},
    "training": {"loss": "bce", "optimizer": {"name": "sgd", "lr": 0.1}, "batch_size": 10},
}
GRID = {"training.optimizer.lr": [0.01, 0.3], "training.batch_size": [10, 60]}


# --------------------------------------------------------------------------- parsing and tasks


def test_parse_value_json_scalars_else_strings():
    assert parse_value("0.001") == 0.001
    assert parse_value("10") == 10 and isinstance(parse_value("10"), int)
    assert parse_value("true") is True
    assert parse_value("null") is None
    assert parse_value("adam") == "adam"
    assert parse_value(' "x" ') == "x"
    assert parse_value("[1,2]") == "[1,2]"  # not a scalar


def test_parse_grid():
    g = parse_grid(["training.optimizer.lr=0.001,0.01", "training.optimizer.name=sgd,adam"])
    assert g == {"training.optimizer.lr": [0.001, 0.01], "training.optimizer.name": ["sgd", "adam"]}
    with pytest.raises(SpecError):
        parse_grid(["training.optimizer.lr"])
    with pytest.raises(SpecError) as e:
        parse_grid(["a=1", "a=2"])
    assert e.value.path == "a"


def test_build_tasks_counts_and_ids():
    tasks = build_tasks(SPEC, GRID, seeds=3, steps=50)
    assert len(tasks) == 12
    assert len({t["run_id"] for t in tasks}) == 12
    assert {t["seed"] for t in tasks} == {44, 45, 46}
    # the data is pinned to the base seed: seeds vary the weights, not the data set
    assert all(t["spec"]["data"]["seed"] == 44 for t in tasks)
    assert tasks == build_tasks(SPEC, GRID, seeds=3, steps=50)  # deterministic
    json.dumps(tasks)  # plain data


def test_build_tasks_validates_every_combination():
    with pytest.raises(SpecError) as e:
        build_tasks(SPEC, {"training.optimizer.lr": [0.1, -1]}, steps=10)
    assert e.value.path == "training.optimizer.lr"
    assert "lr=-1" in str(e.value)
    with pytest.raises(SpecError) as e:
        build_tasks(SPEC, {"training.optimizr.lr": [0.1]}, steps=10)
    assert "optimizr" in e.value.path
    with pytest.raises(SpecError):
        build_tasks(SPEC, {"training.loss": ["mse", "cce"]}, steps=10)  # cce needs softmax
    with pytest.raises(SpecError):
        build_tasks(SPEC, {}, steps=10, epochs=2)


def test_run_task_is_deterministic_plain_data():
    task = build_tasks(SPEC, {}, seeds=1, steps=200)[0]
    a, b = run_task(task), run_task(task)
    json.dumps(a)
    for k in ("final_train_loss", "final_test_loss", "best_train_loss", "final_test_metric"):
        assert a[k] == b[k]
    assert [p[::2] for p in a["curve"]] == [p[::2] for p in b["curve"]]  # [step, loss]; wall times vary
    assert a["status"] == "ready" and a["steps"] == 200 and a["metric"] == "accuracy"
    assert a["curve"][0][0] == 0


def test_record_curve_and_reach():
    curve = record_curve([0, 10, 20, 30], [0.0, 0.1, 0.2, 0.3], [1.0, 0.5, 0.7, 0.4])
    assert [p[0] for p in curve] == [0, 10, 30]
    assert reach(curve, 0.6) == (10, 0.1)
    assert reach(curve, 0.45) == (30, 0.3)
    assert reach(curve, 0.1) == (None, None)


def test_diverged_run_is_reported():
    spec = json.loads(json.dumps(SPEC))
    spec["training"]["loss"] = "mse"
    spec["network"]["output_activation"] = "linear"
    spec["training"]["optimizer"]["lr"] = 1e6
    row = run_task(build_tasks(spec, {}, steps=200)[0])
    assert row["diverged"] and row["diverged_step"] is not None and row["status"] == "diverged"
    json.dumps(row, allow_nan=False)


# --------------------------------------------------------------------------- sweeps


def test_serial_sweep_summary_table_and_outputs(tmp_path):
    seen = []
    res = run_sweep(
        SPEC, GRID, seeds=2, steps=150, workers=1, out=tmp_path / "r.json", progress=lambda *a: seen.append(a)
    )
    assert len(res.rows) == 8 and [s[0] for s in seen] == list(range(1, 9))
    assert len(res.summary) == 4
    s = res.summary[0]
    assert s["runs"] == 2 and s["final_test_loss"]["n"] == 2
    assert s["final_test_loss"]["min"] <= s["final_test_loss"]["mean"] <= s["final_test_loss"]["max"]
    # default target: 1.1 x the best final train loss; the best run reaches it
    best = min(r["final_train_loss"] for r in res.rows)
    assert res.target == pytest.approx(1.1 * best)
    assert any(r["steps_to_target"] is not None for r in res.rows)
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["format"] == "playground-sweep" and len(doc["rows"]) == 8 and len(doc["summary"]) == 4
    table = res.table()
    lines = table.splitlines()
    assert lines[0].startswith("lr") and len(lines) == 2 + 4 + 1
    assert len({len(line) for line in lines[:6]}) == 1  # aligned
    res.to_csv(tmp_path / "r.csv")
    with open(tmp_path / "r.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8 and "training.optimizer.lr" in rows[0]
    svg = res.svg()
    cells = ET.fromstring(svg).findall(f"{SVG}rect[@class='cell']")
    assert len(cells) == 4


def test_local_processes_match_serial(tmp_path):
    serial = run_sweep(SPEC, {"training.optimizer.lr": [0.05, 0.2]}, seeds=2, steps=200, workers=1)
    pooled = run_sweep(
        SPEC, {"training.optimizer.lr": [0.05, 0.2]}, seeds=2, steps=200, workers=2, out=tmp_path / "p.csv"
    )
    key = ("final_train_loss", "final_test_loss", "final_test_metric", "curve")
    assert [
        [r["run_id"]] + [r[k] if k != "curve" else [p[::2] for p in r[k]] for k in key] for r in serial.rows
    ] == [
        [r["run_id"]] + [r[k] if k != "curve" else [p[::2] for p in r[k]] for k in key] for r in pooled.rows
    ]


class Counting:
    def __init__(self):
        self.calls = 0

    def __call__(self, task):
        self.calls += 1
        return run_task(task)


def test_csv_written_as_runs_finish_and_resumed(tmp_path):
    out = tmp_path / "r.csv"

    def lines():
        return out.read_text().splitlines() if out.exists() else []

    res = run_sweep(SPEC, GRID, steps=100, workers=1, out=out, should_stop=lambda: len(lines()) > 3)

    assert len(res.rows) == 3 and len(lines()) == 4  # header + 3 rows, each written as it finished
    # simulate a crash in the middle of writing a row
    with open(out, "a") as f:
        f.write("deadbeef,3,0.3,60,3,rea")
    counting = Counting()
    res2 = run_sweep(SPEC, GRID, steps=100, workers=1, out=out, runner=counting)
    assert counting.calls == 1  # only the missing run
    assert len(res2.rows) == 4 and len({r["run_id"] for r in res2.rows}) == 4
    assert res2.meta["resumed_runs"] == 3
    with open(out) as f:
        assert len(list(csv.DictReader(f))) == 4
    # same numbers as a fresh sweep
    fresh = run_sweep(SPEC, GRID, steps=100, workers=1)
    assert [r["final_test_loss"] for r in res2.rows] == [r["final_test_loss"] for r in fresh.rows]
    # a different sweep refuses to mix its results into this file
    with pytest.raises(PlaygroundError, match="different sweep"):
        run_sweep(SPEC, GRID, steps=101, workers=1, out=out)


def test_json_resume(tmp_path):
    out = tmp_path / "r.json"
    run_sweep(SPEC, {"training.optimizer.lr": [0.1]}, seeds=2, steps=80, workers=1, out=out)
    counting = Counting()
    res = run_sweep(
        SPEC, {"training.optimizer.lr": [0.1, 0.2]}, seeds=2, steps=80, workers=1, out=out, runner=counting
    )
    assert counting.calls == 2 and len(res.rows) == 4


# --------------------------------------------------------------------------- SVG


def test_heatmap_svg_is_valid_with_one_cell_per_combination():
    svg = heatmap_svg(
        [[0.1, 0.5, None], [0.9, float("nan"), 0.3]], [1, 10, 100], [0.01, 0.1], "batch", "lr", "t"
    )
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert len(root.findall(f"{SVG}rect[@class='cell']")) == 6
    assert len(root.findall(f"{SVG}rect[@class='scale']")) == 20
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "0.5" in texts and "0.9" in texts and "<&>" not in texts


def test_lines_svg_is_valid_with_error_bars():
    svg = lines_svg([0.001, 0.01, 0.1], {"acc <&>": ([0.5, 0.8, None], [0.1, 0.0, None])}, "lr", "acc", "t")
    root = ET.fromstring(svg)
    assert len(root.findall(f"{SVG}circle[@class='point']")) == 2
    assert len(root.findall(f"{SVG}polyline")) == 1


def test_one_axis_sweep_plots_curve(tmp_path):
    res = SweepResult(
        [
            {
                "combo": 0,
                "seed": 1,
                "params": {"a": 1},
                "status": "ready",
                "final_test_metric": 0.5,
                "curve": [],
            },
            {
                "combo": 0,
                "seed": 2,
                "params": {"a": 1},
                "status": "ready",
                "final_test_metric": 0.7,
                "curve": [],
            },
            {
                "combo": 1,
                "seed": 1,
                "params": {"a": 2},
                "status": "ready",
                "final_test_metric": 0.9,
                "curve": [],
            },
        ],
        {"a": [1, 2]},
    )
    p = res.save_plot(tmp_path / "x.svg")
    assert len(ET.parse(p).getroot().findall(f"{SVG}circle[@class='point']")) == 2
    assert res.summary[0]["final_test_metric"]["mean"] == pytest.approx(0.6)


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def spec_file(tmp_path):
    p = tmp_path / "spec.json"
    p.write_text(json.dumps(SPEC))
    return p


def test_cli_sweep_writes_csv_svg_and_table(spec_file, tmp_path, capsys):
    from playground.cli import main

    out = tmp_path / "res.csv"
    rc = main(
        [
            "sweep",
            str(spec_file),
            "--grid",
            "training.optimizer.lr=0.05,0.2",
            "--grid",
            "training.batch_size=10,60",
            "--steps",
            "100",
            "--workers",
            "1",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    captured = capsys.readouterr()
    assert "batch_size" in captured.out and "[4/4]" in captured.err
    assert out.exists() and (tmp_path / "res.svg").exists()
    assert len(ET.parse(tmp_path / "res.svg").getroot().findall(f"{SVG}rect[@class='cell']")) == 4


def test_cli_sweep_bad_value_is_one_line_exit_2(spec_file, tmp_path, capsys):
    from playground.cli import main

    rc = main(
        [
            "sweep",
            str(spec_file),
            "--grid",
            "training.optimizer.lr=0.1,-2",
            "--steps",
            "10",
            "--out",
            str(tmp_path / "r.csv"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and "training.optimizer.lr" in err
    assert not (tmp_path / "r.csv").exists()
    rc = main(["sweep", str(spec_file), "--out", str(tmp_path / "r.csv"), "--plot", str(tmp_path / "p.png")])
    assert rc == 2


# --------------------------------------------------------------------------- Dask (real local cluster)


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    try:
        yield cluster
    finally:
        cluster.close()


def crash_once(task):
    """Makes its worker process die on the first run that reaches it (a lost worker)."""
    marker = Path(task["spec"]["name"])
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return run_task(task)
    os.close(fd)
    os._exit(1)


@pytest.mark.slow
def test_dask_cluster_matches_local(dask_cluster, tmp_path):
    out = tmp_path / "d.csv"
    res = run_sweep(SPEC, GRID, steps=150, scheduler=dask_cluster.scheduler_address, out=out)
    local = run_sweep(SPEC, GRID, steps=150, workers=1)
    assert [r["run_id"] for r in res.rows] == [r["run_id"] for r in local.rows]
    assert [r["final_test_loss"] for r in res.rows] == [r["final_test_loss"] for r in local.rows]
    with open(out) as f:
        assert len(list(csv.DictReader(f))) == 4


@pytest.mark.slow
def test_dask_lost_worker_is_rescheduled(dask_cluster, tmp_path):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        spec = {**SPEC, "name": str(tmp_path / "crashed.marker")}
        res = run_sweep(
            spec, GRID, seeds=2, steps=100, scheduler=dask_cluster.scheduler_address, runner=crash_once
        )
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert (tmp_path / "crashed.marker").exists()  # a worker really died
    assert len(res.rows) == 8
    assert len({r["run_id"] for r in res.rows}) == 8  # none lost, none duplicated
    assert all(r["status"] == "ready" for r in res.rows)


def test_long_curves_are_capped():
    import numpy as np

    from playground.sweep.run import MAX_CURVE_POINTS

    n = 20_000
    loss = np.exp(-np.linspace(0, 10, n))
    curve = record_curve(np.arange(n), np.linspace(0, 1, n), loss)
    assert len(curve) <= MAX_CURVE_POINTS
    assert curve[0][0] == 0 and curve[-1][0] == n - 1
    s, _ = reach(curve, 1e-2)
    assert abs(s - np.argmax(loss <= 1e-2)) < 0.02 * n
