"""Views of an image network: test samples with their predictions, feature maps of a chosen
sample for every block, each conv layer's filters, the confusion matrix, the misclassified.

What is drawn comes from an :class:`ImageState`, plain arrays computed where the experiment
may be read: :class:`ImageFeed` is called by the training worker between chunks (it rides on
the snapshot, ``snap.extra["images"]``), and while no worker feeds it the view asks through
``controller.call_in_worker``. Painting is a few ``ImageItem.setImage`` calls of composed
mosaics (one per picture, not one per tile), at most ``REFRESH_HZ`` times a second and only
while the view is shown.

Clicking a test sample (in the grid or the gallery of mistakes) shows its feature maps.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QSplitter, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from playground.app import colors
from playground.app.figures import install_figure_menu
from playground.app.pacing import PacedFeed
from playground.engine.losses import decision_threshold, decode_predictions

REFRESH_HZ = 5.0  # image views redraw at most this often (the feed computes no more often)
MAX_TEST = 2000  # test images predicted for the confusion matrix and the gallery
SAMPLE_COLS, SAMPLE_ROWS = 8, 6  # the grid of test samples
MAX_WRONG = 48  # misclassified images shown
MAX_MAP_COLS = 16  # feature maps per row
MAX_FILTER_IN = 16  # input channels drawn per conv layer
MAX_FILTER_OUT = 64  # filters drawn per conv layer
GOOD, BAD = "#2ca02c", "#d62728"
SAMPLES_TITLE = "Test images: predicted class{key} (red: wrong). Click one for its feature maps"
WRONG_TITLE = "Misclassified test images: predicted class (true class){key}"
INK = np.array([0x1F, 0x2A, 0x44], np.float64)  # dark ink on paper for the images
PAPER = np.array([0xFF, 0xFF, 0xFF], np.float64)


# ----------------------------------------------------------------------------- state


@dataclass
class ImageState:
    """What the image views draw, as plain arrays (made in the worker thread)."""

    experiment_id: int
    step: int
    class_names: list[str]
    test_images: np.ndarray  # (n, c, h, w) the first test images (for the sample grid)
    true: np.ndarray  # (n_eval,) true classes of the evaluated test images
    predicted: np.ndarray  # (n_eval,) predicted classes
    confusion: np.ndarray  # (k, k) counts: [true, predicted]
    n_test: int  # test images in the data set (n_eval <= n_test)
    sample: int  # the chosen test sample
    sample_image: np.ndarray  # (c, h, w)
    sample_output: np.ndarray  # (n_out,)
    maps: list[tuple[str, tuple[int, ...], np.ndarray]] = field(default_factory=list)  # kind, shape, values
    filters: list[tuple[int, np.ndarray]] = field(default_factory=list)  # block index, W (out, in, k, k)

    @property
    def wrong(self) -> np.ndarray:
        """Indices (into the test set) of the misclassified evaluated images."""
        return np.flatnonzero(self.predicted != self.true)


def image_state(
    exp, theta: np.ndarray | None = None, sample: int = 0, max_test: int = MAX_TEST
) -> ImageState | None:
    """The views' state of ``exp`` at ``theta`` (default: its weights); None for flat data.
    Call it where the experiment may be read (the worker thread, or ``call_in_worker``)."""
    ds = exp.dataset
    if not ds.is_image or ds.n_test == 0 or ds.task != "classification":
        return None
    tr = exp.trainer
    theta = tr.theta.copy() if theta is None else theta
    X = ds.X_test[:max_test]
    y = np.asarray(ds.y_test[:max_test], dtype=np.int64)
    spec = exp.spec
    threshold = decision_threshold(spec.training.loss, spec.network.output_activation)
    with np.errstate(all="ignore"):
        out = tr.predict(X, theta=theta)
        predicted = np.asarray(decode_predictions(out, threshold), dtype=np.int64)
        k = max(ds.n_classes, int(predicted.max(initial=0)) + 1, int(y.max(initial=0)) + 1)
        confusion = np.zeros((k, k), dtype=np.int64)
        np.add.at(confusion, (y, predicted), 1)
        sample = int(min(max(0, sample), ds.n_test - 1))
        one = ds.X_test[sample : sample + 1]
        sample_out, hid = tr.predict(one, hidden=True, theta=theta)
    maps, off = [], 0
    for layer in tr.plan.layers:
        values = np.asarray(hid[0, off : off + layer.n_out], dtype=np.float64)
        off += layer.n_out
        shape = tuple(layer.out_shape) if len(layer.out_shape) == 3 else (layer.n_out,)
        maps.append((layer.kind, shape, values.reshape(shape)))
    filters = [
        (i, np.asarray(W, dtype=np.float64).copy())
        for i, (layer, (W, *_b)) in enumerate(zip(tr.plan.layers, tr.layout.views(theta), strict=False))
        if layer.kind == "conv2d"
    ]
    return ImageState(
        experiment_id=id(exp),
        step=exp.step,
        class_names=[str(c) for c in (ds.class_names or [])],
        test_images=np.asarray(ds.X_test[: SAMPLE_COLS * SAMPLE_ROWS], dtype=np.float64),
        true=y,
        predicted=predicted,
        confusion=confusion,
        n_test=ds.n_test,
        sample=sample,
        sample_image=np.asarray(ds.X_test[sample], dtype=np.float64),
        sample_output=np.asarray(sample_out[0], dtype=np.float64),
        maps=maps,
        filters=filters,
    )


class ImageFeed(PacedFeed):
    """The worker's side: ``feed(exp, theta)`` -> ImageState (or None: flat data, or asked
    again sooner than ``1 / REFRESH_HZ``). No Qt here; the GUI sets ``sample`` and ``active``."""

    def __init__(self):
        super().__init__(REFRESH_HZ)  # active False while the views are hidden: nothing computed

    def __call__(self, exp, theta=None) -> ImageState | None:
        if not exp.dataset.is_image or not self.due(exp):
            return None
        return image_state(exp, theta, self.sample)


# ----------------------------------------------------------------------------- pictures


def mosaic(tiles: np.ndarray, cols: int, pad: int = 1) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """(n, h, w) tiles laid out ``cols`` per row with ``pad`` pixels between them (NaN there),
    and each tile's (row, column) origin in the mosaic."""
    n, h, w = tiles.shape
    cols = max(1, min(cols, n))
    rows = max(1, math.ceil(n / cols))
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad), np.nan)
    origins = []
    for i in range(n):
        r, c = divmod(i, cols)
        y0, x0 = pad + r * (h + pad), pad + c * (w + pad)
        out[y0 : y0 + h, x0 : x0 + w] = tiles[i]
        origins.append((y0, x0))
    return out, origins


