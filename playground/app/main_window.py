"""The main window: data (left), network (centre), decision boundary (right), controls (right
dock and toolbar), plots (bottom), lessons (left, when one is open); menus and status bar.

It builds the window from the panels and wires them to the one ExperimentController; the work
is elsewhere: :mod:`.files` (open, save, export, recovery; the menu slots here only add the
question about unsaved changes and a file dialog), :mod:`.race.mode` (race mode and lessons),
:mod:`.dialogs` (sweep, help), :mod:`.window_parts` (banners, page stack).
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QByteArray, QRect, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from playground.engine import readiness
from playground.errors import PlaygroundError
from playground.lessons import LESSONS
from playground.resources import icon_path
from playground.spec import default_spec

from . import help_texts, settings, theme
from .controller import ExperimentController
from .dialogs import help as help_dialogs
from .dialogs.sweep import SweepDialog
from .exercise import install_exercise
from .files import CSV_FILTER, SESSION_FILTER, SessionFiles
from .panels.boundary import BoundaryView
from .panels.controls import ControlsPanel, TrainingToolBar
from .panels.data import DataPanel
from .panels.images import ImagesView
from .panels.inspector import InspectorView
from .panels.landscape import LandscapeView
from .panels.layers import LayersPanel
from .panels.lessons import LessonsPanel
from .panels.metrics import MetricsView
from .panels.network import NetworkView
from .panels.plots import PlotsPanel
from .panels.sequences import SequencesView
from .presenter import install_presenter, presenter_on, set_presenter
from .race.controller import RaceController
from .race.mode import RaceMode
from .race.view import RaceView
from .window_parts import DivergenceBanner, PageStack, WarningBanner

THREAD_STOP_WAIT_MS = 15 * 60_000  # closing waits this long for a running kernel compile
SCREEN_SLACK_PX = 48  # a saved window may overhang its screen by a frame/title bar, not more


PREPARING_TIP = (
    "The first launch compiles the training engine for this computer (up to a minute on a slow "
    "or busy one); later launches load it in about a second. Play starts training as soon as "
    "it is ready."
)


def preparing_text(phase: tuple[str, int, int] | None, seconds: float) -> str:
    """The status bar while the engine warms up: what compiles, how far, for how long."""
    if phase is None:
        return "Preparing the engine…"
    name, number, count = phase
    return f"Preparing the engine: {name} ({number}/{count}) · {seconds:.0f} s"


def compiling_text(progress: dict, running: bool, steps_per_s: float = 0.0) -> str:
    """The status bar while the kernels compile in the background (quick start): what
    compiles, how far, and that training goes on meanwhile on the numpy engine."""
    parts = []
    for key, p in sorted(progress.items()):
        step = f" ({p.number}/{p.count}: {p.phase})" if p.count else ""
        parts.append(f"{readiness.describe(key)}{step}")
    text = "Compiling " + " and ".join(parts) + " in the background…"
    if running:
        rate = f" — {steps_per_s:,.0f} steps/s" if steps_per_s else ""
        return f"{text} training meanwhile with the numpy engine{rate}"
    return f"{text} Play trains meanwhile with the numpy engine"


class MainWindow(QMainWindow):
    def __init__(self, controller: ExperimentController | None = None, check_recovery: bool = False):
        super().__init__()
        self.controller = controller or ExperimentController(default_spec())
        self._message_boxes: list[QMessageBox] = []
        self.setWindowTitle("Neural Playground")
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.resize(1440, 900)

        c = self.controller
        self.toolbar = TrainingToolBar(c, self)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)

        self.network_view = NetworkView(c)
        self.boundary_view = BoundaryView(c)
        self.images_view = ImagesView(c)
        self.sequences_view = SequencesView(c)
        # the right of the centre: the decision boundary over the input plane, or for image
        # data (no plane) the image views: predictions, feature maps, filters, confusion; for
        # sequences the recurrent views: gradient per time step, hidden states, gates
        self.result_stack = PageStack()
        self.result_stack.addWidget(self.boundary_view)
        self.result_stack.addWidget(self.images_view)
        self.result_stack.addWidget(self.sequences_view)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("central_splitter")
        self.splitter.addWidget(self.network_view)
        self.splitter.addWidget(self.result_stack)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        self.banner = DivergenceBanner()
        self.warning_banner = WarningBanner()
        central = QWidget()
        col = QVBoxLayout(central)
        col.setContentsMargins(4, 4, 4, 0)
        col.setSpacing(4)
        col.addWidget(self.banner)
        col.addWidget(self.warning_banner)
        col.addWidget(self.splitter, 1)
        self.central_stack = PageStack()  # page 0: the experiment; page 1: race mode
        self.central_stack.addWidget(central)
        self.setCentralWidget(self.central_stack)
        self.race_mode = RaceMode(self)
        self.sweep_dialog: SweepDialog | None = None
        self.gan_window = None  # GAN mode's own window (gan/window.py), opened from the GAN menu
        self._restored_saved_layout = False
        self._layout_checked = False
        self._closed = False

        self.data_panel = DataPanel(c)
        self.controls_panel = ControlsPanel(c)
        self._update_panel_minimums()
        self.plots = PlotsPanel(c)
        # the Data panel scrolls: toy, image and sequence sets are taller than a laptop screen
        self.data_scroll = QScrollArea()
        self.data_scroll.setWidget(self.data_panel)
        self.data_scroll.setWidgetResizable(True)
        self.data_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.data_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar = self.data_scroll.verticalScrollBar().sizeHint().width()
        self.data_scroll.setMinimumWidth(self.data_panel.minimumSizeHint().width() + bar)
        self.data_dock = self._dock(
            "Data", "data_dock", self.data_scroll, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.controls_dock = self._dock(
            "Training", "controls_dock", self.controls_panel, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.plots_dock = self._dock(
            "Live plots", "plots_dock", self.plots, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.layers_panel = LayersPanel(c)
        self.layers_dock = self._dock(
            "Layers", "layers_dock", self.layers_panel, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        # Layers shares the left column with Data as a tab (stacked, the two were taller than a
        # laptop screen)
        self.tabifyDockWidget(self.data_dock, self.layers_dock)
        self.data_dock.raise_()
        self.lessons_panel = LessonsPanel()
        self.lessons_dock = self._dock(
            "Lesson", "lessons_dock", self.lessons_panel, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.lessons_dock.hide()
        self.landscape_view = LandscapeView(c)
        self.landscape_dock = self._dock(
            "Loss landscape", "landscape_dock", self.landscape_view, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.landscape_dock.hide()
        self.inspector_view = InspectorView(c)
        self.inspector_view.drawingChanged.connect(self.network_view.show_phase)  # the phase drawn
        self.inspector_dock = self._dock(
            "Step inspector", "inspector_dock", self.inspector_view, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.inspector_dock.hide()
        self.metrics_view = MetricsView(c)  # per-class precision / recall, RMSE / MAE: View > Metrics
        self.metrics_dock = self._dock(
            "Metrics", "metrics_dock", self.metrics_view, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.metrics_dock.hide()
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)

        self.engine_label = QLabel(preparing_text(None, 0.0))
        self.engine_label.setObjectName("metric")
        self.engine_label.setToolTip(PREPARING_TIP)
        self.statusBar().addPermanentWidget(self.engine_label)
        self._engine_clock = QTimer(self)  # the seconds of "Preparing the engine" count up
        self._engine_clock.setInterval(1000)
        self._engine_clock.timeout.connect(self.set_engine_text)
        if not c.engine_ready:
            self._engine_clock.start()
        self.statusBar().setSizeGripEnabled(True)

        self.files = SessionFiles(self)
        self._build_menus()
        self._connect()
        self._apply_default_sizes()
        self.show_result_page()
        self._restore_settings()
        self.exercise = install_exercise(self)  # the Exercise dock, File > Make exercise…
        self.presenter_action = install_presenter(self)  # View > Presenter mode; Tab focus
        self.update_title()
        if c.engine_ready:
            self._on_engine_ready(True)
        if check_recovery:
            QTimer.singleShot(0, self.offer_recovery)

    # -- construction ------------------------------------------------------------------------
    def _dock(self, title: str, name: str, widget: QWidget, area) -> QDockWidget:
        d = QDockWidget(title, self)
        d.setObjectName(name)
        d.setWidget(widget)
        d.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, d)
        return d

    def _apply_default_sizes(self) -> None:
        controls = max(300, self.controls_panel.minimumWidth())
        self.resizeDocks([self.data_dock, self.controls_dock], [240, controls], Qt.Orientation.Horizontal)
        self.resizeDocks([self.plots_dock], [265], Qt.Orientation.Vertical)
        images = self.result_stack.currentWidget() in (self.images_view, self.sequences_view)
        self.splitter.setSizes([300, 600] if images else [520, 380])

    @Slot()
    def _update_panel_minimums(self, *_args) -> None:
        """The Training panel is never narrower than its form (labels and fields uncut): a
        scroll area's own minimum is a few pixels, so docks could squeeze it to ~70 px."""
        panel = self.controls_panel
        inner = panel.widget()
        if inner is None:
            return
        width = inner.minimumSizeHint().width() + panel.verticalScrollBar().sizeHint().width()
        panel.setMinimumWidth(width + 2 * panel.frameWidth())

    def panel_minimum_widths(self) -> dict[QDockWidget, int]:
        """The narrowest each docked panel may be and still show its content uncut."""
        out = {}
        for d in (self.data_dock, self.controls_dock, self.lessons_dock):
            w = d.widget()
            out[d] = max(w.minimumWidth(), w.minimumSizeHint().width())
        return out

    def layout_fits(self) -> bool:
        """Whether every visible docked panel is at least as wide as its minimum."""
        for d, minimum in self.panel_minimum_widths().items():
            if d.isVisible() and not d.isFloating() and d.widget().width() < minimum:
                return False
        return True

    def reset_layout(self) -> None:
        """View > Reset layout: every panel back in its default place and size."""
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowFullScreen)
        areas = (
            (self.data_dock, Qt.DockWidgetArea.LeftDockWidgetArea),
            (self.controls_dock, Qt.DockWidgetArea.RightDockWidgetArea),
            (self.plots_dock, Qt.DockWidgetArea.BottomDockWidgetArea),
            (self.layers_dock, Qt.DockWidgetArea.LeftDockWidgetArea),
            (self.lessons_dock, Qt.DockWidgetArea.LeftDockWidgetArea),
            (self.landscape_dock, Qt.DockWidgetArea.RightDockWidgetArea),
            (self.inspector_dock, Qt.DockWidgetArea.BottomDockWidgetArea),
            (self.metrics_dock, Qt.DockWidgetArea.RightDockWidgetArea),
        )
        for d, area in areas:
            d.setFloating(False)
            self.addDockWidget(area, d)
        self.tabifyDockWidget(self.data_dock, self.layers_dock)
        self.data_dock.raise_()
        self.toolbar.show()
        racing = self.racing
        for d in self.single_docks():
            d.setVisible(not racing)
        self.lessons_dock.setVisible(self.race_mode.in_lesson)
        self.landscape_dock.hide()  # opened from the View menu
        self.inspector_dock.hide()
        self.metrics_dock.hide()
        if racing:
            self.race_mode.layout_before = None  # leaving the race shows the default layout
        self._apply_default_sizes()

    def _action(self, menu, text: str, slot, shortcut=None, tip: str | None = None) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self.new_action = self._action(
            f,
            "&New",
            self.new_experiment,
            QKeySequence.StandardKey.New,
            "Start over from the demo experiment",
        )
        self.open_action = self._action(f, "&Open…", self.open_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = f.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.save_action = self._action(f, "&Save", self.save, QKeySequence.StandardKey.Save)
        self.save_as_action = self._action(
            f, "Save &As…", self.save_as_dialog, QKeySequence.StandardKey.SaveAs
        )
        f.addSeparator()
        self._action(f, "&Import CSV…", lambda: self.import_csv(None), "Ctrl+I")
        export = f.addMenu("&Export Plot")
        for key, title in (
            ("loss", "Loss"),
            ("gradients", "Gradient norms"),
            ("metric", "Accuracy / R²"),
            ("boundary", "Decision boundary"),
        ):
            self._action(export, f"{title} as PNG…", lambda _=False, k=key: self.export_plot_dialog(k, "png"))
            self._action(export, f"{title} as SVG…", lambda _=False, k=key: self.export_plot_dialog(k, "svg"))
        self._action(f, "Export &History CSV…", self.export_history_dialog)
        self._action(f, "Export &PyTorch Script…", self.export_pytorch_dialog)
        self._action(
            f, "Save &Report…", self.save_report_dialog, "Ctrl+Shift+E",
            "An HTML report: the spec in words, the metrics, the figures and the history CSV",
        )  # fmt: skip
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        e = mb.addMenu("&Edit")
        self.undo_action = self.controller.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence("Ctrl+Z"))
        self.redo_action = self.controller.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        e.addAction(self.undo_action)
        e.addAction(self.redo_action)

        tr = mb.addMenu("&Train")
        for a in self.single_actions():
            tr.addAction(a)

        v = mb.addMenu("&View")
        group = QActionGroup(self)
        self.theme_actions = {}
        for name, label in (("light", "&Light theme"), ("dark", "&Dark theme")):
            a = QAction(label, self, checkable=True)
            a.triggered.connect(lambda _=False, n=name: self.set_theme(n))
            group.addAction(a)
            v.addAction(a)
            self.theme_actions[name] = a
        v.addSeparator()
        self.plot_actions = {}
        for key, label in (
            ("loss", "Loss plot"),
            ("gradients", "Gradient norm plot"),
            ("metric", "Accuracy / R² plot"),
        ):
            a = QAction(label, self, checkable=True, checked=True)
            a.toggled.connect(lambda on, k=key: self._set_plot_visible(k, on))
            v.addAction(a)
            self.plot_actions[key] = a
        v.addSeparator()
        docks = (self.data_dock, self.layers_dock, self.controls_dock, self.plots_dock, self.lessons_dock)
        for d in (*docks, self.metrics_dock, self.landscape_dock, self.inspector_dock):
            v.addAction(d.toggleViewAction())
        v.addSeparator()
        self.reset_layout_action = self._action(
            v, "Reset &layout", self.reset_layout, None, "Every panel back in its default place and size"
        )

        self._build_race_menus(mb)
        g = mb.addMenu("&GAN")
        self._action(
            g, "Open &GAN Mode…", self.open_gan_window, "Ctrl+Shift+G",
            "A generator and a discriminator trained against each other on 2-D points",
        )  # fmt: skip

        h = mb.addMenu("&Help")
        for key, (title, _body) in help_texts.TOPICS.items():
            self._action(h, title, lambda _=False, k=key: self.show_help(k))
        h.addSeparator()
        self._action(h, "&About Neural Playground", self.show_about)

    def _connect(self) -> None:
        c = self.controller
        c.statusMessage.connect(self._on_status_message)
        c.errorOccurred.connect(self.show_error)
        c.diverged.connect(self._on_diverged)
        c.trainingStateChanged.connect(self._on_training_state)
        c.engineReadyChanged.connect(self._on_engine_ready)
        c.engineProgress.connect(lambda *_: self.set_engine_text())
        c.dtypeCompiling.connect(lambda *_: self.set_engine_text())
        c.compileProgress.connect(self._on_compile_progress)
        c.snapshot.connect(self._on_snapshot)
        c.experimentReplaced.connect(self._on_replaced)
        c.specChanged.connect(self.update_title)
        # the Training form's width changes with the optimizer's settings
        c.specChanged.connect(self._update_panel_minimums)
        c.experimentReplaced.connect(self._update_panel_minimums)
        c.undo_stack.cleanChanged.connect(self.update_title)
        self.banner.lower_button.clicked.connect(self._lower_learning_rate)
        self.banner.reset_button.clicked.connect(self._banner_reset)
        self.lessons_panel.lessonChosen.connect(self.load_lesson)
        self.lessons_panel.runRequested.connect(self.race_mode.run_lesson)
        c.engineReadyChanged.connect(self._enable_race_actions)
        self._enable_race_actions(c.engine_ready)

    def _restore_settings(self) -> None:
        name = settings.theme()
        self.set_theme(name, persist=False)
        geo, state = settings.window_geometry(), settings.window_state()
        if geo is not None and self._restore_layout(geo, state):
            self._restored_saved_layout = True
        for key, a in self.plot_actions.items():
            a.setChecked(settings.bool_value(f"view/plot_{key}", True))
        for panel in self._view_panels():
            settings.restore_view(panel)

    def _restore_layout(self, geometry: QByteArray, state: QByteArray | None) -> bool:
        """Adopt a saved window geometry and dock layout unless the window would not fit on any
        screen now (a smaller or missing monitor); then the default layout stays."""
        rect = _saved_normal_geometry(geometry)  # before Qt squeezes it onto a screen
        if rect is None or not _fits_a_screen(rect):
            return False
        before = self.geometry()
        if not self.restoreGeometry(geometry):
            return False
        if state is not None and not self.restoreState(state):
            self.setGeometry(before)
            return False
        return True

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._update_panel_minimums()  # the form's width is known once the style has polished it
        if not self._layout_checked:
            self._layout_checked = True
            QTimer.singleShot(0, self._check_restored_layout)

    @Slot()
    def _check_restored_layout(self) -> None:
        """A saved layout that leaves a panel narrower than its content is dropped for the default."""
        if self._restored_saved_layout and not self.layout_fits():
            self.reset_layout()
            self.statusBar().showMessage("The saved layout did not fit: default layout", 8000)

    def save_settings(self) -> None:
        state = self.saveState()
        if self.racing:
            # race mode hides the single-experiment docks: store the layout they return to
            state = self.race_mode.layout_before[0] if self.race_mode.layout_before else None
        if state is None or not self.layout_fits() and not self.racing:
            settings.save_window(self.saveGeometry(), None)  # no squeezed layout comes back next time
        else:
            settings.save_window(self.saveGeometry(), state)
        for key, a in self.plot_actions.items():
            settings.set_value(f"view/plot_{key}", a.isChecked())
        for panel in self._view_panels():
            settings.save_view(panel)

    def _view_panels(self) -> tuple:
        """The panels with view settings of their own (session file and QSettings), in the
        order the session file lists their keys."""
        return (self.boundary_view, self.plots)

    def view_state(self) -> dict:
        """What a session file stores of the view: the theme and each panel's view state."""
        state = {"theme": theme.current().name}
        for panel in self._view_panels():
            state.update(panel.view_state())
        state.update(self.exercise.view_state())  # a student's saved copy keeps the exercise
        return state

    def apply_view_state(self, vs: dict) -> None:
        for panel in self._view_panels():
            panel.apply_view_state(vs)

    # -- slots ---------------------------------------------------------------------------------
    @Slot(str)
    def _on_status_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 6000)

    @Slot(bool)
    def _on_engine_ready(self, _ready: bool) -> None:
        self._engine_clock.stop()
        self.engine_label.setToolTip("")
        self.set_engine_text()

    @Slot(bool)
    def _on_training_state(self, running: bool) -> None:
        if running:
            self.banner.hide()
        self.set_engine_text()

    @Slot(object)
    def _on_compile_progress(self, _progress) -> None:
        last = self.controller.last_snapshot
        self.set_engine_text(last.steps_per_s if last is not None else 0.0)

    def set_engine_text(self, steps_per_s: float = 0.0) -> None:
        c = self.controller
        if not c.engine_ready:
            text = preparing_text(c.engine_phase, time.perf_counter() - c.engine_started)
        elif c.background_compiles and not self.racing:
            text = compiling_text(c.background_compiles, c.running, steps_per_s)
        elif c.compiling_dtype:
            text = f"Preparing {readiness.describe(c.compiling_dtype)} (first use on this computer)…"
        elif self.racing and self.race is not None:
            text = self.race.state_text()
        elif c.experiment.status == "diverged":
            text = f"Diverged at step {c.experiment.diverged_step:,}"
        elif c.running:
            text = f"Training — {steps_per_s:,.0f} steps/s" if steps_per_s else "Training…"
        else:
            text = "Paused"
        self.engine_label.setText(text)

    @Slot(object)
    def _on_snapshot(self, snap) -> None:
        self.warning_banner.set_warning(snap.metrics.get("warning") if snap.status != "diverged" else None)
        if self.racing:
            return  # the status bar tells the race's state
        if snap.status == "diverged":
            self.engine_label.setText(
                f"Diverged at step {self.controller.experiment.diverged_step or snap.step:,}"
            )
        else:
            self.set_engine_text(snap.steps_per_s)

    @Slot(str)
    def _on_diverged(self, message: str) -> None:
        self.banner.show_message(message or "The run diverged: try a smaller learning rate")
        self.set_engine_text()

    @Slot()
    def _on_replaced(self) -> None:
        self.show_result_page()
        self.banner.hide()
        self.warning_banner.set_warning(None)
        self.set_engine_text()
        self.update_title()

    def show_result_page(self) -> None:
        """The image views for image data, else the decision boundary; the network view
        (a list of blocks for image networks) gets less room when it is a list."""
        ds = self.controller.experiment.dataset
        image = bool(ds.is_image)
        page = self.images_view if image else self.boundary_view
        if ds.X_train.ndim == 3:  # sequences: no plane either
            page, image = self.sequences_view, True
        if self.result_stack.currentWidget() is not page:
            self.result_stack.setCurrentWidget(page)
            total = max(sum(self.splitter.sizes()), 900)
            left = 300 if image else int(total * 0.58)
            self.splitter.setSizes([left, total - left])

    def _lower_learning_rate(self) -> None:
        """The banner's "Learning rate ÷ 10": back to the last finite weights (and optimizer
        state), a 10x smaller rate, ready to train on; the change is one undo step."""
        c = self.controller
        try:
            training = c.call_in_worker(lambda exp: _recover(exp, 0.1))
        except (PlaygroundError, TimeoutError, ValueError) as e:
            self.show_error(str(e))
            return
        # the experiment has the new rate already: the edit only records it (and is undoable)
        c.edit_spec(replace(c.spec, training=training), f"Learning rate {training.optimizer.lr:g}")
        self.banner.hide()
        c.request_snapshot()
        self.set_engine_text()

    def _banner_reset(self) -> None:
        self.controller.reset()
        self.banner.hide()

    def _set_plot_visible(self, key: str, on: bool) -> None:
        self.plots.set_plot_visible(key, on)

    @Slot()
    def update_title(self, *_args) -> None:
        name = (
            Path(self.controller.path).stem
            if self.controller.path
            else (self.controller.spec.name or "Untitled")
        )
        self.setWindowTitle(f"{name}[*] — Neural Playground")
        self.setWindowModified(self.controller.is_dirty())

    # -- theme, help -----------------------------------------------------------------------------
    def set_theme(self, name: str, persist: bool = True) -> None:
        presenting = presenter_on()
        if presenting:  # presenter mode sits on top of the theme: off, switch, on again
            set_presenter(self, False)
        theme.apply_theme(name)
        self.theme_actions[theme.current().name].setChecked(True)
        self.plots.apply_theme()
        if self.race_view is not None:
            self.race_view.apply_theme()
        self.boundary_view.apply_theme()
        self.sequences_view.apply_theme()
        self.network_view.update()
        self._update_panel_minimums()
        if presenting:
            set_presenter(self, True)
        if persist:
            settings.set_theme(name)

    def show_help(self, key: str) -> QDialog:
        return help_dialogs.show_help(self, key)

    def show_about(self) -> None:
        help_dialogs.show_about(self)

    @Slot(str)
    def show_error(self, message: str) -> QMessageBox:
        """A non-blocking message box with the error's own text (never a traceback)."""
        box = QMessageBox(
            QMessageBox.Icon.Warning, "Neural Playground", message, QMessageBox.StandardButton.Ok, self
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(
            lambda _r, b=box: self._message_boxes.remove(b) if b in self._message_boxes else None
        )
        self._message_boxes.append(box)
        box.open()
        return box

    # -- files (files.py does the work; these slots add the questions and file dialogs) --------------
    def new_experiment(self) -> None:
        if self.maybe_save():
            self.files.new_experiment()
            self.exercise.leave()  # a new experiment is no exercise: locks off, its panel hidden

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        start = self.dialog_start("sessions")
        path, _ = QFileDialog.getOpenFileName(self, "Open session", start, SESSION_FILTER)
        if path:
            self.open_session(path)

    @staticmethod
    def dialog_start(kind: str, filename: str | None = None) -> str:
        """Where a file dialog of this kind opens: the folder last used for it (then home)."""
        folder = settings.last_folder(kind)
        return str(folder / filename) if filename else str(folder)

    def open_session(self, path: str) -> bool:
        """Open a ``.playground`` file; errors go to a message box. Returns whether it worked.
        A GAN session (``.playground-gan``: dropped, or typed in File > Open) opens in GAN mode."""
        from playground.gan.session import SUFFIX as GAN_SUFFIX

        if str(path).lower().endswith(GAN_SUFFIX):
            self.open_gan_window()
            return self.gan_window.open_session(str(path))
        return self.files.open_session(path)

    def save(self) -> bool:
        if self.controller.path:
            return self.save_session(self.controller.path)
        return self.save_as_dialog()

    def save_as_dialog(self) -> bool:
        start = self.controller.path or self.dialog_start("sessions", "experiment.playground")
        path, _ = QFileDialog.getSaveFileName(self, "Save session", start, SESSION_FILTER)
        if not path:
            return False
        if not path.endswith(".playground"):
            path += ".playground"
        return self.save_session(path)

    def save_session(self, path: str) -> bool:
        return self.files.save_session(path)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = settings.recent_files()
        for path in files:
            a = self.recent_menu.addAction(path)
            a.triggered.connect(lambda _=False, p=path: self.maybe_save() and self.open_session(p))
        if not files:
            self.recent_menu.addAction("(none)").setEnabled(False)

    def ask(self, title: str, text: str, buttons, default) -> QMessageBox.StandardButton:
        """A modal question (tests replace this method to answer without a dialog)."""
        return QMessageBox.question(self, title, text, buttons, default)

    def maybe_save(self) -> bool:
        """Ask about unsaved changes: True when it is fine to go on (saved or discarded)."""
        if not self.controller.is_dirty():
            return True
        answer = self.ask(
            "Unsaved changes",
            "This experiment has unsaved changes. Save them first?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def import_csv(self, path: str | None) -> None:
        self.data_panel.open_csv_dialog(path)

    def export_history_csv(self, path: str) -> bool:
        return self.files.export_history_csv(path)

    def export_history_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export history", self.dialog_start("exports", "history.csv"), CSV_FILTER
        )
        if path:
            self.export_history_csv(path)

    def export_pytorch_dialog(self) -> None:
        """File > Export PyTorch Script…: the experiment as a script with its weights and data."""
        from .dialogs.export_pytorch import export_pytorch_dialog

        export_pytorch_dialog(self, self.controller)

    def save_report_dialog(self):
        """File > Save Report…: the report of the experiment and the views shown (a folder)."""
        from .dialogs.report import save_report_dialog

        return save_report_dialog(self)

    def export_plot(self, key: str, path: str) -> bool:
        """Write one plot ("loss", "gradients", "metric", "boundary") as PNG or SVG (by the suffix)."""
        widget = self.boundary_view.plot if key == "boundary" else self.plots.plot_widgets()[key]
        return self.files.export_plot(widget, path)

    def export_plot_dialog(self, key: str, fmt: str) -> None:
        filt = "PNG images (*.png)" if fmt == "png" else "SVG drawings (*.svg)"
        start = self.dialog_start("exports", f"{key}.{fmt}")
        path, _ = QFileDialog.getSaveFileName(self, "Export plot", start, filt)
        if path:
            if not path.lower().endswith("." + fmt):
                path += "." + fmt
            self.export_plot(key, path)

    def offer_recovery(self) -> None:
        self.files.offer_recovery()

    # -- GAN mode (gan/window.py does the work) ---------------------------------------------------
    def open_gan_window(self) -> None:
        """Show GAN mode (a window of its own; a closed one starts afresh)."""
        from .gan.window import GanWindow

        if self.gan_window is None or not self.gan_window.controller.thread.isRunning():
            self.gan_window = GanWindow()
        self.gan_window.show()
        self.gan_window.raise_()
        self.gan_window.activateWindow()

    # -- race mode (race/mode.py does the work) ---------------------------------------------------
    def _build_race_menus(self, mb) -> None:
        r = mb.addMenu("&Race")
        self.race_action = self._action(
            r, "&Race Variants…", self.race_mode.edit, "Ctrl+Shift+R", "Train 2-6 variants side by side"
        )
        self.exit_race_action = self._action(r, "&Exit Race", self.exit_race)
        self.exit_race_action.setEnabled(False)
        lm = mb.addMenu("&Lessons")
        self.lesson_actions = {}
        for lid, lesson in LESSONS.items():
            self.lesson_actions[lid] = self._action(
                lm, lesson.title, lambda _=False, k=lid: self.load_lesson(k)
            )
        tools = mb.addMenu("&Tools")
        self.sweep_action = self._action(
            tools, "&Sweep…", self.show_sweep_dialog, None, "Train every combination of a few settings"
        )

    @Slot(bool)
    def _enable_race_actions(self, ready: bool) -> None:
        # building race members evaluates them: never before the kernels are compiled
        for a in (self.race_action, self.sweep_action, *self.lesson_actions.values()):
            a.setEnabled(ready)
        self.lessons_panel.setEnabled(ready)

    @property
    def racing(self) -> bool:
        return self.race_mode.active

    @property
    def race(self) -> RaceController | None:
        """The race controller, once a race was shown (it owns a thread)."""
        return self.race_mode.race

    @property
    def race_view(self) -> RaceView | None:
        return self.race_mode.view

    def start_race(self, variants: list[dict], labels: list[str] | None = None) -> bool:
        """Race variants (overrides dicts) of the current experiment; False (and why) if impossible."""
        return self.race_mode.start(variants, labels)

    def exit_race(self) -> None:
        self.race_mode.exit()

    def load_lesson(self, lesson_id: str) -> bool:
        return self.race_mode.load_lesson(lesson_id)

    def current_layout(self) -> tuple[QByteArray, QByteArray]:
        """The dock layout and the central splitter's, as leaving a mode restores them."""
        return self.saveState(), self.splitter.saveState()

    def single_docks(self) -> tuple[QDockWidget, ...]:
        """The docks that show the single experiment (race mode hides them)."""
        return (self.data_dock, self.layers_dock, self.controls_dock, self.plots_dock)

    def single_actions(self) -> tuple[QAction, ...]:
        """The toolbar's actions on the single experiment (also in the Train menu)."""
        t = self.toolbar
        return (t.play_action, t.step_action, t.epoch_action, t.reset_action, t.seed_action)

    # -- sweeps --------------------------------------------------------------------------------------
    def show_sweep_dialog(self) -> SweepDialog:
        if self.sweep_dialog is None:
            self.sweep_dialog = SweepDialog(self.controller.spec, self)
            self.sweep_dialog.openSpec.connect(self._open_swept_spec)
        elif not self.sweep_dialog.running():
            self.sweep_dialog.base = self.controller.spec
        self.sweep_dialog.show()
        self.sweep_dialog.raise_()
        return self.sweep_dialog

    @Slot(object)
    def _open_swept_spec(self, spec) -> None:
        self.exit_race()
        if self.controller.edit_spec(spec, "Best of the sweep"):
            self.statusBar().showMessage("Opened the sweep's best combination", 5000)

    # -- Qt events ------------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if any(
            Path(u.toLocalFile()).suffix.lower() in (".csv", ".playground", ".playground-gan")
            for u in event.mimeData().urls()
        ):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            path = url.toLocalFile()
            suffix = Path(path).suffix.lower()
            if suffix == ".csv":
                event.acceptProposedAction()
                QTimer.singleShot(0, lambda p=path: self.import_csv(p))
                return
            if suffix == ".playground":
                event.acceptProposedAction()
                QTimer.singleShot(0, lambda p=path: self.maybe_save() and self.open_session(p))
                return
            if suffix == ".playground-gan":  # GAN mode's own window: this experiment stays
                event.acceptProposedAction()
                QTimer.singleShot(0, lambda p=path: self.open_session(p))
                return

    def closeEvent(self, event) -> None:
        if not self.maybe_save():
            event.ignore()
            return
        if self._closed:
            event.accept()
            return
        self._closed = True
        self.save_settings()
        self.files.stop()
        # The window goes at once; the worker threads stop between two units of work, and a
        # kernel compile running in one cannot be interrupted: wait for it (tens of seconds on a
        # first launch) rather than let a QThread be destroyed while it runs (Qt aborts then).
        self.hide()
        self.controller.shutdown(timeout_ms=THREAD_STOP_WAIT_MS)
        self.race_mode.shutdown(timeout_ms=THREAD_STOP_WAIT_MS)
        if self.gan_window is not None:
            self.gan_window.close()  # stops its trainer thread
        if self.sweep_dialog is not None:
            self.sweep_dialog.stop()
        self.controller.undo_stack.cleanChanged.disconnect(self.update_title)
        settings.mark_clean_exit()
        event.accept()


