"""One self-contained HTML file to send after a demo: a run's (``run_report``) or a lab
experiment's (``lab_report``) provenance, setup, results and charts, with Plotly's JavaScript
embedded so that it opens with no network. Every data-derived string is HTML-escaped."""
from .html import REPORT_MIME
from .lab import lab_report
from .run import run_report

__all__ = ["REPORT_MIME", "lab_report", "run_report", "write_report"]


def write_report(html_text: str, out) -> int:
    """Write ``html_text`` to ``out`` (UTF-8); returns its size in bytes."""
    from pathlib import Path

    data = html_text.encode("utf-8")
    Path(out).write_bytes(data)
    return len(data)
