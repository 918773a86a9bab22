"""Issue 16, step 1: which change of the defaults makes Census reach the boosting reference?

MMoE on Census-Income (README split: random 80/10/10; ``--seeds`` changes split and
initialisation) with today's defaults plus one candidate change each; candidates are compared on
the VALIDATION AUC of both tasks (the test AUC is printed for the record only; the chosen
defaults' test AUC is reported once in README). The gradient-boosting reference's validation and
test AUC on the same rows are printed first.

    python bench/issue16_search.py [--seeds 0] [--only periodic,periodic+embed16] [--threads 1] [--data FILE]

Each epoch's training/validation record goes to stderr.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

# name -> (preprocess overrides, model overrides, train overrides[, periodic encoder constants of
# models/numeric.py: SIGMA, N_FREQUENCIES]), relative to today's defaults
CANDIDATES = {
    "defaults": ({}, {}, {}),
    "periodic": ({"numeric_encoding": "periodic"}, {}, {}),
    "ple": ({"numeric_encoding": "ple"}, {}, {}),
    "periodic+embed16": ({"numeric_encoding": "periodic"}, {"embed_dim": 16}, {}),
    "periodic+20ep": ({"numeric_encoding": "periodic"}, {}, {"epochs": 20}),
    "periodic+lr2e-3": ({"numeric_encoding": "periodic"}, {}, {"lr": 2e-3}),
    "periodic+dropout0.1": ({"numeric_encoding": "periodic"}, {"dropout": 0.1}, {}),
    "periodic+wd1e-5": ({"numeric_encoding": "periodic"}, {}, {"weight_decay": 1e-5}),
    "periodic+embed16+20ep": ({"numeric_encoding": "periodic"}, {"embed_dim": 16}, {"epochs": 20}),
    "periodic+lr2e-3+embed16": ({"numeric_encoding": "periodic"}, {"embed_dim": 16}, {"lr": 2e-3}),
    # round 2 (never married 0.0002 short of boosting on seed 0's test split; docs/PERFORMANCE.md §7c):
    # from today's defaults
    "es_auc": ({}, {}, {"early_stopping_metric": "auc"}),
    "sigma0.3": ({}, {}, {}, {"SIGMA": 0.3}),
    "sigma1": ({}, {}, {}, {"SIGMA": 1.0}),
    "sigma3": ({}, {}, {}, {"SIGMA": 3.0}),
    "uncertainty": ({}, {}, {"weighting": "uncertainty"}),
    "sigma10": ({}, {}, {}, {"SIGMA": 10.0}),
    "sigma3+embed16": ({}, {"embed_dim": 16}, {}, {"SIGMA": 3.0}),
    "sigma3+freq32": ({}, {}, {}, {"SIGMA": 3.0, "N_FREQUENCIES": 32}),
    "sigma3+dropout0.1": ({}, {"dropout": 0.1}, {}, {"SIGMA": 3.0}),
    "sigma3+hidden128": ({}, {"hidden": [128]}, {}, {"SIGMA": 3.0}),
    "sigma3+15ep": ({}, {}, {"epochs": 15}, {"SIGMA": 3.0}),
    "sigma3+lr1e-3": ({}, {}, {"lr": 1e-3}, {"SIGMA": 3.0}),
}

_ENCODER_DEFAULTS: dict = {}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--only", default="", help="comma-separated candidate names (default: all)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-gbm", action="store_true")
    ap.add_argument("--data", default="", help="census-income.test.gz (default ../shared/data/census_kdd/)")
    a = ap.parse_args(argv)

    import dataclasses

    import torch
    from census_weighting import DATA, NAMES, TASKS

    from mtl_core.config import DataConfig, ModelConfig, PreprocessConfig, ReadOptions, RunConfig, SplitConfig
    from mtl_core.config import TrainConfig
    from mtl_core.data.io import read_table
    from mtl_core.lab import train_eval
    from mtl_core.lab.common import gbm_test_scores
    from mtl_core.pipeline import prepare

    torch.set_num_threads(a.threads)
    _ENCODER_DEFAULTS.update(_encoder_defaults())
    df = read_table(a.data or DATA, ReadOptions(header=False, names=NAMES))
    names = [x for x in a.only.split(",") if x] or list(CANDIDATES)
    print("seed,candidate,val_income,val_never_married,test_income,test_never_married,best_epoch,seconds", flush=True)
    for seed in [int(x) for x in a.seeds.split(",") if x.strip()]:
        preps: dict[tuple, object] = {}
        for name in names:
            pre, mod, tr, *enc = CANDIDATES[name]
            _set_encoder(enc[0] if enc else {})
            key = tuple(sorted(pre.items()))
            if key not in preps:
                cfg = RunConfig(data=DataConfig(tasks=list(TASKS), drop=["instance_weight"]),
                                split=SplitConfig(seed=seed), preprocess=PreprocessConfig(**pre))
                preps[key] = prepare(cfg, df.copy())
                if not a.no_gbm and len(preps) == 1:
                    print(f"{seed},gbm,{_gbm_val(preps[key])},"
                          f"{','.join(f'{v:.4f}' for v in gbm_test_scores(preps[key]).values())},,", flush=True)
            prep = preps[key]
            model = dataclasses.replace(ModelConfig(), arch="mmoe", **mod)
            train = dataclasses.replace(TrainConfig(), seed=seed, num_threads=a.threads, diagnostics=False, **tr)
            t0 = time.perf_counter()
            val, test, res = train_eval(prep, prep.task_infos, model, train.validate(), "mmoe")
            v, t = list(val.values()), list(test.values())
            print(f"{seed},{name},{v[0]:.4f},{v[1]:.4f},{t[0]:.4f},{t[1]:.4f},{res.best_epoch},"
                  f"{time.perf_counter() - t0:.0f}", flush=True)
            for h in res.history:  # per-epoch validation record, for the curious (stderr)
                print(f"{seed},{name},{ {k: v for k, v in h.items() if not isinstance(v, (list, dict))} }",
                      file=sys.stderr, flush=True)
    return 0


def _set_encoder(constants: dict) -> None:
    """The periodic encoder's module constants for the next model (defaults restored first)."""
    from mtl_core.models import numeric

    for k, v in {**_ENCODER_DEFAULTS, **constants}.items():
        setattr(numeric, k, v)


def _encoder_defaults() -> dict:
    from mtl_core.models import numeric

    return {"SIGMA": numeric.SIGMA, "N_FREQUENCIES": numeric.N_FREQUENCIES}


def _gbm_val(prep) -> str:
    """The boosting reference's validation AUC per task, 'a,b'."""
    from mtl_core.evaluation.common import original_units
    from mtl_core.evaluation.gbm import fit_predict_gbm
    from mtl_core.lab.common import headline_scores

    tasks, val = prep.task_infos, prep.encoded["val"]
    scores = headline_scores(tasks, original_units(prep.preprocessor, tasks, val.labels),
                             fit_predict_gbm(prep, tasks, splits=("val",))["val"])
    return ",".join(f"{v:.4f}" for v in scores.values())


if __name__ == "__main__":
    raise SystemExit(main())
