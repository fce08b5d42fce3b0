"""What the views look like: the network fits its view, plots read well when empty and after a
divergence, legends cover nothing, the race's gradient plot renders, sweep charts and every
thumbnail follow the theme. Real widgets, geometry and pixels; no screenshots compared."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from playground.app import colors, theme
from playground.app import plotting as plots
from playground.app.controller import LiveHistory
from playground.app.panels.data import THUMB, DataPanel
from playground.app.panels.network import NetworkView
from playground.app.panels.plots import PlotsPanel
from playground.app.preview import PreviewController
from playground.history import LAYER_COLUMNS, SCALAR_COLUMNS
from playground.spec import LayerSpec, default_spec
from playground.sweep.svg import heatmap_svg, lines_svg, restyle

TIMEOUT = 300_000
WIDE = (16, 30, 12, 40, 8, 20)  # six hidden layers, four of them collapsed


def _spec(*units, activation="tanh"):
    spec = default_spec()
    hidden = tuple(LayerSpec(u, activation) for u in units)
    return replace(spec, network=replace(spec.network, hidden=hidden))


class _Controller(PreviewController):
    """The preview controller with the live history the plots read (no training thread)."""

    def __init__(self, spec=None):
        super().__init__(spec)
        self.live = LiveHistory()
        self.last_snapshot = None

    def feed(self, n: int, diverge: bool = False, steps_per_epoch: int = 10) -> None:
        layers = self.experiment.trainer.layout.n_layers
        step = np.arange(1, n + 1, dtype=float)
        loss = 0.7 * np.exp(-step / 200) + 0.05
        if diverge:  # from 70 % of the run the loss grows to 1e153, then inf and NaN
            k = int(0.7 * n)
            loss[k:] = 0.3 * 10.0 ** np.linspace(0, 153, n - k)
            loss[-3:] = [np.inf, np.nan, np.nan]
        rows = {c: np.full(n, np.nan) for c in SCALAR_COLUMNS}
        rows.update(step=step, epoch=step / steps_per_epoch, train_loss=loss, test_loss=1.1 * loss)
        with np.errstate(invalid="ignore"):
            rows.update(train_metric=np.clip(1 - loss, 0, 1), test_metric=np.clip(0.95 - loss, 0, 1))
        grads = loss[:, None] * np.arange(1, layers + 1)
        rows.update({c: grads.copy() for c in LAYER_COLUMNS})
        self.live.apply(SimpleNamespace(history_rows=rows, history_reset=True, history_start=0))


@pytest.fixture
def light_after():
    yield
    theme.apply_theme("light")


_KEEP: list = []  # panels live to the end of the session, hidden (as the app's do: never deleted)


@pytest.fixture
def make_plots(qtbot):
    made = []

    def make(spec=None, width=1100, height=300):
        controller = _Controller(spec)
        panel = PlotsPanel(controller)
        panel.resize(width, height)
        panel.show()
        qtbot.waitExposed(panel)
        made.append((controller, panel))
        return controller, panel

    yield make
    for _controller, panel in made:
        panel.hide()
    _KEEP.extend(made)


def _redraw(panel) -> None:
    panel._range_due = True
    panel.redraw()


def _x_range(plot):
    return plot.getPlotItem().getViewBox().viewRange()[0]


def _y_range(plot):
    return plot.getPlotItem().getViewBox().viewRange()[1]


def _tick_labels(plot, axis="left") -> list[str]:
    ax = plot.getPlotItem().getAxis(axis)
    lo, hi = ax.range
    labels = []
    for spacing, values in ax.tickValues(lo, hi, ax.height() if axis == "left" else ax.width()):
        labels += ax.tickStrings(values, ax.autoSIPrefixScale, spacing)
    return labels


# --------------------------------------------------------------------------- network view


def _fits(view) -> None:
    """Everything of the network lies in the visible viewport, and no header widget overlaps
    another."""
    QApplication.processEvents()  # the scroll area lays out on the next event loop pass
    vp = view.scroll.viewport().rect()
    canvas = view.canvas
    assert view.scroll.horizontalScrollBar().maximum() == 0
    assert view.scroll.verticalScrollBar().maximum() == 0
    assert vp.contains(canvas.geometry())
    area = QRectF(canvas.rect())
    for col in canvas.columns:
        for _j, r in col:
            assert area.contains(r), (r, area)
    boxes = [view._layers_box, *view.layer_controls, view._output_box, view._input_caption]
    for b in boxes:
        assert canvas.rect().contains(b.geometry()), (b, b.geometry(), canvas.rect())
    header = [view._layers_box, *view.layer_controls, view._output_box]
    for i, a in enumerate(header):
        for b in header[i + 1 :]:
            assert not a.geometry().intersects(b.geometry()), (a.geometry(), b.geometry())
    for b in view.layer_controls:
        assert not view._input_caption.geometry().intersects(b.geometry())


@pytest.mark.parametrize("size", [(900, 560), (620, 400)])
def test_a_wide_six_layer_network_fits_the_view_after_show_resize_and_edits(qtbot, size):
    controller = PreviewController(_spec(*WIDE))
    view = NetworkView(controller)
    qtbot.addWidget(view)
    view.resize(1200, 600)
    view.show()
    qtbot.waitExposed(view)
    _fits(view)
    view.resize(*size)
    qtbot.waitUntil(lambda: view.canvas.width() <= size[0])
    _fits(view)
    view.add_layer()  # the network changes: still the whole of it
    assert len(view.canvas.sizes) == 9
    _fits(view)
    assert all(b.units.text().endswith("neurons") for b in view.layer_controls)
    # zooming in scrolls; Ctrl+0 fits again
    view.set_zoom(2.0)
    qtbot.waitUntil(lambda: view.scroll.horizontalScrollBar().maximum() > 0)
    view.set_zoom(1.0)
    qtbot.waitUntil(lambda: view.scroll.horizontalScrollBar().maximum() == 0)
    _fits(view)


def test_layer_controls_say_neurons_at_every_width(qtbot):
    controller = PreviewController(_spec(12, 1, 12_345))
    view = NetworkView(controller)
    qtbot.addWidget(view)
    for width in (1200, 700, 420):
        view.resize(width, 480)
        view.show()
        qtbot.waitUntil(lambda w=width: view.canvas.width() <= w)
        texts = [b.units.text() for b in view.layer_controls]
        assert texts[0] == "12 neurons" and texts[1] == "1 neuron"
        assert texts[2] in ("12,345 neurons", "12.3k neurons")


# --------------------------------------------------------------------------- live plots


def test_empty_plots_show_one_epoch_and_readable_y_axes(make_plots):
    _controller, panel = make_plots()
    _redraw(panel)
    for w in panel.plot_widgets().values():
        assert _x_range(w) == pytest.approx([0.0, 1.0])
    assert _y_range(panel.loss_plot) == pytest.approx([0.0, 1.0])
    assert _y_range(panel.grad_plot) == pytest.approx([-3.0, 1.0])  # 1e-3 .. 10 on the log axis
    labels = _tick_labels(panel.loss_plot, "bottom")
    assert labels and all(0.0 <= float(t) <= 1.0 and len(t) <= 4 for t in labels if t)  # 0, 0.2 .. 1.0


def test_short_history_keeps_a_round_x_axis(make_plots):
    controller, panel = make_plots()
    controller.feed(3, steps_per_epoch=10)  # 0.3 epochs: the axis spans >= 100 steps (or an epoch)
    _redraw(panel)
    assert _x_range(panel.loss_plot) == pytest.approx([0.0, 1.0])


@pytest.mark.parametrize("log", [False, True])
def test_after_a_divergence_to_1e153_the_axes_stay_readable(make_plots, log):
    controller, panel = make_plots()
    panel.log_check.setChecked(log)
    controller.feed(800, diverge=True)
    _redraw(panel)
    start = 0.7 * math.exp(-1 / 200) + 0.05
    lo, hi = _y_range(panel.loss_plot)
    assert math.isfinite(lo) and math.isfinite(hi)
    if log:
        assert hi <= math.log10(1.1 * start) + plots.LOG_CAP_DECADES + 1
    else:
        assert hi <= 1.1 * start * plots.LINEAR_CAP * 1.1  # at most ~10x where it started
    glo, ghi = _y_range(panel.grad_plot)
    assert math.isfinite(glo) and ghi <= 1 + plots.LOG_CAP_DECADES + 1  # decades
    for w in (panel.loss_plot, panel.grad_plot, panel.metric_plot):
        for text in _tick_labels(w):
            assert "e+" not in text and "e-" not in text and len(text) <= 8, text
    # the drawn curve stays finite and far above the view: it shows where the run went
    _x, y = panel.train_raw.curve.getData()
    finite = y[np.isfinite(y)]
    assert finite.max() > hi and finite.max() < 1e12


def test_the_range_catches_up_after_the_last_snapshot(make_plots, qtbot):
    controller, panel = make_plots()
    qtbot.waitUntil(lambda: panel.frames >= 1)
    controller.feed(800)  # arrives between two range updates: nothing else follows
    qtbot.waitUntil(lambda: _x_range(panel.loss_plot)[1] == pytest.approx(100.0), timeout=5000)
    qtbot.waitUntil(lambda: _y_range(panel.loss_plot)[1] < 1.0, timeout=5000)


def _legend_clear(plot) -> None:
    pi = plot.getPlotItem()
    legend = pi.legend.sceneBoundingRect()
    title = pi.titleLabel.item.sceneBoundingRect()
    view = pi.getViewBox().sceneBoundingRect()
    assert legend.width() > 0 and legend.height() > 0
    assert not legend.intersects(view), (legend, view)
    assert not legend.intersects(title), (legend, title)
    assert pi.sceneBoundingRect().contains(legend)


@pytest.mark.parametrize("width", [1400, 900, 640, 480])
def test_legends_cover_neither_title_nor_curves(make_plots, qtbot, width):
    controller, panel = make_plots(_spec(4, 4, 4, 4, 4, 4), width=width)  # 7 gradient curves
    controller.feed(400)
    _redraw(panel)
    QApplication.processEvents()
    assert len(panel.grad_legend.items) == 7
    for w in panel.plot_widgets().values():
        _legend_clear(w)


# --------------------------------------------------------------------------- dark theme


def _same(c: QColor, hex_color: str, tol: int = 3) -> bool:
    ref = QColor(hex_color)
    return all(abs(a - b) <= tol for a, b in zip(c.getRgb()[:3], ref.getRgb()[:3]))


def test_dark_theme_thumbnails_and_icons_follow_the_theme(qtbot, light_after):
    theme.apply_theme("dark")
    controller = PreviewController(default_spec())
    panel = DataPanel(controller)
    qtbot.addWidget(panel)
    panel.resize(320, 600)
    panel.show()
    qtbot.waitExposed(panel)
    dark = theme.DARK
    for name in ("plane", "circle"):  # a regression thumbnail (zero-coloured dots) and a class one
        button = panel.thumb_buttons[name]
        img = button.grab().toImage()
        corner = img.pixelColor(3, 3)
        assert _same(corner, dark.window) or _same(corner, dark.base), (name, corner.name())
        icon = button.icon().pixmap(THUMB, THUMB).toImage()
        assert icon.pixelColor(0, 0).alpha() == 0  # transparent: the theme shows through
    # a feature icon: x1 is zero down its middle column, drawn in the dark theme's zero colour
    icon = panel.feature_checks["x1"].icon().pixmap(18, 18).toImage()
    mid = icon.pixelColor(icon.width() // 2, icon.height() // 2)
    assert QColor(mid).lightnessF() < 0.45, mid.name()
    # switching back repaints them light
    theme.apply_theme("light")
    QApplication.processEvents()
    icon = panel.feature_checks["x1"].icon().pixmap(18, 18).toImage()
    assert QColor(icon.pixelColor(icon.width() // 2, icon.height() // 2)).lightnessF() > 0.7


def test_dark_theme_neuron_pictures_use_the_dark_zero_colour(qtbot, light_after):
    theme.apply_theme("dark")
    controller = PreviewController(default_spec())
    view = NetworkView(controller)
    qtbot.addWidget(view)
    view.resize(900, 560)
    view.show()
    qtbot.waitExposed(view)
    img = view.canvas.images[(0, 0)]  # input x1 over the plane: zero in the middle column
    mid = img.pixelColor(img.width() // 2, img.height() // 2)
    assert QColor(mid).lightnessF() < 0.45, mid.name()
    theme.apply_theme("light")
    QApplication.processEvents()
    img = view.canvas.images[(0, 0)]
    assert QColor(img.pixelColor(img.width() // 2, img.height() // 2)).lightnessF() > 0.7
    assert colors.neutral() == colors.NEUTRAL


# --------------------------------------------------------------------------- sweep charts

_WHITE = re.compile(r"(fill|stroke)\s*[:=]\s*['\"]?(#fff\b|#ffffff\b|white\b)", re.I)


def test_sweep_heatmap_names_settings_and_has_no_white_in_the_dark_theme():
    values = [[0.5, None], [0.9, 0.7]]
    svg = heatmap_svg(values, [10, 40], [0.01, 0.1], "training.batch_size", "training.optimizer.lr", "acc")
    assert "learning rate" in svg and "batch size" in svg and "training.optimizer.lr" not in svg
    dark = restyle(svg, "dark")
    assert not _WHITE.search(dark), _WHITE.search(dark).group(0)
    assert theme.DARK.plot_bg in dark
    lines = restyle(
        lines_svg([1, 2], {"acc": ([0.5, 0.6], [0.1, 0.1])}, "network.hidden.0.units", "acc", "t"), "dark"
    )
    assert "neurons in layer 1" in lines and not _WHITE.search(lines)


def test_sweep_dialog_chart_follows_the_dark_theme(qtbot, light_after):
    from test_app_race import small_spec
    from test_app_sweep import fill_2x2

    from playground.app.dialogs.sweep import SweepDialog

    theme.apply_theme("dark")
    dlg = SweepDialog(small_spec())
    qtbot.addWidget(dlg)
    try:
        fill_2x2(dlg)
        assert dlg.start()
        qtbot.waitUntil(lambda: dlg.result is not None, timeout=TIMEOUT)
        svg = dlg.svg_text()
        assert "learning rate" in svg and "batch size" in svg
        assert not _WHITE.search(svg)
        dlg.resize(900, 700)
        dlg.show()
        qtbot.waitExposed(dlg)
        img = dlg.svg.grab().toImage()
        corner = img.pixelColor(2, 2)
        assert corner.lightnessF() < 0.3, corner.name()  # the chart's background is dark
    finally:
        dlg.stop()


# --------------------------------------------------------------------------- race view


def test_race_gradient_plot_renders_its_label_and_is_not_clipped(qtbot):
    from test_app_race import diverging_spec

    from playground.app.race.controller import RaceController
    from playground.app.race.view import RaceView

    race = RaceController()
    try:
        race.start(diverging_spec(), [{"training.optimizer.lr": v} for v in (0.05, 50.0)])
        view = RaceView(race)
        qtbot.addWidget(view)
        view.resize(1200, 800)
        view.show()
        race.play()
        diverged = lambda: race.frames[1] is not None and race.frames[1].status == "diverged"  # noqa: E731
        qtbot.waitUntil(diverged, timeout=TIMEOUT)
        qtbot.waitUntil(lambda: race.frames[0] is not None and race.frames[0].step >= 100, timeout=TIMEOUT)
        race.pause()
        view._force_redraw()
        view.redraw()
        pi = view.grad_plot.getPlotItem()
        label = pi.getAxis("left").label
        assert pi.getAxis("left").labelText == "gradient norm" and label.isVisible()
        assert label.boundingRect().width() > 40  # the text, not a lone glyph
        for c in view.grad_curves + view.loss_curves:
            assert not c.opts["clipToView"] and not c.opts["autoDownsample"]
        for w in (view.loss_plot, view.grad_plot):
            lo, hi = _y_range(w)
            assert math.isfinite(lo) and math.isfinite(hi) and hi - lo < 40  # decades, readable
            for text in _tick_labels(w):
                assert "e+" not in text and len(text) <= 8, text
        _legend_clear(view.loss_plot)
        x, y = view.grad_curves[0].getData()
        assert len(x) >= 2 and np.isfinite(y[1:]).all()  # no gradient before the first step
    finally:
        race.shutdown()


def test_the_boundary_heatmap_fades_to_the_dark_themes_zero_colour(light_after):
    """Where the network is undecided the boundary shows the theme's zero colour, not a light
    grey patch on the dark theme (binary lookup table and the per-class colours alike)."""
    from playground.app.boundary_colors import _binary_lut, classification_rgba

    theme.apply_theme("dark")
    mid = _binary_lut(False, colors.neutral())[128]
    assert _same(QColor(*mid[:3].tolist()), colors.NEUTRAL_DARK, tol=4)
    undecided = np.full((1, 1, 3), 1 / 3)  # three classes, equal probabilities
    rgb = classification_rgba(undecided, "cross_entropy", "softmax", False)[0, 0, :3]
    assert QColor(*rgb.tolist()).lightnessF() < 0.45
    theme.apply_theme("light")
    mid = _binary_lut(False, colors.neutral())[128]
    assert _same(QColor(*mid[:3].tolist()), colors.NEUTRAL, tol=4)


def test_step_axes_read_in_thousands_and_millions(make_plots):
    """A race of two million steps labels its x axis 500k, 1M, 1.5M: never 1e+06."""
    from playground.app.plotting import readable_number

    assert [readable_number(v, 0) for v in (500_000, 1_000_000, 1_500_000, 12_500, 9_999)] == [
        "500k",
        "1M",
        "1.5M",
        "12.5k",
        "9999",
    ]
    assert readable_number(0.25, 2) == "0.25" and readable_number(3e-7, 7) == "3e-7"
    _controller, panel = make_plots()
    panel.loss_plot.getPlotItem().getViewBox().setRange(xRange=(0, 2_100_000), padding=0)
    labels = [t for t in _tick_labels(panel.loss_plot, "bottom") if t]
    assert labels and all("e+" not in t for t in labels) and any(t.endswith("M") for t in labels), labels


def test_a_long_sweep_title_fits_and_the_background_covers_the_chart():
    """A title longer than the heatmap widens the chart (both sides); the background has a
    size QtSvg draws over the whole chart (not width='100%', which it drew as a small box)."""
    import xml.etree.ElementTree as ET

    title = "final test accuracy (mean over seeds), mean over neurons in layer 1, dropout of layer 2"
    svg = heatmap_svg([[0.5, 0.6]], [10, 40], [0.1], "training.batch_size", "training.optimizer.lr", title)
    root = ET.fromstring(svg)
    x0, _y0, w, h = (float(v) for v in root.get("viewBox").split())
    assert w >= len(title) * 7 and float(root.get("width")) == pytest.approx(w, abs=1)
    bg = root.find("{http://www.w3.org/2000/svg}rect")
    assert bg.get("class") == "bg" and "%" not in svg
    assert float(bg.get("x")) == pytest.approx(x0) and float(bg.get("width")) == pytest.approx(w, abs=1)
    short = ET.fromstring(heatmap_svg([[0.5]], [10], [0.1], "a", "b", "acc"))
    assert short.get("viewBox").startswith("0.0 0 ")  # a short title changes nothing


def test_a_log_axis_labels_every_decade_by_one_rule(make_plots):
    """Gradients from 1e-12 to 100: plain numbers from 0.01 to 1000, powers of ten beyond,
    never "0.001" beside "10⁻⁵" on one axis."""
    assert [plots.decade_label(e) for e in (-5, -3, -2, 0, 2, 3, 4)] == [
        "10⁻⁵",
        "10⁻³",
        "0.01",
        "1",
        "100",
        "1000",
        "10⁴",
    ]
    _controller, panel = make_plots()
    panel.grad_plot.getPlotItem().getViewBox().setRange(yRange=(-12, 2), padding=0)
    labels = [t for t in _tick_labels(panel.grad_plot) if t]
    assert labels and "0.001" not in labels and "0.0001" not in labels, labels
    assert any(t.startswith("10⁻") for t in labels), labels
    # a narrow range (early training: 0.06 to 2) has minor ticks at 2..9 of each decade: only
    # 1, 2 and 5 are labelled, so the labels do not run into each other
    panel.grad_plot.getPlotItem().getViewBox().setRange(yRange=(math.log10(0.06), math.log10(2.0)), padding=0)
    labels = [t for t in _tick_labels(panel.grad_plot) if t]
    assert {"0.1", "0.2", "0.5", "1"} <= set(labels), labels
    assert not {"0.3", "0.4", "0.6", "0.7", "0.8", "0.9", "0.07", "0.08", "0.09"} & set(labels), labels


def test_empty_plots_draw_their_grid(make_plots):
    """Before any data every plot shows its grid lines (built with the plot's size, since an
    empty plot's range never changes)."""
    _controller, panel = make_plots()
    for key in panel.plot_widgets():
        x, _y = panel.grids[key].item.getData()
        assert x is not None and len(x) >= 8, key  # at least a few lines each way


def test_the_toolbar_marks_a_sampled_loss_as_an_estimate(qtbot):
    """A large data set's live loss comes from a sample (metrics["sample_size"]): the toolbar
    says "≈" and its tooltip says on how many rows; an exact loss has neither."""
    from playground.app.controller import ExperimentController
    from playground.app.panels.controls import TrainingToolBar

    controller = ExperimentController(default_spec(), warm_up=False)
    bar = TrainingToolBar(controller)
    _KEEP.append((controller, bar))
    controller.shutdown()
    snap = SimpleNamespace(epoch=2.0, running=False, steps_per_s=0.0)
    snap.metrics = {"train_loss": 0.25, "test_loss": 0.5, "sample_size": 16384}
    bar._on_snapshot(snap)
    assert bar.loss_label.text() == "train loss ≈0.2500   test loss ≈0.5000"
    assert "16,384 rows" in bar.loss_label.toolTip()
    snap.metrics = {"train_loss": 0.25, "test_loss": 0.5}
    bar._on_snapshot(snap)
    assert bar.loss_label.text() == "train loss 0.2500   test loss 0.5000" and not bar.loss_label.toolTip()
