"""Exercises in the app: the instructions panel, locked and hidden controls, back to the start,
and the teacher's "Make exercise…" dialog (the file format: ``playground/exercise.py``).

Every control a teacher may lock has a stable id (:data:`CONTROLS`): a dotted name mapped to
the panel attributes that make it up, so the panels need no change and an id survives a
panel's refactoring as long as this table follows it. A locked control is disabled and its
tooltip says "Locked by the exercise"; a hidden one is hidden with its form label. The panels
set their own enabled/visible state on every spec change, so the locks are applied again
after theirs (our slots are connected after the panels', and Qt calls slots in order).

The start state of an exercise is its file's bytes, kept in memory when it opens: "Back to
the start of this exercise" loads those bytes, so the spec, weights, optimizer state and
history are exactly the teacher's, even after the student saved over the file.

:func:`install_exercise` adds the dock and the menu actions to a main window; an experiment
that arrives from a file (its provenance carries a view state) brings its exercise, or none.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from playground import session
from playground.errors import PlaygroundError
from playground.exercise import Exercise, exercise_of, save_exercise

LOCK_TIP = "Locked by the exercise"
EXERCISE_FILTER = "Neural Playground exercises (*.playground)"


@dataclass(frozen=True)
class Control:
    id: str
    panel: str  # where the teacher finds it in the dialog's tree
    label: str
    parts: tuple[str, ...]  # attribute paths from the window: "controls_panel.lr"


def _c(cid, panel, label, *parts) -> Control:
    return Control(cid, panel, label, parts)


CONTROLS: tuple[Control, ...] = (
    _c("data.dataset", "Data", "Data set (toy, images, sequences)",
       "data_panel.thumb_buttons", "data_panel.image_buttons", "data_panel.sequence_buttons",
       "data_panel.folder_button"),
    _c("data.import", "Data", "Import CSV", "data_panel.import_button", "data_panel.csv_change"),
    _c("data.features", "Data", "Input features", "data_panel.features_box"),
    _c("data.ratio", "Data", "Training share", "data_panel.ratio_slider"),
    _c("data.noise", "Data", "Noise", "data_panel.noise_slider"),
    _c("data.points", "Data", "Number of points", "data_panel.points_spin"),
    _c("data.classes", "Data", "Classes", "data_panel.classes_spin"),
    _c("data.seed", "Data", "Data seed and Regenerate", "data_panel.seed_spin",
       "data_panel.regenerate_button"),
    _c("network.layers", "Network", "Layers panel (add, remove, edit layers)", "layers_panel"),
    _c("network.diagram", "Network", "Layer buttons on the diagram", "network_view._layers_box",
       "network_view.layer_controls"),
    _c("training.loss", "Training", "Loss", "controls_panel.loss"),
    _c("training.output", "Training", "Output activation", "controls_panel.output"),
    _c("training.optimizer", "Training", "Optimizer", "controls_panel.optimizer"),
    _c("training.optimizer.lr", "Training", "Learning rate", "controls_panel.lr"),
    _c("training.batch", "Training", "Batch size", "controls_panel.batch"),
    _c("training.optimizer.settings", "Training", "Optimizer settings", "controls_panel.opt_group"),
    _c("training.schedule", "Training", "Learning-rate schedule", "controls_panel.schedule",
       "controls_panel.unit", "controls_panel.step_size", "controls_panel.gamma",
       "controls_panel.t_max", "controls_panel.eta_min", "controls_panel.warmup"),
    _c("training.regularization", "Training", "Regularization", "controls_panel.reg_kind",
       "controls_panel.reg_rate"),
    _c("training.clip", "Training", "Gradient clipping", "controls_panel.clip_on", "controls_panel.clip"),
    _c("training.init", "Training", "Initializer", "controls_panel.init"),
    _c("training.seed", "Training", "Seed", "controls_panel.seed"),
    _c("training.dtype", "Training", "Precision", "controls_panel.dtype"),
    _c("run.play", "Run", "Play / pause", "toolbar.play_action"),
    _c("run.step", "Run", "Step and Epoch", "toolbar.step_action", "toolbar.epoch_action"),
    _c("run.reset", "Run", "Reset", "toolbar.reset_action"),
    _c("run.new_seed", "Run", "New seed", "toolbar.seed_action"),
)  # fmt: skip
CONTROL_IDS = {c.id: c for c in CONTROLS}


def control_parts(window, cid: str) -> list:
    """The widgets and actions the control ``cid`` is made of in ``window`` (empty if unknown)."""
    c = CONTROL_IDS.get(cid)
    if c is None:
        return []
    out = []
    for path in c.parts:
        obj = window
        for name in path.split("."):
            obj = getattr(obj, name, None)
            if obj is None:
                break
        if obj is None:
            continue
        if isinstance(obj, dict):
            out.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            out.extend(obj)
        else:
            out.append(obj)
    return out


def _form_label(w):
    """The label of ``w``'s row when it sits in a QFormLayout."""
    parent = w.parentWidget() if isinstance(w, QWidget) else None
    lay = parent.layout() if parent is not None else None
    if isinstance(lay, QFormLayout):
        return lay.labelForField(w)
    return None


