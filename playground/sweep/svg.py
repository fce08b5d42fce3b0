"""Tiny hand-written SVG charts (matplotlib is not a dependency).

``heatmap_svg`` draws a metric over two swept axes, one annotated cell per combination,
with a colour scale; ``lines_svg`` draws mean +- std with error bars over one swept axis.
Axes are named as the app names its settings ("learning rate", not training.optimizer.lr:
:func:`playground.variants.setting_name`). Background, text, frames and grid take their
colours from a ``<style>`` block (:data:`PALETTES`), so :func:`restyle` shows the same chart
in the dark theme; a cell without data is left empty (transparent, dashed outline), never a
white box.
"""

from __future__ import annotations

import math
import re
from xml.sax.saxutils import escape

from playground.formatting import fmt
from playground.variants import setting_name

PALETTES = {
    "light": {"bg": "#ffffff", "ink": "#222222", "dim": "#666666", "frame": "#888888", "grid": "#eeeeee"},
    "dark": {"bg": "#16181c", "ink": "#e6e8eb", "dim": "#9aa3ad", "frame": "#6b7380", "grid": "#2c3038"},
}
LIGHT_INK = "#f4f4f4"  # text on dark cells (not pure white: a white fill is a theme bug)
DARK_INK = "#111111"


def _style(theme: str) -> str:
    c = PALETTES.get(theme, PALETTES["light"])
    return (
        f".bg{{fill:{c['bg']}}} .ink{{fill:{c['ink']}}} .dim{{fill:{c['dim']}}} "
        f".frame{{fill:none;stroke:{c['frame']}}} .grid{{stroke:{c['grid']}}} .cell{{stroke:{c['bg']}}} "
        f".empty{{fill:none;stroke:{c['frame']};stroke-dasharray:4 3}}"
    )


def restyle(svg: str, theme: str) -> str:
    """The same chart with the colours of ``theme`` ("light" or "dark")."""
    return re.sub(
        r"<style>.*?</style>", lambda _m: f"<style>{_style(theme)}</style>", svg, count=1, flags=re.S
    )


# viridis, sampled at 9 stops
_VIRIDIS = (
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
)
FONT = "font-family='DejaVu Sans, Arial, sans-serif'"


def colour(t: float) -> str:
    """Viridis colour for t in [0, 1] as #rrggbb."""
    t = min(1.0, max(0.0, t)) * (len(_VIRIDIS) - 1)
    i = min(int(t), len(_VIRIDIS) - 2)
    f = t - i
    a, b = _VIRIDIS[i], _VIRIDIS[i + 1]
    return "#" + "".join(f"{round(x + (y - x) * f):02x}" for x, y in zip(a, b))


def _luma(hex_colour: str) -> float:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.299 * r + 0.587 * g + 0.114 * b


def _text(x, y, s, size=12, anchor="middle", fill=None, extra="") -> str:
    paint = "class='ink'" if fill is None else f"fill='{fill}'"
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' text-anchor='{anchor}' {paint} {FONT}"
        f"{' ' + extra if extra else ''}>{escape(str(s))}</text>"
    )


TITLE_CHAR_W = 9.4  # width of one bold 15 px DejaVu Sans character, generously


def _doc(width: float, height: float, body: list[str], theme: str = "light", title: str = "") -> str:
    """The SVG document; at least as wide as ``title`` (centred) needs: the view box then
    widens both sides, so the chart stays centred under the title. The background has an
    explicit size (QtSvg resolves width='100%' against the wrong box)."""
    need = len(title) * TITLE_CHAR_W + 24
    x0 = -(need - width) / 2 if need > width else 0.0
    width = max(width, need)
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width:.0f}' height='{height:.0f}' "
        f"viewBox='{x0:.1f} 0 {width:.0f} {height:.0f}'>\n"
        f"<style>{_style(theme)}</style>\n"
        f"<rect class='bg' x='{x0:.1f}' y='0' width='{width:.0f}' height='{height:.0f}'/>\n"
        + "\n".join(body)
        + "\n</svg>\n"
    )