def ink_rgba(values: np.ndarray, lo: float = 0.0, hi: float = 1.0, background=(0, 0, 0, 0)) -> np.ndarray:
    """Values in [lo, hi] as dark ink on white paper; NaN as ``background``."""
    span = hi - lo if hi > lo else 1.0
    t = np.clip((np.nan_to_num(values, nan=lo) - lo) / span, 0.0, 1.0)[..., None]
    rgb = PAPER * (1 - t) + INK * t
    out = np.empty(values.shape + (4,), np.uint8)
    out[..., :3] = rgb.astype(np.uint8)
    out[..., 3] = 255
    out[np.isnan(values)] = background
    return out


def gray_image(img: np.ndarray) -> np.ndarray:
    """(c, h, w) -> (h, w): a one-channel image as is, colour as its mean."""
    return img[0] if img.shape[0] == 1 else img.mean(axis=0)


def framed_mosaic(images: np.ndarray, ok: np.ndarray, cols: int, selected: int | None = None):
    """Test images with a frame each (green right, red wrong; thick when ``selected``), as an
    RGBA mosaic, and each tile's (row, column, height, width) box in it."""
    n = len(images)
    h, w = images.shape[-2:]
    pad = 2
    tiles = np.stack([gray_image(im) for im in images]) if n else np.zeros((0, h, w))
    cols = max(1, min(cols, max(n, 1)))
    rows = max(1, math.ceil(n / cols))
    th, tw = h + 2 * pad, w + 2 * pad
    gap = 1
    canvas = np.zeros((rows * (th + gap), cols * (tw + gap), 4), np.uint8)
    boxes = []
    for i in range(n):
        r, c = divmod(i, cols)
        y0, x0 = r * (th + gap), c * (tw + gap)
        color = np.array([*pg.mkColor(GOOD if ok[i] else BAD).getRgb()], np.uint8)
        canvas[y0 : y0 + th, x0 : x0 + tw] = color
        if i == selected:
            canvas[y0 : y0 + th, x0 : x0 + tw] = (30, 120, 255, 255)
        canvas[y0 + pad : y0 + pad + h, x0 + pad : x0 + pad + w] = ink_rgba(tiles[i])
        boxes.append((y0, x0, th, tw))
    return canvas, boxes


