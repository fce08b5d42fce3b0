"""The main window: data (left), network (centre), decision boundary (right), controls (right
dock and toolbar), plots (bottom); menus, status bar, divergence banner, files and settings.

File actions have testable methods taking a path (``open_session``, ``save_session``,
``export_history_csv``, ``export_plot``); the menu slots only add a file dialog around them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QByteArray, QRect, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

import playground
from playground.errors import PlaygroundError, SessionError
from playground.lessons import LESSONS
from playground.spec import default_spec

from . import help_texts, settings, theme
from .controller import ExperimentController, build_experiment
from .dialogs.sweep import SweepDialog
from .panels.boundary import BoundaryView
from .panels.controls import ControlsPanel, TrainingToolBar
from .panels.data import DataPanel
from .panels.lessons import LessonsPanel
from .panels.network import NetworkView
from .panels.plots import PlotsPanel
from .race import RaceController
from .race_view import RaceView

SESSION_FILTER = "Neural Playground sessions (*.playground)"
CSV_FILTER = "CSV files (*.csv)"
RECOVERY_INTERVAL_MS = 60_000
THREAD_STOP_WAIT_MS = 15 * 60_000  # closing waits this long for a running kernel compile
SCREEN_SLACK_PX = 48  # a saved window may overhang its screen by a frame/title bar, not more
WARNING_TEXTS = {
    "not learning": "Not learning: the loss has stayed above where it started for many epochs. "
    "A smaller learning rate usually helps; training goes on.",
    "oscillating": "Oscillating: the loss keeps jumping up and down. "
    "A smaller learning rate usually steadies it; training goes on.",
}


def session_module():
    """playground.session if present (written in parallel); None keeps the app running without it."""
    try:
        from playground import session
    except ImportError:
        return None
    return session


class DivergenceBanner(QFrame):
    """A prominent, dismissible message with actions, shown when a run diverges."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("banner")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 6, 8, 6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.lower_button = QPushButton("Learning rate ÷ 10")
        self.lower_button.setToolTip("Continue from the last finite weights with a 10x smaller learning rate")
        self.reset_button = QPushButton("Reset")
        self.dismiss_button = QPushButton("Dismiss")
        lay.addWidget(self.label, 1)
        for b in (self.lower_button, self.reset_button, self.dismiss_button):
            lay.addWidget(b)
        self.dismiss_button.clicked.connect(self.hide)
        self.hide()

    def show_message(self, text: str) -> None:
        self.label.setText(text)
        self.show()


class WarningBanner(QFrame):
    """A non-blocking note that training looks wrong ("not learning", "oscillating"); the run goes on.

    Dismissing it hides this warning until the experiment's warning changes."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("banner")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 4, 8, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.dismiss_button = QPushButton("Dismiss")
        lay.addWidget(self.label, 1)
        lay.addWidget(self.dismiss_button)
        self.warning: str | None = None
        self._dismissed: str | None = None
        self.dismiss_button.clicked.connect(self._dismiss)
        self.hide()

    def set_warning(self, warning: str | None) -> None:
        """Show (or hide, for None) the experiment's current warning."""
        if warning != self.warning:
            self.warning = warning
            if warning != self._dismissed:
                self._dismissed = None
        if warning is None or warning == self._dismissed:
            self.hide()
            return
        text = WARNING_TEXTS.get(warning, warning)  # a short key, or the engine's own sentence
        if self.label.text() != text:
            self.label.setText(text)
        if self.isHidden():
            self.show()

    def _dismiss(self) -> None:
        self._dismissed = self.warning
        self.hide()


