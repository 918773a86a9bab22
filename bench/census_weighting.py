"""Loss weighting on the MMoE paper's Census-Income task pair.

Trains MMoE on ``../shared/data/census_kdd/census-income.test.gz`` (99,762 rows, headerless)
with the tasks income > 50K (``income_50k == "50000+."``) and never married
(``marital_stat == "Never married"``), a seeded 80/10/10 random split, and four loss
weightings: fixed (equal), uncertainty, GradNorm and PCGrad. Every method uses the same
prepared split, model size and budget. Prints a Markdown table of test AUC per task.

    python bench/census_weighting.py [--epochs 15] [--seeds 0,1,2] [--rows N]

Each seed changes the split and the initialisation; the table gives mean ± standard
deviation over seeds, so a difference smaller than the spread is run-to-run variation.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data" / "census_kdd" / "census-income.test.gz"
NAMES = ("age, class_worker, det_ind_code, det_occ_code, education, wage_per_hour, hs_college, marital_stat, "
         "major_ind_code, major_occ_code, race, hisp_origin, sex, union_member, unemp_reason, full_or_part_emp, "
         "capital_gains, capital_losses, stock_dividends, tax_filer_stat, region_prev_res, state_prev_res, "
         "det_hh_fam_stat, det_hh_summ, instance_weight, mig_chg_msa, mig_chg_reg, mig_move_reg, mig_same, "
         "mig_prev_sunbelt, num_emp, fam_under_18, country_father, country_mother, country_self, citizenship, "
         "own_or_self, vet_question, vet_benefits, weeks_worked, year, income_50k").split(", ")
TASKS = ["income_50k:binary=50000+.", "marital_stat:binary=Never married"]
METHODS = ["fixed", "uncertainty", "gradnorm", "pcgrad"]


def cell(vals: list[float]) -> str:
    """A table cell: mean ± standard deviation over seeds (the value alone for one seed)."""
    import numpy as np

    return f"{np.mean(vals):.4f} ± {np.std(vals, ddof=1):.4f}" if len(vals) > 1 else f"{vals[0]:.4f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--rows", type=int, default=0, help="use only the first N rows (0 = all)")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)

    import torch

    from mtl_core.config import DataConfig, ModelConfig, PreprocessConfig, ReadOptions, RunConfig, SplitConfig, TrainConfig
    from mtl_core.data.io import read_table
    from mtl_core.lab import train_eval
    from mtl_core.pipeline import prepare

    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    read = ReadOptions(header=False, names=NAMES)
    df = read_table(DATA, read)
    if a.rows:
        df = df.iloc[: a.rows]
    import numpy as np

    seeds = [int(x) for x in a.seeds.split(",") if x.strip()]
    scores: dict[str, list] = {m: [] for m in METHODS}
    names: list[str] = []
    for seed in seeds:
        cfg = RunConfig(
            data=DataConfig(path=str(DATA), read=read, tasks=list(TASKS), drop=["instance_weight"]),
            split=SplitConfig(method="random", train=0.8, val=0.1, test=0.1, seed=seed),
            preprocess=PreprocessConfig(numeric_encoding="scalar"),  # as its README table was measured
            model=ModelConfig(arch="mmoe", embed_dim=8, hidden=[32], tower_hidden=[16], n_experts=4),
            train=TrainConfig(epochs=a.epochs, batch_size=1024, lr=1e-3, lr_schedule="constant", patience=3, seed=seed,
                              num_threads=a.threads, diagnostics=False),
        )
        prep = prepare(cfg, df)
        tasks = prep.task_infos
        names = [t.name for t in tasks]
        print(f"seed {seed}: split {prep.split_report['sizes']}", file=sys.stderr)
        for method in METHODS:
            tcfg = cfg.train.__class__(**{**cfg.train.__dict__, "weighting": method})
            t1 = time.perf_counter()
            _, test, res = train_eval(prep, tasks, cfg.model, tcfg, "mmoe", None, None)
            secs = time.perf_counter() - t1
            scores[method].append((test, res.best_epoch, secs))
            print(f"  {method}: {test} best epoch {res.best_epoch}/{res.epochs_run} ({secs:.0f} s)",
                  file=sys.stderr, flush=True)

    print(f"| weighting | test AUC {names[0]} | test AUC {names[1]} | best epoch | seconds per run |")
    print("|---|---|---|---|---|")
    for method in METHODS:
        s_ = scores[method]
        print(f"| {method} | {cell([t[names[0]] for t, _, _ in s_])} | {cell([t[names[1]] for t, _, _ in s_])} "
              f"| {', '.join(str(b) for _, b, _ in s_)} | {np.mean([x for _, _, x in s_]):.0f} |")
    print(f"\nMMoE 4 experts × [32], towers [16], embeddings 8, Adam lr 1e-3, batch 1024, up to {a.epochs} epochs "
          f"(early stopping: patience 3 on validation loss, best epoch restored), seeds {a.seeds} (split and "
          f"initialisation), {len(df):,} rows, 80/10/10 random split, {a.threads} CPU thread(s); mean ± std over "
          f"seeds; total {time.perf_counter() - t0:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
