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
