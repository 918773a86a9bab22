"""Lessons: well-formed definitions, checks that pass only when the effect showed in every
seed, progress and cancel through ``run_lesson``, one real lesson end to end, and the
Lessons page (a link opens a lesson; a run shows its verdict)."""
from __future__ import annotations

import threading

import pandas as pd
import pytest

from apptest_support import assert_no_errors, new_app, run_until
from mtl_core.errors import ConfigError
from mtl_core.lessons import LESSONS, Lesson, Verdict, get_lesson, lesson_ids, run_lesson


def test_every_lesson_is_complete():
    assert set(lesson_ids()) == {"relatedness", "seesaw", "learned_weighting", "gradient_conflict",
                                 "gate_specialisation", "esmm"}
    for lesson in LESSONS.values():
        assert lesson.title and lesson.question and lesson.notice and lesson.expected and lesson.pinned
        assert lesson.robustness.startswith("Held on "), lesson.id  # measured by bench/lessons_check.py
        held = int(lesson.robustness.split()[2])
        assert ("Not robust:" in lesson.robustness) == (held < 3), lesson.id  # a fragile lesson says so
        assert lesson.units([0, 1, 2]) >= 3


def test_an_unknown_lesson_is_a_clear_error():
    with pytest.raises(ConfigError, match="lesson must be one of relatedness"):
        get_lesson("nope")


@pytest.mark.parametrize("lid,good,bad", [
    ("relatedness", {"gain_rho1": [0.03, 0.02, 0.01], "gain_rho0": [0.0, 0.0, 0.0]},
     {"gain_rho1": [0.03, -0.02, 0.01], "gain_rho0": [0.0, 0.0, 0.0]}),
    ("seesaw", {"a_w0.1": [1.2] * 3, "a_w0.9": [1.0] * 3, "b_w0.1": [1.0] * 3, "b_w0.9": [1.2] * 3},
     {"a_w0.1": [1.2] * 3, "a_w0.9": [1.0] * 3, "b_w0.1": [1.2] * 3, "b_w0.9": [1.0] * 3}),
    ("learned_weighting", {"weight_click": [0.9] * 3, "weight_purchase": [1.2] * 3, "loss_click": [0.5] * 3,
                           "loss_purchase": [0.1] * 3},
     {"weight_click": [0.9, 1.3, 0.9], "weight_purchase": [1.2] * 3, "loss_click": [0.5] * 3,
      "loss_purchase": [0.1] * 3}),
    ("gradient_conflict", {"cos_rho1": [0.9] * 3, "cos_rho0": [0.1] * 3}, {"cos_rho1": [0.1] * 3, "cos_rho0": [0.9] * 3}),
    ("gate_specialisation", {"gate_gap_rho0": [0.3] * 3, "gate_gap_rho1": [0.1] * 3},
     {"gate_gap_rho0": [0.1] * 3, "gate_gap_rho1": [0.1] * 3}),
    ("esmm", {"esmm_purchase_auc": [0.8] * 3, "shared_bottom_purchase_auc": [0.7] * 3, "esmm_violations": [0.0] * 3,
              "shared_bottom_violations": [0.01] * 3},
     {"esmm_purchase_auc": [0.8, 0.6, 0.8], "shared_bottom_purchase_auc": [0.7] * 3, "esmm_violations": [0.0] * 3,
      "shared_bottom_violations": [0.0] * 3}),
])
def test_checks_pass_only_when_every_seed_shows_the_effect(lid, good, bad):
    check = LESSONS[lid].check
    yes, no = check(pd.DataFrame({"seed": [0, 1, 2], **good})), check(pd.DataFrame({"seed": [0, 1, 2], **bad}))
    assert yes.passed and not no.passed
    assert "3" in yes.evidence and "nan" not in yes.evidence.lower()


def _fake(calls: list, cancel_after: int | None = None) -> Lesson:
    def run(seed, rep, cancel):
        rep.start(f"seed {seed}")
        calls.append(seed)
        if cancel_after is not None and len(calls) >= cancel_after:
            cancel.set()
            return None
        rep.finish()
        return {"x": float(seed)}
    return Lesson("fake", "Fake", "?", {"a": 1}, "n", "e", "Held on 0 of 0.", lambda s: len(s), run,
                  lambda t: Verdict(bool(t["x"].sum() > 0), f"sum {t['x'].sum():g}"), (1, 2))


def test_run_lesson_reports_progress_and_checks():
    calls, seen = [], []
    res = run_lesson(_fake(calls), callback=seen.append)
    assert calls == [1, 2] and res.status == "complete" and res.verdict == Verdict(True, "sum 3")
    assert list(res.observations["seed"]) == [1, 2]
    assert seen[-1]["fraction"] == 1.0 and any("seed 2" in p["message"] for p in seen)


def test_a_cancelled_lesson_has_no_verdict():
    calls, cancel = [], threading.Event()
    res = run_lesson(_fake(calls, cancel_after=2), [0, 1, 2], cancel=cancel)
    assert res.status == "cancelled" and res.verdict is None and calls == [0, 1]
    with pytest.raises(ConfigError, match="seeds"):
        run_lesson(_fake([]), [0, 0])


@pytest.mark.slow
def test_the_seesaw_lesson_runs_for_real():
    res = run_lesson(LESSONS["seesaw"], [0])
    obs = res.observations
    assert res.status == "complete" and list(obs.columns) == ["seed", "a_w0.1", "b_w0.1", "a_w0.9", "b_w0.9"]
    assert obs.drop(columns="seed").gt(0).all(axis=None) and isinstance(res.verdict.passed, bool)


def test_a_link_opens_its_lesson_and_a_run_shows_the_verdict(runs_root, monkeypatch):
    monkeypatch.setitem(LESSONS, "fake", _fake([]))
    at = new_app()
    at.query_params["lesson"] = "fake"
    at.switch_page("pages/lessons.py")
    at.run()
    assert_no_errors(at)
    assert at.selectbox(key="lesson_pick").value == "fake"
    at.button(key="lesson_go").click().run()
    assert run_until(at, lambda a: bool(a.success), timeout=60)
    assert "This run showed it" in at.success[0].value and "sum 3" in at.success[0].value
    assert list(at.dataframe[-1].value["seed"]) == [1, 2]


def test_a_link_to_an_unknown_lesson_says_so(runs_root):
    at = new_app()
    at.query_params["lesson"] = "<b>x</b>"
    at.switch_page("pages/lessons.py")
    at.run()
    assert_no_errors(at)
    assert at.selectbox(key="lesson_pick").value == "relatedness"
    assert any("names no known lesson" in w.value for w in at.warning)
