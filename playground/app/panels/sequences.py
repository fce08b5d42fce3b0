"""Views of a recurrent network on sequence data: predictions against the truth over time, a
chosen sequence's hidden state of every unit at every step, LSTM/GRU gate activations, and
the gradient norm per time step: how much the loss at the end reaches back to each earlier
step (where a plain RNN's gradient vanishes and an LSTM's does not).

What is drawn comes from a :class:`SequenceState`, plain arrays computed where the
experiment may be read: :class:`SequenceFeed` rides on the training worker's snapshots
(``snap.extra["sequences"]``, at most ``REFRESH_HZ`` a second, only while shown), and without
a worker the view asks through ``controller.call_in_worker``. The numbers come from
``engine.twin.probe_recurrent`` (the twins' BPTT, float64) on a batch of test sequences.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from playground.app import theme
from playground.app.figures import install_figure_menu
from playground.app.pacing import PacedFeed
from playground.app.plotting import ReadableAxis
from playground.engine.losses import decision_threshold, decode_predictions
from playground.engine.twin import probe_recurrent

REFRESH_HZ = 5.0
PROBE_ROWS = 64  # test sequences whose gradients are averaged per step
MAX_POINTS = 4000  # test predictions drawn over time
TRUTH, PREDICTED = "#1f2328", "#d95f02"
FORECAST_STEPS = 100  # forecast beyond the data (one-series forecasts)
TEXT_CHARS = 160  # characters a text model writes per refresh
TEXT_HZ = 1.0  # a text model writes at most this often (one prediction per character)
FORECAST = "#7570b3"
LAYER_PENS = ("#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02")


def truth_color() -> str:
    """The truth curve: dark ink on a light plot, the theme's foreground on a dark one."""
    return theme.current().plot_fg if theme.current().name == "dark" else TRUTH


def is_sequence(dataset) -> bool:
    """Sequence data: samples of shape (length, features)."""
    return dataset is not None and dataset.X_train.ndim == 3


@dataclass
class SequenceState:
    """One moment of a recurrent network, as the views draw it (plain data)."""

    experiment_id: int
    step: int
    sample: int  # the chosen test sequence
    task: str
    x: np.ndarray  # (T, F) the chosen sequence
    target: str  # its target in words
    predicted: str  # the network's answer in words
    layers: list[dict] = field(default_factory=list)  # per recurrent block: kind, layer, hidden (T, H), gates
    grad_norm: list[tuple[str, np.ndarray]] = field(default_factory=list)  # (label, (T,)) per block
    truth: np.ndarray | None = None  # regression: (n,) the test targets (first target), in order
    prediction: np.ndarray | None = None  # regression: (n,) the network's one-step predictions
    time: np.ndarray | None = None  # regression: (n,) where each test target sits in time
    forecast: np.ndarray | None = None  # one-series forecasts: beyond the data, fed back
    forecast_time: np.ndarray | None = None
    seed_text: str = ""  # text: the prompt
    generated: str = ""  # text: what the network writes after it (sampled at ``temperature``)
    temperature: float = 0.0


def _words(ds, value) -> str:
    if ds.task == "classification":
        names = ds.class_names or []
        k = int(value)
        return names[k] if k < len(names) else str(k)
    v = np.ravel(value)
    return ", ".join(f"{float(x):.4g}" for x in v[:3])


