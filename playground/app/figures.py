"""Figures of any view: PNG at a chosen size, SVG with text kept as text, the clipboard.

One way for every view (the network drawing, the decision boundary, the live plots, the
image and sequence views, race and GAN mode): the widget paints itself into a QPainter on a
QImage (PNG, clipboard) or on a QSvgGenerator (SVG). Qt's SVG engine writes every
``drawText`` as an SVG ``<text>`` element, so axis labels, ticks, titles and legends stay
text (searchable, editable in Inkscape, crisp at any zoom). pyqtgraph's own SVGExporter is
not used: with pyqtgraph 0.14 on Qt 6.11 it fails on the closed paths Qt writes ("not enough
values to unpack"), which ``files.export_svg`` found first. The generator writes SVG Tiny
1.2 (its default): its SVG 1.1 mode writes clip paths that librsvg placed wrongly (whole
plots cut away), so nothing is clipped in the SVG: a view must fit its own place (a plot
zoomed in shows its curve beyond the axes). Thin lines are rewritten for viewers without
``non-scaling-stroke`` (:func:`flatten_cosmetic_strokes`).

Two kinds of widget need more than ``QWidget.render``:

- the network canvas composes its picture into cached pixmaps (fast blits while training);
  rendered as-is its SVG would be one bitmap. :func:`paint_vector` draws it again, directly
  into the painter (connections as paths, labels as text), then its child widgets (the layer
  controls) on top. A widget with a ``paint_figure(painter)`` method of its own is painted
  by it; a view with a ``figure_widget()`` method (or a ``canvas`` that can be painted so)
  exports that widget.
- a PNG larger than the widget is painted with the painter scaled, so text and lines are
  drawn at the new resolution rather than blown up. A different aspect ratio lays the
  widget out at that ratio for the moment of painting, then restores its size.

:func:`install_figure_menu` gives a view the right-click menu "Export figure…" / "Copy
figure"; in pyqtgraph scenes whose own menu is on (the live plots) the two actions join the
end of pyqtgraph's menu instead of its "Export…" (which offers the broken SVG exporter).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QEvent, QIODevice, QObject, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QAction, QGuiApplication, QImage, QPainter, QPalette, QRegion
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QApplication,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QMenu,
    QMessageBox,
    QSpinBox,
    QWidget,
)

PNG_SCALE = 2  # the default PNG is the widget's size times this
MAX_PNG_SIDE = 16_384  # pixels; a QImage this large is ~1 GB already
FIGURE_FILTER = "PNG image (*.png);;SVG drawing (*.svg)"
SUFFIXES = (".png", ".svg")


# ----------------------------------------------------------------------------- what to paint


def figure_widget(widget: QWidget) -> QWidget:
    """The widget whose picture is the figure of ``widget`` (a view may name a part of it)."""
    own = getattr(widget, "figure_widget", None)
    if callable(own):
        return own()
    canvas = getattr(widget, "canvas", None)
    if isinstance(canvas, QWidget) and _vector_painter(canvas) is not None:
        scroll = getattr(widget, "scroll", None)
        if scroll is None or scroll.isVisible():  # the diagram (not the list of blocks) is shown
            return canvas
    return widget


def _vector_painter(widget: QWidget):
    """A function painting ``widget`` (without its children) as vectors, or None."""
    own = getattr(widget, "paint_figure", None)
    if callable(own):
        return lambda _w, p: own(p)
    return None


def paint_widget(widget: QWidget, p: QPainter, root: bool = True) -> None:
    """Paint ``widget`` and its visible children into ``p`` (at the painter's transform),
    each clipped to its own rectangle by the painter: the SVG engine ignores the clipping
    ``QWidget.render`` does for children, so a child view larger than its place (a squeezed
    plot in a splitter) would be drawn over its neighbours."""
    p.save()
    p.setClipRect(widget.rect(), Qt.ClipOperation.IntersectClip)
    vector = _vector_painter(widget)
    if vector is not None:
        vector(widget, p)
    else:  # the widget itself; QGraphicsView overrides render(), hence QWidget's
        flags = QWidget.RenderFlag.DrawWindowBackground if root else QWidget.RenderFlag(0)
        QWidget.render(widget, p, QPoint(), QRegion(), flags)
    for child in widget.children():
        if isinstance(child, QWidget) and child.isVisible() and not child.isWindow():
            p.save()
            p.translate(child.pos())
            paint_widget(child, p, root=False)
            p.restore()
    p.restore()


@contextlib.contextmanager
def _laid_out_at(widget: QWidget, size: QSize):
    """``widget`` at ``size`` (layouts and pyqtgraph scenes follow) for the moment of painting."""
    old = widget.size()
    if size == old:
        yield
        return
    widget.resize(size)
    QApplication.sendPostedEvents()  # layout requests: the items take the new geometry now
    try:
        yield
    finally:
        widget.resize(old)
        QApplication.sendPostedEvents()


@contextlib.contextmanager
def _uncached(widget: QWidget):
    """pyqtgraph items that keep a pixmap of themselves (the live plots' axes, titles and
    legends: ``plotting.cache_decorations``) paint themselves for the figure: vectors and text
    in an SVG, sharp at a PNG's scale."""
    import pyqtgraph as pg
    from PySide6.QtWidgets import QGraphicsItem

    none = QGraphicsItem.CacheMode.NoCache
    cached = []
    views = ([widget] if isinstance(widget, pg.GraphicsView) else []) + widget.findChildren(pg.GraphicsView)
    for view in views:
        for item in view.scene().items():
            if item.cacheMode() != none:
                cached.append((item, item.cacheMode()))
                item.setCacheMode(none)
    try:
        yield
    finally:
        for item, mode in cached:
            item.setCacheMode(mode)


def _logical_size(widget: QWidget, size: QSize) -> tuple[QSize, float]:
    """The layout size and scale that give ``size`` pixels: the widget's own size when the
    ratio is its own (fonts and line widths then read as on screen, only finer); for another
    ratio, a layout of about the widget's area at that ratio (never under its minimum size)."""
    w, h = max(1, widget.width()), max(1, widget.height())
    if abs(size.height() - size.width() * h / w) <= max(1.0, size.width() / w):
        return QSize(w, h), size.width() / w
    scale = (size.width() * size.height() / (w * h)) ** 0.5
    minimum = widget.minimumSize()
    scale = min(scale, size.width() / max(1, minimum.width()), size.height() / max(1, minimum.height()))
    return QSize(max(1, round(size.width() / scale)), max(1, round(size.height() / scale))), scale


def _as_size(size) -> QSize | None:
    if size is None or isinstance(size, QSize):
        return size
    w, h = (int(v) for v in size)
    return QSize(w, h)


def default_png_size(widget: QWidget) -> QSize:
    """The PNG size offered first: the widget's size times ``PNG_SCALE``."""
    w = figure_widget(widget)
    return QSize(max(1, w.width()) * PNG_SCALE, max(1, w.height()) * PNG_SCALE)


# ----------------------------------------------------------------------------- pictures


def render_image(widget: QWidget, size=None) -> QImage:
    """The figure of ``widget`` as an RGB32 image of ``size`` pixels (QSize or (w, h);
    default: :func:`default_png_size`)."""
    target = figure_widget(widget)
    size = _as_size(size) or default_png_size(widget)
    if not (0 < size.width() <= MAX_PNG_SIDE and 0 < size.height() <= MAX_PNG_SIDE):
        asked = f"{size.width()} x {size.height()}"
        raise ValueError(f"a figure is 1 to {MAX_PNG_SIDE:,} pixels a side, not {asked}")
    logical, scale = _logical_size(target, size)
    image = QImage(size, QImage.Format.Format_RGB32)
    image.fill(target.palette().color(QPalette.ColorRole.Window))
    with _laid_out_at(target, logical), _uncached(target):
        p = QPainter(image)
        try:
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
            p.scale(scale, scale)
            paint_widget(target, p)
        finally:
            p.end()
    return image


def svg_bytes(widget: QWidget, title: str = "Neural Playground figure") -> bytes:
    """The figure of ``widget`` as an SVG document (text as ``<text>`` elements)."""
    target = figure_widget(widget)
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(buf)
    gen.setSize(target.size())
    gen.setViewBox(QRect(0, 0, target.width(), target.height()))
    gen.setResolution(target.logicalDpiX())  # fonts in points keep their size on screen
    gen.setTitle(title)
    gen.setDescription("Exported from Neural Playground")
    with _uncached(target):
        p = QPainter(gen)
        try:
            paint_widget(target, p)
        finally:
            p.end()
    buf.close()
    return flatten_cosmetic_strokes(bytes(buf.data()).decode("utf-8")).encode("utf-8")


_GROUP = re.compile(r'<g ([^>]*?)transform="matrix\(([^)]*)\)"([^>]*)>(.*?)</g>', re.S)
_PAIR = re.compile(r"(-?[0-9.]+(?:e[-+]?[0-9]+)?),(-?[0-9.]+(?:e[-+]?[0-9]+)?)")
_COSMETIC = ' vector-effect="non-scaling-stroke"'


def flatten_cosmetic_strokes(svg: str) -> str:
    """Paths of one pixel wide lines in a scaled coordinate system (pyqtgraph's curves and
    grids: a cosmetic pen, which Qt writes as ``vector-effect="non-scaling-stroke"`` under a
    ``transform``) get their points in view coordinates instead: viewers without that SVG
    Tiny feature (librsvg, Inkscape, office suites) drew them as bands tens of pixels wide."""

    def group(m: re.Match) -> str:
        inner = m.group(4)
        kinds = set(re.findall(r"<(\w+)", inner))
        if kinds != {"path"} or inner.count("<path") != inner.count(_COSMETIC):
            return m.group(0)
        try:
            a, b, c, d, e, f = (float(v) for v in m.group(2).split(","))
        except ValueError:
            return m.group(0)

        def point(pm: re.Match) -> str:
            x, y = float(pm.group(1)), float(pm.group(2))
            return f"{a * x + c * y + e:.3f},{b * x + d * y + f:.3f}"

        def path_d(dm: re.Match) -> str:
            return f' d="{_PAIR.sub(point, dm.group(1))}"'

        inner = re.sub(r' d="([^"]*)"', path_d, inner.replace(_COSMETIC, ""))
        return f'<g {m.group(1)}transform="matrix(1,0,0,1,0,0)"{m.group(3)}>{inner}</g>'

    return _GROUP.sub(group, svg)


def export_widget(widget: QWidget, path, size=None, title: str | None = None) -> Path:
    """Write the figure of ``widget`` to ``path``: PNG (of ``size`` pixels, default the
    widget's size x 2) or SVG, by the suffix. Written atomically (a temporary file renamed):
    an error leaves no half-written figure. OSError / ValueError say what went wrong."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{path.name}: a figure is saved as .png or .svg")
    if suffix == ".svg":
        data = svg_bytes(widget, title or path.stem)
    else:
        data = _png_bytes(render_image(widget, size))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's file is private; a figure is not
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _png_bytes(image: QImage) -> bytes:
    ba = QByteArray()
    buf = QBuffer(ba)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buf, "PNG"):
        raise OSError("could not encode the PNG image")
    buf.close()
    return bytes(ba)


def copy_widget(widget: QWidget, size=None) -> QImage:
    """Put the figure on the clipboard as an image (``size``, default x 2); returns it.

    Only the image: a QMimeData made in Python (to add the SVG as ``image/svg+xml``) that is
    still on the clipboard when the process ends crashes it (PySide6 6.11.3, seen offscreen:
    a segmentation fault at exit); ``QClipboard.setImage`` makes its own."""
    image = render_image(widget, size)
    QGuiApplication.clipboard().setImage(image)
    return image


# ----------------------------------------------------------------------------- dialogs and menu


class FigureSizeDialog(QDialog):
    """Width x height of a PNG, the proportions kept unless unticked."""

    def __init__(self, size: QSize, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Figure size")
        self._ratio = size.height() / max(1, size.width())
        self.width_spin, self.height_spin = QSpinBox(), QSpinBox()
        for spin, v in ((self.width_spin, size.width()), (self.height_spin, size.height())):
            spin.setRange(16, MAX_PNG_SIDE)
            spin.setSuffix(" px")
            spin.setValue(v)
        self.keep = QCheckBox("Keep the view's proportions")
        self.keep.setChecked(True)
        self.width_spin.valueChanged.connect(self._width_changed)
        self.height_spin.valueChanged.connect(self._height_changed)
        form = QFormLayout(self)
        form.addRow("Width", self.width_spin)
        form.addRow("Height", self.height_spin)
        form.addRow(self.keep)
        ok, cancel = QDialogButtonBox.StandardButton.Ok, QDialogButtonBox.StandardButton.Cancel
        buttons = QDialogButtonBox(ok | cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _width_changed(self, w: int) -> None:
        if self.keep.isChecked():
            self.height_spin.blockSignals(True)
            self.height_spin.setValue(max(16, round(w * self._ratio)))
            self.height_spin.blockSignals(False)

    def _height_changed(self, h: int) -> None:
        if self.keep.isChecked():
            self.width_spin.blockSignals(True)
            self.width_spin.setValue(max(16, round(h / self._ratio)))
            self.width_spin.blockSignals(False)

    def chosen(self) -> QSize:
        return QSize(self.width_spin.value(), self.height_spin.value())


def export_figure_dialog(widget: QWidget, name: str, parent: QWidget | None = None) -> Path | None:
    """File dialog (PNG or SVG), then for PNG the size; errors in a message box."""
    from . import settings

    parent = parent or widget.window()
    start = str(settings.last_folder("exports") / f"{name}.png")
    path, chosen = QFileDialog.getSaveFileName(parent, "Export figure", start, FIGURE_FILTER)
    if not path:
        return None
    if Path(path).suffix.lower() not in SUFFIXES:
        path += ".svg" if "svg" in chosen.lower() else ".png"
    size = None
    if path.lower().endswith(".png"):
        dialog = FigureSizeDialog(default_png_size(widget), parent)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        size = dialog.chosen()
    try:
        out = export_widget(widget, path, size, title=name)
    except (OSError, ValueError) as e:
        QMessageBox.warning(parent, "Neural Playground", f"Cannot export the figure to {path}: {e}")
        return None
    settings.set_last_folder("exports", path)
    return out


class FigureMenu(QObject):
    """The right-click menu of one view (see :func:`install_figure_menu`)."""

    def __init__(self, widget: QWidget, name: str, when=None):
        super().__init__(widget)
        self.widget = widget
        self.name = name
        self.when = when  # None, or a function: False while the right button means something else
        self.menu: QMenu | None = None  # the last menu shown (tests read it)
        self.export_action = QAction("Export figure…", self)
        self.export_action.triggered.connect(lambda: export_figure_dialog(self.widget, self.name))
        self.copy_action = QAction("Copy figure", self)
        self.copy_action.triggered.connect(lambda: copy_widget(self.widget))
        widget.installEventFilter(self)
        self._watch_scenes()

    def _watch_scenes(self) -> None:
        """pyqtgraph views inside: their viewports get the filter; their scene's own menu
        entries become ours (shown with a ViewBox's menu where that is on)."""
        import pyqtgraph as pg

        views = [self.widget] + self.widget.findChildren(pg.GraphicsView)
        for view in views:
            if isinstance(view, QAbstractScrollArea):
                view.viewport().installEventFilter(self)
            if isinstance(view, pg.GraphicsView) and hasattr(view.scene(), "contextMenu"):
                view.scene().contextMenu = [self.export_action, self.copy_action]

    def actions(self) -> list[QAction]:
        return [self.export_action, self.copy_action]

    def eventFilter(self, obj, event) -> bool:
        if event.type() != QEvent.Type.ContextMenu or (self.when is not None and not self.when()):
            return False
        if not _pyqtgraph_menu_under(obj, event.pos()):
            self.popup(event.globalPos())
        # handled either way (pyqtgraph shows its own menu on the mouse release): a view
        # around this one, with a figure menu of its own, must not show a second menu
        return True

    def popup(self, global_pos) -> QMenu:
        menu = QMenu(self.widget)
        menu.addActions(self.actions())
        self.menu = menu
        menu.popup(global_pos)
        return menu


def _pyqtgraph_menu_under(obj, pos) -> bool:
    """Whether a pyqtgraph ViewBox with its own context menu is under ``pos`` of a viewport
    (then pyqtgraph shows its menu, with our actions at the end)."""
    import pyqtgraph as pg

    view = obj.parent() if not isinstance(obj, pg.GraphicsView) else obj
    if not isinstance(view, pg.GraphicsView):
        return False
    for item in view.items(pos):
        vb = item if isinstance(item, pg.ViewBox) else getattr(item, "getViewBox", lambda: None)()
        if isinstance(vb, pg.ViewBox) and vb.menuEnabled():
            return True
    return False


def install_figure_menu(widget: QWidget, name: str, when=None) -> FigureMenu:
    """Give ``widget`` the right-click menu "Export figure…" / "Copy figure" (``name`` is the
    file name offered). Call it from a view's ``__init__`` once its children exist. ``when``:
    a function saying whether the menu is on now (the boundary's Paint mode erases with the
    right button)."""
    for child in widget.children():
        if isinstance(child, FigureMenu):  # one per widget
            return child
    return FigureMenu(widget, name, when)


__all__ = [
    "FigureMenu",
    "FigureSizeDialog",
    "copy_widget",
    "default_png_size",
    "export_figure_dialog",
    "export_widget",
    "figure_widget",
    "install_figure_menu",
    "paint_widget",
    "render_image",
    "svg_bytes",
]