def _recover(exp, lr_factor: float):
    """Worker side of the banner's action: recover a diverged experiment; its new training spec."""
    if exp.status == "diverged":
        exp.recover(lr_factor=lr_factor)
    else:  # diverged meanwhile undone (reset, undo): only lower the rate
        from dataclasses import replace

        t = exp.spec.training
        exp.apply_training(replace(t, optimizer=replace(t.optimizer, lr=t.optimizer.lr * lr_factor)))
    return exp.spec.training


def _saved_normal_geometry(geometry: QByteArray) -> QRect | None:
    """The window rectangle stored by ``QWidget.saveGeometry`` (its un-maximized frame), or None
    if the bytes are not such a record. Format (Qt 5 and 6): magic, major, minor version, then
    the frame and the normal geometry as QRects (left, top, right, bottom as int32)."""
    from PySide6.QtCore import QDataStream, QIODevice

    stream = QDataStream(geometry, QIODevice.OpenModeFlag.ReadOnly)
    stream.setVersion(QDataStream.Version.Qt_4_0)
    if stream.readUInt32() != 0x1D9D0CB or stream.readUInt16() < 1:
        return None
    stream.readUInt16()
    frame = [stream.readInt32() for _ in range(4)]
    if stream.status() != QDataStream.Status.Ok:
        return None
    left, top, right, bottom = frame
    rect = QRect(left, top, right - left + 1, bottom - top + 1)
    return rect if rect.isValid() else None


def _fits_a_screen(rect: QRect) -> bool:
    """Whether a window rectangle lies (within a frame's slack) on one of the screens there are now."""
    slack = SCREEN_SLACK_PX
    return any(area.adjusted(-slack, -slack, slack, slack).contains(rect) for area in _screen_areas())


def _screen_areas() -> list[QRect]:
    """The available area of every screen there is now."""
    return [screen.availableGeometry() for screen in QGuiApplication.screens()]


def app_icon() -> QIcon:
    path = icon_path()
    return QIcon(str(path)) if path.exists() else QIcon()


__all__ = ["MainWindow", "app_icon"]