def sequence_state(
    exp, theta=None, sample: int = 0, temperature: float = 0.7, text: bool = True
) -> SequenceState | None:
    """The views' state of ``exp`` at ``theta`` (default: its weights); None unless the data
    are sequences and the network has a recurrent block. Call it where the experiment may be
    read (the worker thread, or ``call_in_worker``)."""
    ds = exp.dataset
    tr = exp.trainer
    if not is_sequence(ds) or ds.n_test == 0:
        return None
    if not any(layer.kind in ("rnn", "lstm", "gru") for layer in tr.plan.layers):
        return None
    theta = tr.theta.copy() if theta is None else theta
    sample = int(min(max(0, sample), ds.n_test - 1))
    rows = np.unique(np.r_[sample, np.arange(min(PROBE_ROWS, ds.n_test))])
    X = np.asarray(ds.X_test[rows], dtype=np.float64)
    Y = np.asarray(exp.Y_test[rows], dtype=np.float64)
    with np.errstate(all="ignore"):
        probes = probe_recurrent(tr, X, Y, theta)
        at = int(np.flatnonzero(rows == sample)[0])
        out = tr.predict(ds.X_test[sample : sample + 1], theta=theta)
    spec = exp.spec
    if ds.task == "classification":
        threshold = decision_threshold(spec.training.loss, spec.network.output_activation)
        predicted = _words(ds, decode_predictions(out, threshold)[0])
        target = _words(ds, ds.y_test[sample])
    else:
        predicted, target = _words(ds, out[0]), _words(ds, ds.y_test[sample])
    counts: dict[str, int] = {}
    layers, grads = [], []
    for p in probes:
        counts[p["kind"]] = counts.get(p["kind"], 0) + 1
        label = f"{p['layer'] + 1}. {p['kind']}"
        layers.append(
            {
                "label": label,
                "kind": p["kind"],
                "hidden": p["hidden"][at],
                "gates": {k: v[at] for k, v in p["gates"].items()},
            }
        )
        grads.append((label, np.asarray(p["grad_norm"], dtype=np.float64)))
    state = SequenceState(
        experiment_id=id(exp),
        step=exp.step,
        sample=sample,
        task=ds.task,
        x=np.asarray(ds.X_test[sample], dtype=np.float64),
        target=target,
        predicted=predicted,
        layers=layers,
        grad_norm=grads,
    )
    if ds.task == "regression":
        n = min(ds.n_test, MAX_POINTS)
        with np.errstate(all="ignore"):
            pred = tr.predict(ds.X_test[:n], theta=theta)
        y = np.asarray(ds.y_test[:n], dtype=np.float64).reshape(n, -1)
        state.truth, state.prediction = y[:, 0], np.asarray(pred, dtype=np.float64).reshape(n, -1)[:, 0]
        t = ds.info.get("test_time")
        state.time = np.asarray(t[:n], dtype=np.float64) if t is not None and len(t) >= n else np.arange(n)
        info = ds.info
        if info.get("inputs_are_target") and info.get("horizon") == 1 and info.get("series") is not None:
            from playground.data.sequences import rollout

            with np.errstate(all="ignore"):
                state.forecast = rollout(lambda X: tr.predict(X, theta=theta), ds, FORECAST_STEPS)
            end = len(info["series"])
            state.forecast_time = np.arange(end, end + FORECAST_STEPS, dtype=np.float64)
    alphabet = ds.info.get("alphabet")
    if text and alphabet and ds.info.get("seed_text"):
        from playground.data.text import sample_text

        state.seed_text, state.temperature = str(ds.info["seed_text"]), float(temperature)
        rng = np.random.default_rng([exp.step, 0x7E47])  # the same text for the same weights
        with np.errstate(all="ignore"):
            state.generated = sample_text(
                lambda X: tr.predict(X, theta=theta), alphabet, state.seed_text, TEXT_CHARS, temperature, rng
            )
    return state


class SequenceFeed(PacedFeed):
    """The worker's side: ``feed(exp, theta)`` -> SequenceState (or None: not sequences, not
    shown, or asked again sooner than ``1 / REFRESH_HZ``); a text model writes at most
    ``TEXT_HZ`` times a second (the text written last rides along meanwhile). No Qt here."""

    def __init__(self):
        super().__init__(REFRESH_HZ)
        self.temperature = 0.7  # text: the sampling temperature (the GUI sets it)
        self._last_text = 0.0
        self._text: tuple | None = None

    def __call__(self, exp, theta=None) -> SequenceState | None:
        if not is_sequence(exp.dataset) or not self.due(exp):
            return None
        now = time.perf_counter()
        # the text written last rides along only for this experiment at this temperature: a
        # new network (a layer edit, an opened file) or temperature showed the old one's text
        key = (id(exp), self.temperature)
        write = now - self._last_text >= 1.0 / TEXT_HZ or self._text is None or self._text[0] != key
        state = sequence_state(exp, theta, self.sample, self.temperature, text=write)
        if state is not None and write:
            self._last_text = now
            self._text = (key, state.seed_text, state.generated, state.temperature)
        elif state is not None:  # the text written last, until the next
            _key, state.seed_text, state.generated, state.temperature = self._text
        return state


# ----------------------------------------------------------------------------- widgets


def _heatmap(title: str) -> tuple[pg.PlotWidget, pg.ImageItem]:
    w = pg.PlotWidget()
    pi = w.getPlotItem()
    theme.style_plot(pi)
    pi.setTitle(title, size="9pt")
    pi.setLabel("bottom", "step")
    pi.setLabel("left", "unit")
    pi.setMenuEnabled(False)
    pi.hideButtons()
    pi.getViewBox().setMouseEnabled(False, False)
    item = pg.ImageItem(axisOrder="row-major")
    pi.addItem(item)
    return w, item


