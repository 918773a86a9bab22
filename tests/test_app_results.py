"""AppTest of the Results page: baselines beside the scores, warnings in words, the one
threshold (sliders start at it), catalogue ranking beside popularity."""
from __future__ import annotations

import numpy as np
import pytest

from apptest_support import assert_no_errors, new_app
from mtl_core.app import state as app_state
from mtl_core.config import RunConfig


@pytest.fixture
def noisy_run(runs_root):
    """A run whose 'coin' task is a coin flip: nothing can predict it."""
    from mtl_core.data.synth import make_synthetic
    from mtl_core.pipeline import run_experiment

    df = make_synthetic(rows=3000, task_correlation=0.5, seed=0)
    df["coin"] = np.random.default_rng(0).integers(0, 2, len(df))
    cfg = RunConfig()
    cfg.data.tasks = ["click", "coin"]
    cfg.model.arch, cfg.model.hidden, cfg.model.tower_hidden = "shared_bottom", [16], [8]
    cfg.train.epochs, cfg.train.batch_size, cfg.train.num_threads = 2, 256, 1
    cfg.split.train, cfg.split.val, cfg.split.test = 0.5, 0.1, 0.4  # 1,200 test rows: AUC ≈ 0.5 ± 0.02
    sid = app_state.new_session_id()
    res = run_experiment(cfg, df, runs_root=app_state.session_runs_root(runs_root, sid))
    return sid, res.metrics


def test_results_page_shows_baselines_warnings_and_one_threshold(noisy_run):
    sid, metrics = noisy_run
    assert metrics["tasks"]["coin"]["auc"] <= 0.55
    at = new_app(sid)
    at.switch_page("pages/results.py")
    at.run()
    assert_no_errors(at)
    warns = " ".join(w.value for w in at.warning)
    assert "coin ranks positives barely better than chance" in warns and "Try" in warns
    base = next(d.value for d in at.dataframe if "predictor" in d.value.columns and "auc" in d.value.columns)
    coin = base[base["task"] == "coin"].set_index("predictor")
    assert list(coin.index) == ["model", "prior"] and coin.loc["prior", "auc"] == 0.5
    assert coin.loc["model", "f1"] == pytest.approx(metrics["tasks"]["coin"]["f1"])
    for t in ("click", "coin"):
        thr = metrics["tasks"][t]["threshold"]
        slider = next(s for s in at.slider if s.key.endswith(f"_{t}") and s.key.startswith("thr_"))
        assert slider.value == pytest.approx(round(thr, 3))
    # at their start, the sliders' scores are the table's (same threshold, not a rounded one)
    f1_widgets = [m.value for m in at.metric if m.label == "F1"]
    assert f1_widgets == [f"{metrics['tasks'][t]['f1']:.3f}" for t in ("click", "coin")]
    captions = " ".join(c.value for c in at.caption).replace("\\", "")  # shown Markdown-escaped
    assert "F1-best threshold on the validation split" in captions
    catalog = next(d.value for d in at.dataframe if "ranker" in d.value.columns)
    assert set(catalog["ranker"]) == {"model", "popularity"} and set(catalog["task"]) == {"click", "coin"}
    assert "every catalogue item the user did not interact with in training" in captions
    assert "within each user" in " ".join(h.value for h in at.subheader)


def test_results_page_shows_each_tasks_feature_importance(noisy_run):
    sid, metrics = noisy_run
    imp = metrics["importance"]
    assert set(imp) == {"click", "coin"} and {"feature", "importance", "spread"} <= set(imp["click"][0])
    at = new_app(sid)
    at.switch_page("pages/results.py")
    at.run()
    assert_no_errors(at)
    from apptest_support import chart_titles

    assert any("Which features each task relies on" in t for t in chart_titles(at))
    table = next(d.value for d in at.dataframe if set(d.value.columns) == {"click", "coin"})
    assert table.index[0] == imp["click"][0]["feature"] or table.index[0] == imp["coin"][0]["feature"]
