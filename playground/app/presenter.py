"""Presenter mode: for a projector, larger fonts, thicker lines, high contrast; and every
control reachable from the keyboard.

:func:`set_presenter` scales the application font (``QApplication.setFont``, which every
widget without a font of its own follows), adds a style sheet on top of the theme's (thicker
borders, a visible focus frame, high-contrast colours) and a high-contrast palette derived
from the current theme, and thickens every pyqtgraph line found in the window's plots
(curves, axes, reference lines), enlarges their scatter points (the boundary's data points,
by ``POINT_SCALE``, their outlines thicker) and their tick labels, remembering each original
pen, size and font so that turning it off restores them exactly. The views that paint
themselves ask :func:`pen_width` whenever they draw: the network diagram's connections,
neuron frames and bias bars, the boundary's eraser brush. A curve created later (a new race member,
a new layer's gradient curve) starts at its module's width unless that module asks
:func:`pen_width` (the hook for ``plotting._pen``); thick pens cost pyqtgraph ~10x per
frame (shared/PITFALLS.md), acceptable for a projector, not as a default.

Keyboard: Qt gives QToolBar buttons and checkable QToolButtons in custom panels no focus
(``Qt.NoFocus``), so Tab skipped Play/Step/Reset and the data set thumbnails;
:func:`ensure_keyboard_reachable` gives every such control Tab focus (Space/Enter press it).
:func:`install_presenter` does that and adds View > Presenter mode (Ctrl+Shift+P).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QColor, QFont, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDockWidget,
    QMainWindow,
    QScrollArea,
    QScrollBar,
    QWidget,
)

from . import theme

FONT_SCALE = 1.5
PEN_SCALE = 2.5
POINT_SCALE = 1.6  # scatter points (the boundary's data): 7 px -> 11 px
FOCUS_COLOR = {"light": "#d35400", "dark": "#ffd400"}


class _State:
    def __init__(self):
        self.on = False
        self.font: QFont | None = None
        self.palette: QPalette | None = None
        self.sheet = ""
        self.pens: list = []  # (item, original pen)
        self.fonts: list = []  # (axis, original tick font or None)
        self.labels: list = []  # (title label, original size)
        self.points: list = []  # (scatter item, original size, original pen)
        self.dock_widths: dict = {}  # id(dock) -> its width before presenter mode


_state = _State()


def presenter_on() -> bool:
    return _state.on


def pen_width(width: float = 1.0) -> float:
    """The pen width to draw with now: ``width``, times PEN_SCALE in presenter mode (the hook
    for modules that make pens)."""
    return width * PEN_SCALE if _state.on else width


def point_scale() -> float:
    """How much larger scatter points are drawn now (POINT_SCALE in presenter mode, else 1)."""
    return POINT_SCALE if _state.on else 1.0


def high_contrast_palette(t: theme.Theme | None = None) -> QPalette:
    """The theme's palette with pure black on white (light) or white on black (dark)."""
    t = t or theme.current()
    p = theme.palette_for(t)
    dark = t.name == "dark"
    fg, bg = (QColor("#ffffff"), QColor("#000000")) if dark else (QColor("#000000"), QColor("#ffffff"))
    R = QPalette.ColorRole
    for role in (R.Window, R.Base, R.AlternateBase, R.Button, R.ToolTipBase):
        p.setColor(role, bg)
    for role in (R.WindowText, R.Text, R.ButtonText, R.ToolTipText):
        p.setColor(role, fg)
    p.setColor(R.Highlight, QColor("#ffd400" if dark else "#0040a0"))
    p.setColor(R.HighlightedText, QColor("#000000" if dark else "#ffffff"))
    for role in (R.Mid, R.Midlight, R.Dark):
        p.setColor(role, fg)
    for role in (R.Text, R.ButtonText, R.WindowText):  # still readable on a projector
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#a0a0a0" if dark else "#505050"))
    return p


