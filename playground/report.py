"""One-click report: a folder with an HTML page for a lab handout.

``index.html`` says what the experiment is in words (data, network, training, progress),
shows the metrics table (:mod:`playground.metrics`: per-class precision / recall / F1 and the
confusion matrix, or RMSE / MAE / R² per target, on train and test) and the figures, and
links the history as CSV beside it::

    report/
      index.html      the page (figures as <img> with relative paths: the folder moves whole)
      history.csv     the metric history (History.csv_text: File > Export history's format)
      metrics.json    metrics_report() as JSON (also embedded in the page)
      metrics.txt     the same as text tables (metrics.format_report)
      spec.json       the experiment's spec (playground train spec.json runs it again)
      figures/        PNG and SVG files the caller renders (the app: figures.py)

No Qt here: the app and ``playground report`` hand in the figures as a function that draws
them into a folder. Two steps, because the app's experiment lives in its training thread:
:func:`report_data` reads the experiment (call it where it may be read) into plain data,
:func:`write_report` writes the folder from that data anywhere.

Atomic: everything is written into a temporary folder beside the target, which is renamed
into place at the end; an error on the way (a figure that fails, a full disk) removes the
temporary folder and leaves the target as it was. An existing report at the target is
replaced; a folder with other things in it is never touched.
"""

from __future__ import annotations

import html
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from playground.errors import PlaygroundError
from playground.formatting import MISSING
from playground.metrics import PARTS, confusion_rows, format_report, metrics_report, table_rows

REPORT_FILES = ("index.html", "history.csv", "metrics.json", "metrics.txt", "spec.json")


class ReportError(PlaygroundError):
    """The report cannot be written where asked (the message says where and why)."""


@dataclass
class Figure:
    """One figure of the report: files relative to the report folder (``figures/x.svg``)."""

    name: str
    title: str
    svg: str | None = None
    png: str | None = None


@dataclass
class ReportData:
    """What a report says, as plain data (made by :func:`report_data`)."""

    title: str
    description: list[tuple[str, str]]  # (what, in words): data, network, training, progress
    metrics: dict  # metrics.metrics_report
    history_csv: str
    history_rows: int
    spec: dict
    events: list[tuple[int, str]] = field(default_factory=list)
    created: str = ""


# ----------------------------------------------------------------------------- in words


def describe(exp) -> list[tuple[str, str]]:
    """The experiment in words, one (label, text) per line of the report's first table."""
    spec, ds = exp.spec, exp.dataset
    d, tr = spec.data, spec.training
    source = d.path if d.path else d.name
    data = f"{d.kind} data {source!r}: {ds.task}, {ds.n_train:,} training and {ds.n_test:,} test samples"
    if ds.class_names:
        data += f"; classes {', '.join(str(c) for c in ds.class_names)}"
    inputs = list(ds.feature_names)
    shape = "x".join(str(s) for s in ds.input_shape)
    if ds.X_train.ndim == 2:
        shown = ", ".join(inputs[:12]) + (f" and {len(inputs) - 12} more" if len(inputs) > 12 else "")
        data_inputs = f"{len(inputs)} input{'s' if len(inputs) != 1 else ''}: {shown}"
    else:
        data_inputs = (
            f"each sample {shape} ({'channels x height x width' if ds.is_image else 'steps x features'})"
        )
    lines = [("Data", data), ("Inputs", data_inputs)]
    if ds.task == "regression":
        lines.append(("Targets", ", ".join(str(t) for t in ds.target_names) or "y"))
    lines.append(("Network", _network_words(exp)))
    opt = tr.optimizer
    extra = ", ".join(f"{k} {v}" for k, v in sorted(opt.params.items()))
    training = (
        f"{opt.name} (learning rate {opt.lr:g}{', ' + extra if extra else ''}), batches of {tr.batch_size}"
    )
    training += f", loss {tr.loss}, {tr.dtype}"
    if tr.regularization.kind != "none" and tr.regularization.rate:
        training += f", {tr.regularization.kind} regularisation {tr.regularization.rate:g}"
    if tr.schedule.kind != "constant":
        training += f", learning-rate schedule {tr.schedule.kind}"
    if tr.clip_norm:
        training += f", gradients clipped at norm {tr.clip_norm:g}"
    lines.append(("Training", training))
    lines.append(("Seed", str(spec.seed)))
    progress = f"step {exp.step:,}, epoch {exp.epoch:.2f}, {exp.wall_time:.1f} s of training"
    lines.append(("Progress", progress))
    status = exp.status + (f": {exp.message}" if exp.message else "")
    lines.append(("Status", status))
    return lines


