"""AppTest: the Data page's "Sales table from transactions" tab and the Results page's
test-prediction download and "Score a file" section."""
from __future__ import annotations

import numpy as np
import pandas as pd

from apptest_support import assert_no_errors, new_app, open_page, put_frame
from mtl_core.app import state as app_state
from mtl_core.config import RunConfig
from mtl_core.data.synth import make_synthetic
from mtl_core.pipeline import run_experiment
from mtl_core.runs import default_runs_root


def _log() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 400
    return pd.DataFrame({
        "Invoice": [f"C{i}" if i % 40 == 0 else str(1000 + i // 3) for i in range(n)],
        "StockCode": rng.choice([f"s{i}" for i in range(12)], n),
        "Quantity": rng.integers(1, 12, n), "Price": rng.uniform(0.5, 9, n).round(2),
        "Customer ID": rng.integers(1, 60, n),
        "InvoiceDate": (pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 120, n), unit="D")).astype(str),
    })


def test_sales_tab_builds_a_sales_table(runs_root):
    at = put_frame(open_page("pages/data.py"), _log(), "retail.csv", 3)
    assert_no_errors(at)
    assert at.selectbox(key="sal_key_3").value == "StockCode"
    assert at.selectbox(key="sal_qty_3").value == "Quantity"
    assert at.selectbox(key="sal_inv_3").value == "Invoice"
    at.button(key="sal_go").click().run()
    assert_no_errors(at)
    df = at.session_state["df"]
    assert {"next_quantity", "buys_next", "to_forecast", "quantity_lag1"} <= set(df.columns)
    assert df["StockCode"].nunique() == 12
    assert at.session_state["tasks"] == ["next_quantity", "buys_next"]
    assert any("zero-filled" in s.value for s in at.success), [s.value for s in at.success]


def test_results_offer_test_predictions_and_score_a_file(runs_root):
    at = new_app()
    at.run()
    sid = at.session_state["sid"]
    df = make_synthetic(rows=600, seed=2)
    cfg = RunConfig()
    cfg.data.tasks = ["click", "rating:regression"]
    cfg.train.epochs = 1
    run_experiment(cfg.validate(), df=df, runs_root=app_state.session_runs_root(default_runs_root(), sid))
    at.switch_page("pages/results.py")
    at.run()
    assert_no_errors(at)
    labels = [b.label for b in at.get("download_button")]
    assert "Test-split predictions (CSV)" in labels, labels
    assert any(s.value == "Score a file" for s in at.subheader)


def _trained(at, arch: str = "shared_bottom", rows: int = 600):
    df = make_synthetic(rows=rows, seed=2)
    cfg = RunConfig()
    cfg.data.tasks = ["click", "rating:regression"]
    cfg.model.arch = arch
    cfg.train.epochs = 1
    res = run_experiment(cfg.validate(), df=df,
                         runs_root=app_state.session_runs_root(default_runs_root(), at.session_state["sid"]))
    return df, res


def test_continue_training_writes_a_run_that_names_its_parent(runs_root):
    from mtl_core.runs import list_runs, load_run

    at = new_app()
    at.run()
    df, res = _trained(at)
    at.switch_page("pages/results.py")
    at.run()
    assert_no_errors(at)
    rid = load_run(res.run_dir).run_id
    assert at.button(key=f"resume_go_{rid}").disabled  # nothing uploaded yet
    at.get("file_uploader")[-1].upload("more.csv", df.sample(300, random_state=1).to_csv(index=False).encode(), "text/csv")
    at.run()
    at.number_input(key=f"resume_ep_{rid}").set_value(2).run()
    at.button(key=f"resume_go_{rid}").click().run()
    assert_no_errors(at)
    from pages._ui import job_manager

    job = job_manager().get(at.session_state[f"resume_job_{rid}"])
    assert job.wait(120) and job.status == "done", job.snapshot()
    at.run()
    assert_no_errors(at)
    assert any("is saved" in s.value for s in at.success), [s.value for s in at.success]
    root = app_state.session_runs_root(default_runs_root(), at.session_state["sid"])
    children = [r for r in list_runs(root) if str(r.path) != str(res.run_dir)]
    assert len(children) == 1
    child = load_run(children[0].path)
    assert child.config.parent == str(load_run(res.run_dir).path.resolve())
    assert child.config.train.epochs == 2 and child.config.data.path == "more.csv"
    assert load_run(res.run_dir).config.parent is None  # the parent's config is untouched


def test_onnx_download_for_torch_runs_only(runs_root):
    at = new_app()
    at.run()
    df, res = _trained(at)
    at.session_state["df"] = df  # the run was trained from memory: the check uses the session's table
    at.switch_page("pages/results.py")
    at.run()
    from mtl_core.runs import load_run

    rid = load_run(res.run_dir).run_id
    at.button(key=f"onnx_go_{rid}").click().run()
    assert_no_errors(at)
    report = at.session_state[f"onnx_{rid}"][1]
    assert report["ok"] and max(report["max_abs_diff"].values()) <= 1e-5, report["max_abs_diff"]
    assert len(at.session_state[f"onnx_{rid}"][0]) > 1000  # the model file's bytes
    assert f"{rid}.onnx" in " ".join(b.label for b in at.get("download_button"))
    assert any("max abs diff" in s.value for s in at.success)

    at2 = new_app()
    at2.run()
    _trained(at2, arch="sklearn")
    at2.switch_page("pages/results.py")
    at2.run()
    assert_no_errors(at2)
    assert not [b for b in at2.button if (b.key or "").startswith("onnx_go_")]
    assert not [b for b in at2.get("download_button") if b.label.endswith(".onnx")]
    assert any("ONNX export is for torch runs" in c.value for c in at2.caption)