def presenter_sheet(t: theme.Theme | None = None) -> str:
    t = t or theme.current()
    fg = "#ffffff" if t.name == "dark" else "#000000"
    focus = FOCUS_COLOR.get(t.name, "#d35400")
    return f"""
    QGroupBox {{ border: 2px solid {fg}; }}
    QLabel#dim, QGroupBox::title, QDockWidget::title {{ color: {fg}; }}
    QAbstractButton:focus, QComboBox:focus, QAbstractSpinBox:focus, QSlider:focus,
    QAbstractItemView:focus, QLineEdit:focus, QPlainTextEdit:focus, QTextBrowser:focus {{
        border: 3px solid {focus}; }}
    QSplitter::handle:horizontal {{ width: 3px; }}
    QSplitter::handle:vertical {{ height: 3px; }}
    QMainWindow::separator {{ width: 3px; height: 3px; }}
    """


def _plot_widgets(target) -> list:
    app = QApplication.instance()
    roots = [target] if isinstance(target, QWidget) else list(app.topLevelWidgets())
    out = []
    for r in roots:
        if isinstance(r, pg.GraphicsView):
            out.append(r)
        out.extend(r.findChildren(pg.GraphicsView))
    return out


def _thicken(target) -> None:
    for gv in _plot_widgets(target):
        scene = gv.scene()
        if scene is None:
            continue
        for item in scene.items():
            if isinstance(item, pg.ScatterPlotItem) and not isinstance(item.parentItem(), pg.PlotDataItem):
                # (a PlotDataItem's symbols are its own: it sets their size on every setData)
                size, pen = item.opts["size"], pg.mkPen(item.opts["pen"])
                _state.points.append((item, size, pg.mkPen(pen)))
                item.setSize(size * POINT_SCALE)
                pen.setWidthF(max(1.0, pen.widthF()) * POINT_SCALE)
                item.setPen(pen)
                continue
            pen = _pen_of(item)
            if pen is not None:
                _state.pens.append((item, pg.mkPen(pen)))
                pen = pg.mkPen(pen)
                pen.setWidthF(max(1.0, pen.widthF()) * PEN_SCALE)
                item.setPen(pen)
            if isinstance(item, pg.AxisItem):  # tick labels: pyqtgraph's own font, not the app's
                old = item.style.get("tickFont")
                _state.fonts.append((item, QFont(old) if old is not None else None))
                f = QFont(old) if old is not None else QFont(_state.font or QApplication.font())
                f.setPointSizeF(f.pointSizeF() * FONT_SCALE)
                item.setTickFont(f)
            elif isinstance(item, pg.LabelItem) and item.text:  # plot titles: a fixed "10pt"
                size = str(item.opts.get("size") or "")
                if size.endswith("pt"):
                    _state.labels.append((item, size))
                    item.setText(item.text, size=f"{float(size[:-2]) * FONT_SCALE:g}pt")


def _pen_of(item):
    if isinstance(item, pg.PlotCurveItem):
        return item.opts.get("pen")
    if isinstance(item, pg.InfiniteLine):
        return item.pen
    if isinstance(item, pg.AxisItem):
        return item.pen()
    return None


def _restore_pens() -> None:
    for item, pen in reversed(_state.pens):
        try:
            item.setPen(pen)
        except RuntimeError:  # the item was deleted meanwhile
            pass
    for axis, font in reversed(_state.fonts):
        try:
            axis.setTickFont(font)
        except RuntimeError:
            pass
    for label, size in reversed(_state.labels):
        try:
            label.setText(label.text, size=size)
        except RuntimeError:
            pass
    for item, size, pen in reversed(_state.points):
        try:
            item.setSize(size)
            item.setPen(pen)
        except RuntimeError:
            pass
    _state.points.clear()
    _state.pens.clear()
    _state.fonts.clear()
    _state.labels.clear()


