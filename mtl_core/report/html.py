"""The page skeleton of a report: escaped text, tables and embedded Plotly figures.

Nothing here reaches the network: Plotly's JavaScript is inlined once, figures are ``<div>``s
with their JSON (Plotly escapes ``<`` inside it), and every string that comes from data
(column, task, file and item names, config values) goes through ``html.escape``."""
from __future__ import annotations

import html
import json
from datetime import datetime, timezone
from typing import Any, Iterable

import pandas as pd

from ..values import json_safe

REPORT_MIME = "text/html"

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1100px;
padding:24px;color:#1f2328;line-height:1.45}
h1{margin-bottom:4px}h2{border-bottom:1px solid #d0d7de;padding-bottom:4px;margin-top:32px}
.muted{color:#59636e;font-size:90%}table{border-collapse:collapse;margin:8px 0 16px;font-size:90%}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:12px}
.figure{min-height:360px}pre{background:#f6f8fa;padding:8px;overflow:auto;font-size:85%}
.ok{color:#1a7f37}.bad{color:#cf222e}
"""


def esc(value: Any) -> str:
    """``value`` as HTML text (quotes too, so it is also safe inside an attribute)."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt(value: Any, digits: int = 4) -> str:
    """A whole number with thousands separators, a float with ``digits`` decimals, anything
    else as escaped text."""
    if value is None or isinstance(value, bool):
        return esc("" if value is None else value)
    if isinstance(value, int):
        return f"{value:,}"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return esc(value)
    return "–" if v != v else f"{v:.{digits}f}"


def table(df: pd.DataFrame | None, digits: int = 4, max_rows: int = 200) -> str:
    """``df`` as an HTML table, every header and cell escaped, numbers right-aligned."""
    if df is None or df.empty:
        return '<p class="muted">Nothing to show.</p>'
    df = df.head(max_rows)
    head = "".join(f"<th>{esc(c)}</th>" for c in df.columns)
    rows = []
    for _, r in df.iterrows():
        cells = []
        for v in r.tolist():
            numeric = isinstance(v, (int, float)) and not isinstance(v, bool)
            cells.append(f'<td class="num">{fmt(v, digits)}</td>' if numeric else f"<td>{esc(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def pairs(items: Iterable[tuple[str, Any]]) -> str:
    """A two-column key/value table."""
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in items)
    return f"<table><tbody>{rows}</tbody></table>" if rows else '<p class="muted">Nothing recorded.</p>'


def json_block(obj: Any, summary: str) -> str:
    text = json.dumps(json_safe(obj), indent=2, sort_keys=True, default=str)
    return f"<details><summary>{esc(summary)}</summary><pre>{esc(text)}</pre></details>"


def figure(fig, div_id: str) -> str:
    """A Plotly figure as a ``<div>`` and its script (Plotly's JavaScript not included)."""
    import plotly.io as pio

    body = pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})
    return f'<div class="figure">{body}</div>'


def figures_grid(figs: list[tuple[str, Any]]) -> str:
    return '<div class="grid">' + "".join(figure(f, key) for key, f in figs if f is not None) + "</div>"


def plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def page(title: str, subtitle: str, sections: list[tuple[str, str]]) -> str:
    """The whole document: ``sections`` are (heading, HTML body) pairs; the title and the
    headings are escaped here, the bodies must already be safe HTML."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = "".join(f"<section><h2>{esc(h)}</h2>{b}</section>" for h, b in sections)
    js = plotly_js().replace("</script", "<\\/script")
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{esc(title)}</title><style>{_STYLE}</style>"
        f"<script type=\"text/javascript\">{js}</script></head><body>"
        f"<h1>{esc(title)}</h1><p class=\"muted\">{esc(subtitle)} · report made {esc(stamp)} by MTL Lab; "
        "self-contained: opens without a network.</p>"
        f"{body}</body></html>"
    )
