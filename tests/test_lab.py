"""The trade-off lab (mtl_core.lab) on tiny data: verdict logic on hand-made numbers,
negative transfer rows, Pareto front, saved/loadable/cancellable sweeps, the correlation
lab's rows, run comparison and the CLI commands."""
from __future__ import annotations

import ast
import re
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mtl_core import lab
from mtl_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from mtl_core.errors import ConfigError
from mtl_core.data.synth import make_synthetic


@pytest.fixture(scope="module")
def shop() -> pd.DataFrame:
    return make_synthetic(rows=1200, task_correlation=0.5, seed=3)


def _cfg(tasks=("click", "purchase"), arch="shared_bottom", epochs=1, **train) -> RunConfig:
    return RunConfig(
        data=DataConfig(tasks=list(tasks), user_col="user_id", item_col="item_id", time_col="timestamp"),
        model=ModelConfig(arch=arch, embed_dim=4, hidden=[8], tower_hidden=[4], n_experts=2),
        train=TrainConfig(epochs=epochs, batch_size=256, lr=3e-3, patience=0, num_threads=1, **train),
    )


# --------------------------------------------------------------------------- verdicts
def test_verdict_with_several_seeds_uses_two_standard_errors():
    # mean -0.02, std 0.005 over 4 seeds -> se 0.0025: clearly negative
    assert lab.transfer_verdict([-0.015, -0.025, -0.02, -0.02])[0] == lab.VERDICT_NEGATIVE
    assert lab.transfer_verdict([0.015, 0.025, 0.02, 0.02])[0] == lab.VERDICT_POSITIVE
    # same mean, noisy: 2 * se > |mean|
    v, text = lab.transfer_verdict([-0.08, 0.05, -0.03, 0.0])
    assert v == lab.VERDICT_NOISE and "two standard errors" in text
    # identical differences (std 0) that are not zero are beyond the noise
    assert lab.transfer_verdict([-0.01, -0.01])[0] == lab.VERDICT_NEGATIVE
    assert lab.transfer_verdict([0.0, 0.0])[0] == lab.VERDICT_NOISE


def test_verdict_with_one_seed_uses_the_tolerance_and_says_so():
    v, text = lab.transfer_verdict([-0.01], "auc")
    assert v == lab.VERDICT_NEGATIVE and "One seed cannot separate noise" in text and "3 or more" in text
    v, text = lab.transfer_verdict([-0.004], "auc")  # below the 0.005 AUC default
    assert v == lab.VERDICT_NOISE and "One seed" in text
    assert lab.transfer_verdict([0.006], "auc")[0] == lab.VERDICT_POSITIVE
    # RMSE: 1% of the single-task RMSE
    assert lab.transfer_verdict([-0.02], "rmse", reference=1.0)[0] == lab.VERDICT_NEGATIVE
    assert lab.transfer_verdict([-0.005], "rmse", reference=1.0)[0] == lab.VERDICT_NOISE
    assert lab.transfer_verdict([0.02], "auc", tolerance=0.05)[0] == lab.VERDICT_NOISE
    assert lab.transfer_verdict([])[0] == lab.VERDICT_NOISE


def test_summarise_transfer_signs_and_std():
    per_seed = pd.DataFrame([
        {"seed": 0, "task": "click", "metric": "auc", "higher_is_better": True, "mt": 0.70, "st": 0.72, "diff": -0.02},
        {"seed": 1, "task": "click", "metric": "auc", "higher_is_better": True, "mt": 0.71, "st": 0.73, "diff": -0.02},
        {"seed": 0, "task": "rating", "metric": "rmse", "higher_is_better": False, "mt": 0.9, "st": 1.0, "diff": 0.1},
    ])
    t = lab.summarise_transfer(per_seed).set_index("task")
    assert t.loc["click", "verdict"] == lab.VERDICT_NEGATIVE
    assert t.loc["click", "std"] == pytest.approx(0.0) and t.loc["click", "n_seeds"] == 2
    assert t.loc["rating", "verdict"] == lab.VERDICT_POSITIVE and pd.isna(t.loc["rating", "std"])
    assert t.loc["click", "mt_mean"] == pytest.approx(0.705)