class ExercisePanel(QWidget):
    """The instructions, and the way back to the start."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 8)
        self.title = QLabel()
        f = self.title.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.15)
        self.title.setFont(f)
        self.title.setWordWrap(True)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(True)
        self.locks = QLabel()
        self.locks.setObjectName("dim")
        self.locks.setWordWrap(True)
        self.restart_button = QPushButton("Back to the start of this exercise")
        self.restart_button.setToolTip("The data, network and weights exactly as the teacher saved them")
        lay.addWidget(self.title)
        lay.addWidget(self.text, 1)
        lay.addWidget(self.locks)
        lay.addWidget(self.restart_button)

    def show_exercise(self, ex: Exercise) -> None:
        self.title.setText(ex.title or "Exercise")
        self.text.setMarkdown(ex.instructions)
        free = [c.label for c in CONTROLS if c.id not in ex.locked and c.id not in ex.hidden]
        self.locks.setText("You may change: " + (", ".join(free) if free else "nothing"))


class ExerciseMode(QObject):
    """The window's exercise: which one is open, its locks, its start, its panel and actions."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.controller = window.controller
        self.exercise: Exercise | None = None
        self.start_bytes: bytes | None = None
        self.start_path: Path | None = None
        self._tips: dict[int, tuple[object, str]] = {}  # id(part) -> (part, its own tooltip)
        self._hidden: list = []
        self._restarting = False
        self.panel = ExercisePanel()
        self.panel.restart_button.clicked.connect(self.restart)
        self.dock = QDockWidget("Exercise", window)
        self.dock.setObjectName("exercise_dock")
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.dock)
        self.dock.hide()
        self.restart_action = QAction("Back to the &start of this exercise", window)
        self.restart_action.setEnabled(False)
        self.restart_action.triggered.connect(self.restart)
        self.make_action = QAction("Make &exercise…", window)
        self.make_action.setToolTip("Save this experiment as an exercise: instructions and locked controls")
        self.make_action.triggered.connect(self.make_dialog)
        c = self.controller
        for sig in (c.specChanged, c.experimentReplaced, c.trainingStateChanged, c.engineReadyChanged):
            sig.connect(self._reapply)
        c.experimentReplaced.connect(self._on_replaced)

    # -- the open exercise -------------------------------------------------------------------
    def view_state(self) -> dict:
        """The ``view`` entry a session saved now carries (so a student's copy keeps the lock)."""
        return {"exercise": self.exercise.to_dict()} if self.exercise is not None else {}

    def apply_view_state(self, vs: dict) -> None:
        try:
            ex = exercise_of(vs)
        except PlaygroundError as e:
            self.window.show_error(str(e))
            ex = None
        self.set_exercise(ex)

    def set_exercise(self, ex: Exercise | None, start: bytes | None = None, path=None) -> None:
        self._unlock()
        self.exercise = ex
        if ex is None:
            self.start_bytes = self.start_path = None
            self.dock.hide()
            self.restart_action.setEnabled(False)
            return
        if start is not None:
            self.start_bytes, self.start_path = start, Path(path) if path else None
        self.panel.show_exercise(ex)
        self.dock.show()
        self.dock.raise_()
        self.restart_action.setEnabled(self.start_bytes is not None)
        self._lock()

    def leave(self) -> None:
        """Out of exercise mode (File > New): every lock off, the panel hidden."""
        self.set_exercise(None)

    @Slot()
    def _on_replaced(self) -> None:
        """An experiment from a file (its provenance has a view state) brings its exercise."""
        if self._restarting:
            return
        exp = self.controller.experiment
        vs = exp.provenance.view_state
        if not isinstance(vs, dict):
            return  # an edit, a reset, a new experiment: the exercise stays
        try:
            ex = exercise_of(vs)
        except PlaygroundError as e:
            self.window.show_error(str(e))
            ex = None
        start = None
        path = exp.provenance.path
        if ex is not None and path is not None:
            if self.exercise == ex and self.start_path == Path(path) and self.start_bytes is not None:
                start = self.start_bytes  # the same exercise reopened: keep the first start
            else:
                try:
                    start = Path(path).read_bytes()
                except OSError:
                    start = None
        self.set_exercise(ex, start, path)

    def restart(self) -> bool:
        """Back to the start: the teacher's file as it was when the exercise opened."""
        if self.start_bytes is None:
            return False
        c = self.controller
        c.pause()
        fd, tmp = tempfile.mkstemp(suffix=".playground")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(self.start_bytes)
            exp = session.load(tmp)
        except (PlaygroundError, OSError) as e:
            self.window.show_error(str(e))
            return False
        finally:
            Path(tmp).unlink(missing_ok=True)
        exp.provenance.path = self.start_path
        self._restarting = True
        try:
            c.set_experiment(exp)
        finally:
            self._restarting = False
        self.window.apply_view_state(exp.provenance.view_state or {})
        self._reapply()
        self.window.statusBar().showMessage("Back to the start of the exercise", 5000)
        return True

    # -- locks ---------------------------------------------------------------------------------
    def locked_parts(self) -> list:
        ex = self.exercise
        return [p for cid in (ex.locked if ex else ()) for p in control_parts(self.window, cid)]

    def hidden_parts(self) -> list:
        ex = self.exercise
        return [p for cid in (ex.hidden if ex else ()) for p in control_parts(self.window, cid)]

    @Slot()
    def _reapply(self, *_args) -> None:
        if self.exercise is not None:
            self._lock()

    def reapply(self) -> None:
        """The locks again, after something that enables controls of its own accord (leaving
        race mode enables every toolbar action)."""
        self._reapply()

    def _lock(self) -> None:
        for p in self.locked_parts():
            if id(p) not in self._tips:
                self._tips[id(p)] = (p, p.toolTip())
            p.setEnabled(False)
            p.setToolTip(LOCK_TIP)
        for p in self.hidden_parts():
            for q in [p, _form_label(p)] if isinstance(p, QWidget) else [p]:
                if q is None:
                    continue
                if all(q is not h for h in self._hidden):
                    self._hidden.append(q)
                q.setVisible(False)

    def _unlock(self) -> None:
        for p, tip in self._tips.values():
            p.setToolTip(tip)
            p.setEnabled(True)
        self._tips.clear()
        for q in self._hidden:
            q.setVisible(True)
        self._hidden.clear()
        w = self.window
        for panel in ("controls_panel", "data_panel", "layers_panel"):
            refresh = getattr(getattr(w, panel, None), "refresh", None)
            if refresh is not None:
                refresh()  # the panels' own enabled / visible state again

    # -- making one ----------------------------------------------------------------------------
    def make_dialog(self) -> MakeExerciseDialog:
        dlg = MakeExerciseDialog(self, self.window)
        dlg.open()
        return dlg

    def save(self, path: str | os.PathLike, ex: Exercise) -> bool:
        """Write the current experiment as the start of ``ex`` and make it the open exercise."""
        view = {k: v for k, v in self.window.view_state().items() if k != "exercise"}
        name = self.controller.spec.name

        def _save(exp):
            from dataclasses import replace

            if exp.spec.name != name:
                exp.spec = replace(exp.spec, name=name)
            save_exercise(exp, path, ex, view)

        self.controller.pause()
        try:
            self.controller.call_in_worker(_save)
        except (PlaygroundError, OSError, TimeoutError) as e:
            self.window.show_error(str(e))
            return False
        self.set_exercise(ex, Path(path).read_bytes(), Path(path).resolve())
        self.controller.mark_saved(str(path))
        self.window.update_title()
        self.window.statusBar().showMessage(f"Exercise saved to {path}", 5000)
        return True


