"""Two saved lab results of the same kind on one figure (pure builders), and the Lab history
page that picks them from this session's saved results."""
from __future__ import annotations

import pandas as pd
import pytest

from apptest_support import assert_no_errors, chart_specs, new_app
from mtl_core import figures
from mtl_core.errors import DataError
from mtl_core.lab import SweepResult
from mtl_core.runs import save_result


def _sweep(shift: float, tasks=("click", "purchase")) -> SweepResult:
    pts = pd.DataFrame({"label": ["w=0.25", "w=0.75", "uncertainty"], "kind": ["sweep", "sweep", "learned"],
                        "x": [0.60 + shift, 0.70 + shift, 0.65], "y": [0.80, 0.70, 0.60], "pareto": [True, True, False]})
    return SweepResult(f"s{shift}", tasks[0], tasks[1], "auc", "auc", (True, True), pts)


def _corr(offset: float) -> pd.DataFrame:
    return pd.DataFrame({"correlation": [0.0, 1.0, 0.0, 1.0], "model": ["mmoe", "mmoe", "single", "single"],
                         "task": "click", "metric": "auc", "value": [0.6 + offset, 0.7 + offset, 0.62, 0.62],
                         "std": [0.01, 0.02, 0.01, 0.01]})


def _transfer(diff: float) -> pd.DataFrame:
    return pd.DataFrame({"task": ["click", "purchase"], "diff": [diff, -diff], "std": [0.01, 0.02]})


def test_two_sweeps_share_one_figure_with_their_fronts():
    fig = figures.sweeps_side_by_side([_sweep(0.0), _sweep(0.05)], ["seeds 0-2", "seeds 3-5"])
    names = [t.name for t in fig.data]
    assert names == ["seeds 0-2: points", "seeds 0-2: Pareto front", "seeds 3-5: points", "seeds 3-5: Pareto front"]
    assert list(fig.data[3].x) == [0.65, 0.75]  # the second sweep's own front, in x order
    assert fig.data[0].marker.symbol != fig.data[2].marker.symbol and fig.data[1].line.dash != fig.data[3].line.dash
    assert "AUC click (test)" in fig.layout.xaxis.title.text


def test_sweeps_of_different_tasks_are_refused():
    with pytest.raises(DataError, match="different tasks"):
        figures.sweeps_side_by_side([_sweep(0.0), _sweep(0.0, ("click", "rating"))], ["a", "b"])
    with pytest.raises(DataError, match="two results"):
        figures.sweeps_side_by_side([_sweep(0.0)], ["a"])


def test_two_correlation_labs_keep_a_colour_per_model_and_a_style_per_result():
    fig = figures.correlations_side_by_side([_corr(0.0), _corr(0.1)], ["first", "second"], "click")
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == {"first: mmoe", "first: single", "second: mmoe", "second: single"}
    assert by_name["first: mmoe"].line.color == by_name["second: mmoe"].line.color
    assert by_name["first: mmoe"].line.dash != by_name["second: mmoe"].line.dash
    assert list(by_name["second: mmoe"].y) == pytest.approx([0.7, 0.8])
    assert figures.correlations_side_by_side([_corr(0), _corr(0)], ["a", "b"], "nope").layout.annotations


def test_two_transfer_checks_as_grouped_bars():
    fig = figures.transfers_side_by_side([_transfer(0.02), _transfer(-0.01)], ["a", "a"])
    assert [t.name for t in fig.data] == ["a (1)", "a (2)"] and fig.layout.barmode == "group"
    assert list(fig.data[1].y) == [-0.01, 0.01] and list(fig.data[0].error_y.array) == [0.01, 0.02]


def test_history_page_draws_two_saved_sweeps(runs_root):
    from mtl_core.app.state import new_session_id

    sid = new_session_id()
    for i, shift in enumerate((0.0, 0.05)):
        sw = _sweep(shift)
        meta = {"created": f"2026-11-29T20:0{i}:00+00:00", "status": "complete", "task_a": "click",
                "task_b": "purchase", "metric_a": "auc", "metric_b": "auc", "maximize": [True, True], "arch": "mmoe"}
        save_result(runs_root / sid, "sweeps", {"sweep.json": meta, "points.csv": sw.points}, f"sweep-{i}")
    at = new_app(sid)
    at.switch_page("pages/history.py")
    at.run()
    assert_no_errors(at)
    spec = next(s for s in chart_specs(at) if s["layout"]["title"]["text"].startswith("Two sweeps"))
    assert [t["name"] for t in spec["data"]][::2] == ["first: points", "second: points"]
    assert sorted(spec["data"][0]["x"]) != sorted(spec["data"][2]["x"])  # two different sweeps
    assert len([b for b in at.get("download_button")]) == 2


def test_history_page_without_results_says_what_to_do(runs_root):
    at = new_app()
    at.switch_page("pages/history.py")
    at.run()
    assert_no_errors(at)
    assert any("No saved pareto sweeps yet" in i.value for i in at.info)
