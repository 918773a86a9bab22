"""Continue training vs retraining, and ONNX parity, on the Online Retail II weekly product table.

    python bench/sales_resume.py [--keys 1000] [--epochs 4] [--data PARQUET]

Periods are cut in three: A (first 60 %), B (next 20 %), C (last 20 %, the evaluation).
``parent`` trains on A; ``continued`` resumes it on B (train --resume: A's preprocessing,
new ids unknown); ``scratch`` trains on A+B with the epochs of both. All three score C with
``mtl_core.predict.score_frame``. The continued run is then exported to ONNX and checked
with onnxruntime on its test split.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.sales_forecast import DATA, TASKS, tables  # noqa: E402
from mtl_core.config import RunConfig  # noqa: E402
from mtl_core.evaluation.forecast import forecast_metrics  # noqa: E402
from mtl_core.evaluation.metrics import binary_metrics  # noqa: E402
from mtl_core.export import export_onnx  # noqa: E402
from mtl_core.pipeline import run_experiment  # noqa: E402
from mtl_core.predict import resume_config, score_frame  # noqa: E402
from mtl_core.runs import load_run  # noqa: E402


def _config(path: Path, epochs: int) -> RunConfig:
    cfg = RunConfig()
    cfg.data.path = str(path)
    cfg.data.tasks = list(TASKS)
    cfg.train.epochs = epochs
    cfg.train.batch_size = 512
    cfg.train.lr_schedule = "constant"  # the setting the README's tables were measured with
    cfg.train.lr, cfg.preprocess.numeric_encoding = 1e-3, "scalar"  # (the defaults before issue 16)
    cfg.train.num_threads = 1
    return cfg.validate()


def _score(run_dir, c: pd.DataFrame) -> dict:
    pred = score_frame(load_run(run_dir), c)
    q = forecast_metrics(c["next_quantity"], pred["pred:next_quantity"])
    auc = binary_metrics(c["buys_next"].to_numpy(), pred["pred:buys_next"].to_numpy()).get("auc")
    return {"next_quantity_rmse": q["rmse"], "next_quantity_wape": q["wape"], "buys_next_auc": auc}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--data", default=str(DATA))
    a = ap.parse_args()
    name, table, _, _ = next(tables(pd.read_parquet(a.data), a.keys))
    table = table[table["to_forecast"] == 0]
    periods = np.sort(table["period"].unique())
    cut1, cut2 = periods[int(len(periods) * 0.6)], periods[int(len(periods) * 0.8)]
    parts = {"A": table[table["period"] < cut1], "B": table[(table["period"] >= cut1) & (table["period"] < cut2)],
             "C": table[table["period"] >= cut2]}
    out: dict = {"table": name, "periods": {k: [str(v["period"].min()), str(v["period"].max()), len(v)] for k, v in parts.items()}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for k in ("A", "B"):
            parts[k].to_csv(tmp / f"{k}.csv", index=False)
        pd.concat([parts["A"], parts["B"]]).to_csv(tmp / "AB.csv", index=False)
        parent = run_experiment(_config(tmp / "A.csv", a.epochs), runs_root=tmp / "runs").run_dir
        child = run_experiment(resume_config(parent, tmp / "B.csv", a.epochs), runs_root=tmp / "runs").run_dir
        scratch = run_experiment(_config(tmp / "AB.csv", 2 * a.epochs), runs_root=tmp / "runs").run_dir
        out["eval_on_C"] = {"parent (A)": _score(parent, parts["C"]), "continued (A then B)": _score(child, parts["C"]),
                            "scratch (A+B)": _score(scratch, parts["C"])}
        print(json.dumps(out, indent=1, default=str), flush=True)
        out = {"onnx": export_onnx(load_run(child), tmp / "model.onnx")}
    print(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
