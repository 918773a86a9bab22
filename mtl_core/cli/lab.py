"""Trade-off lab commands: ``baseline`` (multi- vs single-task per task), ``sweep`` (Pareto
sweep of fixed task weights) and ``corrlab`` (the MMoE paper's synthetic experiment)."""
from __future__ import annotations

import json
import sys

from ..errors import ConfigError
from ..validate import number_list, split_list
from .options import add_train_options, config_from_args, write_table


def add_commands(sub) -> None:
    s = sub.add_parser("baseline", help="multi-task model vs single-task models per task (negative transfer)")
    add_train_options(s)
    s.add_argument("--seeds", default="0", help="comma-separated seeds, e.g. 0,1,2 (3+ separate noise from transfer)")
    s.add_argument("--out", help="runs folder (default: ./runs or $MTL_LAB_RUNS)")
    s.set_defaults(func=cmd_baseline)

    s = sub.add_parser("sweep", help="Pareto sweep of fixed loss weights for two tasks")
    add_train_options(s)
    s.add_argument("--points", type=int, default=5, help="number of fixed weightings (w_a, 1 - w_a)")
    s.add_argument("--learned", default="uncertainty,gradnorm",
                   help="comma-separated learned weighting methods to add ('' for none)")
    s.add_argument("--no-single", action="store_true", help="skip the single-task reference point")
    s.add_argument("--seeds", default=None, help="comma-separated seeds to repeat the sweep over (points are means "
                   "± standard error); default: the --seed of the run")
    s.add_argument("--out", help="runs folder; the sweep goes to OUT/sweeps/<id>")
    s.set_defaults(func=cmd_sweep)

    s = sub.add_parser("corrlab", help="MMoE-paper synthetic experiment: metric vs task correlation")
    s.add_argument("--correlations", default="0,0.5,0.9,1", help="comma-separated task correlations")
    s.add_argument("--archs", default="shared_bottom,mmoe,single", help="comma-separated architectures")
    s.add_argument("--rows", type=int, default=8000)
    s.add_argument("--epochs", type=int, default=None,
                   help="epochs per training (default 12 for ecommerce, 15 for paper)")
    s.add_argument("--seeds", default="0,1,2")
    s.add_argument("--tasks", default=None,
                   help="comma-separated task specs (default click,rating:regression; the paper's set-up: "
                        "dwell_time:regression,basket_value:regression)")
    s.add_argument("--dataset", choices=["ecommerce", "paper"], default="ecommerce",
                   help="ecommerce: click / rating on the generated shop table (default); paper: the MMoE "
                        "paper's own data, x in R^100 observed directly, regression tasks task_a / task_b")
    s.add_argument("--out", help="write the result table to this CSV file")
    s.add_argument("--runs", help="runs folder for the saved result (default: ./runs or $MTL_LAB_RUNS)")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_corrlab)


def _progress(quiet: bool):
    last = {"msg": None}

    def cb(p: dict) -> None:
        if quiet:
            return
        msg = p.get("message", "")
        if msg != last["msg"] and "epoch" not in msg:
            last["msg"] = msg
            print(f"[{p.get('fraction', 0):4.0%}] {msg}", file=sys.stderr, flush=True)

    return cb


def _table(df) -> str:
    return df.to_string(index=False, float_format=lambda v: f"{v:.4f}")


def cmd_baseline(a) -> int:
    from ..lab import negative_transfer

    cfg = config_from_args(a)
    seeds = number_list(a.seeds, "--seeds", int, "0,1,2")
    table = negative_transfer(cfg, seeds=seeds, callback=_progress(a.quiet), runs_root=a.out)
    print(_table(table.drop(columns=["explanation"])))
    print()
    for _, r in table.iterrows():
        print(f"{r['task']}: {r['verdict']}. {r['explanation']}")
    if table.attrs.get("path"):
        print(f"\nsaved to {table.attrs['path']}")
    return 0


def cmd_sweep(a) -> int:
    from ..data.schema import parse_task_spec
    from ..lab import pareto_sweep

    cfg = config_from_args(a)
    if not a.task or len(a.task) < 2:
        raise ConfigError("A sweep needs two tasks: give --task A --task B (more tasks keep weight 1).")
    ta, tb = parse_task_spec(a.task[0]).key, parse_task_spec(a.task[1]).key
    res = pareto_sweep(cfg, None, ta, tb, n_points=a.points, learned=split_list(a.learned),
                       include_single=not a.no_single, callback=_progress(a.quiet), runs_root=a.out,
                       seeds=None if a.seeds is None else number_list(a.seeds, "--seeds", int, "0,1,2"))
    cols = ["label", "kind", "val_a", "val_b", "test_a", "test_b", "x_se", "y_se", "n_seeds", "pareto"]
    print(f"A = {ta} ({res.metric_a}), B = {tb} ({res.metric_b}); test metrics are plotted, validation "
          "metrics are the ones to choose by.")
    print(_table(res.points[cols]))
    print(json.dumps({"sweep_dir": str(res.path) if res.path else None, "status": res.status}))
    return 0


def cmd_corrlab(a) -> int:
    from ..lab import correlation_lab

    table = correlation_lab(correlations=number_list(a.correlations, "--correlations"),
                            archs=split_list(a.archs), rows=a.rows, epochs=a.epochs,
                            seeds=number_list(a.seeds, "--seeds", int, "0,1,2"),
                            callback=_progress(a.quiet), runs_root=a.runs, dataset=a.dataset,
                            tasks=split_list(a.tasks) or None)
    print(_table(table))
    if a.out:
        write_table(table, a.out)
        print(f"wrote {len(table)} rows to {a.out}")
    return 0