def heatmap_svg(
    values: list[list[float | None]],
    xlabels: list,
    ylabels: list,
    xtitle: str,
    ytitle: str,
    title: str,
    cell: int = 64,
    theme: str = "light",
) -> str:
    """values[i][j] is the cell at row i (ylabels[i]) and column j (xlabels[j]); None = no data.
    Each cell is a ``<rect class='cell'>`` annotated with its value; axis titles that are spec
    paths are shown by their setting names."""
    xtitle, ytitle = setting_name(xtitle), setting_name(ytitle)
    finite = [v for row in values for v in row if v is not None and math.isfinite(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    span = hi - lo or 1.0
    left, top = 110, 50
    nx, ny = len(xlabels), len(ylabels)
    w, h = nx * cell, ny * cell
    bar_x = left + w + 24
    width, height = bar_x + 90, top + h + 60
    body = [_text(width / 2, 24, title, 15, extra="font-weight='bold'")]
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            x, y = left + j * cell, top + i * cell
            ok = v is not None and math.isfinite(v)
            box = f"x='{x}' y='{y}' width='{cell}' height='{cell}'"
            tip = f"<title>{escape(f'{ylabels[i]}, {xlabels[j]}: {fmt(v)}')}</title>"
            if ok:
                c = colour((v - lo) / span)
                body.append(f"<rect class='cell' {box} fill='{c}'>{tip}</rect>")
                ink = DARK_INK if _luma(c) > 140 else LIGHT_INK
                body.append(_text(x + cell / 2, y + cell / 2 + 4, fmt(v), 12, fill=ink))
            else:  # no data: a transparent cell with a dashed outline, whatever the theme
                body.append(f"<rect class='cell' {box} fill='none'>{tip}</rect>")
                body.append(
                    f"<rect class='empty' x='{x + 3}' y='{y + 3}' width='{cell - 6}' height='{cell - 6}'/>"
                )
                body.append(_text(x + cell / 2, y + cell / 2 + 4, fmt(v), 12))
    for j, lab in enumerate(xlabels):
        body.append(_text(left + j * cell + cell / 2, top + h + 18, fmt(lab), 11))
    for i, lab in enumerate(ylabels):
        body.append(_text(left - 8, top + i * cell + cell / 2 + 4, fmt(lab), 11, anchor="end"))
    body.append(_text(left + w / 2, top + h + 42, xtitle, 12))
    body.append(_text(22, top + h / 2, ytitle, 12, extra=f"transform='rotate(-90 22 {top + h / 2:.1f})'"))
    # colour scale: 20 bands, high at the top
    bands = 20
    for k in range(bands):
        t = 1 - (k + 0.5) / bands
        body.append(
            f"<rect class='scale' x='{bar_x}' y='{top + k * h / bands:.2f}' width='16' "
            f"height='{h / bands + 0.5:.2f}' fill='{colour(t)}'/>"
        )
    body.append(_text(bar_x + 22, top + 10, fmt(hi), 11, anchor="start"))
    body.append(_text(bar_x + 22, top + h, fmt(lo), 11, anchor="start"))
    return _doc(width, height, body, theme, title)


def lines_svg(
    xlabels: list,
    series: dict[str, tuple[list, list]],
    xtitle: str,
    ytitle: str,
    title: str,
    theme: str = "light",
) -> str:
    """One curve per series name: (means, stds) at the categorical x positions, with error
    bars (mean +- std). Points are ``<circle class='point'>``."""
    xtitle = setting_name(xtitle) if xtitle else xtitle
    left, top, w, h = 70, 50, max(260, 90 * len(xlabels)), 260
    width, height = left + w + 150, top + h + 60
    vals = []
    for means, stds in series.values():
        for m, s in zip(means, stds):
            if m is not None and math.isfinite(m):
                s = s if s is not None and math.isfinite(s) else 0.0
                vals += [m - s, m + s]
    lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    pad = 0.08 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    n = len(xlabels)

    def px(j):
        return left + (j + 0.5) * w / n

    def py(v):
        return top + h - (v - lo) / (hi - lo) * h

    body = [_text(width / 2, 24, title, 15, extra="font-weight='bold'")]
    body.append(f"<rect class='frame' x='{left}' y='{top}' width='{w}' height='{h}'/>")
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        y = py(v)
        body.append(f"<line class='grid' x1='{left}' x2='{left + w}' y1='{y:.1f}' y2='{y:.1f}'/>")
        body.append(_text(left - 6, y + 4, fmt(v), 10, anchor="end"))
    for j, lab in enumerate(xlabels):
        body.append(_text(px(j), top + h + 18, fmt(lab), 11))
    body.append(_text(left + w / 2, top + h + 42, xtitle, 12))
    body.append(_text(18, top + h / 2, ytitle, 12, extra=f"transform='rotate(-90 18 {top + h / 2:.1f})'"))
    names = list(series)
    for k, name in enumerate(names):
        c = colour(k / max(1, len(names) - 1) * 0.85) if len(names) > 1 else "#2c718e"
        means, stds = series[name]
        pts = [(px(j), py(m)) for j, m in enumerate(means) if m is not None and math.isfinite(m)]
        if len(pts) > 1:
            d = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            body.append(f"<polyline points='{d}' fill='none' stroke='{c}' stroke-width='2'/>")
        for j, (m, s) in enumerate(zip(means, stds)):
            if m is None or not math.isfinite(m):
                continue
            x = px(j)
            if s is not None and math.isfinite(s) and s > 0:
                y0, y1 = py(m - s), py(m + s)
                body.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{y0:.1f}' y2='{y1:.1f}' stroke='{c}'/>")
                for yy in (y0, y1):
                    body.append(
                        f"<line x1='{x - 5:.1f}' x2='{x + 5:.1f}' y1='{yy:.1f}' y2='{yy:.1f}' stroke='{c}'/>"
                    )
            tip = escape(f"{name} {fmt(xlabels[j])}: {fmt(m)} \u00b1 {fmt(s)}")
            body.append(
                f"<circle class='point' cx='{x:.1f}' cy='{py(m):.1f}' r='4' fill='{c}'>"
                f"<title>{tip}</title></circle>"
            )
        if len(names) > 1:
            ly = top + 14 + 18 * k
            body.append(f"<rect x='{left + w + 14}' y='{ly - 9}' width='12' height='12' fill='{c}'/>")
            body.append(_text(left + w + 32, ly + 1, name, 11, anchor="start"))
    return _doc(width, height, body, theme, title)
