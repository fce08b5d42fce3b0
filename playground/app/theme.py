"""Light and dark themes: Fusion style, a QPalette, a small style sheet and pyqtgraph colours.

Switchable live with :func:`apply_theme`; views that paint their own colours listen to
``QApplication.paletteChanged`` or read :func:`current` when they redraw.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from . import colors


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    base: str
    alt_base: str
    text: str
    dim_text: str
    button: str
    highlight: str
    border: str
    plot_bg: str
    plot_fg: str
    grid_alpha: float
    banner_bg: str
    banner_fg: str


LIGHT = Theme(
    name="light",
    window="#f3f4f6",
    base="#ffffff",
    alt_base="#f7f8fa",
    text="#1f2328",
    dim_text="#5f6b7a",
    button="#ffffff",
    highlight="#0877bd",
    border="#d4d8de",
    plot_bg="#ffffff",
    plot_fg="#3d4550",
    grid_alpha=0.18,
    banner_bg="#fdecea",
    banner_fg="#8a1c12",
)

DARK = Theme(
    name="dark",
    window="#1e2126",
    base="#2a2e35",
    alt_base="#31363e",
    text="#e6e8eb",
    dim_text="#9aa3ad",
    button="#32373f",
    highlight="#3a9ad9",
    border="#4a505a",
    plot_bg="#16181c",
    plot_fg="#c9cfd6",
    grid_alpha=0.22,
    banner_bg="#4a1f1c",
    banner_fg="#ffd9d4",
)

THEMES = {"light": LIGHT, "dark": DARK}
_current = LIGHT


def current() -> Theme:
    return _current


def palette_for(t: Theme) -> QPalette:
    p = QPalette()
    R = QPalette.ColorRole
    p.setColor(R.Window, QColor(t.window))
    p.setColor(R.WindowText, QColor(t.text))
    p.setColor(R.Base, QColor(t.base))
    p.setColor(R.AlternateBase, QColor(t.alt_base))
    p.setColor(R.ToolTipBase, QColor(t.base))
    p.setColor(R.ToolTipText, QColor(t.text))
    p.setColor(R.PlaceholderText, QColor(t.dim_text))
    p.setColor(R.Text, QColor(t.text))
    p.setColor(R.Button, QColor(t.button))
    p.setColor(R.ButtonText, QColor(t.text))
    p.setColor(R.BrightText, QColor("#ff5a4f"))
    p.setColor(R.Highlight, QColor(t.highlight))
    p.setColor(R.HighlightedText, QColor("#ffffff"))
    p.setColor(R.Link, QColor(t.highlight))
    p.setColor(R.Mid, QColor(t.border))
    p.setColor(R.Midlight, QColor(t.border))
    p.setColor(R.Dark, QColor(t.border).darker(130))
    for role in (R.Text, R.ButtonText, R.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(t.dim_text))
    return p


def style_sheet(t: Theme) -> str:
    return f"""
    QToolBar {{ border: none; spacing: 4px; padding: 3px 6px; background: {t.window}; }}
    QToolBar QToolButton {{ padding: 4px 10px; border-radius: 5px; }}
    QToolBar QToolButton:hover {{ background: {t.alt_base}; }}
    QToolBar QToolButton:checked {{ background: {t.highlight}; color: white; }}
    QDockWidget::title {{ padding: 5px 8px; font-weight: 600; color: {t.dim_text}; }}
    QGroupBox {{ font-weight: 600; border: 1px solid {t.border}; border-radius: 6px;
                 margin-top: 10px; padding: 8px 6px 6px 6px; }}
    QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 4px; color: {t.dim_text}; }}
    QLabel#dim {{ color: {t.dim_text}; }}
    QLabel#metric {{ font-weight: 600; }}
    QFrame#banner {{ background: {t.banner_bg}; border: 1px solid {t.banner_fg}; border-radius: 6px; }}
    QFrame#banner QLabel {{ color: {t.banner_fg}; font-weight: 600; }}
    QStatusBar QLabel {{ padding: 0 8px; }}
    QSplitter::handle {{ background: {t.border}; }}
    QSplitter::handle:horizontal {{ width: 1px; }}
    QSplitter::handle:vertical {{ height: 1px; }}
    QMainWindow::separator {{ background: {t.border}; width: 1px; height: 1px; }}
    """


def apply_theme(name: str, app: QApplication | None = None) -> Theme:
    """Switch the whole app to the named theme ('light' or 'dark')."""
    global _current
    t = THEMES.get(name, LIGHT)
    _current = t
    colors.set_dark(t.name == "dark")  # before the palette: its change handlers repaint pictures
    app = app or QApplication.instance()
    # antialiasing every curve costs the GUI thread (and, through the GIL, the trainer) ~2x per frame
    pg.setConfigOptions(background=t.plot_bg, foreground=t.plot_fg, antialias=False)
    if app is not None:
        app.setStyle("Fusion")
        app.setPalette(palette_for(t))
        app.setStyleSheet(style_sheet(t))
    return t


def style_plot(plot_item: pg.PlotItem, t: Theme | None = None, grid: bool = True) -> None:
    """Re-colour an existing pyqtgraph PlotItem for the theme (pyqtgraph reads its config at creation).

    ``grid=False`` for live plots: pyqtgraph's grid is painted by the axes across the whole view,
    so every curve update repaints both axes (~3 ms per plot per frame); they draw their own.
    """
    t = t or _current
    vb = plot_item.getViewBox()
    vb.setBackgroundColor(t.plot_bg)
    for name in ("left", "bottom", "right", "top"):
        ax = plot_item.getAxis(name)
        if ax is None:
            continue
        ax.setPen(pg.mkPen(t.plot_fg))
        ax.setTextPen(pg.mkPen(t.plot_fg))
    plot_item.titleLabel.setText(plot_item.titleLabel.text, color=t.plot_fg)
    legend = plot_item.legend
    if legend is not None:
        legend.setLabelTextColor(t.plot_fg)
        bg = pg.mkColor(t.plot_bg)
        bg.setAlpha(200)
        legend.setBrush(pg.mkBrush(bg))
        for _sample, label in legend.items:
            label.setText(label.text, color=t.plot_fg)
    if grid:
        plot_item.showGrid(x=True, y=True, alpha=t.grid_alpha)
    else:
        plot_item.showGrid(x=False, y=False)
