"""Model commands: ``train`` (a run directory from options or a saved config) and
``recommend`` (top-K items for a user from a saved run) and ``explain`` (permutation
importance of a saved run's features per task)."""
from __future__ import annotations

import json
import os

from ..errors import ConfigError
from .options import add_train_options, config_from_args


def add_commands(sub) -> None:
    s = sub.add_parser("train", help="train a multi-task model and save a run directory")
    add_train_options(s)
    s.add_argument("--resume", metavar="RUN_DIR",
                   help="continue this run on --data with its fitted preprocessing and weights (with --epochs, --out); "
                        "an interrupted run's folder (RUNS/.tmp-ID) is finished from its last completed epoch "
                        "with its own settings (--data: where its data file is now)")
    s.add_argument("--tune", type=int, metavar="N",
                   help="random search of N trials (trial 1 = these settings) over the architecture's settings, "
                        "lr, weight decay, embedding size and schedule, chosen on the validation split "
                        "(--early-stopping-metric); seeded by --seed; every trial is saved as a run; a trial's model "
                        "costs at most 4x the base model per row")
    s.add_argument("--tune-time", type=float, metavar="SECONDS",
                   help="with --tune: start no further trial once this many seconds have passed (the running trial "
                        "finishes; 0 = no budget)")
    s.add_argument("--out", help="runs folder (default: ./runs or $MTL_LAB_RUNS)")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("recommend", help="top-K items for a user from a saved run (JSON)")
    s.add_argument("--run", required=True)
    s.add_argument("--user", required=True)
    s.add_argument("--k", type=int, default=10)
    s.add_argument("--include-bought", action="store_true")
    s.set_defaults(func=cmd_recommend)

    s = sub.add_parser("explain", help="per-task permutation importance of a saved run's features (JSON)")
    s.add_argument("--run", required=True)
    s.add_argument("--data", help="the data file (default: the run's own); its validation split is used")
    s.add_argument("--task", help="only this task")
    s.add_argument("--repeats", type=int, default=5, help="permutations per feature (default 5)")
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=cmd_explain)


def _epoch_line(ev) -> str:
    parts = [f"epoch {ev.epoch}/{ev.epochs}"]
    parts.append("train loss " + " ".join(f"{k}={v:.4f}" for k, v in ev.train_loss.items()))
    if ev.val_loss:
        parts.append("val loss " + " ".join(f"{k}={v:.4f}" for k, v in ev.val_loss.items()))
    ms = [f"{k} {m}={v:.4f}" for k, d in ev.val_metrics.items() for m, v in d.items()]
    if ms:
        parts.append("val " + " ".join(ms))
    parts.append(f"{ev.samples_per_s:,.0f} samples/s")
    return " | ".join(parts)


def _resume_config(a):
    from ..predict import resume_config

    if not a.data:
        raise ConfigError("--resume needs --data NEW_ROWS.")
    return resume_config(a.resume, a.data, a.epochs)  # the parent's settings, new data


def _interrupted(path: str | None) -> bool:
    """True for an interrupted run's temporary folder (``RUNS/.tmp-ID``)."""
    from pathlib import Path

    return bool(path) and Path(path).name.startswith(".tmp-") and Path(path).is_dir()


def cmd_train(a) -> int:
    from ..pipeline import resume_run, run_experiment

    # under torchrun every rank runs this command: only rank 0 talks
    other_rank = os.environ.get("RANK", "0") != "0"
    quiet = a.quiet or other_rank

    def progress(ev) -> None:
        if not quiet and ev.kind == "epoch":
            print(_epoch_line(ev), flush=True)

    if a.tune is not None:
        if a.resume:
            raise ConfigError("--tune and --resume cannot be combined; tune a fresh run.")
        return _tune(a, config_from_args(a), progress)
    if a.tune_time is not None:
        raise ConfigError("--tune-time is the time budget of --tune N; add --tune.")
    if _interrupted(a.resume):
        res = resume_run(a.resume, callback=progress, data=a.data)
    else:
        cfg = _resume_config(a) if a.resume else config_from_args(a)
        res = run_experiment(cfg, callback=progress, runs_root=a.out)
    if other_rank:
        return 0
    from ..evaluation.summary import text_summary

    print(text_summary(res.metrics), flush=True)
    summary = {"run_dir": str(res.run_dir), "status": res.status, **res.metrics}
    print(json.dumps(summary, indent=2, default=str))
    return 0


def _tune(a, cfg, progress) -> int:
    from ..tuning import progress_text, tune

    def report(ev) -> None:
        if ev.kind == "trial" and not a.quiet:
            print(progress_text(ev.tuning), flush=True)
        else:
            progress(ev)

    res = tune(cfg, a.tune, runs_root=a.out, callback=report, time_budget_s=a.tune_time)
    print(res.report(), flush=True)
    summary = {"tuning": res.session_id, "status": res.status, "metric": res.metric, "requested": res.requested,
               "best_trial": res.best.number if res.best else None, "run_dir": res.run_dir,
               "summary_dir": str(res.summary_dir) if res.summary_dir else None,
               "trials": [{"trial": t.number, "status": t.status, "val_score": t.val_score, "params": t.params}
                          for t in res.trials], "best_test": res.metrics.get("tasks", {})}
    print(json.dumps(summary, indent=2, default=str))
    return 0 if res.best is not None else 1


def cmd_recommend(a) -> int:
    from ..recommend import recommend
    from ..runs import load_run

    run = load_run(a.run)
    if a.k < 1:
        raise ConfigError(f"--k must be at least 1; got {a.k}.")
    recs = recommend(run, a.user, k=a.k, exclude_bought=not a.include_bought)
    print(recs.to_json(orient="records", indent=2, default_handler=str))
    return 0


def cmd_explain(a) -> int:
    from ..evaluation.explain import explain_run
    from ..pipeline import load_data
    from ..runs import load_run

    if a.repeats < 1:
        raise ConfigError(f"--repeats must be at least 1; got {a.repeats}.")
    run = load_run(a.run)
    df = None
    if a.data:
        cfg = run.config
        cfg.data.path = a.data
        df = load_data(cfg)
    print(json.dumps(explain_run(run, df, a.task, repeats=a.repeats, seed=a.seed), indent=2))
    return 0
