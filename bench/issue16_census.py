"""Issue 16 on Census-Income: logistic regression, per-task gradient boosting, MTL Lab before,
after (today's defaults) and tuned, per architecture; and the ablation (each change alone).

Census-Income (``census-income.test.gz``, 99,762 rows; income > 50K and never married, the
README's seeded random 80/10/10 split). Columns, all test AUC of both tasks on the same rows:

- ``logistic``: ``--arch sklearn`` (one logistic regression per task) on the default features;
- ``gbm``: the per-task gradient-boosting reference (``baselines.gbm``);
- ``before``: the defaults before issue 16 (10 epochs, patience 3, Adam lr 1e-3 constant,
  batch 1024, embedding 8, numeric features as one z-scored scalar);
- ``after``: today's defaults (``TrainConfig()``, ``ModelConfig()``, ``PreprocessConfig()``);
- ``tuned``: ``--tune N`` from today's defaults, trials compared on the validation AUC (mean of
  the tasks, ``--early-stopping-metric auc``), the chosen trial's test AUC reported once; each
  trial's model at most 4x the defaults' cost per row (the tuner's bound), and ``--tune-time S``
  starts no trial after S seconds (the cell then records how many trials ran).

``--table ablation`` instead trains MMoE from ``before`` with one change each. Results are
cached per cell in ``--cache`` (JSON), so a table can be built in pieces (``--archs``,
``--columns``) and printed again without training (``--print``).

    python bench/issue16_census.py [--archs mmoe,shared_bottom,ple] [--trials 6] [--seed 0]
    python bench/issue16_census.py --table ablation
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

# (preprocess, model, train) overrides of today's defaults that give the defaults before issue 16
BEFORE = ({"numeric_encoding": "scalar", "scaling": "zscore"}, {"embed_dim": 8, "dropout": 0.0},
          {"epochs": 10, "patience": 3, "lr": 1e-3, "lr_schedule": "constant", "batch_size": 1024,
           "weight_decay": 0.0})
# ablation: one change each, on top of BEFORE
CHANGES = {
    "cosine schedule (1 warm-up epoch)": ({}, {}, {"lr_schedule": "cosine"}),
    "one-cycle schedule": ({}, {}, {"lr_schedule": "onecycle"}),
    "batch 256": ({}, {}, {"batch_size": 256}),
    "20 epochs (patience 3)": ({}, {}, {"epochs": 20}),
    "lr 2e-3": ({}, {}, {"lr": 2e-3}),
    "lr 3e-3": ({}, {}, {"lr": 3e-3}),
    "numeric encoding ple": ({"numeric_encoding": "ple"}, {}, {}),
    "numeric encoding periodic": ({"numeric_encoding": "periodic"}, {}, {}),
    "quantile scaling": ({"scaling": "quantile"}, {}, {}),
    "embedding 16": ({}, {"embed_dim": 16}, {}),
}
COLUMNS = ("logistic", "gbm", "before", "after", "tuned")


def settings(kind: str):
    """(preprocess, model, train) overrides of a cell kind: before, after, or an ablation change."""
    if kind == "after":
        return {}, {}, {}
    pre, mod, tr = (dict(x) for x in BEFORE)
    if kind in CHANGES:
        for base, extra in zip((pre, mod, tr), CHANGES[kind]):
            base.update(extra)
    return pre, mod, tr


class Bench:
    def __init__(self, data: str, seed: int, threads: int, cache: Path, tune_time: float | None = None):
        from census_weighting import NAMES

        from mtl_core.config import ReadOptions
        from mtl_core.data.io import read_table

        self.seed, self.threads, self.cache, self.tune_time = seed, threads, cache, tune_time
        self.read = ReadOptions(header=False, names=NAMES)
        self.data = data
        self.df = read_table(data, self.read)
        self.preps: dict[str, object] = {}
        self.results = json.loads(cache.read_text()) if cache.exists() else {}

    def config(self, arch: str, kind: str):
        from census_weighting import TASKS

        from mtl_core.config import DataConfig, ModelConfig, PreprocessConfig, RunConfig, SplitConfig, TrainConfig

        pre, mod, tr = settings(kind)
        return RunConfig(data=DataConfig(path=self.data, read=self.read, tasks=list(TASKS), drop=["instance_weight"]),
                         split=SplitConfig(seed=self.seed), preprocess=PreprocessConfig(**pre),
                         model=dataclasses.replace(ModelConfig(), arch=arch, **mod),
                         train=dataclasses.replace(TrainConfig(), seed=self.seed, num_threads=self.threads,
                                                   diagnostics=False, **tr)).validate()

    def prep(self, cfg):
        from mtl_core.pipeline import prepare

        key = json.dumps(dataclasses.asdict(cfg.preprocess), sort_keys=True)
        if key not in self.preps:
            self.preps[key] = prepare(cfg, self.df.copy())
        return self.preps[key]

    def cell(self, arch: str, kind: str, trials: int = 6) -> dict:
        key = f"{self.seed}|{arch}|{kind}" + (f"|{trials}" if kind == "tuned" else "")
        if key not in self.results:
            t0 = time.perf_counter()
            self.results[key] = {**self._measure(arch, kind, trials), "seconds": round(time.perf_counter() - t0)}
            self.cache.write_text(json.dumps(self.results, indent=1))
            print(f"{key}: {self.results[key]}", file=sys.stderr, flush=True)
        return self.results[key]

    def _measure(self, arch: str, kind: str, trials: int) -> dict:
        from mtl_core.lab import train_eval
        from mtl_core.lab.common import gbm_test_scores

        if kind == "gbm":
            return {"test": gbm_test_scores(self.prep(self.config("mmoe", "after")))}
        if kind == "tuned":
            return self._tuned(arch, trials)
        cfg = self.config("sklearn" if kind == "logistic" else arch, "after" if kind == "logistic" else kind)
        prep = self.prep(cfg)
        val, test, res = train_eval(prep, prep.task_infos, cfg.model, cfg.train, cfg.model.arch)
        return {"val": val, "test": test, "best_epoch": res.best_epoch}

    def _tuned(self, arch: str, trials: int) -> dict:
        from mtl_core.tuning.search import tune

        cfg = self.config(arch, "after")
        cfg.train.early_stopping_metric = "auc"
        cfg.evaluation.gbm = False  # the reference is its own column; trials need not refit it
        with tempfile.TemporaryDirectory() as tmp:
            res = tune(cfg, trials, self.df.copy(), runs_root=tmp, time_budget_s=self.tune_time)
        tasks = res.metrics.get("tasks", {})
        return {"test": {t: m.get("auc") for t, m in tasks.items()}, "val_auc": res.best.val_score,
                "trial": res.best.number, "settings": res.best.params, "status": res.status,
                "trials_run": len(res.trials), "time_budget_s": self.tune_time,
                "val_scores": [t.val_score for t in res.trials]}


def _pair(r: dict | None) -> str:
    if not r or not r.get("test"):
        return "–"
    return " / ".join(f"{v:.4f}" for v in r["test"].values())


def main(argv=None) -> int:
    from census_weighting import DATA

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", default="archs", choices=("archs", "ablation"))
    ap.add_argument("--archs", default="mmoe,shared_bottom,ple")
    ap.add_argument("--columns", default=",".join(COLUMNS))
    ap.add_argument("--trials", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--tune-time", type=float, help="tuned: the tuner's time budget in seconds (default none)")
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "issue16_census.json"))
    ap.add_argument("--print", action="store_true", help="only print the table from the cache")
    a = ap.parse_args(argv)

    import torch

    torch.set_num_threads(a.threads)
    cache = Path(a.cache)
    b = Bench(a.data, a.seed, a.threads, cache, a.tune_time) if not a.print else None
    results = b.results if b else json.loads(cache.read_text())

    def get(arch, kind, trials=a.trials):
        key = f"{a.seed}|{arch}|{kind}" + (f"|{trials}" if kind == "tuned" else "")
        return b.cell(arch, kind, trials) if b else results.get(key)

    cols = [c for c in a.columns.split(",") if c]
    print("Test AUC, income > 50K / never married (seed %d)\n" % a.seed)
    if a.table == "ablation":
        base = get("mmoe", "before")
        print("| change (from before, MMoE) | test income | test never married | Δ income | Δ never married "
              "| val income | val never married |")
        print("|---|---|---|---|---|---|---|")
        for kind in ("before", *CHANGES, "after"):
            r = get("mmoe", kind) if kind != "after" or "after" in cols else None
            if not r or not base:
                continue
            d = [r["test"][t] - base["test"][t] for t in base["test"]]
            name = {"before": "before (pre-issue-16 defaults)", "after": "all of today's defaults"}.get(kind, kind)
            print(f"| {name} | {' | '.join(f'{v:.4f}' for v in r['test'].values())} | "
                  f"{' | '.join(f'{x:+.4f}'.replace('-0.0000', '+0.0000') for x in d)} | "
                  f"{' | '.join(f'{v:.4f}' for v in r['val'].values())} |")
        return 0
    shared = {c: get("mmoe", c) for c in ("logistic", "gbm") if c in cols}
    label = {"logistic": "logistic regression", "gbm": "per-task boosting", "before": "MTL Lab before",
             "after": "MTL Lab after (defaults)", "tuned": f"MTL Lab tuned ({a.trials} trials)"}
    print("| architecture | " + " | ".join(label[c] for c in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for arch in [x for x in a.archs.split(",") if x]:
        cells = [_pair(shared[c] if c in shared else get(arch, c)) for c in cols]
        print(f"| `{arch}` | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
