"""GAN mode's view on a real controller and worker thread: what a person sees after playing,
stepping, switching the loss, painting points and reopening a saved session."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from playground.app.gan.controller import GanController  # noqa: E402
from playground.app.gan.view import GanView  # noqa: E402
from playground.gan import GanTrainer  # noqa: E402
from tests.test_gan import small_spec  # noqa: E402

TIMEOUT = 300_000  # ms: a cold compile on a busy machine is slow; this is no speed check


@pytest.fixture
def view(qtbot):
    spec = small_spec().with_changes("training.dtype", "float64")
    c = GanController(spec)
    v = GanView(c)
    qtbot.addWidget(v)
    v.resize(1000, 640)
    v.show()
    qtbot.waitUntil(lambda: c.last_snapshot is not None and c.last_snapshot.grid is not None, timeout=TIMEOUT)
    yield v
    c.shutdown()


def test_play_trains_and_draws_every_layer(view, qtbot):
    c = view.controller
    c.play()
    qtbot.waitUntil(
        lambda: c.last_snapshot.iteration > 200 and c.last_snapshot.fit is not None, timeout=TIMEOUT
    )
    c.pause()
    assert view.play_button.text() == "Play"
    snap = c.last_snapshot
    assert view.heatmap.image is not None and view.heatmap.image.shape == (64, 64)
    assert len(view.fake.data) == len(snap.generated) and len(view.real.data) > 0
    assert view.arrows.xData is not None and len(view.arrows.xData) == 2 * 150
    assert np.isfinite(view.warp.xData[np.isfinite(view.warp.xData)]).all()
    assert view.d_curve.xData is not None and len(view.d_curve.xData) > 0
    assert "modes covered" in view.fit_label.text() and "Iteration" in view.fit_label.text()
    view.layer_boxes["heatmap"].setChecked(False)
    assert not view.heatmap.isVisible()


def test_single_steps_report_what_moved(view, qtbot):
    c = view.controller
    before = c.last_snapshot.d_steps
    view.d_button.click()
    qtbot.waitUntil(lambda: c.last_snapshot.d_steps == before + 1, timeout=TIMEOUT)
    assert view.status.text().startswith("D step")
    g0 = c.last_snapshot.g_steps
    view.g_button.click()
    qtbot.waitUntil(lambda: c.last_snapshot.g_steps == g0 + 1, timeout=TIMEOUT)
    assert "points moved" in view.status.text()
    assert len(view.arrows.xData) == 2 * 300  # before -> after lines


def test_loss_switch_keeps_training_and_painting_restarts(view, qtbot):
    c = view.controller
    c.play()
    qtbot.waitUntil(lambda: c.last_snapshot.iteration > 50, timeout=TIMEOUT)
    view.loss_combo.setCurrentIndex(view.loss_combo.findData("wgan_gp"))
    qtbot.waitUntil(lambda: c.last_snapshot.loss == "wgan_gp", timeout=TIMEOUT)
    assert c.last_snapshot.iteration > 50  # the same trainer goes on
    view.paint_at([(0.0, 1.0), (1.0, 0.0), (-1.0, -1.0)])
    qtbot.waitUntil(
        lambda: c.last_snapshot.generation == 1 and c.last_snapshot.grid is not None, timeout=TIMEOUT
    )
    assert c.spec.data.kind == "points" and len(c.spec.data.points) == 3
    assert view.data_combo.currentData() == "points"
    assert c.last_snapshot.iteration == 0


def test_save_and_open_resume_exactly(view, qtbot, tmp_path):
    c = view.controller
    c.play()
    qtbot.waitUntil(lambda: c.last_snapshot.iteration > 100, timeout=TIMEOUT)
    c.pause()
    path = tmp_path / "s.playground-gan"
    c.save(path)
    saved_at = c.worker.call(lambda tr: tr.iteration)
    theta = c.worker.call(lambda tr: tr.theta_g.copy())
    c.reset()
    qtbot.waitUntil(lambda: c.last_snapshot.generation == 1, timeout=TIMEOUT)
    c.open(path)
    qtbot.waitUntil(lambda: c.last_snapshot.generation == 2, timeout=TIMEOUT)
    assert c.last_snapshot.iteration == saved_at
    np.testing.assert_array_equal(c.worker.call(lambda tr: tr.theta_g), theta)
    fresh = GanTrainer(c.spec)
    assert not np.array_equal(fresh.theta_g, theta)


def test_window_saves_opens_and_stops_its_thread(qtbot, tmp_path):
    from playground.app.gan.controller import GanController
    from playground.app.gan.window import GanWindow

    c = GanController(small_spec())
    w = GanWindow(c)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: c.last_snapshot is not None, timeout=TIMEOUT)
    c.iteration()
    qtbot.waitUntil(lambda: c.last_snapshot.iteration == 1, timeout=TIMEOUT)
    path = str(tmp_path / "w.playground-gan")
    assert w.save_session(path)
    c.reset()
    qtbot.waitUntil(
        lambda: c.last_snapshot.iteration == 0 and c.last_snapshot.generation == 1, timeout=TIMEOUT
    )
    assert w.open_session(path)
    qtbot.waitUntil(lambda: c.last_snapshot.iteration == 1, timeout=TIMEOUT)
    bad = tmp_path / "bad.playground-gan"
    bad.write_bytes(b"not a zip")
    from PySide6.QtWidgets import QMessageBox

    shown = []
    w_warning = QMessageBox.warning
    QMessageBox.warning = lambda *a, **k: shown.append(a[2])
    try:
        assert not w.open_session(str(bad))
    finally:
        QMessageBox.warning = w_warning
    assert "bad.playground-gan" in shown[0]
    w.close()
    assert not c.thread.isRunning()


def test_quick_start_trains_on_the_twin_then_switches_to_the_kernels(qtbot):
    from playground.engine import readiness

    readiness.set_start_mode("quick")
    try:
        c = GanController(small_spec())
        v = GanView(c)
        qtbot.addWidget(v)
        qtbot.waitUntil(lambda: c.last_snapshot is not None, timeout=TIMEOUT)
        assert c.last_snapshot.engine.startswith("numpy twin")
        c.play()
        qtbot.waitUntil(lambda: c.last_snapshot.engine == "kernels", timeout=TIMEOUT)
        at_switch = c.last_snapshot.iteration
        qtbot.waitUntil(lambda: c.last_snapshot.iteration > at_switch + 100, timeout=TIMEOUT)
        assert c.worker.call(lambda tr: tr.backend) == "numba"
        c.shutdown()
    finally:
        readiness.set_start_mode("compiled")


def test_networks_form_edits_the_spec(view, qtbot):
    c = view.controller
    form = view.settings
    d = form.boxes["discriminator"]
    d.lr.setValue(0.0025)
    d.lr.editingFinished.emit()
    assert c.spec.discriminator.optimizer.lr == 0.0025
    assert c.last_snapshot.generation == 0  # a learning rate goes to the running trainer
    g = form.boxes["generator"]
    g.layers.setText("12, 9, 5")
    g.layers.editingFinished.emit()
    assert [h.units for h in c.spec.generator.hidden] == [12, 9, 5]
    qtbot.waitUntil(lambda: c.last_snapshot.generation == 1, timeout=TIMEOUT)
    assert c.worker.call(lambda tr: tr.gplan.n_params) == (3 * 12 + 12) + (12 * 9 + 9) + (9 * 5 + 5) + (
        5 * 2 + 2
    )
    g.layers.setText("12, x")
    g.layers.editingFinished.emit()
    assert "generator.hidden" in form.error.text()
    assert [h.units for h in c.spec.generator.hidden] == [12, 9, 5]
    g.layers.setText("0")
    g.layers.editingFinished.emit()
    assert "generator.hidden[0].units" in form.error.text()
    assert g.layers.text() == "12, 9, 5"  # the form shows the experiment again
    form.d_steps.setValue(3)
    form.d_steps.editingFinished.emit()
    assert c.spec.training.d_steps == 3


def test_race_dialog_draws_every_loss(view, qtbot):
    dialog = view.open_race()
    qtbot.addWidget(dialog)
    for name, box in dialog.boxes.items():
        box.setChecked(name in ("minimax", "wgan_gp"))
    dialog.iterations.setValue(200)
    dialog.run_button.click()
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Done"), timeout=TIMEOUT)
    assert [f[0] for f in dialog.last] == ["loss=minimax", "loss=wgan_gp"]
    assert all(f[2]["iteration"] == 200 for f in dialog.last)
    for _plot, fake, caption in dialog.cells.values():
        assert len(fake.data) == 600 and "modes" in caption.text()
    assert view.controller.last_snapshot.iteration == 0  # the view's experiment is untouched


def test_gan_lesson_from_the_lessons_menu_opens_gan_mode_with_its_race(qtbot):
    """The main window's Lessons menu opens a GAN lesson in GAN mode: its text in the Lesson
    dock, its variants side by side in the Lesson race tab; Run draws each one's generated
    points and modes covered; the lessons panel's Run races it again; a variant opens in the
    playground."""
    from playground.lessons import LESSONS
    from tests.test_app_race import close, make_window
    from tests.test_app_race import small_spec as experiment_spec

    lesson = LESSONS["gan_mode_collapse"]
    names = [v.name for v in lesson.variants]
    w = make_window(qtbot, experiment_spec())
    try:
        w.lesson_actions["gan_mode_collapse"].trigger()
        gan = w.gan_window
        assert gan is not None and gan.isVisible() and not w.racing  # not a race of Experiments
        assert gan.lesson_id == "gan_mode_collapse" and gan.lesson_dock.isVisible()
        text = gan.lesson_text.toPlainText()
        assert lesson.title in text and lesson.text[:60] in text and "What to watch" in text
        race = gan.race_view
        assert gan.tabs.currentWidget() is race and race.iterations.value() == lesson.steps
        assert list(race.cells) == names
        for v, (_plot, fake, caption) in zip(lesson.variants, race.cells.values()):
            assert v.title in caption.text() and len(fake.data) == 0  # ready, not trained
        race.iterations.setValue(300)
        gan.lesson_run_button.click()
        qtbot.waitUntil(lambda: race.status.text().startswith("Done"), timeout=TIMEOUT)
        assert [f[0] for f in race.last] == names
        assert all(f[2]["iteration"] == 300 and f[2]["modes"] == 8 for f in race.last)
        for _plot, fake, caption in race.cells.values():
            assert len(fake.data) == 600 and "/8 modes" in caption.text() and "D(G(z))" in caption.text()
        assert all(len(c.xData) == 1 for c in race.curves.values())  # modes covered over iterations
        # the lessons panel's Run races it again in GAN mode
        race.iterations.setValue(200)
        w.race_mode.run_lesson("gan_mode_collapse")
        qtbot.waitUntil(
            lambda: race.status.text().startswith("Done") and race.last[0][2]["iteration"] == 200,
            timeout=TIMEOUT,
        )
        gan.variant_combo.setCurrentIndex(1)
        gan.open_variant()
        assert gan.controller.spec == lesson.variants[1].spec and gan.tabs.currentWidget() is gan.view
        qtbot.waitUntil(
            lambda: (
                gan.controller.last_snapshot is not None
                and gan.controller.last_snapshot.loss == "non_saturating"
            ),
            timeout=TIMEOUT,
        )
    finally:
        if w.gan_window is not None:
            w.gan_window.close()
        close(w)