def test_negative_transfer_returns_one_row_per_task(shop, tmp_path):
    events = []
    cfg = _cfg(("click", "purchase", "rating:regression"))
    table = lab.negative_transfer(cfg, shop, seeds=(0,), callback=events.append, runs_root=tmp_path)
    assert list(table["task"]) == ["click", "purchase", "rating"]
    assert list(table["metric"]) == ["auc", "auc", "rmse"]
    assert table["std"].isna().all() and (table["n_seeds"] == 1).all()
    assert set(table["verdict"]) <= {lab.VERDICT_NEGATIVE, lab.VERDICT_POSITIVE, lab.VERDICT_NOISE}
    r = table.set_index("task").loc["rating"]
    assert r["diff"] == pytest.approx(r["st_mean"] - r["mt_mean"])  # RMSE: positive = MT lower
    c = table.set_index("task").loc["click"]
    assert c["diff"] == pytest.approx(c["mt_mean"] - c["st_mean"])
    assert events and events[-1]["fraction"] == pytest.approx(1.0)
    assert [t["id"] for t in lab.list_transfers(tmp_path)] == [table.attrs["path"].split("/")[-1]]
    # saved by mtl_core.runs like a run: <root>/transfer/<time>-transfer-<hex>, nothing half-written
    saved = lab.list_transfers(tmp_path)[0]
    assert re.fullmatch(r"\d{8}-\d{6}-transfer-[0-9a-f]{6}", saved["id"])
    assert not list((tmp_path / "transfer").glob(".tmp-*"))
    back = lab.load_transfer(saved["path"])
    assert back[["task", "verdict"]].equals(table[["task", "verdict"]])
    assert len(back.attrs["per_seed"]) == 3 and back.attrs["meta"]["seeds"] == [0]


# --------------------------------------------------------------------------- Pareto
def test_sweep_weights_and_front():
    assert lab.sweep_weights(3) == [0.25, 0.5, 0.75]
    with pytest.raises(ConfigError, match="n_points"):
        lab.sweep_weights(0)
    pts = pd.DataFrame({"kind": ["sweep", "sweep", "sweep", "learned", "single"],
                        "x": [0.70, 0.72, 0.69, 0.71, 0.80], "y": [0.60, 0.58, 0.57, 0.59, 0.70]})
    front = lab.mark_front(pts, (True, True))["pareto"].tolist()
    # (0.69, 0.57) is dominated; the single-task reference is never on the front
    assert front == [True, True, False, True, False]
    # RMSE axis: lower is better
    pts2 = pd.DataFrame({"kind": ["sweep"] * 3, "x": [0.7, 0.8, 0.8], "y": [1.0, 1.1, 0.9]})
    assert lab.mark_front(pts2, (True, False))["pareto"].tolist() == [False, False, True]


def test_sweep_saved_loadable_and_plotted(shop, tmp_path):
    from mtl_core import figures

    res = lab.pareto_sweep(_cfg(("click", "purchase", "rating:regression")), shop, "click", "rating",
                           n_points=2, learned=("uncertainty",), runs_root=tmp_path)
    p = res.points
    assert res.status == "complete" and res.metric_a == "auc" and res.metric_b == "rmse"
    assert list(p["kind"]) == ["sweep", "sweep", "learned", "single"]
    assert p[["val_a", "val_b", "test_a", "test_b"]].notna().all().all()
    assert (p["x"] == p["test_a"]).all() and (p["y"] == p["test_b"]).all()
    assert p["pareto"].any() and not p.loc[p["kind"] == "single", "pareto"].any()
    saved = lab.list_sweeps(tmp_path)
    assert len(saved) == 1 and (saved[0]["path"] / "sweep.json").exists()
    assert not list((tmp_path / "sweeps").glob(".tmp-*"))
    back = lab.load_sweep(saved[0]["path"])
    pd.testing.assert_frame_equal(back.points[["x", "y"]], p[["x", "y"]])
    assert back.points["pareto"].tolist() == p["pareto"].tolist()
    assert back.maximize == (True, False) and back.task_b == "rating"
    fig = figures.pareto_plot(back.points, back.axis_a, back.axis_b, maximize=back.maximize)
    assert {t.name for t in fig.data} >= {"Weight sweep", "Learned weighting", "Single-task", "Pareto front"}