def _network_words(exp) -> str:
    from playground.shapes import format_shape, stack_report

    net = exp.spec.network
    ds = exp.dataset
    n_out = int(exp.trainer.layout.sizes[-1])
    rows, _err = stack_report(ds.input_shape, net.hidden, n_out)
    parts = []
    for r in rows:
        if r.implicit:
            continue
        if r.index is None:
            parts.append(f"output {format_shape(r.shape)} {net.output_activation}")
            continue
        layer = net.hidden[r.index]
        if layer.kind == "dense":
            what = f"dense {layer.units} {layer.activation}"
            if layer.dropout:
                what += f" (dropout {layer.dropout:g})"
        elif layer.kind == "conv2d":
            what = f"conv2d {layer.filters}@{layer.kernel_size}x{layer.kernel_size} {layer.activation}"
        else:
            what = layer.kind
        parts.append(f"{what} \u2192 {format_shape(r.shape)}")
    n_params = int(exp.trainer.layout.n_params)
    return f"input {format_shape(ds.input_shape)} \u2192 " + "; ".join(parts) + f" ({n_params:,} parameters)"


def report_data(exp, max_rows: int | None = None) -> ReportData:
    """Everything a report says about ``exp``, as plain data. Call it where the experiment
    may be read (the app: ``controller.call_in_worker``)."""
    spec = exp.spec
    title = spec.name or (Path(spec.data.path).stem if spec.data.path else spec.data.name)
    return ReportData(
        title=f"Neural Playground: {title}",
        description=describe(exp),
        metrics=metrics_report(exp, max_rows=max_rows),
        history_csv=exp.history.csv_text(),
        history_rows=len(exp.history),
        spec=spec.to_dict(),
        events=[(int(s), str(t)) for s, t in exp.events],
        created=time.strftime("%Y-%m-%d %H:%M"),
    )


# ----------------------------------------------------------------------------- writing


FigureMaker = Callable[[Path], list[Figure]]


def write_report(
    data: ReportData,
    out_dir,
    figures: FigureMaker | None = None,
    notes: list[str] | None = None,
) -> Path:
    """Write the report folder ``out_dir`` atomically (see the module docstring).
    ``figures(folder)`` draws the figures into ``folder`` (inside the temporary report) and
    returns them; ``notes`` are shown at the top (e.g. why there are no figures)."""
    out = Path(out_dir)
    parent = out.parent if str(out.parent) else Path(".")
    if out.exists() and not _replaceable(out):
        raise ReportError(f"{out}: the folder exists and is not a report; choose a new or empty folder")
    if not parent.is_dir():
        raise ReportError(f"{parent}: no such folder")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=parent))
    try:
        figs: list[Figure] = []
        if figures is not None:
            (tmp / "figures").mkdir()
            figs = figures(tmp / "figures")
        _write(tmp, data, figs, notes or [])
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp's folder is private; a report is not
        _move_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _replaceable(out: Path) -> bool:
    """An empty folder, or a report written before (only its own files and figures)."""
    if not out.is_dir():
        return False
    names = {p.name for p in out.iterdir()}
    return not names or ("index.html" in names and names <= set(REPORT_FILES) | {"figures"})


def _move_into_place(tmp: Path, out: Path) -> None:
    if not out.exists():
        os.rename(tmp, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=tmp.parent))
    os.rename(out, old / "report")
    try:
        os.rename(tmp, out)
    except BaseException:
        os.rename(old / "report", out)  # the previous report comes back
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write(folder: Path, data: ReportData, figs: list[Figure], notes: list[str]) -> None:
    (folder / "history.csv").write_text(data.history_csv, encoding="utf-8")
    (folder / "metrics.json").write_text(json.dumps(plain(data.metrics), indent=1), encoding="utf-8")
    (folder / "metrics.txt").write_text(format_report(data.metrics), encoding="utf-8")
    (folder / "spec.json").write_text(json.dumps(data.spec, indent=2), encoding="utf-8")
    (folder / "index.html").write_text(render_html(data, figs, notes), encoding="utf-8")


def plain(v):
    """JSON-safe: NaN and infinities become None (JSON has no NaN); tuples become lists."""
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


# ----------------------------------------------------------------------------- HTML

