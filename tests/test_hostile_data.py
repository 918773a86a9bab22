"""Data never becomes markup: a dataset whose column, task, category, user id and file names
are Markdown images, links and HTML goes through every page (Data, Train, Results,
Recommend, Compare, Trade-off lab, the sidebar) and no element renders any of it as
Markdown: every string from data reaches a Markdown-rendering element escaped."""
from __future__ import annotations

import re

import pytest

from apptest_support import assert_no_errors, job_ended, new_app, run_until
from mtl_core.safe_text import md

PIXEL = "![px](http://host/pixel)"
TAG = "<img src=x onerror=alert(1)>"
LINK = "[click me](http://host/phish)"
# what must never reach a Markdown element unescaped
RAW = re.compile(r"!\[|\]\(|(?<!\\)<img|http://host|\[click me\]")


def hostile_frame():
    from mtl_core.data.synth import make_synthetic

    df = make_synthetic(rows=800, task_correlation=0.5, seed=4)
    df = df.rename(columns={"click": PIXEL, "item_category": TAG, "purchase": LINK})
    df[TAG] = df[TAG].where(df.index % 3 != 0, PIXEL)  # a category value too
    df.loc[df.index % 5 == 0, "user_id"] = PIXEL  # and a user id
    return df


def markdown_strings(at) -> list[str]:
    """Every string an element renders as Markdown: bodies of markdown / captions / titles /
    alerts, labels and help of metrics and widgets, progress texts."""
    out: list[str] = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ListFields") and getattr(node, "type", "") != "code":
            for field, value in proto.ListFields():
                if field.name in ("body", "label", "help", "text", "placeholder") and isinstance(value, str):
                    out.append(value)
        children = getattr(node, "children", None) or {}
        for child in children.values():
            walk(child)

    walk(at._tree)
    return out


def assert_no_markup_from_data(at) -> None:
    strings = markdown_strings(at)
    bad = [s for s in strings if RAW.search(s)]
    assert not bad, bad


def test_md_escapes_every_markdown_and_html_construct():
    for text in (PIXEL, TAG, LINK, "www.host.com", ":red[x]", "$x^2$", "# h", "a\nb", "`c`", "**b**"):
        out = md(text)
        assert not RAW.search(out), out
        assert out.replace("\\", "") == text.replace("\n", " ")  # shown exactly as it is


@pytest.mark.slow
def test_hostile_dataset_renders_no_markup_on_any_page(runs_root):
    from mtl_core.app import state as app_state
    from mtl_core.data.schema import infer_schema

    df = hostile_frame()
    at = new_app()
    at.session_state["df"] = df
    at.session_state["data_name"] = f"{PIXEL}.csv"
    at.session_state["schema"] = infer_schema(df)
    at.session_state["tasks"] = [PIXEL, LINK]
    at.session_state["train_settings"] = {**app_state.default_train_settings([PIXEL, LINK]),
                                          "arch": "shared_bottom", "epochs": 1, "hidden": "8",
                                          "tower_hidden": "4", "embed_dim": 4}
    at.switch_page("pages/data.py")
    at.run()
    assert_no_errors(at)
    assert_no_markup_from_data(at)
    assert any("pixel" in s for s in markdown_strings(at))  # the names are shown, escaped

    at.switch_page("pages/train.py")
    at.run()
    assert_no_errors(at)
    assert_no_markup_from_data(at)
    at.button(key="train_go").click().run()
    assert run_until(at, job_ended, 180)
    assert_no_errors(at)
    assert_no_markup_from_data(at)

    for page in ("results", "recommend", "compare", "lab", "start"):
        at.switch_page(f"pages/{page}.py")
        at.run()
        assert_no_errors(at)
        assert_no_markup_from_data(at)
        if page == "recommend":
            rid = at.session_state["selected_run"].rsplit("/", 1)[-1]
            at.text_input(key=f"rec_typed_{rid}").input(PIXEL).run()
            assert_no_errors(at)
            assert_no_markup_from_data(at)
            assert any("pixel" in s.value for s in at.subheader)