def test_sweep_cancel_stops_it(shop, tmp_path):
    cancel = threading.Event()
    seen = []

    def cb(p):
        seen.append(p)
        if p["done"] >= 1:
            cancel.set()

    res = lab.pareto_sweep(_cfg(), shop, "click", "purchase", n_points=4, learned=("uncertainty",),
                           callback=cb, cancel=cancel, runs_root=tmp_path)
    assert res.status == "cancelled"
    assert len(res.points) == 1  # the first point only; nothing after the cancel
    assert lab.load_sweep(res.path).status == "cancelled"


def test_sweep_rejects_bad_tasks(shop):
    with pytest.raises(ConfigError, match="not a task"):
        lab.pareto_sweep(_cfg(), shop, "click", "sales", n_points=2, save=False)
    with pytest.raises(ConfigError, match="two different"):
        lab.pareto_sweep(_cfg(), shop, "click", "click", n_points=2, save=False)


# --------------------------------------------------------------------------- correlation lab
def test_correlation_lab_rows(tmp_path):
    events = []
    df = lab.correlation_lab(correlations=(0.0, 1.0), archs=("shared_bottom", "single"), rows=600, epochs=1,
                             seeds=(0, 1), callback=events.append, runs_root=tmp_path)
    assert list(df.columns) == lab.CORRELATION_COLUMNS
    assert len(df) == 2 * 2 * 2  # correlations x models x tasks
    assert set(df["task"]) == {"click", "rating"} and set(df["metric"]) == {"auc", "rmse"}
    assert df["value"].notna().all() and df["std"].notna().all() and (df["n_seeds"] == 2).all()
    single = df[df["model"] == "single"]
    assert np.allclose(single["vs_single"], 0.0)
    assert events[-1]["fraction"] == pytest.approx(1.0)
    saved = lab.list_correlation_labs(tmp_path)
    assert len(saved) == 1
    assert len(lab.load_correlation_lab(saved[0]["path"])) == len(df)


def test_correlation_lab_engagement_tasks():
    df = lab.correlation_lab(correlations=(0.0,), archs=("mmoe", "single"), rows=600, epochs=1, seeds=(0, 1),
                             tasks=lab.ENGAGEMENT_TASKS, save=False)
    assert set(df["task"]) == {"dwell_time", "basket_value"} and set(df["metric"]) == {"rmse"}
    assert df["vs_single_se"].notna().all()
    assert np.allclose(df["vs_single_se"], df["vs_single_std"] / np.sqrt(2))
    cfg = lab.correlation_config("mmoe", 1, 0)
    assert set(cfg.data.drop) == {"dwell_time", "basket_value"}  # never features of the default tasks


def test_correlation_lab_paper_dataset(tmp_path):
    df = lab.correlation_lab(correlations=(0.0, 1.0), archs=("shared_bottom", "mmoe", "single"), rows=400,
                             epochs=1, seeds=(0, 1), dataset="paper", runs_root=tmp_path)
    assert list(df.columns) == lab.CORRELATION_COLUMNS
    assert len(df) == 2 * 3 * 2  # correlations x models x tasks
    assert set(df["task"]) == {"task_a", "task_b"} and set(df["metric"]) == {"rmse"}
    assert df["value"].notna().all() and (df["n_seeds"] == 2).all() and df["vs_single_se"].notna().all()
    assert np.allclose(df.loc[df["model"] == "single", "vs_single"], 0.0)
    assert lab.list_correlation_labs(tmp_path)[0]["dataset"] == "paper"
    sb, mmoe = lab.correlation_config("shared_bottom", 1, 0, dataset="paper"), lab.correlation_config("mmoe", 1, 0,
                                                                                                        dataset="paper")
    assert sb.model.hidden == [113] and mmoe.model.hidden == [16] and mmoe.model.n_experts == 8
    assert sb.data.user_col is None and sb.data.tasks == lab.PAPER_TASKS
    with pytest.raises(ConfigError, match="dataset"):
        lab.correlation_lab(dataset="census", save=False)