def _view(layout: pg.GraphicsLayout, row: int, col: int) -> tuple[pg.ViewBox, pg.ImageItem]:
    vb = layout.addViewBox(row=row, col=col)
    vb.setAspectLocked(True)
    vb.invertY(True)
    vb.setMouseEnabled(False, False)
    vb.setMenuEnabled(False)
    item = pg.ImageItem(axisOrder="row-major")
    vb.addItem(item)
    return vb, item


def _set_rgba(vb: pg.ViewBox, item: pg.ImageItem, rgba: np.ndarray) -> None:
    h, w = rgba.shape[:2]
    if item.image is None or item.image.shape[:2] != (h, w):
        item.setImage(rgba, rect=QRectF(0, 0, w, h))
        vb.setRange(QRectF(0, 0, w, h), padding=0.02)
    else:
        item.setImage(rgba)


def tile_names(names) -> list[str]:
    """Class names short enough for a label on an 8x8 tile: digits stay as they are, words
    become their shortest distinct prefixes (bars: h, v; shapes: sq, cr, ci). Full words
    ran over the next tiles and the labels of a whole row read as one smear."""
    names = [str(n) for n in names]
    if not names or max(len(n) for n in names) <= 2:
        return names
    for length in range(1, max(len(n) for n in names) + 1):
        short = [n[:length] for n in names]
        if len(set(short)) == len(short):
            return short
    return names


def tile_key(names) -> str:
    """' (h = horizontal, v = vertical)' for the title when the tiles show short names."""
    short = tile_names(names)
    pairs = [f"{s} = {n}" for s, n in zip(short, names, strict=True) if s != str(n)]
    return f" ({', '.join(pairs)})" if pairs and len(pairs) <= 12 else ""


# ----------------------------------------------------------------------------- widgets


class _WrappingLabel(pg.LabelItem):
    """A title that wraps to the width it is given, never widening its layout's column (a
    plain LabelItem's minimum width is its text's: a long title pushed the tiles out of view)."""

    def set_width(self, width: float) -> None:
        self.item.setTextWidth(max(40.0, width))
        self.updateMin()

    def updateMin(self):
        super().updateMin()
        self.setMinimumWidth(0)