class SequencesView(QWidget):
    """The sequence views of the current experiment; a message for other data or networks."""

    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.feed = SequenceFeed()
        self.state: SequenceState | None = None
        self._pending: SequenceState | None = None
        self._last_draw = 0.0

        self.pages = QStackedWidget()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.pages)
        self.message = QLabel(
            "The sequence views show a recurrent network (rnn, lstm or gru layers in the Layers "
            "panel) on sequence data (Data \u203a Sequences)."
        )
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setObjectName("dim")
        self.pages.addWidget(self.message)

        body = QSplitter(Qt.Orientation.Vertical)
        # top: the gradient reaching back through time, and predictions over time
        top = QSplitter(Qt.Orientation.Horizontal)
        self.grad_plot = pg.PlotWidget(axisItems={"left": ReadableAxis("left")})
        gpi = self.grad_plot.getPlotItem()
        theme.style_plot(gpi)
        gpi.setTitle("Gradient norm per time step |\u2202L/\u2202h\u209c| (test batch)", size="9pt")
        gpi.setLabel("bottom", "step")
        gpi.setLogMode(y=True)
        gpi.addLegend(offset=(-10, 10))
        self.grad_curves: list[pg.PlotDataItem] = []
        self.series_plot = pg.PlotWidget()
        spi = self.series_plot.getPlotItem()
        theme.style_plot(spi)
        spi.setTitle("Test set: truth and one-step prediction", size="9pt")
        spi.setLabel("bottom", "time")
        spi.addLegend(offset=(-10, 10))
        self.truth_curve = spi.plot(pen=pg.mkPen(truth_color(), width=1.5), name="truth")
        self.pred_curve = spi.plot(pen=pg.mkPen(PREDICTED, width=1.5), name="prediction")
        dash = pg.mkPen(FORECAST, width=1.5, style=Qt.PenStyle.DashLine)
        self.forecast_curve = spi.plot(pen=dash, name="forecast beyond the data")
        self.input_plot, self.input_image = _heatmap("The chosen sequence (features x steps)")
        self.input_plot.getPlotItem().setLabel("left", "feature")
        self.series_stack = QStackedWidget()
        self.series_stack.addWidget(self.series_plot)
        self.series_stack.addWidget(self.input_plot)
        text_page = QWidget()
        tl = QVBoxLayout(text_page)
        tl.setContentsMargins(4, 0, 4, 0)
        trow = QHBoxLayout()
        trow.addWidget(QLabel("Text the network writes \u00b7 temperature"))
        self.temperature_spin = QDoubleSpinBox()
        self.temperature_spin.setRange(0.0, 3.0)
        self.temperature_spin.setSingleStep(0.1)
        self.temperature_spin.setValue(self.feed.temperature)
        self.temperature_spin.setToolTip(
            "0: always the most likely next character; higher: bolder, more random"
        )
        self.temperature_spin.valueChanged.connect(self._set_temperature)
        trow.addWidget(self.temperature_spin)
        trow.addStretch(1)
        tl.addLayout(trow)
        self.text_view = QTextEdit()
        self.text_view.setReadOnly(True)
        tl.addWidget(self.text_view, 1)
        self.series_stack.addWidget(text_page)
        top.addWidget(self.grad_plot)
        top.addWidget(self.series_stack)
        body.addWidget(top)

        # bottom: the chosen sequence's hidden states and gates
        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Test sequence"))
        self.sample_spin = QSpinBox()
        self.sample_spin.setKeyboardTracking(False)
        self.sample_spin.valueChanged.connect(self.select_sample)
        row.addWidget(self.sample_spin)
        row.addWidget(QLabel("layer"))
        self.layer_combo = QComboBox()
        self.layer_combo.currentIndexChanged.connect(lambda _i: self._draw())
        row.addWidget(self.layer_combo)
        self.answer = QLabel()
        self.answer.setObjectName("metric")
        row.addWidget(self.answer, 1)
        bl.addLayout(row)
        self.tabs = QTabWidget()
        self.hidden_plot, self.hidden_image = _heatmap("Hidden state h\u209c of every unit")
        self.tabs.addTab(self.hidden_plot, "Hidden state")
        self.gate_plots: dict[str, tuple[pg.PlotWidget, pg.ImageItem]] = {}
        for name in ("input", "forget", "cell", "output", "reset", "update", "new"):
            w, item = _heatmap(f"{name} gate")
            self.gate_plots[name] = (w, item)
            self.tabs.addTab(w, f"{name} gate")
        self.tabs.currentChanged.connect(lambda _i: self._draw())
        bl.addWidget(self.tabs, 1)
        body.addWidget(bottom)
        body.setStretchFactor(0, 1)
        body.setStretchFactor(1, 1)
        self.pages.addWidget(body)
        self.summary = QLabel()
        self.summary.setObjectName("dim")
        lay.addWidget(self.summary)

        self._cmap = pg.colormap.get("CET-D1A")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._draw_pending)
        controller.snapshot.connect(self._on_snapshot)
        add_extra = getattr(controller, "add_snapshot_extra", None)
        if add_extra is not None:
            add_extra("sequences", self.feed)
        controller.experimentReplaced.connect(self._on_replaced)
        controller.specChanged.connect(lambda *_: self._on_replaced())
        controller.trainingStateChanged.connect(self._on_training_state)
        figures = {"gradient_per_step": self.grad_plot, "series": self.series_plot,
                   "sequence": self.input_plot, "hidden_state": self.hidden_plot}  # fmt: skip
        figures.update({f"{name}_gate": w for name, (w, _item) in self.gate_plots.items()})
        for name, w in {**figures, "sequences": self}.items():  # right-click: Export figure… / Copy figure
            install_figure_menu(w, name)
        self._on_replaced()

    def plot_widgets(self) -> list[pg.PlotWidget]:
        return [self.grad_plot, self.series_plot, self.input_plot, self.hidden_plot] + [
            w for w, _item in self.gate_plots.values()
        ]

    def apply_theme(self) -> None:
        """Re-colour every plot for the current theme (View > Theme): pyqtgraph reads its
        colours when a plot is made, so a switch left these plots in the old theme, the
        truth curve near-black on a dark window."""
        t = theme.current()
        for w in self.plot_widgets():
            w.setBackground(t.plot_bg)
            theme.style_plot(w.getPlotItem(), t)
        self.truth_curve.setPen(pg.mkPen(truth_color(), width=1.5))
        self._draw()

    # -- state ---------------------------------------------------------------------------
    def applies(self) -> bool:
        exp = getattr(self.controller, "experiment", None)
        if exp is None or not is_sequence(exp.dataset):
            return False
        return any(layer.kind in ("rnn", "lstm", "gru") for layer in exp.trainer.plan.layers)

    def _on_replaced(self) -> None:
        self.state, self._pending = None, None
        ok = self.applies()
        self.pages.setCurrentIndex(1 if ok else 0)
        if not ok:
            self.summary.setText("")
            return
        ds = self.controller.experiment.dataset
        self.sample_spin.blockSignals(True)
        self.sample_spin.setRange(0, max(0, ds.n_test - 1))
        self.feed.sample = min(self.feed.sample, max(0, ds.n_test - 1))
        self.sample_spin.setValue(self.feed.sample)
        self.sample_spin.blockSignals(False)
        text = bool(ds.info.get("alphabet"))
        self.series_stack.setCurrentIndex(0 if ds.task == "regression" else (2 if text else 1))
        self.request()

    def request(self) -> None:
        """Compute the state now where the experiment may be read."""
        if not self.applies():
            return
        sample = self.feed.sample
        try:
            t = self.feed.temperature
            state = self.controller.call_in_worker(
                lambda exp: sequence_state(exp, sample=sample, temperature=t)
            )
        except Exception as e:  # a busy worker: the next snapshot brings it
            self.summary.setText(f"Waiting for the engine ({e})")
            return
        if state is not None:
            self._pending = None  # a snapshot's state waiting to be drawn is older than this
            self._timer.stop()
            self.set_state(state)

    def _on_training_state(self, running: bool) -> None:
        """Paused: the views (and the text, written at most once a second while training)
        of the final weights, not of the last snapshot's."""
        if not running and self.isVisible():
            self.request()

    def _set_temperature(self, value: float) -> None:
        self.feed.temperature = float(value)
        self.request()

    def select_sample(self, index: int) -> None:
        self.feed.sample = int(index)
        self.request()

    def _on_snapshot(self, snap) -> None:
        if not self.applies():
            return
        self.feed.active = self.isVisible()
        state = (getattr(snap, "extra", None) or {}).get("sequences")
        if state is None or state.sample != self.feed.sample:
            return
        self._pending = state
        if not self._timer.isActive():
            wait = max(0.0, 1000.0 / REFRESH_HZ - (time.perf_counter() - self._last_draw) * 1000.0)
            self._timer.start(int(wait))

    def _draw_pending(self) -> None:
        state, self._pending = self._pending, None
        if state is not None:
            self.set_state(state)

    def set_state(self, state: SequenceState) -> None:
        self.state = state
        labels = [d["label"] for d in state.layers]
        if [self.layer_combo.itemText(i) for i in range(self.layer_combo.count())] != labels:
            self.layer_combo.blockSignals(True)
            self.layer_combo.clear()
            self.layer_combo.addItems(labels)
            self.layer_combo.blockSignals(False)
        self._draw()

    # -- drawing -------------------------------------------------------------------------
    def _draw(self) -> None:
        s = self.state
        if s is None or not self.applies():
            return
        self._last_draw = time.perf_counter()
        self._draw_gradients(s)
        if s.task == "regression" and s.truth is not None:
            self.truth_curve.setData(s.time, s.truth)
            self.pred_curve.setData(s.time, s.prediction)
            if s.forecast is not None:
                self.forecast_curve.setData(s.forecast_time, s.forecast)
            else:
                self.forecast_curve.setData([], [])
        elif s.generated or s.seed_text:
            self.text_view.setHtml(  # pre-wrap: the model's line breaks are its output too
                "<p style='font-family: monospace; white-space: pre-wrap'>"
                f"<span style='color:gray'>{html.escape(s.seed_text)}</span>"
                f"<b>{html.escape(s.generated)}</b></p>"
            )
            self._image(self.input_image, s.x.T, symmetric=False)
        else:
            self._image(self.input_image, s.x.T, symmetric=False)
        i = max(0, self.layer_combo.currentIndex())
        layer = s.layers[i] if i < len(s.layers) else None
        if layer is not None:
            self._image(self.hidden_image, layer["hidden"].T, symmetric=True)
            for name, (w, item) in self.gate_plots.items():
                idx = self.tabs.indexOf(w)
                has = name in layer["gates"]
                self.tabs.setTabVisible(idx, has)
                if has and self.tabs.currentWidget() is w:
                    self._image(item, layer["gates"][name].T, symmetric=name in ("cell", "new"))
        if s.task == "classification":
            right = "right" if s.predicted == s.target else "wrong"
            # a text model's classes are characters: quoted, so a space or newline shows
            target, predicted = (
                (repr(s.target), repr(s.predicted)) if s.seed_text else (s.target, s.predicted)
            )
            self.answer.setText(f"target {target} \u00b7 predicted {predicted} ({right})")
        else:
            self.answer.setText(f"target {s.target} \u00b7 predicted {s.predicted}")
        first = [g[0] / g[-1] for _l, g in s.grad_norm if len(g) and g[-1] > 0]
        reach = f"; the first step gets {first[0]:.1e} of the last step's gradient" if first else ""
        self.summary.setText(f"Step {s.step:,}: test sequence {s.sample}{reach}")

    def _draw_gradients(self, s: SequenceState) -> None:
        pi = self.grad_plot.getPlotItem()
        while len(self.grad_curves) < len(s.grad_norm):
            k = len(self.grad_curves)
            pen = pg.mkPen(LAYER_PENS[k % len(LAYER_PENS)], width=2)
            self.grad_curves.append(pi.plot(pen=pen, symbol="o", symbolSize=4, symbolBrush=pen.color()))
        for k, curve in enumerate(self.grad_curves):
            if k < len(s.grad_norm):
                label, g = s.grad_norm[k]
                steps = np.arange(1, len(g) + 1, dtype=np.float64)
                keep = g > 0  # a truncated step has no gradient: a gap on a log axis
                curve.setData(steps[keep], g[keep])
                curve.opts["name"] = label
                curve.show()
            else:
                curve.hide()
        # every step of the sequence on the axis: a truncated BPTT's steps without gradient
        # are a visible gap, not cropped away (auto-range zoomed onto the last bptt steps)
        length = max((len(g) for _label, g in s.grad_norm), default=0)
        if length:
            pi.setXRange(0.5, length + 0.5, padding=0)
        legend = pi.legend
        if legend is not None:
            legend.clear()
            for k, (label, _g) in enumerate(s.grad_norm):
                legend.addItem(self.grad_curves[k], label)

    def _image(self, item: pg.ImageItem, values: np.ndarray, symmetric: bool) -> None:
        v = np.nan_to_num(np.asarray(values, dtype=np.float64))
        if symmetric:
            m = max(1e-9, float(np.abs(v).max()))
            lo, hi = -m, m
        else:
            lo, hi = float(v.min()), float(v.max())
            hi = hi if hi > lo else lo + 1.0
        item.setLookupTable(self._cmap.getLookupTable(nPts=256))
        item.setImage(v, autoLevels=False, levels=(lo, hi), rect=QRectF(0.5, -0.5, v.shape[1], v.shape[0]))