def set_presenter(app_or_window=None, on: bool = True) -> None:
    """Presenter mode on or off for the whole application (``app_or_window``: a window limits
    the pen changes to its plots; None or the QApplication: every window's)."""
    app = QApplication.instance()
    target = app_or_window if isinstance(app_or_window, QWidget) else None
    if on == _state.on:
        if on:  # again: catch plots made since (race mode, a new layer's curve)
            _restore_pens()
            _thicken(target)
        return
    if on:
        for w in [target] if target is not None else app.topLevelWidgets():
            if isinstance(w, QMainWindow):  # before the big font widens any of them
                _state.dock_widths.update({id(d): d.width() for d in _side_docks(w)})
        _state.font = QFont(app.font())
        _state.palette = QPalette(app.palette())
        _state.sheet = app.styleSheet()
        big = QFont(_state.font)
        big.setPointSizeF(_state.font.pointSizeF() * FONT_SCALE)
        _state.on = True
        app.setFont(big)
        # the palette before the style sheet (as theme.apply_theme does): the sheet's re-polish
        # hands every widget it styles the application palette of that moment, and keeps it
        app.setPalette(high_contrast_palette())
        app.setStyleSheet(_state.sheet + presenter_sheet())
        _thicken(target)
    else:
        _state.on = False
        _restore_pens()
        app.setFont(_state.font)  # before the style sheet: its re-polish hands widgets this font
        app.setPalette(_state.palette)
        app.setStyleSheet(_state.sheet)
    for w in [target] if target is not None else app.topLevelWidgets():
        for v in w.findChildren(QWidget):
            v.update()
        if isinstance(w, QMainWindow):
            QTimer.singleShot(0, lambda w=w, on=on: _fit_docks(w, on))


def _side_docks(window: QMainWindow) -> list[QDockWidget]:
    sides = (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea)
    return [
        d
        for d in window.findChildren(QDockWidget)
        if d.isVisible()
        and not d.isFloating()
        and window.dockWidgetArea(d) in sides
        and not d.visibleRegion().isEmpty()  # not a tab behind another dock
    ]


def _content_width(w: QWidget) -> int:
    """The width a dock's widget asks for; a scroll area (the Data and Training panels)
    answers for its content, plus its scroll bar."""
    if isinstance(w, QScrollArea) and w.widget() is not None:
        return w.widget().sizeHint().width() + w.verticalScrollBar().sizeHint().width() + 2 * w.frameWidth()
    return w.sizeHint().width()


def _fit_docks(window: QMainWindow, on: bool) -> None:
    """The side docks as wide as their controls need in the big font (their widths of
    before come back when presenter mode ends): at 1.5x the Training dock's fields and the
    Data dock's labels were cut off at the window's edge."""
    docks = _side_docks(window)
    if on:
        docks = [d for d in docks if d.widget() is not None]
        want = [max(d.width(), _content_width(d.widget())) for d in docks]
    else:
        kept = _state.dock_widths
        docks = [d for d in docks if id(d) in kept]
        want = [kept.pop(id(d)) for d in docks]
    for d, width in zip(docks, want, strict=True):  # one at a time: a dock area's others keep theirs
        window.resizeDocks([d], [width], Qt.Orientation.Horizontal)


def ensure_keyboard_reachable(window: QWidget) -> list[QWidget]:
    """Give Tab focus to every enabled control that has none (toolbar buttons, thumbnail
    buttons); returns the widgets changed. Dock title buttons and scroll bars stay as Qt
    makes them (the View menu and the wheel do their work)."""
    kinds = (QAbstractButton, QAbstractSlider, QComboBox, QAbstractSpinBox)
    changed = []
    for w in window.findChildren(QWidget):
        if not isinstance(w, kinds) or isinstance(w, QScrollBar) or w.objectName().startswith("qt_"):
            continue
        if w.focusPolicy() == Qt.FocusPolicy.NoFocus:
            w.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            changed.append(w)
    return changed


def install_presenter(window) -> QAction:
    """View > Presenter mode (checkable, Ctrl+Shift+P) and Tab focus for every control."""
    ensure_keyboard_reachable(window)
    a = QAction("&Presenter mode", window, checkable=True)
    a.setShortcut(QKeySequence("Ctrl+Shift+P"))
    a.setToolTip("Larger fonts, thicker lines and high contrast for a projector")
    # every window's plots (GAN mode's window and its races too), the docks of each main window
    a.toggled.connect(lambda on: set_presenter(None, on))
    view_menu = next(
        (m.menu() for m in window.menuBar().actions() if m.menu() and m.text().replace("&", "") == "View"),
        None,
    )
    if view_menu is not None:
        view_menu.addSeparator()
        view_menu.addAction(a)
    else:
        window.addAction(a)
    return a
