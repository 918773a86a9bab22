"""AppTest for the Trade-off lab and Compare runs pages: they render on a fresh session and
with finished runs of the session, and a small Pareto sweep runs to the end in the
background and shows its plot."""
from __future__ import annotations


import pytest
from streamlit.testing.v1 import AppTest

from apptest_support import assert_no_errors, chart_specs, chart_titles, new_app, open_page, run_until
from mtl_core.app import state as app_state
from mtl_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from mtl_core.data.synth import make_synthetic


def _small_df():
    return make_synthetic(rows=1200, task_correlation=0.5, seed=2)


def _lab_session(data_name: str | None = None) -> AppTest:
    """A session holding the small table with tasks click and purchase and a tiny model
    budget, on the Trade-off lab page."""
    from mtl_core.data.schema import infer_schema

    df = _small_df()
    at = new_app()
    at.session_state["df"] = df
    at.session_state["schema"] = infer_schema(df)
    if data_name:
        at.session_state["data_name"] = data_name
    at.session_state["tasks"] = ["click", "purchase"]
    at.session_state["train_settings"] = {**app_state.default_train_settings(["click", "purchase"]),
                                          "arch": "shared_bottom", "epochs": 1, "batch_size": 512,
                                          "hidden": "8", "tower_hidden": "4", "embed_dim": 4}
    at.switch_page("pages/lab.py")
    at.run()
    return at


def _cfg(arch: str, lr: float = 3e-3) -> RunConfig:
    return RunConfig(
        data=DataConfig(tasks=["click", "purchase"], user_col="user_id", item_col="item_id", time_col="timestamp"),
        model=ModelConfig(arch=arch, embed_dim=4, hidden=[8], tower_hidden=[4], n_experts=2),
        train=TrainConfig(epochs=2, batch_size=256, lr=lr, patience=0, num_threads=1, weighting="uncertainty"),
        name=f"test-{arch}",
    )


@pytest.fixture
def session_with_runs(runs_root):
    from mtl_core.pipeline import run_experiment

    sid = app_state.new_session_id()
    runs = app_state.session_runs_root(runs_root, sid)
    df = _small_df()
    mmoe = run_experiment(_cfg("mmoe"), df, runs_root=runs).run_dir
    run_experiment(_cfg("shared_bottom", lr=1e-2), df, runs_root=runs)
    return sid, str(mmoe)


@pytest.mark.parametrize("page", ["lab", "compare"])
def test_page_renders_on_a_fresh_session(runs_root, page):
    at = open_page(f"pages/{page}.py")
    assert_no_errors(at)
    assert at.title[0].value == {"lab": "Trade-off lab", "compare": "Compare runs"}[page]


def test_lab_diagnostics_with_finished_runs(session_with_runs):
    sid, mmoe = session_with_runs
    at = open_page("pages/lab.py", sid)
    assert_no_errors(at)
    assert "Gradient norms on the shared representation" in chart_titles(at)  # newest run: shared bottom
    at.selectbox(key="lab_run").set_value(mmoe).run()
    assert_no_errors(at)
    titles = chart_titles(at)
    for expected in ("Task weights over training", "Gradient norms on the shared representation",
                     "Gradient cosine similarity between tasks", "Gate weights per task (epoch 2)"):
        assert any(expected in t for t in titles), (expected, titles)
    # the epoch slider moves the gate heatmap
    at.select_slider(key=next(s.key for s in at.select_slider if s.key.startswith("lab_gate_ep_"))).set_value(1).run()
    assert_no_errors(at)
    assert any("Gate weights per task (epoch 1)" in t for t in chart_titles(at))
    # every chart has its explanation
    assert len(at.caption) >= len(chart_titles(at))


def test_compare_page_with_finished_runs(session_with_runs):
    at = open_page("pages/compare.py", session_with_runs[0])
    assert_no_errors(at)
    assert len(at.dataframe[0].value) == 2  # all runs of the session
    assert "Validation loss across runs" in chart_titles(at)
    diff = at.dataframe[2].value
    assert set(diff.index) == {"model.arch", "train.lr", "name"}
    metrics = at.dataframe[1].value
    assert "click:auc" in metrics.index


def test_small_sweep_completes_and_shows_the_pareto_plot(runs_root):
    at = _lab_session(data_name="small")
    assert_no_errors(at)
    at.slider(key="ps_points").set_value(2)
    at.multiselect(key="ps_learned").set_value(["uncertainty"])
    at.button(key="ps_go").click().run()
    assert_no_errors(at)
    run_until(at, lambda a: any("Pareto sweep finished" in s.value for s in a.success) or a.error or a.warning)
    assert_no_errors(at)
    assert any("Pareto sweep finished" in s.value for s in at.success), [s.value for s in at.success]
    titles = chart_titles(at)
    assert any(t.startswith("Trade-off: AUC click (test) vs AUC purchase (test)") for t in titles), titles
    points = next(d.value for d in at.dataframe if "label" in d.value.columns)
    assert list(points["kind"]) == ["sweep", "sweep", "learned", "single"]


