"""Tools > Sweep…: train every combination of 1-2 swept settings x seeds, in the background.

``playground.sweep.run_sweep`` runs as a background :class:`~playground.app.tasks.Task`
(local worker processes, default one per CPU); its progress reaches slots of this GUI-thread
dialog as signals, and Cancel sets what its ``should_stop`` polls. The result shows as a summary table and the
sweep's own SVG plot (QSvgWidget), can be saved as CSV/JSON, and its best combination can be
opened in the main window (``openSpec``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, Qt, Signal, Slot
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtSvgWidgets import QSvgWidget
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from playground.errors import PlaygroundError
from playground.formatting import fmt
from playground.spec import ExperimentSpec
from playground.sweep import SweepResult, parse_value, run_sweep
from playground.variants import setting_name, variant_spec

from .. import theme
from ..tasks import Task

SWEEP_PATHS = (
    "training.optimizer.lr",
    "training.batch_size",
    "training.optimizer.name",
    "network.init",
    "network.hidden.0.units",
    "network.hidden.0.activation",
    "training.regularization.rate",
    "data.noise",
)


def path_of(text: str) -> str:
    """The spec path of a setting name from the combo ("learning rate"), or the path typed."""
    text = text.strip()
    return next((p for p in SWEEP_PATHS if setting_name(p) == text), text)


RESULT_COLUMNS = (
    ("final_train_loss", "train loss"),
    ("final_test_loss", "test loss"),
    ("final_test_metric", "{metric}"),
    ("steps_to_target", "steps to target"),
    ("wall_time", "wall time (s)"),
)


def sweep_job(spec: ExperimentSpec, grid: dict, seeds: int, steps: int, workers: int):
    """The sweep as a :class:`~playground.app.tasks.Task` job: progress ``(done, total, label)``;
    a cancel stops it between runs and returns the runs finished."""

    def run(state):
        def progress(done: int, total: int, row: dict) -> None:
            label = ", ".join(f"{setting_name(k)} = {fmt(v)}" for k, v in row.get("params", {}).items())
            state.report((done, total, label))

        return run_sweep(
            spec,
            grid,
            seeds=seeds,
            steps=steps,
            workers=workers,
            progress=progress,
            should_stop=state.is_cancelled,
        )

    return run


def failure_text(error: Exception) -> str:
    """What the dialog says about a sweep that failed (never a traceback)."""
    return str(error) if isinstance(error, (PlaygroundError, OSError)) else f"The sweep failed: {error}"


class SweepDialog(QDialog):
    openSpec = Signal(object)  # an ExperimentSpec for the main window
    finished_sweep = Signal()

    def __init__(self, base: ExperimentSpec, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Sweep")
        self.base = base
        self.result: SweepResult | None = None
        self._task: Task | None = None
        self.resize(900, 640)

        self.path_combos, self.value_edits = [], []
        form = QFormLayout()
        defaults = (("training.optimizer.lr", "0.001, 0.01, 0.1"), ("training.batch_size", "1, 10, 100"))
        for i, (path, values) in enumerate(defaults):
            combo = QComboBox()
            combo.setEditable(True)
            for known in SWEEP_PATHS:
                combo.addItem(setting_name(known), known)
            combo.setCurrentText(setting_name(path))
            combo.setToolTip(
                "The setting to sweep: pick one, or type any dotted spec path (training.optimizer.momentum)"
            )
            edit = QLineEdit(values)
            edit.setToolTip("Comma-separated values")
            row = QHBoxLayout()
            row.addWidget(combo, 1)
            row.addWidget(QLabel("="))
            row.addWidget(edit, 2)
            self.path_combos.append(combo)
            self.value_edits.append(edit)
            if i == 0:
                form.addRow("Sweep", row)
            else:
                self.second_check = QCheckBox("and")
                self.second_check.setChecked(False)
                self.second_check.toggled.connect(combo.setEnabled)
                self.second_check.toggled.connect(edit.setEnabled)
                combo.setEnabled(False)
                edit.setEnabled(False)
                form.addRow(self.second_check, row)
        self.seeds_spin = QSpinBox()
        self.seeds_spin.setRange(1, 50)
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 10_000_000)
        self.steps_spin.setSingleStep(100)
        self.steps_spin.setValue(1000)
        self.workers_spin = QSpinBox()
        self.workers_spin.setRange(1, 256)
        self.workers_spin.setValue(os.cpu_count() or 1)
        self.workers_spin.setToolTip("Worker processes (1 = in this process)")
        nums = QHBoxLayout()
        for text, w in (
            ("seeds", self.seeds_spin),
            ("steps", self.steps_spin),
            ("workers", self.workers_spin),
        ):
            nums.addWidget(QLabel(text))
            nums.addWidget(w)
        nums.addStretch(1)
        form.addRow("Runs", nums)

        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m runs")
        self.status = QLabel()
        self.status.setWordWrap(True)
        run_row = QHBoxLayout()
        run_row.addWidget(self.run_button)
        run_row.addWidget(self.cancel_button)
        run_row.addWidget(self.progress, 1)

        self.model = QStandardItemModel(0, 0, self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.svg = QSvgWidget()
        self.svg.setMinimumSize(320, 240)
        results = QSplitter()
        results.addWidget(self.table)
        results.addWidget(self.svg)
        results.setSizes([480, 400])

        self.save_button = QPushButton("Save results…")
        self.best_button = QPushButton("Open best in main window")
        self.best_button.setToolTip("Load the combination with the best test metric into the main window")
        self.close_button = QPushButton("Close")
        for b in (self.save_button, self.best_button):
            b.setEnabled(False)
        bottom = QHBoxLayout()
        bottom.addWidget(self.save_button)
        bottom.addWidget(self.best_button)
        bottom.addStretch(1)
        bottom.addWidget(self.close_button)

        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addLayout(run_row)
        lay.addWidget(self.status)
        lay.addWidget(results, 1)
        lay.addLayout(bottom)

        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.save_button.clicked.connect(self._save_dialog)
        self.best_button.clicked.connect(self.open_best)
        self.close_button.clicked.connect(self.close)

    # -- running --------------------------------------------------------------------------------
    def grid(self) -> dict:
        """{path: [values]} from the form (raises PlaygroundError when a row is unusable)."""
        grid = {}
        n = 2 if self.second_check.isChecked() else 1
        for combo, edit in list(zip(self.path_combos, self.value_edits))[:n]:
            path = path_of(combo.currentText())
            values = [parse_value(v) for v in edit.text().split(",") if v.strip()]
            if not path or not values:
                raise PlaygroundError("give a setting and at least one value for each swept row")
            if path in grid:
                raise PlaygroundError(f"{path} is swept twice")
            grid[path] = values
        return grid

    def running(self) -> bool:
        return self._task is not None and self._task.isRunning()

    def start(self) -> bool:
        if self.running():
            return False
        try:
            grid = self.grid()
        except PlaygroundError as e:
            self.status.setText(str(e))
            return False
        seeds, steps, workers = self.seeds_spin.value(), self.steps_spin.value(), self.workers_spin.value()
        total = seeds * math.prod(len(v) for v in grid.values())
        self.progress.setRange(0, total)
        self.progress.setValue(0)
        self.status.setText(f"Running {total} runs on {min(workers, total)} worker(s)…")
        self._task = Task(sweep_job(self.base, grid, seeds, steps, workers), name="sweep", keep_partial=True)
        self._task.progressed.connect(self._on_progress)
        self._task.succeeded.connect(self._on_done)
        self._task.failed.connect(self._on_failed)
        self._task.start()
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        return True

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self.status.setText("Cancelling: waiting for the runs in progress…")

    def stop(self, timeout_ms: int = 60_000) -> None:
        """Cancel and wait for the sweep thread (close and tests)."""
        if self._task is not None:
            self.cancel()
            self._task.wait(timeout_ms)

    @Slot(object)
    def _on_progress(self, progress: tuple[int, int, str]) -> None:
        done, total, label = progress
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        self.status.setText(f"{done}/{total}: {label}")

    @Slot(object)
    def _on_done(self, result: SweepResult) -> None:
        self._finish()
        self.show_result(result)
        cancelled = self._task is not None and self._task.is_cancelled()
        n = len(result.rows)
        self.status.setText(
            f"{n} run(s) in {result.meta.get('sweep_wall_time', 0):.1f} s"
            + (" (cancelled)" if cancelled else "")
        )
        self.finished_sweep.emit()

    @Slot(object)
    def _on_failed(self, error: Exception) -> None:
        self._finish()
        self.status.setText(failure_text(error))
        self.finished_sweep.emit()

    def _finish(self) -> None:
        if self._task is not None:
            self._task.wait()
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    # -- results ------------------------------------------------------------------------------------
    def show_result(self, result: SweepResult) -> None:
        self.result = result
        kind = next((s["metric"] for s in result.summary if s["metric"]), None)
        metric = {"accuracy": "test accuracy", "r2": "test R²"}.get(kind or "", "test metric")
        paths = list(result.grid)
        headers = [setting_name(p) for p in paths] + ["runs", "diverged"]
        headers += [h.format(metric=metric) for _c, h in RESULT_COLUMNS]
        self.model.clear()
        self.model.setHorizontalHeaderLabels(headers)
        seeds = max((s["runs"] for s in result.summary), default=1)
        for s in result.summary:
            cells = [fmt(s["params"][p]) for p in paths] + [str(s["runs"]), str(s["diverged"] + s["errors"])]
            for col, _h in RESULT_COLUMNS:
                st = s[col]
                if st["mean"] is None:
                    cells.append("–")
                elif seeds > 1:
                    cells.append(f"{st['mean']:.4g} ± {st['std']:.2g}")
                else:
                    cells.append(f"{st['mean']:.4g}")
            items = []
            for c in cells:
                it = QStandardItem(c)
                it.setEditable(False)
                items.append(it)
            self.model.appendRow(items)
        self._load_svg()
        has_rows = bool(result.rows)
        self.save_button.setEnabled(has_rows)
        self.best_button.setEnabled(self.best_params() is not None)

    def svg_text(self) -> str:
        """The chart shown: the result's SVG in the colours of the current theme."""
        return self.result.svg(theme=theme.current().name) if self.result is not None else ""

    def _load_svg(self) -> None:
        if self.result is not None:
            self.svg.load(QByteArray(self.svg_text().encode("utf-8")))
            # never stretched (set after load: loading resets the renderer's mode)
            self.svg.renderer().setAspectRatioMode(Qt.AspectRatioMode.KeepAspectRatio)

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._load_svg()  # a theme switch while the dialog is open
        super().changeEvent(event)

    def best_params(self) -> dict | None:
        """The combination with the best mean test metric (else the lowest train loss)."""
        if self.result is None:
            return None
        ok = [s for s in self.result.summary if s["runs"] > s["errors"]]
        scored = [s for s in ok if s["final_test_metric"]["mean"] is not None]
        if scored:
            return max(scored, key=lambda s: s["final_test_metric"]["mean"])["params"]
        scored = [s for s in ok if s["final_train_loss"]["mean"] is not None]
        return min(scored, key=lambda s: s["final_train_loss"]["mean"])["params"] if scored else None

    def open_best(self) -> None:
        params = self.best_params()
        if params is None:
            return
        try:
            spec = variant_spec(self.base, params)
        except PlaygroundError as e:
            self.status.setText(str(e))
            return
        self.openSpec.emit(spec)

    def save_results(self, path: str) -> bool:
        if self.result is None:
            return False
        try:
            self.result.save(path)
        except (OSError, PlaygroundError, ValueError) as e:
            self.status.setText(f"Cannot save {path}: {e}")
            return False
        self.status.setText(f"Results written to {path}")
        return True

    def _save_dialog(self) -> None:
        path, filt = QFileDialog.getSaveFileName(
            self, "Save sweep results", str(Path.home() / "sweep.csv"), "CSV (*.csv);;JSON (*.json)"
        )
        if path:
            if Path(path).suffix.lower() not in (".csv", ".json"):
                path += ".json" if "json" in filt.lower() else ".csv"
            self.save_results(path)

    def closeEvent(self, event) -> None:
        self.stop()
        super().closeEvent(event)


if __name__ == "__main__":  # quick look: python -m playground.app.dialogs.sweep
    from PySide6.QtWidgets import QApplication

    from playground.spec import default_spec

    app = QApplication([])
    dlg = SweepDialog(default_spec())
    dlg.show()
    app.exec()
    dlg.stop()