CSS = """
body { font-family: system-ui, sans-serif; max-width: 62rem; margin: 2rem auto; padding: 0 1rem;
       color: #1f2328; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ddd; }
.dim { color: #59636e; } .note { color: #9a6700; }
table { border-collapse: collapse; margin: .6rem 0 1rem; }
th, td { padding: .2rem .7rem; border-bottom: 1px solid #e5e5e5; text-align: right; }
th:first-child, td:first-child { text-align: left; }
table.words td { text-align: left; vertical-align: top; } table.words td:first-child { font-weight: 600; }
tr.avg td { font-style: italic; }
figure { display: inline-block; margin: .5rem 1rem 1rem 0; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: .9rem; color: #59636e; }
"""


def _e(v) -> str:
    return html.escape(str(v), quote=True)


def _table(header, rows, css_class: str = "", avg_from: int | None = None) -> str:
    out = [f'<table class="{css_class}">' if css_class else "<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>")
    for i, row in enumerate(rows):
        cls = ' class="avg"' if avg_from is not None and i >= avg_from else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def metrics_html(metrics: dict) -> str:
    """The metrics section: per split, its table (and the confusion matrix), its notes."""
    task = metrics["task"]
    out = []
    for part in PARTS:
        split = metrics["splits"].get(part)
        if split is None:
            out.append(f"<h3>{part.title()}</h3><p class='dim'>no rows</p>")
            continue
        head = f"{part.title()} set, {split['n']:,} rows"
        if task == "classification":
            acc = split["accuracy"]
            head += f": accuracy {acc:.4f}" if math.isfinite(acc) else f": accuracy {MISSING}"
        out.append(f'<h3 id="metrics-{part}">{_e(head)}</h3>')
        header, rows = table_rows(split, task)
        n_avg = 2 if task == "classification" else (1 if len(split["targets"]) > 1 else 0)
        out.append(_table(header, rows, f"metrics metrics-{part}", len(rows) - n_avg if n_avg else None))
        if task == "classification":
            out.append("<p class='dim'>Confusion matrix: true class down, predicted class across.</p>")
            out.append(_table(*confusion_rows(split), f"confusion confusion-{part}"))
        out.extend(f"<p class='note'>{_e(n)}</p>" for n in split["notes"])
    out.extend(f"<p class='note'>{_e(n)}</p>" for n in metrics["notes"])
    return "\n".join(out)


def render_html(data: ReportData, figs: list[Figure], notes: list[str]) -> str:
    """The report page (``index.html``)."""
    m = data.metrics
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(data.title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{_e(data.title)}</h1>",
        f"<p class='dim'>Report of {_e(data.created)}, at step {m['step']:,} (epoch {m['epoch']:.2f}).</p>",
    ]
    parts.extend(f"<p class='note'>{_e(n)}</p>" for n in notes)
    parts.append("<h2>The experiment</h2>")
    parts.append(_table(None, [[k, v] for k, v in data.description], "words"))
    parts.append("<p class='dim'>The full settings: <a href='spec.json'>spec.json</a>.</p>")
    if data.events:
        parts.append("<p>Changes during training:</p><ul>")
        parts.extend(f"<li>step {s:,}: {_e(t)}</li>" for s, t in data.events)
        parts.append("</ul>")
    parts.append("<h2>Metrics</h2>")
    parts.append(metrics_html(m))
    parts.append("<p class='dim'>As data: <a href='metrics.json'>metrics.json</a>, "
                 "as text: <a href='metrics.txt'>metrics.txt</a>.</p>")  # fmt: skip
    if figs:
        parts.append("<h2>Figures</h2>")
        for f in figs:
            src = f.svg or f.png
            links = " · ".join(
                f"<a href='{_e(p)}'>{kind}</a>" for kind, p in (("SVG", f.svg), ("PNG", f.png)) if p
            )
            parts.append(
                f"<figure id='figure-{_e(f.name)}'><img src='{_e(src)}' alt='{_e(f.title)}'>"
                f"<figcaption>{_e(f.title)} ({links})</figcaption></figure>"
            )
    parts.append("<h2>History</h2>")
    parts.append(
        f"<p>{data.history_rows:,} rows of loss, accuracy or R², gradient and weight norms over "
        "training: <a href='history.csv'>history.csv</a> (opens in a spreadsheet).</p>"
    )
    payload = json.dumps(plain(m)).replace("</", "<\\/")  # never closes the script element
    parts.append(f'<script type="application/json" id="metrics-data">{payload}</script>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


__all__ = ["Figure", "ReportData", "ReportError", "describe", "render_html", "report_data", "write_report"]
