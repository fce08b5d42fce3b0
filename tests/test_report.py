"""The one-click report (playground/report.py, app/dialogs/report.py, cli/report.py): the
folder's files, the metrics in the page equal metrics_report, the history CSV is the
history's, figures are there and referenced, and a failing write leaves nothing behind."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from playground import Experiment
from playground.metrics import metrics_report, table_rows
from playground.report import Figure, ReportError, describe, plain, report_data, write_report


class _Tables(HTMLParser):
    """Cells of every <table> by its class, and every <img src>."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[str] = []
        self._table = self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(a.get("class", ""), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "img":
            self.images.append(a["src"])

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self._table = None


def _page(folder):
    text = (folder / "index.html").read_text(encoding="utf-8")
    parser = _Tables()
    parser.feed(text)
    embedded = re.search(r'<script type="application/json" id="metrics-data">(.*?)</script>', text, re.S)
    return text, parser, json.loads(embedded.group(1).replace("<\\/", "</"))


@pytest.fixture(scope="module")
def exp():
    e = Experiment.from_spec({"name": "three arms", "data": {"name": "spiral3", "n_samples": 90}, "seed": 2})
    e.train(steps=60)
    return e


def test_the_folder_has_the_page_the_history_and_the_metrics(exp, tmp_path):
    out = write_report(report_data(exp), tmp_path / "report")
    assert sorted(p.name for p in out.iterdir()) == [
        "history.csv", "index.html", "metrics.json", "metrics.txt", "spec.json",
    ]  # fmt: skip
    assert (out / "history.csv").read_text(encoding="utf-8") == exp.history.csv_text()
    _text, page, embedded = _page(out)
    expected = plain(metrics_report(exp))
    assert embedded == expected
    assert json.loads((out / "metrics.json").read_text(encoding="utf-8")) == expected
    for part in ("train", "test"):
        header, rows = table_rows(expected["splits"][part], "classification")
        assert page.tables[f"metrics metrics-{part}"] == [header, *rows]
        confusion = page.tables[f"confusion confusion-{part}"]
        assert [[int(v) for v in r[1:]] for r in confusion[1:]] == exp.confusion(part).tolist()
    assert json.loads((out / "spec.json").read_text(encoding="utf-8")) == exp.spec.to_dict()


def test_the_spec_in_words(exp):
    words = dict(describe(exp))
    assert "spiral3" in words["Data"] and "classification" in words["Data"]
    assert (
        "dense 8 tanh" in words["Network"]
        and f"{exp.trainer.layout.n_params:,} parameters" in words["Network"]
    )
    assert "adam" in words["Training"] and "learning rate 0.01" in words["Training"]
    assert words["Progress"].startswith("step 60,")


def test_regression_reports_rmse_and_mae(tmp_path):
    e = Experiment.from_spec({"data": {"name": "plane", "n_samples": 60}, "training": {"loss": "mse"},
                              "network": {"output_activation": "linear"}})  # fmt: skip
    e.train(steps=30)
    out = write_report(report_data(e), tmp_path / "r")
    _text, page, embedded = _page(out)
    header, rows = table_rows(embedded["splits"]["test"], "regression")
    assert page.tables["metrics metrics-test"] == [header, *rows]
    assert header[1:3] == ["RMSE", "MAE"]


def test_figures_are_written_inside_and_referenced(exp, tmp_path):
    def draw(folder):
        (folder / "a.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>", encoding="utf-8")
        return [Figure("a", "A figure", svg="figures/a.svg")]

    out = write_report(report_data(exp), tmp_path / "r", figures=draw, notes=["a note <b>"])
    text, page, _ = _page(out)
    assert page.images == ["figures/a.svg"] and (out / "figures" / "a.svg").is_file()
    assert "a note &lt;b&gt;" in text  # everything in the page is escaped


def test_a_failing_write_leaves_nothing(exp, tmp_path):
    def broken(folder):
        (folder / "half.png").write_bytes(b"\x89PNG")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_report(report_data(exp), tmp_path / "r", figures=broken)
    assert list(tmp_path.iterdir()) == []


def test_a_report_is_replaced_but_another_folder_is_never_touched(exp, tmp_path):
    out = tmp_path / "r"
    write_report(report_data(exp), out)
    (out / "metrics.txt").write_text("old", encoding="utf-8")
    write_report(report_data(exp), out)
    assert (out / "metrics.txt").read_text(encoding="utf-8") != "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # no temporary folders left
    other = tmp_path / "thesis"
    other.mkdir()
    (other / "chapter1.tex").write_text("keep", encoding="utf-8")
    with pytest.raises(ReportError, match="not a report"):
        write_report(report_data(exp), other)
    assert [p.name for p in other.iterdir()] == ["chapter1.tex"]


# ----------------------------------------------------------------------------- app and CLI


@pytest.fixture
def session(tmp_path):
    e = Experiment.from_spec({"name": "demo", "data": {"name": "xor", "n_samples": 80}, "seed": 5})
    e.train(steps=120)
    return e, e.save(tmp_path / "demo.playground")


def test_cli_report_has_the_windows_figures_with_text_labels(session, tmp_path, capsys, qapp):
    from playground.cli.report import cmd_report

    e, path = session
    out = tmp_path / "report"
    assert cmd_report(path, out) == 0
    assert "report:" in capsys.readouterr().out
    _text, page, embedded = _page(out)
    names = {p.name for p in (out / "figures").iterdir()}
    for view in ("network", "boundary", "loss", "gradients", "metric"):
        assert {f"{view}.svg", f"{view}.png"} <= names
        assert f"figures/{view}.svg" in page.images
    root = ET.parse(out / "figures" / "loss.svg").getroot()
    texts = {"".join(t.itertext()).strip() for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {"Loss", "loss", "train", "test"} <= texts
    assert embedded == plain(metrics_report(e))  # the loaded session's numbers: the same weights


def test_cli_report_without_figures_says_so(session, tmp_path, capsys):
    from playground.cli.report import cmd_report

    _e, path = session
    assert cmd_report(path, tmp_path / "r", figures=False) == 0
    assert "No figures" in capsys.readouterr().err
    assert "No figures" in (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    assert not (tmp_path / "r" / "figures").exists()
    assert cmd_report(tmp_path / "missing.playground", tmp_path / "r2", figures=False) == 2


def test_a_figure_failing_in_the_app_leaves_no_report(session, tmp_path, qapp, monkeypatch):
    from playground.app import figures
    from playground.cli.report import cmd_report

    _e, path = session
    calls = []

    def failing(widget, p, size=None, title=None):
        calls.append(p)
        if len(calls) == 3:
            raise OSError("no space left on device")
        return original(widget, p, size, title)

    original = figures.export_widget
    monkeypatch.setattr(figures, "export_widget", failing)
    assert cmd_report(path, tmp_path / "r") == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.playground"]
