"""The Metrics view: per-class precision, recall, F1 and support with the confusion matrix
(classification), or RMSE, MAE and R² per target (regression), on the test or training set,
live while training.

Where the app showed metrics before: the toolbar reads the train and test loss, the live
plots draw accuracy or R² over time, and image data has its confusion matrix among the image
views. This view adds the table people expect beside them.

The numbers are :func:`playground.metrics.metrics_report` of the current weights, computed
in the training worker with its snapshots (``controller.add_snapshot_extra("metrics", feed)``:
``MetricsFeed`` returns plain data, at most ``REFRESH_HZ`` times a second and only while the
view is shown; ``snap.extra["metrics"]``). At most ``MAX_ROWS`` rows of each split are
evaluated (the view says so when a split is larger). Between snapshots, and on a controller
without a worker, the view asks through ``controller.call_in_worker``.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from playground.metrics import confusion_rows, metrics_report, table_rows

from ..figures import install_figure_menu

REFRESH_HZ = 2.0  # the feed computes (and the view redraws) at most this often
MAX_ROWS = 20_000  # rows of each split evaluated for the live view
GOOD, BAD = QColor("#2ca02c"), QColor("#d62728")
MAX_NOTES = 4  # note lines shown under the tables; the rest in the tooltip
NOTE_CHARS = 160  # a longer note (a list of absent classes) is cut there; whole in the tooltip


class MetricsFeed:
    """The worker's side: ``feed(exp, theta)`` -> ``metrics_report`` data, or None (hidden,
    nothing new, or asked again sooner than ``1 / REFRESH_HZ``). No Qt here."""

    def __init__(self):
        self.active = True  # False while the view is hidden: nothing is computed
        self._last = 0.0
        self._last_key = None

    def __call__(self, exp, theta=None) -> dict | None:
        if not self.active:
            return None
        key = (id(exp), exp.step, exp.status)
        now = time.perf_counter()
        if key == self._last_key or now - self._last < 1.0 / REFRESH_HZ:
            return None
        self._last, self._last_key = now, key
        report = metrics_report(exp, theta=theta, max_rows=MAX_ROWS)
        report["experiment_id"] = id(exp)
        return report


def _item(text: str, align_left: bool = False) -> QTableWidgetItem:
    it = QTableWidgetItem(text)
    it.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    align = Qt.AlignmentFlag.AlignLeft if align_left else Qt.AlignmentFlag.AlignRight
    it.setTextAlignment(align | Qt.AlignmentFlag.AlignVCenter)
    return it


def _table() -> QTableWidget:
    t = QTableWidget(0, 0)
    t.verticalHeader().setVisible(False)
    t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    t.setAlternatingRowColors(True)
    return t


@contextmanager
def bulk_update(table: QTableWidget):
    """Change many cells, then size the columns once. With ResizeToContents every changed
    cell re-measures its whole column: refilling a 70-class confusion matrix (text data's
    alphabet) took minutes on the GUI thread, twice a second, and froze the window."""
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    table.setUpdatesEnabled(False)
    try:
        yield table
    finally:
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.setUpdatesEnabled(True)


def fill_table(table: QTableWidget, header: list[str], rows: list[list[str]]) -> None:
    with bulk_update(table):
        table.setColumnCount(len(header))
        table.setHorizontalHeaderLabels(header)
        table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                table.setItem(r, c, _item(text, align_left=c == 0))


class MetricsView(QWidget):
    """The metrics table of the current experiment, for the test or training set."""

    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.feed = MetricsFeed()
        self.report: dict | None = None
        self._last_draw = 0.0

        self.part_combo = QComboBox()
        self.part_combo.addItem("Test set", "test")
        self.part_combo.addItem("Training set", "train")
        self.part_combo.setToolTip("Which split the numbers are of")
        self.part_combo.currentIndexChanged.connect(lambda _i: self._draw())
        self.title = QLabel("Metrics")
        self.title.setObjectName("metric")
        top = QHBoxLayout()
        top.setContentsMargins(6, 2, 6, 0)
        top.addWidget(self.title, 1)
        top.addWidget(self.part_combo)
        self.table = _table()
        self.confusion_label = QLabel("Confusion matrix: true class down, predicted class across")
        self.confusion_label.setObjectName("dim")
        self.confusion = _table()
        lower = QWidget()
        ll = QVBoxLayout(lower)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.confusion_label)
        ll.addWidget(self.confusion, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(lower)
        self.notes = QLabel()
        self.notes.setObjectName("dim")
        self.notes.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(top)
        lay.addWidget(self.splitter, 1)
        lay.addWidget(self.notes)
        self.setToolTip(
            "Precision: of the samples predicted as a class, the share that are. Recall: of the "
            "samples of a class, the share found. F1: their harmonic mean. Support: samples of "
            "the class. Macro: the plain mean over classes; weighted: by support."
        )

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.request)
        controller.snapshot.connect(self._on_snapshot)
        controller.experimentReplaced.connect(self._on_replaced)
        add_extra = getattr(controller, "add_snapshot_extra", None)
        if add_extra is not None:  # the worker computes the report with its snapshots
            add_extra("metrics", self.feed)
        install_figure_menu(self, "metrics")

    # -- state ------------------------------------------------------------------------------
    def _fed(self) -> bool:
        worker = getattr(self.controller, "worker", None)
        return any(f is self.feed for f in getattr(worker, "snapshot_extras", {}).values())

    def _on_replaced(self) -> None:
        self.report = None
        self._draw()
        if self.isVisible():
            self._timer.start(0)

    def _on_snapshot(self, snap) -> None:
        self.feed.active = self.isVisible()
        report = (getattr(snap, "extra", None) or {}).get("metrics")
        if report is not None:
            self.set_report(report)
        elif not self._fed() and self.isVisible() and not self._timer.isActive():
            wait = max(0.0, 1.0 / REFRESH_HZ - (time.perf_counter() - self._last_draw))
            self._timer.start(int(wait * 1000))

    def request(self) -> None:
        """Compute the report now where the experiment may be read (between two chunks)."""
        call = getattr(self.controller, "call_in_worker", None)
        try:
            if call is not None:
                report = call(lambda exp: metrics_report(exp, max_rows=MAX_ROWS))
            else:  # a stand-in controller that trains on this thread
                report = metrics_report(self.controller.experiment, max_rows=MAX_ROWS)
        except Exception as e:  # a worker busy compiling: the next snapshot brings it
            self.notes.setText(f"Waiting for the engine ({e})")
            return
        report["experiment_id"] = id(self.controller.experiment)
        self.set_report(report)

    def set_report(self, report: dict) -> None:
        exp = getattr(self.controller, "experiment", None)
        if exp is not None and report.get("experiment_id", id(exp)) != id(exp):
            return  # from an experiment replaced meanwhile
        self.report = report
        self._draw()

    def part(self) -> str:
        return self.part_combo.currentData()

    # -- drawing ------------------------------------------------------------------------------
    def _draw(self) -> None:
        self._last_draw = time.perf_counter()
        r = self.report
        if r is None:
            self.title.setText("Metrics")
            fill_table(self.table, [], [])
            fill_table(self.confusion, [], [])
            self.notes.setText("")
            return
        split = r["splits"].get(self.part())
        classification = r["task"] == "classification"
        self.confusion.setVisible(classification)
        self.confusion_label.setVisible(classification)
        if split is None:
            self.title.setText(f"Metrics at step {r['step']:,}: this set is empty")
            fill_table(self.table, [], [])
            fill_table(self.confusion, [], [])
            self.notes.setText("")
            return
        head = f"Metrics at step {r['step']:,} · {split['n']:,} rows"
        if classification and math.isfinite(split["accuracy"]):
            head += f" · accuracy {split['accuracy']:.4f}"
        self.title.setText(head)
        fill_table(self.table, *table_rows(split, r["task"]))
        if classification:
            fill_table(self.confusion, *confusion_rows(split))
            self._shade_confusion(split["confusion"])
        self.set_notes(split["notes"] + r["notes"])

    def set_notes(self, notes: list[str]) -> None:
        """At most ``MAX_NOTES`` lines, the rest in the tooltip: on text data one note per
        class never predicted (dozens of lines) pushed the tables out of the dock."""
        shown = [n if len(n) <= NOTE_CHARS else n[: NOTE_CHARS - 1] + "\u2026" for n in notes]
        if len(shown) > MAX_NOTES:
            more = len(shown) - (MAX_NOTES - 1)
            shown = [*shown[: MAX_NOTES - 1], f"\u2026 and {more} more notes (hover to read them all)"]
        self.notes.setText("\n".join(shown))
        full = len(notes) > MAX_NOTES or any(len(n) > NOTE_CHARS for n in notes)
        self.notes.setToolTip("\n".join(notes) if full else "")

    def _shade_confusion(self, counts) -> None:
        """Each row shaded by its share: the diagonal green, the mistakes red."""
        with bulk_update(self.confusion):
            self._shade_rows(counts)

    def _shade_rows(self, counts) -> None:
        for i, row in enumerate(counts):
            total = max(1, sum(row))
            for j, n in enumerate(row):
                item = self.confusion.item(i, j + 1)
                color = QColor(GOOD if i == j else BAD)
                color.setAlphaF(0.08 + 0.6 * n / total if n else 0.0)
                item.setBackground(QBrush(color))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.feed.active = True
        if self.report is None:
            self._timer.start(0)

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.feed.active = False


if __name__ == "__main__":
    from playground.app.preview import run_preview

    run_preview(lambda c: MetricsView(c), size=(520, 520))
