"""Train settings (and a lesson id) in the URL: encoded compactly, read back checked (a bad
value is refused with a clear message and keeps its default), applied when a link is opened,
and never carrying data or another session."""
from __future__ import annotations

import pytest

from apptest_support import assert_no_errors, new_app
from mtl_core.app import links
from mtl_core.app import state as app_state


def _settings(**changes):
    s = app_state.default_train_settings(["click", "purchase"])
    s.update(changes)
    return s


def test_round_trip_writes_only_what_differs_from_the_defaults():
    s = _settings(arch="ple", levels=2, hidden="24,12", weighting="gradnorm", epochs=8, lr=0.003,
                  task_weights={"click": 2.5, "purchase": 1.0},
                  weighting_params={"gradnorm": {"alpha": 0.5, "lr": 0.025}, "dwa": {"temperature": 9.0}})
    params = links.encode_settings(s, lesson="seesaw")
    assert params == {"arch": "ple", "levels": "2", "hidden": "24,12", "weighting": "gradnorm", "epochs": "8",
                      "lr": "0.003", "task_weights": "click:2.5", "weighting_params": "alpha:0.5",
                      "lesson": "seesaw"}
    assert links.encode_settings(_settings()) == {}
    back, problems = links.apply_link(params)
    assert problems == []
    assert {k: back[k] for k in ("arch", "levels", "hidden", "weighting", "epochs", "lr")} == {
        "arch": "ple", "levels": 2, "hidden": "24,12", "weighting": "gradnorm", "epochs": 8, "lr": 0.003}
    assert back["task_weights"] == {"click": 2.5} and back["weighting_params"] == {"gradnorm": {"alpha": 0.5}}
    assert links.encode_settings(back, "seesaw") == params  # a link of a link is the same link


@pytest.mark.parametrize("params,message", [
    ({"arch": "resnet"}, "arch must be one of"),
    ({"epochs": "900"}, "epochs must be <= 200; got 900."),
    ({"epochs": "2.5"}, "epochs must be a whole number"),
    ({"lr": "nan"}, "lr must be a finite number"),
    ({"hidden": "64,-1"}, "hidden must be"),
    ({"n_experts": "0"}, "n_experts must be >= 1"),
    ({"task_weights": "click:9"}, "task_weights of 'click' must be <= 5.0"),
    ({"task_weights": "click"}, "name:value pairs"),
    ({"weighting": "gradnorm", "weighting_params": "beta:1"}, "gradnorm has no setting 'beta'"),
    ({"train_frac": "0.9", "val_frac": "0.3"}, "must leave test rows"),
    ({"df": "x"}, "df is not a Train setting."),
    ({"name": "x" * 300}, "at most"),
])
def test_bad_values_are_refused_with_a_message_and_keep_their_defaults(params, message):
    settings, problems = links.apply_link({**params, "s": "not-ours"})
    assert len(problems) == 1 and message in problems[0], problems
    defaults = app_state.default_train_settings()
    for key in params:
        if key in defaults and key != "weighting":
            assert settings[key] == defaults[key]


def test_a_link_without_settings_changes_nothing():
    assert links.apply_link({"s": "abc", "view": "v1~x"}) == (None, [])
    assert links.lesson_from({"lesson": "seesaw"}, ["seesaw"]) == ("seesaw", None)
    lesson, problem = links.lesson_from({"lesson": "<b>"}, ["seesaw"])
    assert lesson is None and "lesson must be one of seesaw" in problem


@pytest.fixture
def sample_session(runs_root):
    at = new_app()
    at.run()
    at.button(key="start_sample").click().run()
    return at


def test_opening_a_link_sets_the_train_page_and_keeps_the_data_local(runs_root):
    at = new_app()
    for k, v in {"arch": "shared_bottom", "weighting": "uncertainty", "epochs": "8", "task_weights": "click:2"}.items():
        at.query_params[k] = v
    at.run()
    at.button(key="start_sample").click().run()  # this browser's own data
    at.switch_page("pages/train.py")
    at.run()
    assert_no_errors(at)
    assert at.selectbox(key="tr_arch").value == "shared_bottom"
    assert at.selectbox(key="tr_weighting").value == "uncertainty"
    assert at.number_input(key="tr_epochs").value == 8
    assert at.slider(key=f"tr_w_{at.session_state['data_version']}_click").value == 2.0
    assert at.session_state["data_name"] != ""  # data came from this session, not the link


def test_a_bad_link_value_is_named_on_the_page(runs_root):
    at = new_app()
    at.query_params["epochs"] = "9999"
    at.query_params["arch"] = "![x](http://host/p)"
    at.run()
    texts = " ".join(w.value for w in at.warning)
    assert "epochs must be \\<\\= 200" in texts and "settings in the link were not used" in texts
    assert "![x](http" not in texts and "\\!\\[x\\]" in texts  # the link's text is escaped Markdown
    at.button(key="start_sample").click().run()
    at.switch_page("pages/train.py")
    at.run()
    assert at.number_input(key="tr_epochs").value == app_state.default_train_settings()["epochs"]


def test_the_train_page_puts_its_settings_in_the_url(sample_session):
    at = sample_session
    at.switch_page("pages/train.py")
    at.run()
    at.selectbox(key="tr_arch").set_value("shared_bottom").run()
    at.number_input(key="tr_epochs").set_value(7).run()
    assert_no_errors(at)
    assert at.query_params["arch"] in (["shared_bottom"], "shared_bottom")  # the URL bar has them too
    from urllib.parse import parse_qs, urlparse

    query = parse_qs(urlparse(at.code[0].value).query)
    assert query == {"arch": ["shared_bottom"], "epochs": ["7"]}  # no session token in a link
