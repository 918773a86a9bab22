"""The profile and evaluate stages of ``e2e_csv.py`` without the training in between (the
model is freshly initialised: evaluation costs the same for any weights), for this checkout
or another source tree (``--src``, e.g. main's exported with ``git archive``), to compare
before/after in CPU seconds on a shared machine:

    python bench/eval_stage.py --rows 5000000
    git archive main mtl_core | tar -x -C /tmp/main_src
    python bench/eval_stage.py --rows 5000000 --src /tmp/main_src
    python bench/eval_stage.py --rows 1000000 --profile evaluate     # cProfile, top functions

Each stage prints wall and CPU seconds, the RSS before it, its own peak RSS (the kernel's
high-water mark reset at the stage's start) and the RSS after it; then the test metrics, so
two trees can be checked for the same numbers. The CSVs are ``e2e_csv.py``'s
(``bench/out/aliccp_<rows>_s0.csv``); the settings are the e2e's (MMoE, scalar numerics).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _status(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (Linux)
    except OSError:
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--src", default=str(HERE.parent), help="source tree holding mtl_core")
    ap.add_argument("--profile", default="", help="stage to run under cProfile: read|profile|prepare|evaluate")
    a = ap.parse_args()
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, a.src)
    import make_data
    import profiled
    import torch
    from mtl_core.config import ModelConfig, RunConfig, SplitConfig, TrainConfig
    from mtl_core.data.io import read_table
    from mtl_core.data.schema import infer_schema
    from mtl_core.pipeline import build_run_model, evaluate_prepared, prepare
    from mtl_core.training.device import set_threads

    set_threads(a.threads)
    path = make_data.csv_path(a.rows, 0)
    cfg = RunConfig()
    cfg.data.path, cfg.data.tasks = str(path), ["click", "purchase"]
    cfg.split = SplitConfig(method="random", train=0.8, val=0.1, test=0.1, seed=0)
    cfg.model = ModelConfig(arch="mmoe", embed_dim=4, hidden=[16], tower_hidden=[8], n_experts=8)
    cfg.preprocess.numeric_encoding, cfg.evaluation.gbm = "scalar", False
    cfg.train = TrainConfig(epochs=1, batch_size=1024, device="cpu", seed=0, num_threads=a.threads)
    stages: dict[str, dict] = {}

    def stage(name, fn):
        _reset_peak()
        before, t0, c0 = _status("VmRSS"), time.perf_counter(), time.process_time()
        out = profiled.call(fn, a.profile == name, 30)
        s = stages[name] = {"wall_s": round(time.perf_counter() - t0, 2), "cpu_s": round(time.process_time() - c0, 2),
                            "rss_before_mb": round(before), "stage_peak_mb": round(_status("VmHWM")),
                            "rss_after_mb": round(_status("VmRSS"))}
        print(f"{name:<9} wall {s['wall_s']:7.2f} s  CPU {s['cpu_s']:6.2f} s  RSS before {before:7,.0f} MB, "
              f"stage peak {s['stage_peak_mb']:7,} MB, after {s['rss_after_mb']:7,} MB", flush=True)
        return out

    load = os.getloadavg()
    df = stage("read", lambda: read_table(str(path), cfg.data.read, cfg.limits))
    stage("profile", lambda: infer_schema(df))
    prep = stage("prepare", lambda: prepare(cfg, df))
    torch.manual_seed(0)
    model = build_run_model(prep)
    metrics, _, _ = stage("evaluate", lambda: evaluate_prepared(prep, model, torch.device("cpu")))
    keys = ("auc", "average_precision", "logloss", "f1", "threshold")
    print(json.dumps({"src": a.src, "rows": a.rows, "threads": a.threads, "load_avg": [round(x, 2) for x in load],
                      "load_avg_end": [round(x, 2) for x in os.getloadavg()], "stages": stages,
                      "tasks": {t: {k: m.get(k) for k in keys} for t, m in metrics["tasks"].items()},
                      "ranking": metrics.get("ranking"),
                      "catalog": {t: {k: v for k, v in c.items() if k != "warnings"}
                                  for t, c in (metrics.get("catalog") or {}).items()}}))


if __name__ == "__main__":
    main()
