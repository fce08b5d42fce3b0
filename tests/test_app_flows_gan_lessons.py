"""Ordinary sequences of a person's actions in GAN mode, lessons, race mode, the classroom
and export, and what the person sees after each: found broken by using the app as a new
user would (each test is one such sequence, pinned after its fix)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from tests.test_app_race import close, make_window  # noqa: E402
from tests.test_app_race import small_spec as experiment_spec  # noqa: E402
from tests.test_gan import small_spec as gan_spec  # noqa: E402

TIMEOUT = 300_000  # ms: a cold compile on a busy machine is slow; this is no speed check


def test_main_window_without_a_controller_opens(qtbot, monkeypatch):
    """``MainWindow()`` (no controller given) builds its own experiment and opens (it read
    the argument ``None`` for whether the engine was ready and raised)."""
    from playground.app import main_window
    from playground.app.controller import ExperimentController

    monkeypatch.setattr(main_window, "default_spec", experiment_spec)
    w = main_window.MainWindow()
    qtbot.addWidget(w)
    assert isinstance(w.controller, ExperimentController)
    assert w.controller.spec.data.n_samples == 80
    qtbot.waitUntil(lambda: w.controller.engine_ready, timeout=TIMEOUT)
    w.close()
    w.controller.shutdown()


def test_closing_gan_mode_stops_the_loss_race_and_its_dialog_races_the_current_networks(qtbot):
    """GAN mode: Race losses…, Run, then change the networks in the form and close GAN mode.
    The dialog's next Run races the changed networks, and closing GAN mode closes the dialog
    and stops its race (it raced on, and quitting then aborted: a QThread destroyed while
    running)."""
    from playground.app.gan.controller import GanController
    from playground.app.gan.window import GanWindow

    c = GanController(gan_spec())
    w = GanWindow(c)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: c.last_snapshot is not None, timeout=TIMEOUT)
    dialog = w.view.race_button.click() or w.view.race_dialog
    assert dialog is not None and dialog.isVisible()
    form = w.view.settings
    form.boxes["generator"].layers.setText("7, 5")
    form.boxes["generator"].layers.editingFinished.emit()
    assert [h.units for h in c.spec.generator.hidden] == [7, 5]
    for name, box in dialog.boxes.items():
        box.setChecked(name == "minimax")
    dialog.iterations.setValue(1_000_000)
    dialog.run_button.click()
    assert dialog.view.running
    raced = dialog.view.variants[0][2]
    assert [h.units for h in raced.generator.hidden] == [7, 5]  # the networks of now
    qtbot.waitUntil(lambda: dialog.last is not None, timeout=TIMEOUT)
    w.close()
    assert not dialog.view.running and not dialog.isVisible()
    assert w.view.race_dialog is None
    assert not c.thread.isRunning()


@pytest.fixture
def gan(qtbot):
    from playground.app.gan.controller import GanController
    from playground.app.gan.window import GanWindow

    c = GanController(gan_spec().with_changes("training.dtype", "float64"))
    w = GanWindow(c)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: c.last_snapshot is not None and c.last_snapshot.grid is not None, timeout=TIMEOUT)
    yield w
    w.close()


def test_paint_then_race_counts_the_painted_modes_and_the_loss_plot_starts_afresh(gan, qtbot):
    """Play, then paint three blobs: the loss plot's axes are not the last trainer's (an empty
    plot over the old iterations' range), the fit is the new data's; Race losses… on them says
    'of 3' modes (it said 'of 8', the captions '/3')."""
    c, v = gan.controller, gan.view
    c.play()
    qtbot.waitUntil(lambda: c.last_snapshot.iteration > 300, timeout=TIMEOUT)
    c.pause()
    qtbot.waitUntil(lambda: v.d_curve.xData is not None and v.d_curve.xData[-1] > 300, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: v.losses.getPlotItem().vb.viewRange()[0][1] > 300, timeout=TIMEOUT)
    v.paint_at([(0.0, 1.0), (1.0, 0.0), (-1.0, -1.0)])
    qtbot.waitUntil(
        lambda: c.last_snapshot.generation == 1 and c.last_snapshot.fit is not None, timeout=TIMEOUT
    )
    qtbot.waitUntil(lambda: "/3 modes covered" in v.fit_label.text(), timeout=TIMEOUT)
    (x0, x1), _ = v.losses.getPlotItem().vb.viewRange()
    assert x1 < 300  # not the range of the 300+ iterations before
    dialog = v.open_race()
    for name, box in dialog.boxes.items():
        box.setChecked(name == "non_saturating")
    dialog.iterations.setValue(200)
    dialog.run_button.click()
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Done"), timeout=TIMEOUT)
    caption = next(iter(dialog.cells.values()))[2].text()
    assert "/3 modes" in caption
    assert "of 3" in dialog.view.modes_plot.getPlotItem().titleLabel.text
    assert dialog.view.modes_plot.getPlotItem().vb.viewRange()[1][1] < 8


def test_a_refused_form_edit_says_why_until_the_experiment_changes(gan, qtbot, tmp_path):
    """Networks tab: a refused edit ('abc' as layers) shows the field and keeps the old
    values; after opening a saved session the message goes (it stayed, under the session's
    own valid values)."""
    c, v = gan.controller, gan.view
    path = str(tmp_path / "g.playground-gan")
    assert gan.save_session(path)
    form = v.settings
    box = form.boxes["discriminator"].layers
    shown = box.text()
    box.setText("abc")
    box.editingFinished.emit()
    assert form.error.text().startswith("discriminator.hidden")
    assert box.text() == shown
    assert gan.open_session(path)
    assert form.error.text() == ""
    form.boxes["generator"].layers.setText("0")
    form.boxes["generator"].layers.editingFinished.emit()
    assert "generator" in form.error.text()
    form.boxes["generator"].layers.setText("9")
    form.boxes["generator"].layers.editingFinished.emit()
    assert form.error.text() == "" and [h.units for h in c.spec.generator.hidden] == [9]


def test_race_table_counts_the_steps_between_history_rows(qtbot):
    """Lessons > Overfitting and regularization, Step ×10: the table's Steps and the step
    count say 10 (they waited for the next history row, 100 steps on: '0' for a while)."""
    w = make_window(qtbot, experiment_spec())
    try:
        assert w.load_lesson("regularization")
        r, view = w.race, w.race_view
        qtbot.waitUntil(lambda: all(f is not None for f in r.frames), timeout=TIMEOUT)
        view.step_button.click()
        qtbot.waitUntil(lambda: all(f.step == 10 for f in r.frames), timeout=TIMEOUT)
        assert all(len(lv) < 3 for lv in r.live)  # few rows: the frames ran ahead of them
        qtbot.waitUntil(
            lambda: [view.table.item(i, 1).text() for i in range(view.table.rowCount())] == ["10"] * 3,
            timeout=20_000,
        )
        assert "step 10" in view.status_label.text()
    finally:
        close(w)


def test_report_after_a_race_and_with_gan_mode_open_says_their_numbers(qtbot, tmp_path):
    """Race three learning rates, Step ×10, open GAN mode and step it once, File > Save
    Report: the report names every variant with the steps and losses its table shows, and
    GAN mode's iteration and fit (it held only the base experiment's words and step-0 numbers
    beside the race's figures, and the Metrics dock's figure of that base experiment)."""
    from playground.app.dialogs.report import write_window_report

    w = make_window(qtbot, experiment_spec())
    try:
        assert w.start_race([{"training.optimizer.lr": v} for v in (0.003, 0.03, 0.3)])
        r, view = w.race, w.race_view
        view.step_button.click()
        qtbot.waitUntil(lambda: all(f is not None and f.step == 10 for f in r.frames), timeout=TIMEOUT)
        qtbot.waitUntil(lambda: view.table.item(2, 1).text() == "10", timeout=20_000)
        from playground.app.gan.controller import GanController
        from playground.app.gan.window import GanWindow

        w.gan_window = GanWindow(GanController(gan_spec()))  # what the GAN menu opens, smaller
        w.open_gan_window()
        gan = w.gan_window
        qtbot.waitUntil(lambda: gan.controller.last_snapshot is not None, timeout=TIMEOUT)
        gan.controller.iteration()
        qtbot.waitUntil(lambda: gan.controller.last_snapshot.iteration == 1, timeout=TIMEOUT)
        out = write_window_report(w, tmp_path / "report")
        html = (out / "index.html").read_text(encoding="utf-8")
        for i, m in enumerate(r.members):
            loss = view.table.item(i, 2).text()
            assert f"{m.label} (training.optimizer.lr=" in html
            assert f"10 steps; train loss {loss}" in html
        assert "GAN mode: iteration 1" in html and "modes covered" in html
        assert not (out / "figures" / "metrics.png").exists()
        assert (out / "figures" / "race.png").exists() and (out / "figures" / "gan.png").exists()
    finally:
        if w.gan_window is not None:
            w.gan_window.close()
        close(w)


def test_exercise_locks_hold_after_a_race_and_a_lesson(qtbot, tmp_path):
    """A student's exercise locks Reset, Step and the learning rate; they race two learning
    rates, exit the race, open a lesson and leave it: the locks still hold (leaving race mode
    enabled the toolbar's actions again, locked ones too). File > New frees them."""
    from playground.app.exercise import LOCK_TIP
    from playground.exercise import Exercise

    w = make_window(qtbot, experiment_spec())
    try:
        path = tmp_path / "ex.playground"
        locks = ("run.reset", "run.step", "training.optimizer.lr")
        ex = Exercise("Only the batch", "Change only the batch size.", locks)
        assert w.exercise.save(path, ex)
        tb, cp = w.toolbar, w.controls_panel

        def locked():
            return (
                not tb.reset_action.isEnabled()
                and not tb.step_action.isEnabled()
                and not tb.epoch_action.isEnabled()
                and not cp.lr.isEnabled()
                and tb.reset_action.toolTip() == LOCK_TIP
            )

        assert locked() and tb.play_action.isEnabled()
        assert w.start_race([{"training.batch_size": b} for b in (8, 32)])
        w.exit_race()
        assert not w.racing and locked() and tb.play_action.isEnabled()
        assert w.load_lesson("learning_rate")
        w.exit_race()
        assert locked()
        w.new_experiment()
        assert tb.reset_action.isEnabled() and tb.step_action.isEnabled() and cp.lr.isEnabled()
    finally:
        close(w)


def test_after_gan_training_diverges_play_and_steps_say_so_until_reset(qtbot):
    """Least squares with SGD at lr 10 blows up; then Play (after choosing another loss), D
    step: the button stays Play and the status says to Reset (the button said Pause while
    nothing trained, and a D step ran on NaN weights); Reset trains again."""
    from playground.app.gan.controller import GanController
    from playground.app.gan.window import GanWindow

    spec = gan_spec().with_changes("training.loss", "least_squares")
    for net in ("generator", "discriminator"):
        spec = spec.with_changes(f"{net}.optimizer.name", "sgd").with_changes(f"{net}.optimizer.lr", 10.0)
    c = GanController(spec)
    w = GanWindow(c)
    qtbot.addWidget(w)
    w.show()
    v = w.view
    try:
        qtbot.waitUntil(lambda: c.last_snapshot is not None, timeout=TIMEOUT)
        v.play_button.click()
        qtbot.waitUntil(lambda: c.last_snapshot.status == "diverged", timeout=TIMEOUT)
        qtbot.waitUntil(lambda: v.play_button.text() == "Play", timeout=TIMEOUT)
        stopped_at = c.last_snapshot.d_steps
        v.loss_combo.setCurrentIndex(v.loss_combo.findData("minimax"))
        v.play_button.click()
        assert v.play_button.text() == "Play" and not c.running
        assert "press Reset" in v.status.text()
        v.d_button.click()
        assert "press Reset" in v.status.text()
        v.reset_button.click()
        qtbot.waitUntil(lambda: c.last_snapshot.generation == 1, timeout=TIMEOUT)
        assert c.last_snapshot.d_steps == 0 and stopped_at > 0
        v.d_button.click()
        qtbot.waitUntil(lambda: c.last_snapshot.d_steps == 1, timeout=TIMEOUT)
        assert v.status.text().startswith("D step")
    finally:
        w.close()


def test_undo_is_off_in_race_mode_and_back_after_it(qtbot):
    """Change the learning rate, race two batch sizes, Ctrl+Z: nothing changes unseen (undo
    went to the hidden single experiment: the race showed lr 0.1, the experiment returned to
    after it had 0.01); after Exit race, Undo undoes the change."""
    w = make_window(qtbot, experiment_spec())
    try:
        lr0 = w.controller.spec.training.optimizer.lr
        w.controls_panel.lr.setValue(0.1)
        w.controls_panel.lr.editingFinished.emit()
        assert w.controller.spec.training.optimizer.lr == 0.1 != lr0
        assert w.start_race([{"training.batch_size": b} for b in (8, 32)])
        assert not w.undo_action.isEnabled()
        w.undo_action.trigger()
        assert w.controller.spec.training.optimizer.lr == 0.1
        assert all(m.spec.training.optimizer.lr == 0.1 for m in w.race.members)
        w.exit_race()
        assert w.undo_action.isEnabled() and not w.redo_action.isEnabled()
        w.undo_action.trigger()
        qtbot.waitUntil(lambda: w.controller.spec.training.optimizer.lr == lr0, timeout=TIMEOUT)
        assert w.redo_action.isEnabled()
    finally:
        close(w)


def test_a_lesson_text_is_readable_beside_its_race(qtbot):
    """Lessons > Overfitting and regularization: the lesson's text has room for its words
    (the dock was squeezed to ~110 px, a word or two a line, titles broken mid-word)."""
    w = make_window(qtbot, experiment_spec())
    try:
        assert w.load_lesson("regularization")
        qtbot.waitUntil(lambda: w.lessons_dock.isVisible(), timeout=TIMEOUT)
        qtbot.waitUntil(lambda: w.lessons_panel.text.viewport().width() >= 180, timeout=10_000)
        assert w.race_view.width() > 500  # the race keeps most of the window
    finally:
        close(w)


def test_a_gan_session_opened_from_the_main_window_opens_in_gan_mode(qtbot, tmp_path):
    """Save a GAN session, close GAN mode, then open the file from the main window (File >
    Open Recent, a dropped file): GAN mode opens on it at its iteration, the main experiment
    is untouched (it said "member 'session.json' is missing")."""
    from playground.app.gan.controller import GanController
    from playground.app.gan.window import GanWindow

    w = make_window(qtbot, experiment_spec())
    try:
        errors = []
        w.show_error = errors.append
        w.gan_window = GanWindow(GanController(gan_spec()))
        w.open_gan_window()
        c = w.gan_window.controller
        qtbot.waitUntil(lambda: c.last_snapshot is not None, timeout=TIMEOUT)
        c.iteration()
        qtbot.waitUntil(lambda: c.last_snapshot.iteration == 1, timeout=TIMEOUT)
        path = str(tmp_path / "g.playground-gan")
        assert w.gan_window.save_session(path)
        w.gan_window.close()
        spec = w.controller.spec
        w.gan_window = GanWindow(GanController(gan_spec()))  # as the GAN menu would make one
        assert w.open_session(path) and not errors
        gan = w.gan_window
        assert gan.isVisible() and gan.path == path
        snap = lambda: gan.controller.last_snapshot  # noqa: E731
        qtbot.waitUntil(lambda: snap() is not None and snap().iteration == 1, timeout=TIMEOUT)
        assert w.controller.spec == spec
    finally:
        if w.gan_window is not None:
            w.gan_window.close()
        close(w)


def test_gan_race_views_export_as_figures(gan, qtbot, tmp_path):
    """Race losses…, Run, right-click: the race's plots and its modes-covered curve export as
    PNG and SVG like every other view (the GAN races had no figure menu)."""
    from playground.app.figures import FigureMenu, export_widget

    dialog = gan.view.open_race()
    for name, box in dialog.boxes.items():
        box.setChecked(name in ("minimax", "least_squares"))
    dialog.iterations.setValue(200)
    dialog.run_button.click()
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Done"), timeout=TIMEOUT)
    race = dialog.view
    menus = {m.parent() for m in race.findChildren(FigureMenu)}
    assert race in menus and race.modes_plot in menus
    assert [a.text() for a in race.findChild(FigureMenu).actions()]
    png = export_widget(race, tmp_path / "race.png")
    svg = export_widget(race.modes_plot, tmp_path / "modes.svg", title="Modes covered")
    assert png.stat().st_size > 10_000
    assert "Modes covered" in svg.read_text(encoding="utf-8")


def test_stopping_a_gan_race_says_it_stopped(gan, qtbot):
    """Race losses…, Run, Stop: the button says Run and the status where it stopped (it said
    'Racing…' for ever)."""
    dialog = gan.view.open_race()
    for name, box in dialog.boxes.items():
        box.setChecked(name == "minimax")
    dialog.iterations.setValue(1_000_000)  # a row every 50,000 iterations
    dialog.run_button.click()
    dialog.run_button.click()  # Stop
    qtbot.waitUntil(lambda: dialog.run_button.text() == "Run", timeout=TIMEOUT)
    at = max(f[2]["iteration"] for f in dialog.last) if dialog.last else 0
    assert dialog.status.text().startswith(f"Stopped at iteration {at:,}")


def test_presenter_mode_reaches_gan_mode_on_and_off(qtbot):
    """View > Presenter mode with GAN mode open: its points and lines grow as the main
    window's do, and go back when it ends; GAN mode opened during presenter mode is drawn big
    too (only the main window's plots were: GAN mode stayed thin under the big fonts)."""
    from playground.app.gan.controller import GanController
    from playground.app.gan.window import GanWindow
    from playground.app.presenter import presenter_on

    w = make_window(qtbot, experiment_spec())
    action = w.presenter_action
    try:
        w.gan_window = GanWindow(GanController(gan_spec()))
        w.open_gan_window()
        view = w.gan_window.view
        qtbot.waitUntil(lambda: w.gan_window.controller.last_snapshot is not None, timeout=TIMEOUT)
        size, width = view.fake.opts["size"], view.warp.curve.opts["pen"].widthF()
        action.setChecked(True)
        assert presenter_on()
        assert view.fake.opts["size"] > size and view.warp.curve.opts["pen"].widthF() > max(1.0, width)
        first = w.gan_window
        first.hide()  # GAN mode opened again during presenter mode (a new window)
        w.gan_window = GanWindow(GanController(gan_spec()))
        w.open_gan_window()
        assert w.gan_window.view.fake.opts["size"] > size
        action.setChecked(False)
        for v in (view, w.gan_window.view):
            assert v.fake.opts["size"] == size and v.warp.curve.opts["pen"].widthF() == width
        first.close()
    finally:
        action.setChecked(False)
        if w.gan_window is not None:
            w.gan_window.close()
        close(w)


def test_choosing_painted_points_and_painting_nothing_shows_the_data_again(gan, qtbot):
    """Data: 'painted points' turns Paint on; Paint off without a stroke: the Data box names
    the distribution still trained on (it said 'painted points' over the ring)."""
    v = gan.view
    kind = gan.controller.spec.data.kind
    v.data_combo.setCurrentIndex(v.data_combo.findData("points"))
    assert v.paint_button.isChecked()
    v.paint_button.setChecked(False)
    assert gan.controller.spec.data.kind == kind != "points"
    assert v.data_combo.currentData() == kind
