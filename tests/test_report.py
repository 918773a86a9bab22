"""The HTML report of a run and of each kind of lab result: self-contained (Plotly inlined,
no external script, stylesheet or image), every section present, data-derived text escaped;
``python -m mtl_core report`` writes it."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest

from mtl_core.cli.main import main
from mtl_core.errors import DataError
from mtl_core.report import lab_report, run_report
from report_support import SCRIPT, TAG, small_labs, small_run


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return {"run": small_run(root, tmp_path_factory.mktemp("data")), **small_labs(root)}


class _Tags(HTMLParser):
    """Every tag of the document (script contents are not parsed as tags)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _check_safe(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    parser = _Tags()
    parser.feed(html)
    names = [t for t, _ in parser.tags]
    fetching = [(t, a) for t, a in parser.tags if {"src", "href", "srcset", "data"} & set(a) or t in ("link", "iframe")]
    assert not fetching, fetching  # nothing is loaded from elsewhere
    assert names.count("script") == html.count("</script>")  # no script from data
    assert "img" not in names
    assert TAG not in html and SCRIPT not in html  # the raw markup of data never reaches the page
    assert "url(" not in html[html.index("<style>"):html.index("</style>")]


def test_run_report_has_every_section_and_escapes_data(saved):
    html = run_report(saved["run"], users=2, k=3)
    _check_safe(html)
    for heading in ("Data", "Setup", "Scores beside the baselines", "Charts", "Sample of recommendations"):
        assert f"<h2>{heading}</h2>" in html
    assert "shop &lt;b&gt;x&lt;b&gt;.csv" in html  # the data file, by name, escaped
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the run's name and item categories, as text
    assert "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in html  # the task, in the tables
    assert html.count('class="plotly-graph-div"') >= 5  # loss, bars, ROC, PR, calibration, ...
    for predictor in ("prior", "mean", "median"):
        assert f"<td>{predictor}</td>" in html
    assert html.count("<h3>User ") == 2


def test_run_report_shows_the_recorded_provenance(saved, monkeypatch):
    from mtl_core.report import run as report_run

    cfg = {"data": {"path": "/srv/x/shop.csv", "tasks": ["a"], "sha256": "ab12", "size_bytes": 10,
                    "generator": {"name": "make_synthetic", "task_correlation": -1.0}}}
    facts = dict(report_run._provenance(cfg))
    assert facts["file"] == "shop.csv"  # not the server's folders
    assert (facts["sha256"], facts["size_bytes"]) == ("ab12", 10)
    assert facts["generator.task_correlation"] == -1.0 and "tasks" not in facts


@pytest.mark.parametrize("kind,words", [("transfer", "Multi-task vs single-task"),
                                        ("sweeps", "Trade-off"), ("corrlab", "Metric vs task correlation")])
def test_lab_report_of_each_kind(saved, kind, words):
    html = lab_report(saved[kind])
    _check_safe(html)
    assert f"<h2>{words}</h2>" in html and "<h2>Setup</h2>" in html
    if kind != "transfer":
        assert 'class="plotly-graph-div"' in html


def test_report_command_writes_the_file_and_refuses_what_is_not_a_result(saved, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert main(["report", "--run", str(saved["run"]), "--out", str(out), "--users", "1"]) == 0
    size = out.stat().st_size
    assert f"{size:,} bytes" in capsys.readouterr().out and size > 1_000_000  # Plotly is inside
    assert main(["report", "--lab", str(saved["sweeps"]), "--out", str(tmp_path / "lab.html")]) == 0
    assert main(["report", "--lab", str(tmp_path), "--out", str(tmp_path / "x.html")]) == 2
    assert "is not a saved lab result" in capsys.readouterr().err
    assert main(["report", "--out", str(tmp_path / "x.html")]) == 2
    with pytest.raises(DataError):
        run_report(tmp_path)
