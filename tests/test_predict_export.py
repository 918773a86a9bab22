"""Scoring new rows with a saved run (round trip), sales-table training with naive
baselines, the CLI commands and the ONNX export's parity."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mtl_core.cli import main
from mtl_core.config import RunConfig
from mtl_core.data.sales import build_sales_table
from mtl_core.data.split import split_indices
from mtl_core.data.synth import make_synthetic
from mtl_core.errors import DataError
from mtl_core.evaluation.forecast import forecast_metrics, naive_baselines, verdict
from mtl_core.pipeline import run_experiment
from mtl_core.predict import score_frame
from mtl_core.runs import load_run


def _config(path, tasks, arch="mmoe", epochs=2) -> RunConfig:
    cfg = RunConfig()
    cfg.data.path = str(path)
    cfg.data.tasks = tasks
    cfg.model.arch = arch
    cfg.train.epochs = epochs
    cfg.train.batch_size = 256
    return cfg.validate()


@pytest.fixture(scope="module")
def synth_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("predict")
    path = d / "synth.csv"
    make_synthetic(rows=1500, seed=3).to_csv(path, index=False)
    res = run_experiment(_config(path, ["click", "rating:regression", "segment_label", "sales:regression"]), runs_root=d / "runs")
    return load_run(res.run_dir), pd.read_csv(path)


def test_predict_round_trip_matches_test_predictions(synth_run):
    run, df = synth_run
    cfg = run.config
    test = split_indices(df, cfg.split, time_col=run.meta["time_col"], user_col=run.meta["user_col"])["test"]
    new = df.iloc[test].drop(columns=["click", "rating", "segment_label", "sales"]).reset_index(drop=True)
    scored = score_frame(run, new)
    saved = run.predictions
    assert len(scored) == len(new) == len(saved)
    np.testing.assert_allclose(scored["pred:click"], saved["pred:click"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scored["pred:rating"], saved["pred:rating"], rtol=1e-5, atol=1e-5)
    assert run.metrics["tasks"]["sales"]["log1p"]  # skewed: trained on log1p, scored in units
    np.testing.assert_allclose(scored["pred:sales"], saved["pred:sales"], rtol=1e-5, atol=1e-5)
    classes = run.task_infos[2].classes
    assert list(scored["pred:segment_label"]) == [classes[i] for i in saved["pred:segment_label"]]
    assert list(scored[run.meta["user_col"]].astype(str)) == list(new[run.meta["user_col"]].astype(str))
    # row order is kept: reversed input, reversed output
    rev = score_frame(run, new.iloc[::-1].reset_index(drop=True))
    np.testing.assert_allclose(rev["pred:click"].to_numpy()[::-1], scored["pred:click"].to_numpy(), atol=1e-6)


def test_predict_unknown_categories_and_missing_column(synth_run):
    run, df = synth_run
    new = df.head(20).copy()
    new["item_brand"] = "never-seen-brand"
    scored = score_frame(run, new)
    assert scored["pred:click"].between(0, 1).all()
    with pytest.raises(DataError, match="'item_brand'"):
        score_frame(run, df.head(5).drop(columns="item_brand"))


def test_predict_cli_escapes_formula_cells(synth_run, tmp_path, capsys):
    run, df = synth_run
    new = df.head(10).copy()
    new[run.meta["user_col"]] = "=HYPERLINK(1)"
    src, out = tmp_path / "new.csv", tmp_path / "pred.csv"
    new.to_csv(src, index=False)
    assert main(["predict", "--run", str(run.path), "--data", str(src), "--out", str(out)]) == 0
    text = out.read_text()
    assert "'=HYPERLINK" in text and ",\"=HYPERLINK" not in text
    back = pd.read_csv(out)
    assert len(back) == 10 and "pred:click" in back
    code = main(["predict", "--run", str(run.path), "--data", str(tmp_path / "nope.csv"), "--out", str(out)])
    assert code == 2


def test_onnx_export_parity(synth_run, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    run, _ = synth_run
    out = tmp_path / "model.onnx"
    assert main(["export", "--run", str(run.path), "--format", "onnx", "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["rows_checked"] == len(run.predictions)
    assert report["worst"] <= 1e-5
    # onnxruntime alone, from encoded arrays, reproduces the run's own test predictions
    import onnxruntime as ort

    from mtl_core.export import test_inputs

    cat, num = test_inputs(run)
    got = ort.InferenceSession(str(out)).run(["click", "rating"], {"cat": cat, "num": num})
    np.testing.assert_allclose(got[0], run.predictions["pred:click"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1], run.predictions["pred:rating"], rtol=1e-4, atol=1e-4)
    sales = ort.InferenceSession(str(out)).run(["sales"], {"cat": cat, "num": num})[0]
    np.testing.assert_allclose(sales, run.predictions["pred:sales"], rtol=1e-4, atol=1e-4)


def test_forecast_metrics_and_verdict():
    y = np.array([0.0, 2.0, 4.0, 10.0])
    m = forecast_metrics(y, np.array([1.0, 2.0, 3.0, 10.0]))
    assert m["wape"] == pytest.approx(2 / 16) and m["mae"] == pytest.approx(0.5)
    assert "mape" not in m  # an actual zero
    assert forecast_metrics(y[1:], y[1:] * 1.1)["mape"] == pytest.approx(0.1)
    base = naive_baselines(y, train_mean=4.0, last_period=np.array([2.0, 0.0, 2.0, 4.0]))
    assert base["mean"]["rmse"] == pytest.approx(np.sqrt((16 + 4 + 0 + 36) / 4))
    assert base["last_period"]["wape"] == pytest.approx(12 / 16)
    text = verdict("q", m, base)
    assert "beats last_period" in text and "NOT" not in text
    lost = verdict("q", {"rmse": 99.0, "wape": 9.0}, base)
    assert "does NOT beat last_period" in lost and "mean (RMSE 3.742" in lost


def test_sales_table_training_reports_naive_baselines(tmp_path):
    rng = np.random.default_rng(0)
    n = 1200
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 200, n), unit="D")
    log = pd.DataFrame({"inv": rng.integers(0, 900, n).astype(str), "item": rng.choice([f"p{i}" for i in range(60)], n),
                        "qty": rng.integers(1, 20, n), "price": rng.uniform(1, 5, n), "when": days})
    table, _ = build_sales_table(log, "item", "when", "qty", price_col="price", invoice_col="inv")
    path = tmp_path / "sales.csv"
    table.to_csv(path, index=False)
    res = run_experiment(_config(path, ["next_quantity:regression", "buys_next:binary"], arch="sklearn", epochs=1),
                         runs_root=tmp_path / "runs")
    cfg = load_run(res.run_dir).config
    assert cfg.split.method == "temporal" and cfg.data.time_col == "period"
    assert "next_revenue" in cfg.data.drop and "to_forecast" in cfg.data.drop
    # the history columns are numeric features (inference alone takes some counts for labels)
    num = set(load_run(res.run_dir).preprocessor().num_cols)
    assert {"quantity", "orders", "quantity_lag1", "quantity_lag4", "quantity_trend", "periods_since_sale"} <= num
    t = res.metrics["tasks"]["next_quantity"]
    assert {"last_period", "last_4_mean", "mean"} <= set(t["baselines"])
    assert t["wape"] is not None and "next_quantity: the model" in t["verdict"]
    assert res.metrics["split"]["train"] + res.metrics["split"]["val"] + res.metrics["split"]["test"] == int((table["to_forecast"] == 0).sum())


@pytest.mark.parametrize("mode,expect", [("auto", True), ("off", False), ("on", True)])
def test_log1p_target_auto_for_skewed_targets(mode, expect):
    from mtl_core.config import PreprocessConfig
    from mtl_core.data.preprocessing import Preprocessor
    from mtl_core.types import TaskSpec

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=500), "y": rng.lognormal(0, 2, 500)})
    pre = Preprocessor(PreprocessConfig(log_target=mode).validate(), [], ["x"], [TaskSpec("y", "regression")])
    enc = pre.fit_transform(df)
    assert bool(pre.target_state_["y"]["log1p"]) is expect
    np.testing.assert_allclose(pre.inverse_target("y", enc.labels["y"]), df["y"], rtol=1e-4)
    back = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    np.testing.assert_allclose(back.inverse_target("y", enc.labels["y"]), df["y"], rtol=1e-4)
    if mode == "auto":  # a symmetric target keeps its units
        sym = Preprocessor(PreprocessConfig(), [], ["x"], [TaskSpec("x2", "regression")])
        sym.fit(df.assign(x2=df["x"]))
        assert not sym.target_state_["x2"]["log1p"]


def test_sales_cli_writes_table_and_report(tmp_path, capsys):
    rng = np.random.default_rng(1)
    n = 300
    log = pd.DataFrame({"inv": [f"C{i}" if i % 25 == 0 else str(i) for i in range(n)],
                        "sku": rng.choice(["a", "b", "c"], n), "qty": rng.integers(1, 9, n),
                        "amount": rng.uniform(1, 50, n),
                        "ts": (pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 90, n), unit="D")).astype(str)})
    log.loc[n - 1, "ts"] = "2024-05-31 18:00"  # May is covered to its last day
    src, out = tmp_path / "log.csv", tmp_path / "sales.csv"
    log.to_csv(src, index=False)
    args = ["sales", "--data", src, "--key-col", "sku", "--time-col", "ts", "--quantity-col", "qty",
            "--amount-col", "amount", "--invoice-col", "inv", "--period", "month", "--out", out]
    assert main([str(a) for a in args]) == 0
    report = json.loads(capsys.readouterr().out)
    table = pd.read_csv(out)
    assert report["rows"] == len(table) == 9 and report["return_lines"] == 12
    assert set(table.columns) >= {"sku", "period", "next_quantity", "buys_next", "to_forecast", "quantity_lag1"}
    assert main([str(a) for a in args[:-1] + [tmp_path / "x.csv"] + ["--price-col", "qty"]]) == 2


def test_resume_continues_parent_with_its_preprocessing(tmp_path, capsys):
    df = make_synthetic(rows=1600, seed=5)
    first, new = tmp_path / "first.csv", tmp_path / "new.csv"
    df.iloc[:800].to_csv(first, index=False)
    more = df.iloc[800:].copy()
    more["item_brand"] = more["item_brand"].astype(str) + "-new"  # every brand unseen by the parent
    more.to_csv(new, index=False)
    parent = run_experiment(_config(first, ["click", "rating:regression"], epochs=1), runs_root=tmp_path / "runs")
    code = main(["train", "--resume", str(parent.run_dir), "--data", str(new), "--epochs", "2",
                 "--out", str(tmp_path / "runs"), "--quiet"])
    assert code == 0
    child_dir = json.loads((o := capsys.readouterr().out)[o.index("{"):])["run_dir"]
    child, par = load_run(child_dir), load_run(parent.run_dir)
    assert child.config.parent == str(parent.run_dir.resolve())
    assert child.config.train.epochs == 2 and child.config.data.path == str(new)
    # same fitted preprocessing: vocabularies and scaler are the parent's, new brands are unknown (0)
    assert child.preprocessor().to_dict()["state"]["cat_vocab"] == par.preprocessor().to_dict()["state"]["cat_vocab"]
    j = child.preprocessor().cat_cols.index("item_brand")
    assert (child.preprocessor().transform(more).cat[:, j] == 0).all()
    # training started from the parent's weights and moved them
    a, b = par.model().state_dict(), child.model().state_dict()
    assert a.keys() == b.keys() and any(not np.allclose(a[k], b[k]) for k in a)
    from mtl_core.predict import resume_config

    still = resume_config(parent.run_dir, new, epochs=1)
    still.train.optimizer, still.train.lr = "sgd", 1e-12  # no step: the continued model IS the parent's
    c = load_run(run_experiment(still, runs_root=tmp_path / "runs").run_dir).model().state_dict()
    assert all(np.allclose(a[k], c[k], atol=1e-8) for k in a)
    with pytest.raises(DataError, match="'item_brand'"):
        more.drop(columns="item_brand").to_csv(new, index=False)
        run_experiment(resume_config(parent.run_dir, new), runs_root=tmp_path / "runs")
