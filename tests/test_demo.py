"""Issue 17: provenance, relatedness that follows ρ, conclusions computed over seeds, and
figures that hold up in front of a room (each bug test failed before its fix)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtl_core import figures as F
from mtl_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from mtl_core.data import provenance, synth
from mtl_core.figures.common import footer, whole_epochs
from mtl_core.lab import captions, seeds


# ---------------------------------------------------------------------- bugs
def test_ple_gate_heatmap_names_each_rows_own_and_shared_experts():
    import torch

    from mtl_core.models import build_model, gate_experts
    from mtl_core.types import FeatureSpec, TaskInfo

    cfg = ModelConfig(arch="ple", hidden=[4], tower_hidden=[2], n_shared_experts=2, n_task_experts=1)
    tasks = [TaskInfo("click", "binary"), TaskInfo("purchase", "binary")]
    model = build_model("ple", FeatureSpec(num_names=["p", "q", "r"]), tasks, cfg)
    model.record_gates = True
    model(torch.zeros(5, 0, dtype=torch.long), torch.randn(5, 3))
    names = gate_experts("ple", ["click", "purchase"], cfg)
    assert set(names) == set(model.gate_weights())  # the same gate keys as the model records
    gates = {"level0/click": [0.7, 0.2, 0.1], "level0/purchase": [0.6, 0.3, 0.1]}
    fig = F.gate_heatmap(gates, names)
    hm = fig.data[0]
    assert list(hm.x) == ["shared 1", "shared 2", "click own 1", "purchase own 1"]
    z = dict(zip(hm.y, hm.z))
    # 0.7 is click's own expert, not "Expert 1" shared with purchase's own expert
    assert z["level0/click"][2] == 0.7 and z["level0/click"][3] is None
    assert z["level0/purchase"][3] == 0.6 and z["level0/purchase"][2] is None


def test_gate_heatmap_fixed_scale_with_uniform_level_marked():
    fig = F.gate_heatmap({"a": [0.26, 0.24, 0.25, 0.25], "b": [0.25] * 4})
    hm = fig.data[0]
    assert (hm.zmin, hm.zmax) == (0, 1)  # near-uniform gates are not stretched to look contrasty
    assert 0.25 in hm.colorbar.tickvals and any("uniform 1/4" in t for t in hm.colorbar.ticktext)
    assert hm.colorscale[1][0] == pytest.approx(0.25) and hm.colorscale[1][1] == "#f7f7f7"


def test_rmse_improvement_axis_says_higher_is_better_and_plots_single_minus_model():
    d = pd.DataFrame({"correlation": [0.0, 0.0, 0.0], "model": ["mmoe", "shared_bottom", "single"],
                      "task": "rating", "metric": "rmse", "value": [0.9, 1.1, 1.0], "std": None,
                      "vs_single": [0.1, -0.1, 0.0], "vs_single_se": [0.01, 0.02, None]})
    fig = F.correlation_task_plot(d, "rating", "vs_single")
    assert fig.layout.yaxis.title.text == "RMSE rating: single-task − model · higher is better"
    ys = {t.name: t.y[0] for t in fig.data}
    assert ys == {"mmoe": 0.1, "shared_bottom": -0.1}  # MMoE's RMSE 0.9 < 1.0 plots above 0
    metric = F.correlation_task_plot(d, "rating", "metric")
    assert metric.layout.yaxis.title.text.endswith("lower is better")


@pytest.mark.parametrize("epochs,step", [(3, 1), (4, 1), (12, 2), (45, 5)])
def test_epoch_axes_tick_on_whole_epochs(epochs, step):
    h = pd.DataFrame({"epoch": list(range(1, epochs + 1)), "task": "click", "split": "val", "loss": 1.0})
    for fig in (F.loss_curves(h), F.runs_overlay({"r": h}),
                F.task_weights_over_time(h.rename(columns={"loss": "weight"}))):
        ax = fig.layout.xaxis
        assert ax.tickmode == "linear" and ax.dtick == step and float(ax.tick0).is_integer()


# ---------------------------------------------------------------------- provenance
def test_read_table_records_name_size_and_sha256(tmp_path):
    import hashlib

    from mtl_core.data.io import read_table

    raw = b"a,b\n1,2\n3,4\n"
    (tmp_path / "t.csv").write_bytes(raw)
    src = provenance.source_of(read_table(tmp_path / "t.csv"))
    assert src == {"kind": "file", "name": "t.csv", "bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
    assert provenance.describe(src).startswith("t.csv · 12 B · sha256 ")


def test_three_synthetic_runs_differing_only_in_rho_are_told_apart(tmp_path):
    from mtl_core.lab import compare_runs
    from mtl_core.pipeline import run_experiment
    from mtl_core.runs import list_runs

    paths = []
    for rho in (-1.0, 0.0, 1.0):
        cfg = RunConfig(data=DataConfig(tasks=["click", "purchase"], user_col="user_id", item_col="item_id"),
                        model=ModelConfig(arch="shared_bottom", embed_dim=4, hidden=[4], tower_hidden=[2]),
                        train=TrainConfig(epochs=1, batch_size=512, num_threads=1, diagnostics=False), name="same")
        paths.append(run_experiment(cfg, synth.make_synthetic(rows=600, task_correlation=rho, seed=0),
                                    runs_root=tmp_path).run_dir)
    import json

    saved = json.loads((paths[0] / "config.json").read_text())["data"]["source"]
    assert saved["generator"] == "make_synthetic" and saved["params"]["task_correlation"] == -1.0
    out = compare_runs(paths)
    diff = out["config_diff"]
    assert list(diff.index) == ["data.source.params.task_correlation"]  # not "identical settings"
    assert sorted(diff.loc["data.source.params.task_correlation"].astype(float)) == [-1.0, 0.0, 1.0]
    assert out["metrics"]["data"].str.contains("task_correlation=").all()
    assert all("make_synthetic(" in r.data for r in list_runs(tmp_path))


def test_footer_names_data_seed_and_architecture_once():
    fig = F.pareto_plot(pd.DataFrame({"x": [1.0], "y": [2.0]}), "a", "b")
    footer(fig, "t.csv · 1 kB", 3, "mmoe")
    footer(fig, "u.csv", 4, "ple")
    notes = [a for a in fig.layout.annotations if a.name == "footer"]
    assert [a.text for a in notes] == ["data: u.csv · seed 4 · architecture: ple"]


def test_app_table_source_keeps_the_parent_of_derived_tables():
    parent = {"kind": "file", "name": "log.csv", "bytes": 1, "sha256": "x"}
    assert provenance.table_source(pd.DataFrame(), "funnel table", "funnel", parent)["from"] == parent
    df = provenance.tag(pd.DataFrame(), provenance.generated_source("g", rows=5))
    assert provenance.table_source(df, "n", "synthetic", parent) == {"kind": "generated", "generator": "g",
                                                                     "params": {"rows": 5}}


# ---------------------------------------------------------------------- relatedness
def test_untied_pair_label_correlation_follows_rho_and_funnel_pair_does_not():
    label, funnel = {}, {}
    for rho in (-1.0, 0.0, 1.0):
        df, truth = synth.make_synthetic(rows=4000, task_correlation=rho, seed=1, engagement_targets=True,
                                         return_truth=True)
        label[rho] = synth.realised_correlations(df, truth, "dwell_time", "basket_value")["label"]
        funnel[rho] = synth.realised_correlations(df, truth, "click", "purchase")["label"]
    assert label[-1.0] < -0.4 and abs(label[0.0]) < 0.1 and label[1.0] > 0.9
    assert max(funnel.values()) - min(funnel.values()) < 0.05  # the funnel ties them at every ρ
    assert synth.coupling("dwell_time", "basket_value") is None
    assert "coupled by construction" in synth.coupling("click", "purchase")


# ---------------------------------------------------------------------- conclusions over seeds
def test_compare_caption_significant_vs_overlapping():
    sig = seeds.compare_caption("mmoe", [-0.011, -0.010, -0.012], "shared_bottom", [-0.032, -0.030, -0.034], "gap")
    assert "mmoe is better than shared_bottom" in sig and seeds.NOT_SIGNIFICANT not in sig
    flip = seeds.compare_caption("mmoe", [-0.011, -0.025, -0.020], "shared_bottom", [-0.032, -0.022, -0.010], "gap")
    assert seeds.NOT_SIGNIFICANT in flip and "better" not in flip
    one = seeds.compare_caption("mmoe", [0.1], "shared_bottom", [0.5], "gap")
    assert seeds.NOT_SIGNIFICANT in one and "one seed" in one
    lower = seeds.compare_caption("a", [1.0, 1.01, 0.99], "b", [2.0, 2.01, 1.99], "rmse", higher_is_better=False)
    assert "a is better than b" in lower


def test_versus_caption_and_diagnostics_captions():
    diags = [{"cosine": {"a|b": v}, "gates": {"a": [0.5, 0.5], "b": [0.5, 0.5]}} for v in (-0.3, -0.25, -0.35)]
    lines = captions.diagnostics_captions(diags)
    assert "conflict" in lines[0] and seeds.NOT_SIGNIFICANT not in lines[0]
    assert seeds.NOT_SIGNIFICANT in lines[1]  # uniform gates: no specialisation
    mixed = captions.diagnostics_captions([{"cosine": {"a|b": v}} for v in (-0.3, 0.2, 0.05)])
    assert seeds.NOT_SIGNIFICANT in mixed[0]
    spec = seeds.specialisation_caption({"a": [0.9, 0.1]}, {"a": [0.01, 0.01]}, 3)
    assert "a → expert 1" in spec


def test_pareto_points_are_means_over_seeds_with_standard_errors():
    from mtl_core.lab.pareto import _points_frame

    rows = [{"label": "fixed 0.50 / 0.50", "kind": "sweep", "method": "fixed", "weight_a": 0.5, "weight_b": 0.5,
             "val_a": 0.6, "val_b": 0.6, "test_a": a, "test_b": b, "epochs": 1, "seconds": 0.1, "seed": s}
            for s, (a, b) in enumerate([(0.60, 0.70), (0.62, 0.72), (0.64, 0.74)])]
    rows.append({"label": "uncertainty", "kind": "learned", "method": "uncertainty", "weight_a": None,
                 "weight_b": None, "val_a": 0.6, "val_b": 0.6, "test_a": 0.5, "test_b": 0.5, "epochs": 1,
                 "seconds": 0.1, "seed": 0})
    pts = _points_frame(rows, (True, True))
    fixed = pts.iloc[0]
    assert fixed["x"] == pytest.approx(0.62) and fixed["x_se"] == pytest.approx(0.02 / np.sqrt(3))
    assert fixed["n_seeds"] == 3 and np.isnan(pts.iloc[1]["weight_a"])
    lines = captions.pareto_captions(pts, "AUC a", "AUC b", (True, True))
    assert any(seeds.NOT_SIGNIFICANT in line for line in lines)  # the learned point has one seed


# ---------------------------------------------------------------------- readability
def test_pareto_points_labelled_with_weights_and_joined_in_weight_order():
    pts = pd.DataFrame({"x": [0.7, 0.5, 0.6, 0.65], "y": [0.5, 0.7, 0.6, 0.4],
                        "label": ["fixed 0.75 / 0.25", "fixed 0.25 / 0.75", "fixed 0.50 / 0.50", "single"],
                        "kind": ["sweep", "sweep", "sweep", "single"], "weight_a": [0.75, 0.25, 0.5, None],
                        "weight_b": [0.25, 0.75, 0.5, None], "x_se": [0.01, 0.01, 0.01, None]})
    fig = F.pareto_plot(pts, "AUC a", "RMSE b", maximize=(True, False))
    order = next(t for t in fig.data if t.name == "weights in order")
    assert list(order.x) == [0.5, 0.6, 0.7]  # w_a 0.25, 0.50, 0.75
    sweep = next(t for t in fig.data if t.name == "Weight sweep")
    assert list(sweep.text) == ["0.75 / 0.25", "0.25 / 0.75", "0.50 / 0.50"] and "text" in sweep.mode
    assert sweep.error_x.array == (0.01, 0.01, 0.01)
    assert fig.layout.yaxis.title.text == "RMSE b · lower is better"


def test_paired_difference_bars_and_few_positives_warning():
    from mtl_core.lab import few_positives

    per_seed = pd.DataFrame({"seed": [0, 1, 2, 0, 1, 2], "task": ["click"] * 3 + ["purchase"] * 3,
                             "metric": "auc", "diff": [0.01, 0.02, 0.03, -0.05, -0.04, -0.06],
                             "test_positives": [300, 310, 290, 12, 9, 15]})
    fig = F.paired_difference_bars(per_seed)
    bars = fig.data[0]
    assert bars.type == "bar" and list(bars.y) == pytest.approx([0.02, -0.05])
    assert bars.error_y.array[0] == pytest.approx(2 * 0.01 / np.sqrt(3))
    assert fig.layout.yaxis.title.text.endswith("higher is better")
    warn = few_positives(per_seed)
    assert len(warn) == 1 and warn[0].startswith("purchase has only 9 positive")


def test_whole_epochs_on_a_figure_without_traces():
    fig = whole_epochs(F.loss_curves(None))
    assert fig.layout.xaxis.dtick == 1


def test_data_page_shows_realised_correlation_and_warns_on_a_funnel_pair(runs_root):
    from apptest_support import assert_no_errors, open_page

    at = open_page("pages/data.py")
    at.number_input(key="syn_rows").set_value(2000)
    at.slider(key="syn_corr").set_value(-1.0)
    at.button(key="syn_go").click().run()
    assert_no_errors(at)
    assert list(at.session_state["tasks"]) == ["dwell_time", "basket_value"]
    assert at.session_state["data_source"]["params"]["task_correlation"] == -1.0
    line = next(c.value for c in at.caption if "realised correlation" in c.value)
    assert "labels -0." in line  # opposed scores, opposed labels
    assert not any("coupled by construction" in w.value for w in at.warning)
    at.selectbox(key="syn_pair").set_value("click|purchase").run()
    assert any("coupled by construction" in w.value for w in at.warning)


def test_pareto_sweep_repeats_over_the_chosen_seeds_and_records_the_data(tmp_path):
    from mtl_core.lab import load_sweep, pareto_sweep

    cfg = RunConfig(data=DataConfig(tasks=["click", "purchase"], user_col="user_id", item_col="item_id"),
                    model=ModelConfig(arch="shared_bottom", embed_dim=4, hidden=[4], tower_hidden=[2]),
                    train=TrainConfig(epochs=1, batch_size=512, num_threads=1, diagnostics=False))
    df = synth.make_synthetic(rows=600, task_correlation=0.3, seed=4)
    res = pareto_sweep(cfg, df, "click", "purchase", n_points=1, learned=[], include_single=False,
                       seeds=[5, 7], runs_root=tmp_path)
    assert res.meta["seeds"] == [5, 7] and sorted(res.meta["per_seed"]["seed"]) == [5, 7]
    assert res.points["n_seeds"].tolist() == [2] and res.points["x_se"].notna().all()
    assert res.meta["config"]["data"]["source"]["params"]["task_correlation"] == 0.3
    assert (res.path / "per_seed.csv").exists() and load_sweep(res.path).points["n_seeds"].tolist() == [2]
