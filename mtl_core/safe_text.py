"""Text from data (column, task, id, category and file names) made safe for Markdown.

Streamlit renders Markdown in ``st.markdown``, captions, alerts, metric and widget labels. A
column named ``![px](http://host/pixel)`` would become a remote image there, a bare
``http://…`` a link, ``:red[x]`` a colour, ``$x$`` a formula. ``md`` backslash-escapes every
ASCII punctuation character (CommonMark allows that for all of them) and folds line breaks,
so the text shows exactly as it is and nothing in it is interpreted. Plain-text paths
(``st.text``, ``st.code``, dataframe cells, selectbox options) need no escaping.
"""
from __future__ import annotations

import re
import string

_PUNCT = re.compile("([" + re.escape(string.punctuation) + "])")
_BREAKS = re.compile(r"[\r\n\t\x0b\x0c\u2028\u2029]+")


def md(value: object) -> str:
    """``value`` as Markdown that renders as its literal text."""
    return _PUNCT.sub(r"\\\1", _BREAKS.sub(" ", str(value)))


def md_list(values, sep: str = ", ") -> str:
    return sep.join(md(v) for v in values)