def test_correlation_lab_validates():
    with pytest.raises(ConfigError, match="correlations"):
        lab.correlation_lab(correlations=(2.0,), save=False)
    with pytest.raises(ConfigError, match="correlations"):
        lab.correlation_lab(correlations=("x",), save=False)
    with pytest.raises(ConfigError, match="rows"):
        lab.correlation_lab(rows=5, save=False)
    with pytest.raises(ConfigError, match="rows"):
        lab.correlation_lab(rows=True, save=False)
    with pytest.raises(ConfigError, match="epochs"):
        lab.correlation_lab(epochs=0, save=False)
    with pytest.raises(ConfigError, match="seeds"):
        lab.correlation_lab(seeds=(), save=False)
    with pytest.raises(ConfigError, match="seeds"):
        lab.correlation_lab(seeds=(0, 0), save=False)
    with pytest.raises(ConfigError, match="seeds"):
        lab.correlation_lab(seeds=(-1,), save=False)
    with pytest.raises(ConfigError, match="n_points"):
        lab.sweep_weights(True)


def test_lab_reads_and_writes_files_only_through_runs():
    """mtl_core.runs owns the on-disk format: the lab and the pipeline never open, write,
    rename or parse files themselves."""
    root = Path(lab.__file__).resolve().parents[1]
    banned = {"open", "to_csv", "to_parquet", "to_json", "write_text", "write_bytes", "read_csv", "read_parquet",
              "read_text", "replace", "rename", "rmtree", "mkdir", "dump", "save"}
    found = []
    for path in sorted((root / "lab").glob("*.py")) + [root / "pipeline.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                if name in banned and not (name == "replace" and isinstance(node.func, ast.Attribute)
                                           and not (isinstance(node.func.value, ast.Name)
                                                    and node.func.value.id == "os")):
                    found.append(f"{path.name}:{node.lineno} {name}")
    assert not found, found


# --------------------------------------------------------------------------- compare
def test_compare_runs_shows_only_differing_config(shop, tmp_path):
    from mtl_core.pipeline import run_experiment

    a = run_experiment(_cfg(), shop, runs_root=tmp_path).run_dir
    cfg_b = _cfg(arch="mmoe")
    cfg_b.train.lr = 1e-2
    b = run_experiment(cfg_b, shop, runs_root=tmp_path).run_dir
    out = lab.compare_runs([a, b])
    assert set(out["config_diff"].index) == {"model.arch", "train.lr"}
    assert out["config_diff"].loc["model.arch"].tolist() == ["shared_bottom", "mmoe"]
    m = out["metrics"]
    assert list(m.index) == [a.name, b.name]
    assert {"click:auc", "purchase:auc", "arch", "epochs"} <= set(m.columns)
    assert set(out["histories"]) == {a.name, b.name} and len(out["histories"][a.name])
    same = lab.compare_runs([a, a])
    assert same["config_diff"].empty
    assert lab.flatten_config({"a": {"b": [1, 2], "c": {}}, "d": None}) == {"a.b": "[1, 2]", "a.c": "{}", "d": None}


# --------------------------------------------------------------------------- CLI
def test_cli_lab_commands(shop, tmp_path, capsys):
    from mtl_core.cli import main

    data = tmp_path / "shop.csv"
    shop.to_csv(data, index=False)
    rc = main(["baseline", "--data", str(data), "--task", "click", "--task", "purchase", "--epochs", "1",
               "--arch", "shared_bottom", "--hidden", "8", "--batch-size", "256", "--seeds", "0",
               "--out", str(tmp_path / "runs"), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0 and "click" in out and "One seed cannot separate noise" in out
    rc = main(["corrlab", "--correlations", "0,1", "--archs", "shared_bottom,single", "--rows", "500",
               "--epochs", "1", "--seeds", "0", "--out", str(tmp_path / "c.csv"), "--runs", str(tmp_path / "runs"),
               "--quiet"])
    assert rc == 0 and len(pd.read_csv(tmp_path / "c.csv")) == 8
    rc = main(["corrlab", "--dataset", "paper", "--correlations", "0.5", "--archs", "mmoe,single", "--rows", "300",
               "--epochs", "1", "--seeds", "0", "--out", str(tmp_path / "p.csv"), "--runs", str(tmp_path / "runs"),
               "--quiet"])
    assert rc == 0 and set(pd.read_csv(tmp_path / "p.csv")["task"]) == {"task_a", "task_b"}
    capsys.readouterr()
    assert main(["sweep", "--data", str(data), "--task", "click", "--points", "2"]) == 2
    assert "two tasks" in capsys.readouterr().err
    assert main(["corrlab", "--correlations", "0,x"]) == 2
    assert "error: --correlations" in capsys.readouterr().err
