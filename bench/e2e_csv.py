"""End to end from a 1M-row CSV, timing each stage (target: < 60 s, peak memory < 4 GB on
2 cores):

    read (mtl_core.data.io.read_table) -> profile (schema.infer_schema) -> prepare (pipeline.prepare:
    schema + tasks + split 80/10/10 + Preprocessor fit/transform) -> model -> train
    (trainer.Trainer.fit, one MMoE epoch, validation each epoch) -> test metrics
    (pipeline.evaluate_prepared)

    python bench/e2e_csv.py                      # 1M rows (writes bench/out/aliccp_1000000_s0.csv once)
    python bench/e2e_csv.py --rows 50000         # smoke test
    python bench/e2e_csv.py --profile prepare    # cProfile one stage (top functions printed)

The CSV is make_data.py's dataset (23 integer id columns named *_id -> categorical, 8 dense,
click, purchase). Writing the CSV is not timed.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import make_data  # noqa: E402


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--profile", default="", help="stage to run under cProfile: read|profile|prepare|train|evaluate")
    a = ap.parse_args()

    make_data.ensure(a.rows, a.seed, csv=True)
    path = make_data.csv_path(a.rows, a.seed)
    stages: dict[str, float] = {}
    t_all = time.perf_counter()

    def stage(name, fn):
        t0 = time.perf_counter()
        if a.profile == name:
            prof = cProfile.Profile()
            out = prof.runcall(fn)
            pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
        else:
            out = fn()
        stages[name] = time.perf_counter() - t0
        print(f"{name:<9} {stages[name]:7.2f} s   peak RSS {rss_mb():7,.0f} MB", flush=True)
        return out

    import torch  # noqa: F401  (import time is reported separately below)

    stages["import torch"] = time.perf_counter() - t_all
    from mtl_core.config import ModelConfig, RunConfig, SplitConfig, TrainConfig
    from mtl_core.training.device import set_threads
    from mtl_core.data.io import read_table
    from mtl_core.pipeline import build_run_model, evaluate_prepared, prepare
    from mtl_core.data.schema import infer_schema
    from mtl_core.training.trainer import Trainer

    set_threads(a.threads)
    cfg = RunConfig()
    cfg.data.path = str(path)
    cfg.data.tasks = ["click", "purchase"]
    cfg.split = SplitConfig(method="random", train=0.8, val=0.1, test=0.1, seed=0)
    cfg.model = ModelConfig(arch="mmoe", embed_dim=4, hidden=[16], tower_hidden=[8], n_experts=8)
    cfg.train = TrainConfig(epochs=1, batch_size=a.batch, lr=1e-3, weight_decay=1e-4, patience=0, device="cpu",
                            seed=0, num_threads=a.threads)
    df = stage("read", lambda: read_table(str(path), cfg.data.read, cfg.limits))
    schema = stage("profile", lambda: infer_schema(df))
    roles = {c.name: getattr(c.role, "value", c.role) for c in schema.columns}
    prep = stage("prepare", lambda: prepare(cfg, df))

    def train():
        torch.manual_seed(0)
        model = build_run_model(prep)
        tr = Trainer(model, prep.task_infos, cfg.train, inverse_target=prep.preprocessor.inverse_target)
        return tr, tr.fit(prep.encoded["train"], prep.encoded["val"])

    trainer, result = stage("train", train)
    metrics, _, _ = stage("evaluate", lambda: evaluate_prepared(prep, trainer.model, trainer.device))
    total = time.perf_counter() - t_all
    aucs = {t: round(m.get("auc", float("nan")), 4) for t, m in metrics["tasks"].items()}
    summary = {"rows": len(df), "csv_mb": round(path.stat().st_size / 2**20, 1), "stages_s": {k: round(v, 2) for k, v in stages.items()},
               "total_s": round(total, 2), "peak_rss_mb": round(rss_mb()), "train_samples_per_s": round(result.samples_per_s),
               "test_auc": aucs, "n_cat": len(prep.cat_cols), "n_num": len(prep.num_cols),
               "roles": {r: sum(1 for v in roles.values() if v == r) for r in sorted(set(roles.values()))},
               "load_avg": " ".join(Path("/proc/loadavg").read_text().split()[:3])}
    print(json.dumps(summary, indent=2))
    print(f"TOTAL {total:.1f} s (target < 60 s), peak RSS {rss_mb():,.0f} MB (target < 4096 MB)")


if __name__ == "__main__":
    main()