class TileGrid(pg.GraphicsLayoutWidget):
    """Framed test images with a label each (predicted class); a click selects one."""

    tileClicked = Signal(int)  # index into the test set

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setBackground(None)
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.title = _WrappingLabel(title)
        self.ci.addItem(self.title, row=0, col=0)
        self.vb, self.item = _view(self.ci, 1, 0)
        self.indices: list[int] = []
        self.boxes: list[tuple[int, int, int, int]] = []
        self.labels: list[pg.TextItem] = []
        self.scene().sigMouseClicked.connect(self._on_click)

    def show_tiles(self, images, indices, ok, texts, cols: int, selected: int | None = None) -> None:
        sel = indices.index(selected) if selected in indices else None
        canvas, boxes = framed_mosaic(np.asarray(images), np.asarray(ok, bool), cols, sel)
        self.indices, self.boxes = list(indices), boxes
        _set_rgba(self.vb, self.item, canvas)
        while len(self.labels) < len(boxes):
            t = pg.TextItem(anchor=(0, 0), color=BAD)
            f = t.textItem.font()
            f.setPointSizeF(7.5)
            f.setBold(True)
            t.setFont(f)
            self.vb.addItem(t)
            self.labels.append(t)
        for i, t in enumerate(self.labels):
            if i < len(boxes):
                y0, x0, _h, _w = boxes[i]
                t.setPos(x0 + 1.5, y0 + 1.0)
                t.setText(texts[i])
                t.setColor(GOOD if ok[i] else BAD)
                t.show()
            else:
                t.hide()

    def resizeEvent(self, ev) -> None:
        title = getattr(self, "title", None)  # GraphicsView resizes once while constructing
        if title is not None:
            title.set_width(self.width() - 12)
        super().resizeEvent(ev)

    def tile_at(self, x: float, y: float) -> int | None:
        for i, (y0, x0, h, w) in enumerate(self.boxes):
            if x0 <= x < x0 + w and y0 <= y < y0 + h:
                return self.indices[i]
        return None

    def _on_click(self, event) -> None:
        p = self.vb.mapSceneToView(event.scenePos())
        index = self.tile_at(p.x(), p.y())
        if index is not None:
            self.tileClicked.emit(index)

    def click_tile(self, k: int) -> None:
        """Act as a click on the k-th tile shown (tests, keyboard)."""
        if 0 <= k < len(self.indices):
            self.tileClicked.emit(self.indices[k])


class MapsView(pg.GraphicsLayoutWidget):
    """One row per picture: a title and a mosaic (feature maps of every block, or filters)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setBackground(None)
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.rows: list[tuple[pg.LabelItem, pg.ViewBox, pg.ImageItem]] = []
        self.titles: list[str] = []

    def show_rows(self, rows: list[tuple[str, np.ndarray]]) -> None:
        """``rows``: (title, RGBA mosaic) each."""
        if len(rows) != len(self.rows):
            self.ci.clear()
            self.rows = []
            for r in range(len(rows)):
                label = self.ci.addLabel("", row=2 * r, col=0)
                vb, item = _view(self.ci, 2 * r + 1, 0)
                self.rows.append((label, vb, item))
        self.titles = [t for t, _ in rows]
        for (label, vb, item), (title, rgba) in zip(self.rows, rows, strict=True):
            if label.text != title:
                label.setText(title, size="8pt")
            _set_rgba(vb, item, rgba)
            # rows keep their pictures' proportions: taller pictures get more room
            vb.setPreferredHeight(40 + 6 * rgba.shape[0])


def feature_rows(state: ImageState) -> list[tuple[str, np.ndarray]]:
    """The chosen sample's input and every block's output as titled mosaics."""
    names = state.class_names
    true = int(state.true[state.sample]) if state.sample < len(state.true) else None
    rows = [
        (
            f"input: test image {state.sample}"
            + (f", class {names[true]}" if true is not None and true < len(names) else ""),
            ink_rgba(gray_image(state.sample_image)),
        )
    ]
    for i, (kind, shape, values) in enumerate(state.maps):
        last = i == len(state.maps) - 1
        if len(shape) == 3:
            hi = float(np.nanmax(np.abs(values))) if values.size else 1.0
            lo = min(0.0, float(np.nanmin(values))) if values.size else 0.0
            m, _ = mosaic(values, min(MAX_MAP_COLS, shape[0]))
            rgba = ink_rgba(m, lo, hi or 1.0)
            title = f"{i + 1}. {kind} \u2192 {'x'.join(map(str, shape))}"
        else:
            n = values.size
            cols = min(32, n)
            strip = np.full(math.ceil(n / cols) * cols, np.nan)
            strip[:n] = values
            lo, hi = min(0.0, float(np.nanmin(values))), float(np.nanmax(np.abs(values))) or 1.0
            rgba = ink_rgba(strip.reshape(-1, cols), lo, hi)
            title = f"{i + 1}. {kind} \u2192 {n}"
            if last:
                k = int(np.argmax(values)) if n > 1 else int(values[0] > 0.5)
                name = names[k] if k < len(names) else str(k)
                title = f"output \u2192 {n}: predicts {name}"
        rows.append((title, rgba))
    return rows


def filter_rows(state: ImageState) -> list[tuple[str, np.ndarray]]:
    """Each conv layer's filters: one row per input channel, one column per filter."""
    rows = []
    for block, W in state.filters:
        out_c, in_c, k, _ = W.shape
        Wd = W[:MAX_FILTER_OUT, :MAX_FILTER_IN]
        tiles = np.transpose(Wd, (1, 0, 2, 3)).reshape(-1, k, k)
        m, _ = mosaic(tiles, Wd.shape[0])
        vmax = float(np.abs(Wd).max()) or 1.0
        rgba = colors.values_to_rgba(np.nan_to_num(m), -vmax, vmax)
        rgba[np.isnan(m)] = (0, 0, 0, 0)
        cut = " (first ones)" if Wd.shape != W.shape else ""
        rows.append(
            (f"{block + 1}. conv2d: {out_c} filters {k}x{k} on {in_c} channel{'s' * (in_c != 1)}{cut}", rgba)
        )
    return rows


