"""File > Save Report…: the one-click report of what the window shows (``playground.report``).

The experiment's words, metrics and history are read in the training thread
(``controller.call_in_worker(report_data)``: plain data back); the figures are the views as
they are on screen, drawn by :mod:`playground.app.figures` (SVG with text kept as text, and a
PNG at twice the view's size) into the report's temporary folder, so a failing figure leaves
no half-written report either. Errors go to the window's message box.

``playground report SESSION --out DIR`` (``playground/cli/report.py``) builds an offscreen
window on the session and calls :func:`write_window_report` too.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QWidget

from playground.errors import PlaygroundError
from playground.gan.metrics import describe
from playground.report import Figure, report_data, write_report

from .. import figures

PLOT_TITLES = {"loss": "Loss", "gradients": "Gradient norms per layer", "metric": "Accuracy / R²"}


def report_views(window) -> list[tuple[str, str, QWidget]]:
    """(file name, caption, widget) of every figure the report takes from ``window``: the
    views that show something now (race mode: its curves and thumbnails; image or sequence
    data: their views instead of the boundary), then GAN mode's window if it is open."""
    views: list[tuple[str, str, QWidget]] = []
    race_view = getattr(window, "race_view", None)
    if getattr(window, "racing", False) and race_view is not None:
        views.append(("race", "Race: curves, boundaries and summary of every variant", race_view))
        views.append(("race_loss", "Race: training loss", race_view.loss_plot))
        views.append(("race_gradients", "Race: gradient norm", race_view.grad_plot))
    else:
        network = window.network_view
        if network.drawable():
            views.append(("network", "The network: each neuron's output over the input plane", network))
        page = window.result_stack.currentWidget()
        if page is window.boundary_view:
            views.append(("boundary", "Decision boundary", window.boundary_view.plot))
        elif page is window.images_view:
            views.append(("images", "Test images, predictions and the current image view", page))
        elif page is window.sequences_view:
            views.append(("sequences", "Sequence views: gradient through time, states, gates", page))
        for key, plot in window.plots.plot_widgets().items():
            if not plot.isHidden():
                views.append((key, PLOT_TITLES.get(key, key), plot))
    metrics_view = getattr(window, "metrics_view", None)
    racing = getattr(window, "racing", False)
    if metrics_view is not None and metrics_view.isVisible() and not racing:  # the base experiment's
        views.append(("metrics", "Metrics (live view)", metrics_view))
    gan = getattr(window, "gan_window", None)
    if gan is not None and gan.isVisible():
        views.append(("gan", "GAN mode", gan.view))
    return views


def mode_notes(window) -> list[str]:
    """What the report's words and numbers do not say of what the window shows: in race mode
    each variant's summary row (the words, metrics and history are the base experiment's);
    GAN mode's iteration and fit when its window is open."""
    notes: list[str] = []
    race = getattr(window, "race", None)
    if getattr(window, "racing", False) and race is not None:
        rows = race.summary_rows()
        pct = race.task == "classification"
        notes.append(
            f"Race of {len(rows)} variants (the figures show the race; the description, metrics "
            "and history below are of the experiment the variants change):"
        )
        for m, d in zip(race.members, rows):
            metric = d["test_metric"]
            parts = [f"{d['step']:,} steps", f"train loss {_num(d['train_loss'])}"]
            parts.append(f"test loss {_num(d['test_loss'])}")
            if metric is not None:
                parts.append(f"test accuracy {metric:.1%}" if pct else f"test R² {metric:.3f}")
            if d["steps_to_target"] is not None:
                parts.append(f"target {_num(race.target())} reached at step {d['steps_to_target']:,}")
            if d["status"] == "diverged":  # as the table's Status cell, its warning in full
                parts.append(f"diverged at step {d['diverged_step']:,}")
            else:
                parts.append(d.get("warning") or "ok")
            changes = ", ".join(f"{k}={v}" for k, v in m.overrides.items())
            notes.append(f"{m.label}" + (f" ({changes})" if changes else "") + ": " + "; ".join(parts))
    gan = getattr(window, "gan_window", None)
    snap = gan.controller.last_snapshot if gan is not None and gan.isVisible() else None
    if snap is not None:
        text = f"GAN mode: iteration {snap.iteration:,}, loss {snap.loss}"
        fit = getattr(gan.view, "_last_fit", None) or snap.fit
        if fit is not None:
            text += f", {describe(fit)}"
        notes.append(text)
    return notes


def _num(v) -> str:
    return "–" if v is None else f"{v:.4g}"


def render_figures(views, folder: Path) -> list[Figure]:
    """Each view as ``name.svg`` and ``name.png`` (twice its size) in ``folder``."""
    out = []
    for name, title, widget in views:
        figures.export_widget(widget, folder / f"{name}.svg", title=title)
        figures.export_widget(widget, folder / f"{name}.png")
        out.append(Figure(name, title, svg=f"figures/{name}.svg", png=f"figures/{name}.png"))
    return out


def write_window_report(window, out_dir, notes: list[str] | None = None) -> Path:
    """The report of ``window``'s experiment and views, written atomically to ``out_dir``."""
    data = window.controller.call_in_worker(report_data)
    views = report_views(window)
    notes = mode_notes(window) + list(notes or [])
    return write_report(data, out_dir, figures=lambda folder: render_figures(views, folder), notes=notes)


def save_report_dialog(window) -> Path | None:
    """Ask for the report's folder, write it, open it in the browser; errors in a message box."""
    from .. import settings

    name = (window.controller.spec.name or "experiment").replace("/", "-") + "-report"
    start = str(settings.last_folder("exports") / name)
    path, _ = QFileDialog.getSaveFileName(
        window, "Save report (a folder with index.html, history.csv and the figures)", start, "Folders (*)"
    )
    if not path:
        return None
    try:
        out = write_window_report(window, path)
    except (PlaygroundError, OSError, ValueError, TimeoutError) as e:
        text = str(e) if isinstance(e, PlaygroundError) else f"Cannot write the report to {path}: {e}"
        window.show_error(text)
        return None
    settings.set_last_folder("exports", out / "index.html")
    window.statusBar().showMessage(f"Report written to {out}", 8000)
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(out / "index.html")))
    return out


__all__ = ["mode_notes", "render_figures", "report_views", "save_report_dialog", "write_window_report"]