class PageStack(QStackedWidget):
    """A stacked widget as small as its *current* page allows (QStackedWidget takes the largest
    minimum of all its pages, so the race view, once built, squeezed every dock beside the single
    experiment)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.currentChanged.connect(self._page_changed)

    def minimumSizeHint(self):
        page = self.currentWidget()
        return page.minimumSizeHint() if page is not None else super().minimumSizeHint()

    def sizeHint(self):
        page = self.currentWidget()
        return page.sizeHint() if page is not None else super().sizeHint()

    @Slot(int)
    def _page_changed(self, _index: int) -> None:
        self.updateGeometry()


class MainWindow(QMainWindow):
    def __init__(self, controller: ExperimentController | None = None, check_recovery: bool = False):
        super().__init__()
        self.controller = controller or ExperimentController(default_spec())
        self._message_boxes: list[QMessageBox] = []
        self._help_dialogs: list[QDialog] = []
        self.setWindowTitle("Neural Playground")
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.resize(1440, 900)

        c = self.controller
        self.toolbar = TrainingToolBar(c, self)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)

        self.network_view = NetworkView(c)
        self.boundary_view = BoundaryView(c)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("central_splitter")
        self.splitter.addWidget(self.network_view)
        self.splitter.addWidget(self.boundary_view)
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
        self.race: RaceController | None = None  # created on first use (it owns a thread)
        self.race_view: RaceView | None = None
        self.sweep_dialog: SweepDialog | None = None
        # the window layout (dock state, splitter) found when a mode (race, lesson) was entered:
        # leaving the mode restores it; None in a mode means "the default layout"
        self._layout_before_mode: tuple[QByteArray, QByteArray] | None = None
        self._restored_saved_layout = False
        self._layout_checked = False
        self._closed = False

        self.data_panel = DataPanel(c)
        self.controls_panel = ControlsPanel(c)
        self._update_panel_minimums()
        self.plots = PlotsPanel(c)
        self.data_dock = self._dock(
            "Data", "data_dock", self.data_panel, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.controls_dock = self._dock(
            "Training", "controls_dock", self.controls_panel, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.plots_dock = self._dock(
            "Live plots", "plots_dock", self.plots, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.lessons_panel = LessonsPanel()
        self.lessons_dock = self._dock(
            "Lesson", "lessons_dock", self.lessons_panel, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.lessons_dock.hide()
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)

        self.engine_label = QLabel("Preparing the engine…")
        self.engine_label.setObjectName("metric")
        self.statusBar().addPermanentWidget(self.engine_label)
        self.statusBar().setSizeGripEnabled(True)

        self._build_menus()
        self._connect()
        self._apply_default_sizes()
        self._restore_settings()
        self._update_title()
        if c.engine_ready:
            self._on_engine_ready(True)
        self.recovery_timer = QTimer(self)
        self.recovery_timer.setInterval(RECOVERY_INTERVAL_MS)
        self.recovery_timer.timeout.connect(self.write_recovery)
        self.recovery_timer.start()
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
        self.splitter.setSizes([520, 380])

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
            (self.lessons_dock, Qt.DockWidgetArea.LeftDockWidgetArea),
        )
        for d, area in areas:
            d.setFloating(False)
            self.addDockWidget(area, d)
        self.toolbar.show()
        racing = self.racing
        for d in (self.data_dock, self.controls_dock, self.plots_dock):
            d.setVisible(not racing)
        in_lesson = racing and self.race is not None and self.race.lesson_id is not None
        self.lessons_dock.setVisible(in_lesson)
        if racing:
            self._layout_before_mode = None  # leaving the race shows the default layout
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
        has_sessions = session_module() is not None
        for a in (self.open_action, self.save_action, self.save_as_action):
            a.setEnabled(has_sessions)
        self.recent_menu.setEnabled(has_sessions)
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
        for a in self._single_actions():
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
        for d in (self.data_dock, self.controls_dock, self.plots_dock, self.lessons_dock):
            v.addAction(d.toggleViewAction())
        v.addSeparator()
        self.reset_layout_action = self._action(
            v, "Reset &layout", self.reset_layout, None, "Every panel back in its default place and size"
        )

        self._build_race_menus(mb)

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
        c.snapshot.connect(self._on_snapshot)
        c.experimentReplaced.connect(self._on_replaced)
        c.specChanged.connect(self._update_title)
        # the Training form's width changes with the optimizer's settings
        c.specChanged.connect(self._update_panel_minimums)
        c.experimentReplaced.connect(self._update_panel_minimums)
        c.undo_stack.cleanChanged.connect(self._update_title)
        self.banner.lower_button.clicked.connect(self._lower_learning_rate)
        self.banner.reset_button.clicked.connect(self._banner_reset)
        self.lessons_panel.lessonChosen.connect(self.load_lesson)
        self.lessons_panel.runRequested.connect(self.run_lesson)
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
            state = self._layout_before_mode[0] if self._layout_before_mode else None
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

    # -- slots ---------------------------------------------------------------------------------
    @Slot(str)
    def _on_status_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 6000)

    @Slot(bool)
    def _on_engine_ready(self, _ready: bool) -> None:
        self._set_engine_text()

    @Slot(bool)
    def _on_training_state(self, running: bool) -> None:
        if running:
            self.banner.hide()
        self._set_engine_text()

    def _set_engine_text(self, steps_per_s: float = 0.0) -> None:
        c = self.controller
        if not c.engine_ready:
            text = "Preparing the engine…"
        elif self.racing and self.race is not None:
            text = self._race_state_text()
        elif c.experiment.status == "diverged":
            text = f"Diverged at step {c.experiment.diverged_step:,}"
        elif c.running:
            text = f"Training — {steps_per_s:,.0f} steps/s" if steps_per_s else "Training…"
        else:
            text = "Paused"
        self.engine_label.setText(text)

    def _race_state_text(self) -> str:
        race = self.race
        if race.running:
            rate = f" — {race.steps_per_s:,.0f} steps/s each" if race.steps_per_s else "…"
            return f"Race: training{rate}"
        done = [
            f is not None and (f.status == "diverged" or (m.stop_at is not None and f.step >= m.stop_at))
            for m, f in zip(race.members, race.frames)
        ]
        if done and all(done):
            return "Race finished"
        if any(f is not None and f.step > 0 for f in race.frames):
            return "Race paused"
        return "Race ready: press Play"

    @Slot()
    def _on_race_state(self, *_args) -> None:
        if self.racing:
            self._set_engine_text()

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
            self._set_engine_text(snap.steps_per_s)

    @Slot(str)
    def _on_diverged(self, message: str) -> None:
        self.banner.show_message(message or "The run diverged: try a smaller learning rate")
        self._set_engine_text()

    @Slot()
    def _on_replaced(self) -> None:
        self.banner.hide()
        self.warning_banner.set_warning(None)
        self._set_engine_text()
        self._update_title()

    def _lower_learning_rate(self) -> None:
        """The banner's "Learning rate ÷ 10": back to the last finite weights (and optimizer
        state), a 10x smaller rate, ready to train on; the change is one undo step."""
        from dataclasses import replace

        c = self.controller
        spec = c.spec
        if hasattr(c.experiment, "recover"):
            try:
                training = c.call_in_worker(lambda exp: _recover(exp, 0.1))
            except (PlaygroundError, TimeoutError, ValueError) as e:
                self.show_error(str(e))
                return
            # the experiment has the new rate already: the edit only records it (and is undoable)
            c.edit_spec(replace(spec, training=training), f"Learning rate {training.optimizer.lr:g}")
        else:
            opt = replace(spec.training.optimizer, lr=spec.training.optimizer.lr / 10)
            c.edit_spec(
                replace(spec, training=replace(spec.training, optimizer=opt)), f"Learning rate {opt.lr:g}"
            )
        self.banner.hide()
        c.request_snapshot()
        self._set_engine_text()

    def _banner_reset(self) -> None:
        self.controller.reset()
        self.banner.hide()

    def _set_plot_visible(self, key: str, on: bool) -> None:
        self.plots.set_plot_visible(key, on)

    @Slot()
    def _update_title(self, *_args) -> None:
        name = (
            Path(self.controller.path).stem
            if self.controller.path
            else (self.controller.spec.name or "Untitled")
        )
        self.setWindowTitle(f"{name}[*] — Neural Playground")
        self.setWindowModified(self.controller.is_dirty())

    # -- theme, help -----------------------------------------------------------------------------
    def set_theme(self, name: str, persist: bool = True) -> None:
        theme.apply_theme(name)
        self.theme_actions[theme.current().name].setChecked(True)
        self.plots.apply_theme()
        if self.race_view is not None:
            self.race_view.apply_theme()
        self.boundary_view.apply_theme()
        if hasattr(self.network_view, "update"):
            self.network_view.update()
        self._update_panel_minimums()
        if persist:
            settings.set_theme(name)

    def show_help(self, key: str) -> QDialog:
        dlg = QDialog(self)
        dlg.setWindowTitle(help_texts.TOPICS[key][0])
        dlg.resize(520, 360)
        lay = QVBoxLayout(dlg)
        text = QTextBrowser()
        text.setOpenExternalLinks(False)
        text.setHtml(help_texts.topic_html(key))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dlg.close)
        lay.addWidget(text)
        lay.addWidget(buttons)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show()
        return dlg

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About Neural Playground",
            f"<h3>Neural Playground {playground.__version__}</h3>"
            "<p>Watch neural networks learn by gradient descent: build a network, train it live, "
            "see the decision boundary, the losses and the gradients.</p>"
            "<p>Colours follow TensorFlow Playground: orange for negative / class 0, "
            "blue for positive / class 1.</p>",
        )

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

    # -- files ---------------------------------------------------------------------------------------
    def new_experiment(self) -> None:
        if not self.maybe_save():
            return
        self.controller.pause()
        self.controller.set_experiment(
            build_experiment(default_spec(), engine_ready=self.controller.engine_ready)
        )
        self.controller.mark_saved(None)
        self._update_title()

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
        """Open a ``.playground`` file; errors go to a message box. Returns whether it worked."""
        session = session_module()
        if session is None:
            self.show_error("Sessions are not available in this build.")
            return False
        self.controller.pause()
        try:
            exps = session.load_race(path) if hasattr(session, "load_race") else [session.load(path)]
        except (PlaygroundError, OSError, ValueError) as e:
            msg = str(e) if isinstance(e, PlaygroundError) else f"Cannot open {path}: {e}"
            self.show_error(msg)
            return False
        exp = exps[0]
        if len(exps) > 1:
            self.open_race(exps, path)
            return True
        if self.racing:
            self.exit_race()
        self.controller.set_experiment(exp)
        self.controller.mark_saved(str(path))
        self._apply_view_state(exp.provenance.view_state or {})
        settings.add_recent_file(str(path))
        settings.set_last_folder("sessions", path)
        self._update_title()
        self.statusBar().showMessage(f"Opened {path}", 5000)
        return True

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
        session = session_module()
        if session is None:
            self.show_error("Sessions are not available in this build.")
            return False
        if self.racing:
            return self.save_race(path)
        view_state = self._view_state()
        name = self.controller.spec.name

        def _save(exp):
            if exp.spec.name != name:
                from dataclasses import replace

                exp.spec = replace(exp.spec, name=name)
            session.save(exp, path, view_state=view_state)

        try:
            self.controller.call_in_worker(_save)
        except (PlaygroundError, OSError, TimeoutError) as e:
            return self._save_failed(path, e)
        return self._saved(path, f"Saved {path}")

    def _save_failed(self, path, error: Exception) -> bool:
        self.show_error(str(error) if isinstance(error, PlaygroundError) else f"Cannot save {path}: {error}")
        return False

    def _saved(self, path, message: str) -> bool:
        self.controller.mark_saved(str(path))
        settings.add_recent_file(str(path))
        settings.set_last_folder("sessions", path)
        self._update_title()
        self.statusBar().showMessage(message, 5000)
        return True

    def _view_state(self) -> dict:
        state = {"theme": theme.current().name}
        for panel in self._view_panels():
            state.update(panel.view_state())
        return state

    def _apply_view_state(self, vs: dict) -> None:
        for panel in self._view_panels():
            panel.apply_view_state(vs)

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
        if not self.controller.is_dirty() or session_module() is None:
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
        opener = getattr(self.data_panel, "open_csv_dialog", None)
        if opener is None:
            self.show_error("CSV import is not available in this build.")
            return
        opener(path)

    def export_history_csv(self, path: str) -> bool:
        try:
            from playground.session import atomic_write

            text = self.controller.call_in_worker(lambda exp: exp.history.csv_text()).encode("utf-8")
            atomic_write(path, lambda f: f.write(text))  # never a half-written file
        except (OSError, TimeoutError) as e:
            self.show_error(f"Cannot write {path}: {e}")
            return False
        settings.set_last_folder("exports", path)
        self.statusBar().showMessage(f"History written to {path}", 5000)
        return True

    def export_history_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export history", self.dialog_start("exports", "history.csv"), CSV_FILTER
        )
        if path:
            self.export_history_csv(path)

    def export_plot(self, key: str, path: str) -> bool:
        """Write one plot as PNG (pyqtgraph ImageExporter, 2x resolution) or SVG (by the suffix)."""
        import pyqtgraph.exporters as ex

        widget = self.boundary_view.plot if key == "boundary" else self.plots.plot_widgets()[key]
        try:
            if str(path).lower().endswith(".svg"):
                _export_svg(widget, str(path))
            else:
                item = widget.getPlotItem()
                exporter = ex.ImageExporter(item)
                exporter.parameters()["width"] = max(800, int(item.sceneBoundingRect().width() * 2))
                exporter.export(str(path))
        except (OSError, ValueError) as e:
            self.show_error(f"Cannot export the plot to {path}: {e}")
            return False
        if not Path(path).exists():
            self.show_error(f"Cannot export the plot to {path}")
            return False
        settings.set_last_folder("exports", path)
        self.statusBar().showMessage(f"Plot written to {path}", 5000)
        return True

    def export_plot_dialog(self, key: str, fmt: str) -> None:
        filt = "PNG images (*.png)" if fmt == "png" else "SVG drawings (*.svg)"
        start = self.dialog_start("exports", f"{key}.{fmt}")
        path, _ = QFileDialog.getSaveFileName(self, "Export plot", start, filt)
        if path:
            if not path.lower().endswith("." + fmt):
                path += "." + fmt
            self.export_plot(key, path)

    # -- recovery ---------------------------------------------------------------------------------------
    @Slot()
    def write_recovery(self) -> None:
        session = session_module()
        if session is None or not self.controller.is_dirty() or not hasattr(session, "write_recovery"):
            return
        try:
            self.controller.call_in_worker(session.write_recovery, timeout=5.0)
        except Exception as e:  # recovery is best effort; never interrupt the user
            print(f"warning: could not write the recovery file: {e}", file=sys.stderr)

    def offer_recovery(self) -> None:
        session = session_module()
        if session is None or not hasattr(session, "newest_recovery"):
            return
        try:
            path = session.newest_recovery()
        except (PlaygroundError, OSError):
            return
        if not path or os.path.getmtime(path) <= settings.last_clean_exit():
            return
        answer = self.ask(
            "Restore your work?",
            "Neural Playground did not close properly last time. Restore the experiment it recovered?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        if answer == QMessageBox.StandardButton.Yes:
            try:
                exp = session.load(path)
            except (PlaygroundError, SessionError, OSError) as e:
                self.show_error(str(e))
                return
            self.controller.set_experiment(exp)
            self.controller.path = None

    # -- race mode, lessons, sweeps -----------------------------------------------------------------
    def _build_race_menus(self, mb) -> None:
        r = mb.addMenu("&Race")
        self.race_action = self._action(
            r, "&Race Variants…", self.race_dialog, "Ctrl+Shift+R", "Train 2-6 variants side by side"
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
        return self.central_stack.currentIndex() == 1

    def race_controller(self) -> RaceController:
        if self.race is None:
            self.race = RaceController(self)
            self.race.errorOccurred.connect(self.show_error)
            self.race.runningChanged.connect(self._on_race_state)
            self.race.frame.connect(self._on_race_state)
            self.race.membersChanged.connect(self._on_race_state)
            self.race_view = RaceView(self.race)
            self.race_view.exitRequested.connect(self.exit_race)
            self.race_view.editRequested.connect(self.race_dialog)
            self.central_stack.addWidget(self.race_view)
        return self.race

    def _current_layout(self) -> tuple[QByteArray, QByteArray]:
        return self.saveState(), self.splitter.saveState()

    def _single_actions(self) -> tuple[QAction, ...]:
        """The toolbar's actions on the single experiment (also in the Train menu)."""
        t = self.toolbar
        return (t.play_action, t.step_action, t.epoch_action, t.reset_action, t.seed_action)

    def _enter_race_mode(self, layout: tuple[QByteArray, QByteArray] | None = None) -> None:
        """Show the race; ``layout`` (default: the current one) is what leaving the race restores."""
        if self.racing:
            return
        self._layout_before_mode = layout or self._current_layout()
        self.controller.pause()
        for d in (self.data_dock, self.controls_dock, self.plots_dock):  # they show the single experiment
            d.hide()
        self.toolbar.setEnabled(False)
        for a in self._single_actions():  # Space and the Train menu act on the race meanwhile
            a.setEnabled(False)
        self.central_stack.setCurrentIndex(1)
        self.exit_race_action.setEnabled(True)
        self._set_engine_text()

    def exit_race(self) -> None:
        if self.race is not None:
            self.race.pause()
        if not self.racing:
            return
        self.central_stack.setCurrentIndex(0)
        self.toolbar.setEnabled(True)
        for a in self._single_actions():
            a.setEnabled(True)
        saved, self._layout_before_mode = self._layout_before_mode, None
        if saved is None or not self.restoreState(saved[0]):
            self.reset_layout()  # View > Reset layout was used in the race: the default layout
        else:
            self.splitter.restoreState(saved[1])
        self.exit_race_action.setEnabled(False)
        self.statusBar().clearMessage()  # "Lesson: … press Run" is about the race just left
        self._set_engine_text()
        self._update_title()

    def start_race(self, variants: list[dict], labels: list[str] | None = None) -> bool:
        """Race variants (overrides dicts) of the current experiment; False (and why) if impossible."""
        race = self.race_controller()
        try:
            race.start(self.controller.spec, variants, labels, self.controller.experiment.dataset)
        except PlaygroundError as e:
            self.show_error(str(e))
            return False
        race.lesson_id = None
        self.lessons_dock.hide()  # a race of the user's own: no lesson text
        self._enter_race_mode()
        return True

    def race_dialog(self) -> None:
        from .race_dialog import RaceDialog

        exp = self.controller.experiment
        dlg = RaceDialog(self.controller.spec, len(exp.dataset.X_train), self)
        if self.racing and self.race is not None and self.race.lesson_id is None:
            dlg.set_variants([m.overrides for m in self.race.members])
        if dlg.exec():
            self.start_race(dlg.variants())

    def open_race(self, exps: list, path: str | None = None) -> None:
        race = self.race_controller()
        labels = [e.provenance.race_label or f"variant {i + 1}" for i, e in enumerate(exps)]
        race.set_race(exps, labels, [e.provenance.race_overrides for e in exps])
        view = exps[0].provenance.view_state or {}
        if isinstance(view.get("race_target"), (int, float)):
            race.set_target(float(view["race_target"]))
        race.lesson_id = view.get("lesson") if isinstance(view.get("lesson"), str) else None
        if race.lesson_id in LESSONS:
            self.lessons_panel.show_lesson(race.lesson_id)
        race.path = str(path) if path else None
        self.controller.mark_saved(str(path) if path else None)
        self._enter_race_mode()
        if path:
            settings.add_recent_file(str(path))
            settings.set_last_folder("sessions", path)
            self.statusBar().showMessage(f"Opened the race {path}", 5000)
        self._update_title()

    def save_race(self, path: str) -> bool:
        try:
            self.race.save(path, {"theme": theme.current().name})
        except (PlaygroundError, OSError, TimeoutError) as e:
            return self._save_failed(path, e)
        return self._saved(path, f"Saved the race to {path}")

    def load_lesson(self, lesson_id: str) -> bool:
        """Open a lesson: its variants race (or its only variant opens), its text in the panel."""
        lesson = LESSONS[lesson_id]
        if len(lesson.variants) == 1:
            self.exit_race()  # first: leaving a race restores its layout, then the lesson text shows
        layout = self._current_layout()  # before the lesson text shows: leaving the lesson hides it
        self.lessons_panel.show_lesson(lesson_id)
        self.lessons_dock.show()
        self.lessons_dock.raise_()
        if len(lesson.variants) == 1:
            v = lesson.variants[0]
            self.controller.set_experiment(
                build_experiment(v.spec, engine_ready=self.controller.engine_ready)
            )
            return True
        race = self.race_controller()
        try:
            race.start_specs(
                [v.spec for v in lesson.variants],
                [v.title for v in lesson.variants],
                [v.steps for v in lesson.variants],
            )
        except PlaygroundError as e:
            self.show_error(str(e))
            return False
        race.lesson_id = lesson_id
        self._enter_race_mode(layout)
        self.statusBar().showMessage(f"Lesson: {lesson.title}. Press Run to train every variant.", 8000)
        return True

    def run_lesson(self, lesson_id: str) -> None:
        if self.race is None or self.race.lesson_id != lesson_id or not self.racing:
            if not self.load_lesson(lesson_id):
                return
        if len(LESSONS[lesson_id].variants) == 1:
            self.controller.play()
            return
        if all(
            f is not None and m.stop_at and f.step >= m.stop_at
            for m, f in zip(self.race.members, self.race.frames)
        ):
            self.race.reset()  # finished: run it again from the start
        self.race.play()

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
            Path(u.toLocalFile()).suffix.lower() in (".csv", ".playground") for u in event.mimeData().urls()
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

    def closeEvent(self, event) -> None:
        if not self.maybe_save():
            event.ignore()
            return
        if self._closed:
            event.accept()
            return
        self._closed = True
        self.save_settings()
        self.recovery_timer.stop()
        # The window goes at once; the worker threads stop between two units of work, and a
        # kernel compile running in one cannot be interrupted: wait for it (tens of seconds on a
        # first launch) rather than let a QThread be destroyed while it runs (Qt aborts then).
        self.hide()
        self.controller.shutdown(timeout_ms=THREAD_STOP_WAIT_MS)
        if self.race is not None:
            self.race.shutdown(timeout_ms=THREAD_STOP_WAIT_MS)
        if self.sweep_dialog is not None:
            self.sweep_dialog.stop()
        self.controller.undo_stack.cleanChanged.disconnect(self._update_title)
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


def _export_svg(widget: QWidget, path: str) -> None:
    """Vector export through QSvgGenerator: pyqtgraph 0.14's SVGExporter fails on the closed paths
    Qt 6.11 writes ("not enough values to unpack")."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    gen = QSvgGenerator()
    gen.setFileName(path)
    gen.setSize(widget.size())
    gen.setViewBox(QRect(0, 0, widget.width(), widget.height()))
    gen.setTitle("Neural Playground plot")
    painter = QPainter(gen)
    try:
        widget.render(painter)
    finally:
        painter.end()


def app_icon() -> QIcon:
    try:
        from playground.resources import icon_path

        path = icon_path()
        if path.exists():
            return QIcon(str(path))
    except ImportError:
        pass
    return QIcon()


__all__ = ["MainWindow", "DivergenceBanner", "app_icon"]