class ConfusionView(pg.GraphicsLayoutWidget):
    """Counts of (true, predicted) classes on the test set; rows shaded by their share."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setBackground(None)
        self.plot = self.ci.addPlot(row=0, col=0)
        self.plot.setAspectLocked(True)
        self.plot.invertY(True)
        self.plot.setMouseEnabled(False, False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setLabel("left", "true class")
        self.plot.setLabel("bottom", "predicted class")
        self.item = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.item)
        self.texts: list[pg.TextItem] = []
        self.counts = np.zeros((0, 0), np.int64)
        self._names: list[str] = []

    def show_counts(self, counts: np.ndarray, names: list[str]) -> None:
        k = counts.shape[0]
        self.counts = counts.copy()
        share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        rgba = np.empty((k, k, 4), np.uint8)
        diag = np.eye(k, dtype=bool)
        good, bad = np.array(pg.mkColor(GOOD).getRgb()[:3]), np.array(pg.mkColor(BAD).getRgb()[:3])
        for mask, col in ((diag, good), (~diag, bad)):
            t = share[mask][:, None]
            rgba[mask, :3] = (PAPER * (1 - t) + col * t).astype(np.uint8)
        rgba[..., 3] = 255
        self.item.setImage(rgba, rect=QRectF(-0.5, -0.5, k, k))
        labels = [names[i] if i < len(names) else str(i) for i in range(k)]
        if labels != self._names:
            self._names = labels
            ticks = [[(i, labels[i]) for i in range(k)]]
            self.plot.getAxis("bottom").setTicks(ticks)
            self.plot.getAxis("left").setTicks(ticks)
            self.plot.setRange(xRange=(-0.5, k - 0.5), yRange=(-0.5, k - 0.5), padding=0.02)
            for t in self.texts:
                self.plot.removeItem(t)
            self.texts = []
            if k <= 20:
                for _i in range(k * k):
                    t = pg.TextItem(anchor=(0.5, 0.5), color="#222")
                    self.plot.addItem(t)
                    self.texts.append(t)
        for idx, t in enumerate(self.texts):
            r, c = divmod(idx, k)
            t.setPos(c, r)
            n = int(counts[r, c])
            t.setText(str(n) if n else "")

    def cell_text(self, true: int, predicted: int) -> str:
        k = self.counts.shape[0]
        return self.texts[true * k + predicted].textItem.toPlainText() if self.texts else ""


class ImagesView(QWidget):
    """The image views of the current experiment; a message for flat data."""

    sampleChanged = Signal(int)

    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.feed = ImageFeed()
        self.state: ImageState | None = None
        self._last_draw = 0.0
        self._pending: ImageState | None = None

        self.pages = QStackedWidget()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.pages)
        self.message = QLabel(
            "The image views show image data (Data \u203a Images: digits, bars, shapes, a folder)."
        )
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setObjectName("dim")
        self.pages.addWidget(self.message)

        body = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        left_lay = QVBoxLayout(left)
        left_lay.setContentsMargins(0, 0, 0, 0)
        self.samples = TileGrid(SAMPLES_TITLE.format(key=""))
        self.summary = QLabel()
        self.summary.setObjectName("dim")
        self.summary.setWordWrap(True)
        left_lay.addWidget(self.samples, 1)
        left_lay.addWidget(self.summary)
        self.tabs = QTabWidget()
        self.maps = MapsView()
        self.filters = MapsView()
        self.confusion = ConfusionView()
        self.wrong = TileGrid(WRONG_TITLE.format(key=""))
        self.tabs.addTab(self.maps, "Feature maps")
        self.tabs.addTab(self.filters, "Filters")
        self.tabs.addTab(self.confusion, "Confusion matrix")
        self.tabs.addTab(self.wrong, "Misclassified")
        body.addWidget(left)
        body.addWidget(self.tabs)
        body.setStretchFactor(0, 2)
        body.setStretchFactor(1, 3)
        self.pages.addWidget(body)

        self.samples.tileClicked.connect(self.select_sample)
        self.wrong.tileClicked.connect(self.select_sample)
        self.tabs.currentChanged.connect(lambda _i: self._draw())
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._draw_pending)
        controller.snapshot.connect(self._on_snapshot)
        add_extra = getattr(controller, "add_snapshot_extra", None)
        if add_extra is not None:  # the worker computes the state with its snapshots
            add_extra("images", self.feed)
        controller.experimentReplaced.connect(self._on_replaced)
        controller.specChanged.connect(lambda *_: self._show_page())
        figures = {"test_images": self.samples, "feature_maps": self.maps, "filters": self.filters,
                   "confusion": self.confusion, "misclassified": self.wrong, "images": self}  # fmt: skip
        for name, w in figures.items():  # right-click: Export figure… / Copy figure
            install_figure_menu(w, name)
        self._on_replaced()

    # -- state ------------------------------------------------------------------------------
    def is_image(self) -> bool:
        exp = getattr(self.controller, "experiment", None)
        return exp is not None and exp.dataset.is_image

    def _show_page(self) -> None:
        self.pages.setCurrentIndex(1 if self.is_image() else 0)

    def _on_replaced(self) -> None:
        self.state = None
        self._pending = None
        n_test = self.controller.experiment.dataset.n_test if self.is_image() else 0
        self.feed.sample = min(self.feed.sample, max(0, n_test - 1))
        self._show_page()
        if self.is_image():
            self.request()

    def request(self) -> None:
        """Compute the state now where the experiment may be read (between two chunks)."""
        if not self.is_image():
            return
        sample = self.feed.sample
        try:
            state = self.controller.call_in_worker(lambda exp: image_state(exp, sample=sample))
        except Exception as e:  # a worker busy compiling: the next snapshot brings it
            self.summary.setText(f"Waiting for the engine ({e})")
            return
        if state is not None:
            self.set_state(state)

    def _fed(self) -> bool:
        """Whether the training worker computes the state with each snapshot (``ImageFeed``)."""
        worker = getattr(self.controller, "worker", None)
        return any(f is self.feed for f in getattr(worker, "snapshot_extras", {}).values())

    def _on_snapshot(self, snap) -> None:
        if not self.is_image():
            return
        self.feed.active = self.isVisible()
        state = (getattr(snap, "extra", None) or {}).get("images")
        if state is not None:
            if state.sample == self.feed.sample:
                self._pending = state
                if not self._timer.isActive():
                    wait = max(0.0, 1000.0 / REFRESH_HZ - (time.perf_counter() - self._last_draw) * 1000.0)
                    self._timer.start(int(wait))
            return
        if self._fed() or not self.isVisible():
            return  # the feed sends the state when it is due
        if time.perf_counter() - self._last_draw >= 1.0 / REFRESH_HZ:
            self.request()  # no feed wired into the worker: ask it between two chunks

    def _draw_pending(self) -> None:
        state, self._pending = self._pending, None
        if state is not None:
            self.set_state(state)

    def select_sample(self, index: int) -> None:
        """Show the feature maps of test image ``index``."""
        self.feed.sample = int(index)
        self.tabs.setCurrentWidget(self.maps)
        self.request()
        self.sampleChanged.emit(int(index))

    def set_state(self, state: ImageState) -> None:
        exp = getattr(self.controller, "experiment", None)
        if exp is not None and state.experiment_id != id(exp):
            return  # from an experiment replaced meanwhile
        self.state = state
        self._draw()

    # -- drawing ------------------------------------------------------------------------------
    def _draw(self) -> None:
        s = self.state
        if s is None:
            return
        self._last_draw = time.perf_counter()
        names = s.class_names
        key = tile_key(names)
        for grid, title in ((self.samples, SAMPLES_TITLE), (self.wrong, WRONG_TITLE)):
            text = title.format(key=key)
            if grid.title.text != text:
                grid.title.setText(text)
        n = len(s.test_images)
        idx = list(range(n))
        ok = s.predicted[:n] == s.true[:n]
        self.samples.show_tiles(
            s.test_images, idx, ok, [self._name(p) for p in s.predicted[:n]], SAMPLE_COLS, s.sample
        )
        acc = float(np.mean(s.predicted == s.true)) if len(s.true) else float("nan")
        wrong = s.wrong
        evaluated = "" if len(s.true) == s.n_test else f" (the first {len(s.true):,} of {s.n_test:,})"
        self.summary.setText(
            f"Step {s.step:,}: {acc:.1%} of {len(s.true):,} test images right{evaluated}, "
            f"{len(wrong):,} wrong"
        )
        current = self.tabs.currentWidget()
        if current is self.maps:
            self.maps.show_rows(feature_rows(s))
        elif current is self.filters:
            rows = filter_rows(s)
            self.filters.show_rows(
                rows or [("no convolution layers in this network", np.zeros((1, 1, 4), np.uint8))]
            )
        elif current is self.confusion:
            self.confusion.show_counts(s.confusion, names)
        elif current is self.wrong:
            shown = wrong[:MAX_WRONG]
            exp = self.controller.experiment
            imgs = (
                np.asarray(exp.dataset.X_test[shown], dtype=np.float64)
                if len(shown)
                else np.zeros((0, *s.sample_image.shape))
            )
            texts = [f"{self._name(s.predicted[i])} ({self._name(s.true[i])})" for i in shown]
            self.wrong.show_tiles(
                imgs, [int(i) for i in shown], np.zeros(len(shown), bool), texts, 8, s.sample
            )

    def _name(self, k) -> str:
        """The class's name as a tile shows it (``tile_names``)."""
        names = tile_names(self.state.class_names) if self.state is not None else []
        k = int(k)
        return names[k] if k < len(names) else str(k)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.feed.active = True
        if self.is_image() and self.state is None:
            self.request()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.feed.active = False


if __name__ == "__main__":
    from playground.app.preview import run_preview

    run_preview(lambda c: ImagesView(c), size=(1100, 640))
