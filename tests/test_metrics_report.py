"""playground.metrics: per-class precision / recall / F1 / support and their averages,
RMSE / MAE / R² per target, against numbers worked out by hand (sklearn's definitions;
benchmarks/check_metrics_sklearn.py compares with sklearn itself), and on experiments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from playground import Experiment
from playground.metrics import (
    classification_metrics,
    format_report,
    metrics_report,
    regression_metrics,
    table_rows,
)

# rows: true class, columns: predicted. Class "c" has 2 true samples and is never predicted.
COUNTS = [[3, 1, 0], [1, 2, 0], [2, 0, 0]]


def test_per_class_numbers_by_hand():
    m = classification_metrics(COUNTS, ["a", "b", "c"])
    a, b, c = m["per_class"]
    # a: tp 3, predicted 6, support 4; b: tp 2, predicted 3, support 3; c: tp 0, predicted 0
    assert (a["precision"], a["recall"], a["f1"], a["support"]) == pytest.approx((0.5, 0.75, 0.6, 4))
    assert (b["precision"], b["recall"], b["f1"], b["support"]) == pytest.approx((2 / 3, 2 / 3, 2 / 3, 3))
    assert (c["precision"], c["recall"], c["f1"], c["support"]) == (0.0, 0.0, 0.0, 2)
    assert m["accuracy"] == pytest.approx(5 / 9)
    assert m["n"] == 9
    assert m["confusion"] == COUNTS
    assert any("'c' was never predicted" in n for n in m["notes"])


def test_macro_and_weighted_averages_by_hand():
    m = classification_metrics(COUNTS, ["a", "b", "c"])
    assert m["macro"]["precision"] == pytest.approx(7 / 18)
    assert m["macro"]["recall"] == pytest.approx(17 / 36)
    assert m["macro"]["f1"] == pytest.approx(19 / 45)
    assert m["weighted"]["precision"] == pytest.approx(4 / 9)
    assert m["weighted"]["recall"] == pytest.approx(5 / 9)  # weighted recall is the accuracy
    assert m["weighted"]["f1"] == pytest.approx(4.4 / 9)
    assert m["macro"]["support"] == m["weighted"]["support"] == 9


def test_a_class_absent_from_truth_and_predictions_is_left_out_of_the_averages():
    counts = np.zeros((3, 3), np.int64)
    counts[:2, :2] = [[4, 0], [1, 3]]
    m = classification_metrics(counts)
    assert m["classes"] == ["0", "1", "2"]
    # over classes 0 and 1 only: precision (0.8 + 1) / 2, recall (1 + 0.75) / 2
    assert m["macro"]["precision"] == pytest.approx(0.9)
    assert m["macro"]["recall"] == pytest.approx(0.875)
    assert any("left out of the averages" in n and "'2'" in n for n in m["notes"])


def test_a_class_predicted_but_never_true_has_recall_zero_with_a_note():
    m = classification_metrics([[2, 1], [0, 0]], ["yes", "no"])
    no = m["per_class"][1]
    assert (no["precision"], no["recall"], no["f1"], no["support"]) == (0.0, 0.0, 0.0, 0)
    assert any("'no' has no true samples" in n for n in m["notes"])


def test_non_square_counts_are_refused():
    with pytest.raises(ValueError, match="square"):
        classification_metrics([[1, 2, 3], [4, 5, 6]])


def test_regression_per_target_and_pooled_by_hand():
    y = [[1, 10], [2, 20], [3, 30], [4, 40]]
    p = [[1, 12], [3, 20], [3, 27], [5, 40]]
    m = regression_metrics(y, p, ["u", "v"])
    u, v = m["targets"]
    # u: errors 0, 1, 0, 1 (SSE 2, SST 5); v: errors 2, 0, -3, 0 (SSE 13, SST 500)
    assert (u["rmse"], u["mae"], u["r2"]) == pytest.approx((math.sqrt(0.5), 0.5, 0.6))
    assert (v["rmse"], v["mae"], v["r2"]) == pytest.approx((math.sqrt(13 / 4), 1.25, 1 - 13 / 500))
    a = m["all"]
    assert (a["rmse"], a["mae"], a["r2"]) == pytest.approx((math.sqrt(15 / 8), 7 / 8, 1 - 15 / 505))
    assert m["n"] == 4 and not m["notes"]


def test_a_constant_target_has_no_r2_and_says_so():
    m = regression_metrics([[2.0], [2.0], [2.0]], [[1.0], [2.0], [3.0]], ["flat"])
    row = m["targets"][0]
    assert math.isnan(row["r2"])
    assert row["rmse"] == pytest.approx(math.sqrt(2 / 3))
    assert any("'flat' is constant" in n for n in m["notes"])


def test_shapes_must_agree():
    with pytest.raises(ValueError, match="differ in shape"):
        regression_metrics(np.zeros((4, 2)), np.zeros((4, 1)))


def _trained(data: dict, steps: int = 40, **spec) -> Experiment:
    exp = Experiment.from_spec({"data": data, "seed": 1, **spec})
    exp.train(steps=steps)
    return exp


def test_an_experiments_report_agrees_with_its_evaluation():
    exp = _trained({"name": "spiral3", "n_samples": 90})
    rep = metrics_report(exp)
    ev = exp.evaluate()
    assert rep["task"] == "classification" and rep["step"] == 40
    for part in ("train", "test"):
        split = rep["splits"][part]
        assert split["accuracy"] == pytest.approx(ev[f"{part}_accuracy"], abs=1e-12)
        assert split["confusion"] == exp.confusion(part).tolist()
        assert split["classes"] == list(exp.dataset.class_names)
    assert sum(r["support"] for r in rep["splits"]["test"]["per_class"]) == exp.dataset.n_test


def test_metrics_at_other_weights_and_a_row_limit():
    exp = _trained({"name": "spiral3", "n_samples": 90})
    theta0 = np.zeros_like(exp.trainer.theta)
    at_zero = metrics_report(exp, theta=theta0, max_rows=20)
    test = at_zero["splits"]["test"]
    assert test["n"] == 20
    assert test["confusion"] == exp.confusion("test", theta=theta0, max_rows=20).tolist()
    assert any("first 20 of" in n for n in at_zero["notes"])


def test_regression_report_matches_the_loss_and_r2_of_the_experiment():
    exp = _trained(
        {"name": "plane", "n_samples": 80},
        training={"loss": "mse"},
        network={"output_activation": "linear"},
    )
    rep = metrics_report(exp)
    ev = exp.evaluate()
    test = rep["splits"]["test"]
    assert test["all"]["r2"] == pytest.approx(ev["test_r2"], rel=1e-9)
    # torch.nn.MSELoss (mean) is RMSE squared when there is no regularisation in the loss
    assert test["targets"][0]["rmse"] ** 2 == pytest.approx(ev["test_loss"], rel=1e-9)
    header, rows = table_rows(test, "regression")
    assert header == ["target", "RMSE", "MAE", "R²"] and len(rows) == 1


def test_text_report_has_both_splits_and_the_averages():
    exp = _trained({"name": "xor", "n_samples": 60}, steps=20)
    text = format_report(metrics_report(exp))
    assert "train (" in text and "test (" in text
    assert "macro avg" in text and "weighted avg" in text and "true \\ predicted" in text
    acc = metrics_report(exp)["splits"]["test"]["accuracy"]
    assert f"accuracy {acc:.4f}" in text


# ----------------------------------------------------------------------------- the live view


@pytest.fixture
def app_controller(qtbot):
    os = pytest.importorskip("os")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from dataclasses import replace

    from playground.app.controller import ExperimentController
    from playground.spec import default_spec

    spec = default_spec()
    c = ExperimentController(replace(spec, data=replace(spec.data, n_samples=80)), warm_up=False)
    yield c
    c.pause()
    c.shutdown()


def _cells(table):
    return [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]


def test_metrics_view_shows_the_reports_table_and_confusion(app_controller, qtbot):
    from playground.app.panels.metrics import MAX_ROWS, MetricsView
    from playground.metrics import confusion_rows

    view = MetricsView(app_controller)
    qtbot.addWidget(view)
    assert app_controller.worker.snapshot_extras["metrics"] is view.feed
    view.show()
    view.request()
    exp = app_controller.experiment
    rep = metrics_report(exp, max_rows=MAX_ROWS)
    for part, index in (("test", 0), ("train", 1)):
        view.part_combo.setCurrentIndex(index)
        assert _cells(view.table) == table_rows(rep["splits"][part], "classification")[1]
        assert _cells(view.confusion) == confusion_rows(rep["splits"][part])[1]
    assert not view.confusion.isHidden()


def test_metrics_view_is_fed_live_by_the_worker_at_most_twice_a_second(app_controller, qtbot):
    from playground.app.panels.metrics import MetricsView

    view = MetricsView(app_controller)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(
        lambda: app_controller.engine_ready or app_controller.last_snapshot is not None, timeout=300_000
    )
    app_controller.play()
    fed = []
    app_controller.snapshot.connect(lambda s: "metrics" in s.extra and fed.append(s.step))
    qtbot.waitUntil(
        lambda: len(fed) >= 2 and view.report is not None and view.report["step"] > 0, timeout=300_000
    )
    app_controller.pause()
    assert view.title.text().startswith(f"Metrics at step {view.report['step']:,}")
    # the feed itself refuses to compute again within half a second
    exp = app_controller.experiment
    assert view.feed(exp) is None


def test_metrics_feed_skips_hidden_views_and_unchanged_steps():
    from playground.app.panels.metrics import MetricsFeed

    exp = _trained({"name": "xor", "n_samples": 60}, steps=10)
    feed = MetricsFeed()
    first = feed(exp)
    assert first is not None and first["step"] == 10
    feed._last = 0.0  # as if half a second had passed
    assert feed(exp) is None  # same experiment, same step: nothing new
    feed.active = False
    exp.train(steps=5)
    feed._last = 0.0
    assert feed(exp) is None
    feed.active = True
    assert feed(exp)["step"] == 15


def test_metrics_view_for_regression_shows_rmse_and_mae(qtbot):
    from playground.app.panels.metrics import MetricsView
    from playground.app.preview import PreviewController
    from playground.spec import ExperimentSpec

    spec = ExperimentSpec.from_dict({"data": {"name": "plane", "n_samples": 60}, "training": {"loss": "mse"},
                                     "network": {"output_activation": "linear"}})  # fmt: skip
    c = PreviewController(spec)
    view = MetricsView(c)
    qtbot.addWidget(view)
    view.show()
    view.request()
    header = [view.table.horizontalHeaderItem(i).text() for i in range(view.table.columnCount())]
    assert header == ["target", "RMSE", "MAE", "R²"]
    assert view.confusion.isHidden()
