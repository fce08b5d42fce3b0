"""DataPanel: thumbnails switch the data set, sliders/spins/features edit the spec (undoably)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from playground.app.panels.data import DataPanel, toy_thumbnail
from playground.data.toy import TOY_DATASETS
from playground.spec import DataSpec, adapt_training, default_spec

try:
    from playground.app.controller import ExperimentController
except ImportError:  # pragma: no cover - the app's controller is written in parallel
    from playground.app.preview import PreviewController as ExperimentController


@pytest.fixture
def panel(qtbot):
    try:
        controller = ExperimentController(default_spec(), warm_up=False)
    except TypeError:
        controller = ExperimentController(default_spec())
    w = DataPanel(controller)
    qtbot.addWidget(w)
    w.show()
    yield controller, w
    if hasattr(controller, "shutdown"):
        controller.shutdown()


def test_every_generator_has_a_thumbnail(qtbot):
    for name in TOY_DATASETS.names():
        pm = toy_thumbnail(name)
        assert pm.width() == pm.height() > 0
        assert not pm.toImage().isNull()


def test_thumbnail_click_switches_the_data_set(panel):
    controller, w = panel
    assert w.thumb_buttons["spiral"].isChecked()
    w.thumb_buttons["xor"].click()
    assert controller.spec.data.name == "xor"
    assert w.thumb_buttons["xor"].isChecked() and not w.thumb_buttons["spiral"].isChecked()
    assert "XOR" in w.thumb_buttons["xor"].toolTip()
    controller.undo_stack.undo()
    assert controller.spec.data.name == "spiral"
    assert w.thumb_buttons["spiral"].isChecked()


def test_regression_set_adapts_loss_and_output_in_one_undo_step(panel):
    controller, w = panel
    w.thumb_buttons["plane"].click()
    spec = controller.spec
    assert (spec.data.name, spec.training.loss, spec.network.output_activation) == ("plane", "mse", "linear")
    w.thumb_buttons["spiral3"].click()
    assert (controller.spec.training.loss, controller.spec.network.output_activation) == ("cce", "softmax")
    controller.undo_stack.undo()
    controller.undo_stack.undo()
    assert controller.spec == default_spec()


def test_adapt_training_pairs():
    spec = default_spec()
    assert adapt_training(spec, "classification", 2) is spec
    reg = adapt_training(spec, "regression", 0)
    assert (reg.training.loss, reg.network.output_activation) == ("mse", "linear")
    back = adapt_training(reg, "classification", 2)
    assert (back.training.loss, back.network.output_activation) == ("bce", "sigmoid")


def test_feature_checkboxes_edit_the_features(panel):
    controller, w = panel
    checks = w.feature_checks
    assert checks["x1"].isChecked() and checks["x2"].isChecked() and not checks["x1^2"].isChecked()
    checks["x1^2"].setChecked(True)
    assert controller.spec.data.features == ("x1", "x2", "x1^2")
    checks["x1"].setChecked(False)
    checks["x2"].setChecked(False)
    assert controller.spec.data.features == ("x1^2",)
    checks["x1^2"].setChecked(False)  # the last input cannot go
    assert controller.spec.data.features == ("x1^2",)
    assert checks["x1^2"].isChecked()
    w.thumb_buttons["sine"].click()  # 1-D data: the x2 features are disabled
    assert not checks["x2"].isEnabled() and checks["sin(x1)"].isEnabled()
    assert controller.spec.data.features == ("x1^2",)


def test_sliders_and_spins(panel):
    controller, w = panel
    w.noise_slider.setValue(30)
    assert controller.spec.data.noise == pytest.approx(0.3)
    w.ratio_slider.setValue(70)
    assert controller.spec.data.train_fraction == pytest.approx(0.7)
    assert w.ratio_label.text() == "70% train"
    w.points_spin.setValue(800)
    assert controller.spec.data.n_samples == 800
    w.seed_spin.setValue(5)
    assert controller.spec.data.seed == 5
    w.regenerate_button.click()
    assert controller.spec.data.seed not in (None, 5)
    assert controller.undo_stack.undoText() == "Regenerate data"


def test_classes_spin_only_for_blobs(panel):
    controller, w = panel
    assert w.classes_spin.isHidden()
    w.thumb_buttons["blobs"].click()
    assert not w.classes_spin.isHidden()
    w.classes_spin.setValue(5)
    assert controller.spec.data.n_classes == 5
    assert controller.experiment.dataset.n_classes == 5


def test_csv_data_shows_its_summary(panel):
    controller, w = panel
    assert w.csv_box.isHidden()
    w.import_csv(
        DataSpec(kind="csv", path="iris.csv", target="species", train_fraction=0.8), ("classification", 3)
    )
    assert controller.spec.data.kind == "csv"
    assert controller.spec.training.loss == "cce"
    assert not w.csv_box.isHidden()
    assert w.csv_name.text() == "iris.csv"
    details = w.csv_details.text()
    assert "150 rows" in details and "target species" in details and "3 classes" in details
    assert not any(b.isChecked() for b in w.thumb_buttons.values())
    assert w.features_box.isHidden()
    w.thumb_buttons["circle"].click()  # back to toy data
    assert controller.spec.data == DataSpec(kind="toy", name="circle", n_samples=500, train_fraction=0.8)
    assert w.csv_box.isHidden()