class MakeExerciseDialog(QDialog):
    """Title, instructions, and a tree of every control by panel: ticked = free to change,
    "Hide" = not shown. Saving asks for a file; the current experiment is the start state."""

    def __init__(self, mode: ExerciseMode, parent: QWidget | None = None):
        super().__init__(parent)
        self.mode = mode
        self.setWindowTitle("Make exercise")
        self.resize(560, 640)
        ex = mode.exercise or Exercise()
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.title = QLineEdit(ex.title)
        self.title.setPlaceholderText("Only the learning rate")
        form.addRow("Title", self.title)
        lay.addLayout(form)
        lay.addWidget(QLabel("Instructions for the student (plain text or Markdown):"))
        self.instructions = QPlainTextEdit(ex.instructions)
        self.instructions.setTabChangesFocus(True)
        lay.addWidget(self.instructions, 1)
        lay.addWidget(QLabel("Ticked controls stay free; the others are locked. Tick Hide to hide one."))
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Free to change", "Hide"])
        self.tree.setColumnWidth(0, 380)
        self.items: dict[str, QTreeWidgetItem] = {}
        groups: dict[str, QTreeWidgetItem] = {}
        for c in CONTROLS:
            g = groups.get(c.panel)
            if g is None:
                g = groups[c.panel] = QTreeWidgetItem(self.tree, [c.panel])
                g.setFlags(g.flags() | Qt.ItemFlag.ItemIsAutoTristate | Qt.ItemFlag.ItemIsUserCheckable)
                g.setExpanded(True)
            it = QTreeWidgetItem(g, [c.label, ""])
            it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            free = c.id not in ex.locked and c.id not in ex.hidden
            it.setCheckState(0, Qt.CheckState.Checked if free else Qt.CheckState.Unchecked)
            it.setCheckState(1, Qt.CheckState.Checked if c.id in ex.hidden else Qt.CheckState.Unchecked)
            it.setToolTip(0, c.id)
            self.items[c.id] = it
        lay.addWidget(self.tree, 2)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._save_dialog)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def set_free(self, cid: str, free: bool) -> None:
        self.items[cid].setCheckState(0, Qt.CheckState.Checked if free else Qt.CheckState.Unchecked)

    def set_hidden(self, cid: str, hidden: bool) -> None:
        self.items[cid].setCheckState(1, Qt.CheckState.Checked if hidden else Qt.CheckState.Unchecked)

    def exercise(self) -> Exercise:
        hidden = [cid for cid, it in self.items.items() if it.checkState(1) == Qt.CheckState.Checked]
        locked = [
            cid
            for cid, it in self.items.items()
            if it.checkState(0) != Qt.CheckState.Checked and cid not in hidden
        ]
        return Exercise(self.title.text().strip(), self.instructions.toPlainText(), locked, hidden)

    def save_to(self, path: str) -> bool:
        if self.mode.save(path, self.exercise()):
            self.accept()
            return True
        return False

    def _save_dialog(self) -> None:
        from . import settings

        name = (self.title.text().strip() or "exercise").replace("/", "-") + ".playground"
        path, _ = QFileDialog.getSaveFileName(
            self, "Save exercise", str(settings.last_folder("sessions") / name), EXERCISE_FILTER
        )
        if path:
            if not path.endswith(".playground"):
                path += ".playground"
            self.save_to(path)


def install_exercise(window) -> ExerciseMode:
    """Give ``window`` the Exercise dock, File > Make exercise…, File > Back to the start."""
    mode = ExerciseMode(window)
    file_menu = next(
        (a.menu() for a in window.menuBar().actions() if a.menu() and a.text().replace("&", "") == "File"),
        None,
    )
    if file_menu is not None:
        before = next((a for a in file_menu.actions() if a.menu() is not None and "Export" in a.text()), None)
        file_menu.insertSeparator(before) if before else file_menu.addSeparator()
        for a in (mode.make_action, mode.restart_action):
            file_menu.insertAction(before, a) if before else file_menu.addAction(a)
    view_menu = next(
        (a.menu() for a in window.menuBar().actions() if a.menu() and a.text().replace("&", "") == "View"),
        None,
    )
    if view_menu is not None:
        view_menu.addAction(mode.dock.toggleViewAction())
    return mode