def _wait_for(at: AppTest, text: str, timeout: float = 120) -> None:
    run_until(at, lambda a: any(text in s.value for s in a.success) or a.error or a.exception, timeout)
    assert_no_errors(at)
    assert any(text in s.value for s in at.success), [s.value for s in at.success]


def test_negative_transfer_and_correlation_lab_tabs(runs_root):
    at = _lab_session()
    at.text_input(key="nt_seed_list").set_value("0,1")
    at.button(key="nt_go").click().run()
    _wait_for(at, "Negative-transfer check finished")
    table = next(d.value for d in at.dataframe if "verdict" in d.value.columns)
    assert list(table["task"]) == ["click", "purchase"] and (table["n_seeds"] == 2).all()
    assert table["verdict"].str.contains("transfer|variation").all()
    assert at.warning or any("No negative transfer" in s.value for s in at.info)
    assert any(t.startswith("Multi-task minus single-task") for t in chart_titles(at))

    at.multiselect(key="cl_corrs").set_value([0.0, 1.0])
    at.number_input(key="cl_rows").set_value(600)
    at.number_input(key="cl_epochs").set_value(1)
    at.text_input(key="cl_seed_list").set_value("3")
    at.button(key="cl_go").click().run()
    _wait_for(at, "Correlation lab finished")
    titles = chart_titles(at)
    assert any("AUC click: improvement over single-task" in t for t in titles), titles
    assert any("RMSE rating: improvement over single-task" in t for t in titles), titles
    rmse = next(s for s in chart_specs(at) if "RMSE rating: improvement" in s["layout"]["title"]["text"])
    assert rmse["layout"]["yaxis"]["title"]["text"].endswith("higher is better")
    import json
    from pathlib import Path
    lab_dir = next(p for p in (Path(runs_root)).rglob("corrlab/*") if p.is_dir())
    assert json.loads((lab_dir / "corrlab.json").read_text())["seeds"] == [3]  # not always seed 0
    at.radio(key="cl_view").set_value("Metric").run()
    assert_no_errors(at)
    assert any("AUC click (test)" in t for t in chart_titles(at))


def _fake_sweep(root, created: str, value: float) -> str:
    """A saved sweep whose points all sit at ``value`` (what the plot must show)."""
    import pandas as pd

    from mtl_core.lab import POINT_COLUMNS
    from mtl_core.runs import save_result

    pts = pd.DataFrame([{c: None for c in POINT_COLUMNS} | {"label": "fixed 0.50 / 0.50", "kind": "sweep",
                         "method": "fixed", "weight_a": 0.5, "weight_b": 0.5, "x": value, "y": value,
                         "test_a": value, "test_b": value, "pareto": True, "n_seeds": 1}])
    meta = {"created": created, "status": "complete", "task_a": "click", "task_b": "purchase", "metric_a": "auc",
            "metric_b": "auc", "maximize": [True, True], "arch": "mmoe", "seeds": [0]}
    return str(save_result(root, "sweeps", {"sweep.json": meta, "points.csv": pts}))


def test_a_new_sweep_replaces_the_selected_one(runs_root):
    """Bug: after a new sweep the plot kept showing the previously selected sweep."""
    sid = app_state.new_session_id()
    root = app_state.session_runs_root(runs_root, sid)
    _fake_sweep(root, "2026-01-01T10:00:00+00:00", 0.61)
    at = open_page("pages/lab.py", sid)
    assert_no_errors(at)

    def shown(a):
        spec = next(s for s in chart_specs(a) if s["layout"]["title"]["text"].startswith("Trade-off"))
        return next(t for t in spec["data"] if t.get("name") == "Weight sweep")["x"]

    assert shown(at) == [0.61]
    newer = _fake_sweep(root, "2026-01-01T11:00:00+00:00", 0.72)
    at.run()
    assert_no_errors(at)
    assert at.selectbox(key="ps_saved").value == newer
    assert shown(at) == [0.72]


def test_compare_page_tells_runs_differing_only_in_rho_apart(runs_root):
    from mtl_core.pipeline import run_experiment

    sid = app_state.new_session_id()
    root = app_state.session_runs_root(runs_root, sid)
    for rho in (-1.0, 0.0, 1.0):
        cfg = _cfg("shared_bottom")
        cfg.train.epochs, cfg.train.diagnostics = 1, False
        run_experiment(cfg, make_synthetic(rows=600, task_correlation=rho, seed=0), runs_root=root)
    at = open_page("pages/compare.py", sid)
    assert_no_errors(at)
    assert not any("identical settings" in i.value for i in at.info)
    diff = at.dataframe[2].value
    assert list(diff.index) == ["data.source.params.task_correlation"]
    assert sorted(float(v) for v in diff.iloc[0]) == [-1.0, 0.0, 1.0]
    assert "data" in at.dataframe[1].value.index  # the metrics table names each run's data
    labels = at.multiselect(key="cmp_runs").options
    assert all("task_correlation=" in label for label in labels)
