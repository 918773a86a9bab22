"""Explanations: permutation importance finds each task's own driver (torch models and the
scikit-learn baseline), the explain command's JSON, feature ablation and what-if."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mtl_core.cli import main
from mtl_core.config import RunConfig
from mtl_core.errors import DataError
from mtl_core.evaluation.explain import contributions, explain_run, feature_groups, importance_table, what_if
from mtl_core.figures.explain import contributions_figure, importance_figure
from mtl_core.pipeline import run_experiment
from mtl_core.runs import load_run
from mtl_core.types import FeatureSpec

DRIVERS = {"buy_a": "a", "buy_b": "b", "spend_c": "c"}


def _drivers(n=3000, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({k: rng.normal(size=n) for k in ("a", "b", "c", "d")})
    df["colour"] = rng.choice(["red", "green", "blue"], n)
    df["buy_a"] = (df["a"] + 0.3 * rng.normal(size=n) > 0).astype(int)
    df["buy_b"] = (df["b"] + 0.3 * rng.normal(size=n) > 0).astype(int)
    df["spend_c"] = 3.0 * df["c"] + 0.3 * rng.normal(size=n) + 10
    return df


@pytest.fixture(scope="module", params=["mmoe", "sklearn"])
def driver_run(request, tmp_path_factory):
    d = tmp_path_factory.mktemp(f"explain-{request.param}")
    df = _drivers()
    path = d / "drivers.csv"
    df.to_csv(path, index=False)
    cfg = RunConfig()
    cfg.data.path = str(path)
    cfg.data.tasks = ["buy_a", "buy_b", "spend_c:regression"]
    cfg.model.arch = request.param
    cfg.train.epochs = 8
    cfg.train.batch_size = 256
    res = run_experiment(cfg.validate(), runs_root=d / "runs")
    return load_run(res.run_dir), df


def test_each_task_top_feature_is_its_driver(driver_run):
    run, df = driver_run
    imp = explain_run(run, repeats=3)
    assert set(imp) == set(DRIVERS)
    for task, driver in DRIVERS.items():
        rows = imp[task]
        assert rows[0]["feature"] == driver, (task, rows[:3])
        assert rows[0]["importance"] > 0.05 and rows[0]["spread"] >= 0
        others = [r["importance"] for r in rows[1:]]
        assert rows[0]["importance"] > 5 * max(max(others), 0.01)
    table = importance_table(imp)
    assert set(table.columns) == set(DRIVERS) and table.index[0] in DRIVERS.values()
    fig = importance_figure(imp)
    assert fig.data[0].type == "heatmap" and set(fig.data[0].x) == set(DRIVERS)


def test_contributions_and_what_if_follow_the_drivers(driver_run):
    run, df = driver_run
    pre, model, tasks = run.preprocessor(), run.model(), run.task_infos
    row = df.drop(columns=list(DRIVERS)).iloc[[0]].assign(a=2.5, b=0.0, c=0.0)
    c = contributions(model, pre, tasks, pre.transform(row))
    assert c["buy_a"].abs().idxmax() == "a" and c.loc["a", "buy_a"] > 0
    assert set(c.attrs["score"]) == set(DRIVERS)
    fig = contributions_figure(c)
    assert len(fig.data) == len(DRIVERS)
    w = what_if(model, pre, tasks, row, {"c": 2.0}).set_index("task")
    assert abs(w.loc["spend_c", "change"]) > 2.0  # spend_c = 3c + 10
    assert abs(w.loc["buy_a", "change"]) < abs(w.loc["spend_c", "change"])
    with pytest.raises(DataError, match="not one of the row's columns"):
        what_if(model, pre, tasks, row, {"nope": 1})


def test_explain_command_prints_json(driver_run, capsys):
    run, _ = driver_run
    assert main(["explain", "--run", str(run.path), "--task", "buy_b", "--repeats", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["buy_b"] and out["buy_b"][0]["feature"] == "b"
    assert set(out["buy_b"][0]) == {"feature", "importance", "spread"}
    assert main(["explain", "--run", str(run.path), "--task", "nope"]) == 2
    assert "no task 'nope'" in capsys.readouterr().err


def test_feature_groups_join_derived_siblings():
    spec = FeatureSpec(cat_names=["user"], cat_cardinalities=[3],
                       num_names=["price", "review:text0", "review:text1", "collab:user_f0", "collab:user_f1",
                                  "collab:mf_affinity"])
    g = feature_groups(spec)
    assert list(g) == ["user", "price", "review:text", "collab:user_f", "collab:mf_affinity"]
    assert g["review:text"][1].tolist() == [1, 2] and g["user"][0].tolist() == [0]
