"""The correlation lab: the synthetic experiment of the MMoE paper (Ma et al., KDD 2018).
Shared-bottom, MMoE and single-task models on data whose two task scores have a controlled
correlation ρ (``synth.make_synthetic(task_correlation=ρ)`` or the paper's own data,
``synth.make_mmoe_paper_data``)."""
from __future__ import annotations

import math
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from ..config import RunConfig
from ..errors import ConfigError
from ..evaluation.headline import headline
from ..runs import list_results, read_result, save_result
from ..validate import choice, number, number_list
from .common import CANCELLED, COMPLETE, Reporter, check_seeds, created, train_eval

CORRELATION_TASKS = ["click", "rating:regression"]
#: the paper's set-up: two dense regression targets driven directly by the task scores
#: (``make_synthetic(engagement_targets=True)``); pass ``tasks=ENGAGEMENT_TASKS`` to the lab
ENGAGEMENT_TASKS = ["dwell_time:regression", "basket_value:regression"]
_ENGAGEMENT_COLUMNS = ("dwell_time", "basket_value")
#: data sets of the correlation lab: ``ecommerce`` (``synth.make_synthetic``: click / rating on
#: a shop table whose latent vector mostly comes from id embeddings) and ``paper`` (the MMoE
#: paper's own data, ``synth.make_mmoe_paper_data``: x ∈ R^100 observed directly, two
#: regression targets)
CORRELATION_DATASETS = ("ecommerce", "paper")
PAPER_TASKS = ["task_a:regression", "task_b:regression"]
#: spread of the sinusoids' frequencies α on the paper data. The paper's N(0, 0.01) (sd 0.1)
#: makes both targets almost linear in w_k^T x; sd 1 makes some seeds' targets oscillate so fast
#: that no model learns them; sd 0.5 is in between (see docs/LAB.md)
PAPER_ALPHA_STD = 0.5
#: default epochs of the correlation lab per data set
CORRELATION_EPOCHS = {"ecommerce": 12, "paper": 15}
#: the paper compares models of similar size: a shared bottom of 113 units against MMoE's
#: 8 experts of 16; every other architecture gets one expert-sized layer
_PAPER_HIDDEN = {"shared_bottom": [113]}
_DEFAULT_TASKS = {"ecommerce": CORRELATION_TASKS, "paper": PAPER_TASKS}

CORRELATION_COLUMNS = ["correlation", "model", "task", "metric", "value", "std", "vs_single", "vs_single_std",
                       "vs_single_se", "n_seeds"]
_RAW_COLUMNS = ["correlation", "seed", "model", "task", "metric", "higher", "value"]


def _paper_config(arch: str, epochs: int, seed: int, tasks: list[str]) -> RunConfig:
    from ..config import DataConfig, ModelConfig, PreprocessConfig, SplitConfig, TrainConfig

    return RunConfig(
        data=DataConfig(tasks=tasks),
        split=SplitConfig(method="random", seed=int(seed)),
        preprocess=PreprocessConfig(numeric_encoding="scalar"),  # the setting its documented numbers used
        model=ModelConfig(arch=arch, hidden=_PAPER_HIDDEN.get(arch, [16]), tower_hidden=[8], n_experts=8),
        train=TrainConfig(epochs=int(epochs), batch_size=128, lr=3e-3, lr_schedule="constant", patience=0, diagnostics=False,
                          seed=int(seed), num_threads=1),
        name=f"corrlab-paper-{arch}",
    )


def _ecommerce_config(arch: str, epochs: int, seed: int, tasks: list[str]) -> RunConfig:
    from ..config import DataConfig, ModelConfig, PreprocessConfig, SplitConfig, TrainConfig
    from ..data.schema import parse_task_spec

    keys = {parse_task_spec(t).key for t in tasks}
    return RunConfig(
        data=DataConfig(tasks=tasks, user_col="user_id", item_col="item_id", time_col="timestamp",
                        drop=[c for c in _ENGAGEMENT_COLUMNS if c not in keys]),
        split=SplitConfig(method="random", seed=int(seed)),
        preprocess=PreprocessConfig(numeric_encoding="scalar"),  # the setting its documented numbers used
        # MMoE as in the paper's synthetic study: 8 small experts; shared bottom and single-task
        # nets use one expert-sized bottom ([16]) before their towers
        model=ModelConfig(arch=arch, embed_dim=8, hidden=[16], tower_hidden=[16], n_experts=8),
        train=TrainConfig(epochs=int(epochs), batch_size=256, lr=3e-3, lr_schedule="constant", patience=0, diagnostics=False,
                          seed=int(seed), num_threads=1),  # small nets: one thread is fastest
        name=f"corrlab-{arch}",
    )


_CONFIGS = {"ecommerce": _ecommerce_config, "paper": _paper_config}


def correlation_config(arch: str, epochs: int, seed: int, tasks: Sequence[str] | None = None,
                       dataset: str = "ecommerce") -> RunConfig:
    """The small model used by the correlation lab (the same for every architecture).

    ``ecommerce``: ``tasks`` defaults to ``CORRELATION_TASKS``; the engagement columns of the
    generated table that are not tasks are dropped (they are affine in the task scores, so as
    features they would leak the labels).

    ``paper``: ``tasks`` defaults to ``PAPER_TASKS``; the 100 numeric columns are the features
    and the sizes follow the paper's comparison of models of similar size: shared bottom [113]
    vs MMoE 8 experts × [16], towers [8]; single-task nets [16] + [8] per task."""
    dataset = choice("dataset", dataset, CORRELATION_DATASETS)
    tasks = list(tasks) if tasks is not None else list(_DEFAULT_TASKS[dataset])
    return _CONFIGS[dataset](arch, epochs, seed, tasks)


def _make_data(dataset: str, rows: int, rho: float, seed: int) -> pd.DataFrame:
    from ..data.synth import make_mmoe_paper_data, make_synthetic

    if dataset == "paper":
        return make_mmoe_paper_data(rows=rows, task_correlation=rho, seed=seed, alpha_std=PAPER_ALPHA_STD)
    return make_synthetic(rows=rows, task_correlation=rho, seed=seed, engagement_targets=True)


def _check(correlations, archs, rows, epochs, seeds, tasks, dataset) -> dict:
    """The lab's arguments, validated (each error names its parameter)."""
    from ..models import MODELS

    dataset = choice("dataset", dataset, CORRELATION_DATASETS)
    epochs = CORRELATION_EPOCHS[dataset] if epochs is None else epochs
    corrs = number_list(correlations, "correlations", float, "0,0.5,0.9,1", lo=-1, hi=1)
    archs = [str(a) for a in archs]
    if not archs:
        raise ConfigError("archs must name at least one architecture, e.g. shared_bottom, mmoe, single.")
    for a in archs:
        MODELS.get(a)
    number("rows", rows, 200, 2_000_000, integer=True)
    number("epochs", epochs, 1, 200, integer=True)
    seeds = check_seeds(seeds)
    tasks = list(_DEFAULT_TASKS[dataset]) if tasks is None else [str(t) for t in tasks]
    if not tasks:
        raise ConfigError(f"tasks must name at least one task, e.g. {' and '.join(_DEFAULT_TASKS[dataset])}.")
    return {"correlations": corrs, "archs": archs, "rows": int(rows), "epochs": int(epochs), "seeds": seeds,
            "tasks": tasks, "dataset": dataset}


def _run_grid(args: dict, rep: Reporter, cancel) -> tuple[list[dict], str]:
    """Every (ρ, seed, architecture) training: one raw row per task, and the status."""
    from ..pipeline import prepare

    raw: list[dict] = []
    epochs, tasks, dataset = args["epochs"], args["tasks"], args["dataset"]
    for rho in args["correlations"]:
        for seed in args["seeds"]:
            data = _make_data(dataset, args["rows"], rho, seed)
            prep = prepare(correlation_config(args["archs"][0], epochs, seed, tasks, dataset), data)
            for arch in args["archs"]:
                cfg = correlation_config(arch, epochs, seed, tasks, dataset)
                rep.start(f"ρ={rho:g}, seed {seed}: {arch}")
                res = train_eval(prep, prep.task_infos, cfg.model, cfg.train, arch, rep, cancel)
                if res is None:
                    return raw, CANCELLED
                for t in prep.task_infos:
                    metric, higher = headline(t.kind)
                    raw.append({"correlation": rho, "seed": seed, "model": arch, "task": t.name,
                                "metric": metric, "higher": higher, "value": res[1][t.name]})
                rep.finish()
    return raw, COMPLETE


def correlation_lab(correlations: Iterable[float] = (0.0, 0.5, 0.9, 1.0),
                    archs: Iterable[str] = ("shared_bottom", "mmoe", "single"),
                    rows: int = 8000, epochs: int | None = None, seeds: Iterable[int] = (0, 1, 2),
                    callback: Callable | None = None, cancel=None, runs_root=None, save: bool = True,
                    background: bool = False, tasks: Sequence[str] | None = None,
                    dataset: str = "ecommerce") -> pd.DataFrame:
    """The MMoE paper's synthetic experiment.

    ``dataset="paper"``: the paper's own data (``synth.make_mmoe_paper_data``, x ∈ R^100
    observed directly, α sd ``PAPER_ALPHA_STD``), two regression tasks ``task_a`` / ``task_b``
    (RMSE), shared bottom [113] vs MMoE 8 × [16] (``correlation_config``).

    ``dataset="ecommerce"``: ``make_synthetic``; for each task
    correlation ρ and seed (data, split and initialisation), train each architecture on the
    tasks ``click`` (driven by score a; AUC) and ``rating`` (regression driven by score b,
    observed after a click; RMSE) and record their test metrics. ``tasks`` replaces the two
    tasks, e.g. ``ENGAGEMENT_TASKS`` (``dwell_time`` / ``basket_value``: dense regression
    targets affine in scores a / b, the paper's own set-up).

    Returns ``correlation, model, task, metric, value`` (mean over seeds), ``std`` (across
    seeds; None with one), ``vs_single`` (mean paired difference to the single-task model of
    the same data and seed, positive = better; None without ``single`` in ``archs``),
    ``vs_single_std``, ``vs_single_se`` (its standard error, std / √n) and ``n_seeds``. The
    data of one seed differ between ρ only through the second task's weight vector, so the
    paired difference removes most of the seed-to-seed spread. ``epochs`` defaults to
    ``CORRELATION_EPOCHS[dataset]``.
    """
    from ..training.device import set_threads

    args = _check(correlations, archs, rows, epochs, seeds, tasks, dataset)
    cfg0 = correlation_config(args["archs"][0], args["epochs"], args["seeds"][0], args["tasks"],
                              args["dataset"]).validate()
    set_threads(cfg0.train.num_threads, background=background)
    rep = Reporter("correlation_lab", len(args["correlations"]) * len(args["seeds"]) * len(args["archs"]),
                   callback)
    raw, status = _run_grid(args, rep, cancel)
    table = summarise_correlation(pd.DataFrame(raw, columns=_RAW_COLUMNS))
    table.attrs["status"] = status
    if save and len(table):
        meta = {"created": created(), "status": status, **args, "seconds": rep.seconds(),
                "generator": "make_mmoe_paper_data" if args["dataset"] == "paper" else "make_synthetic",
                "note": "Test-split metrics; vs_single > 0 means better than the single-task model."}
        table.attrs["path"] = str(save_result(runs_root, "corrlab", {
            "corrlab.json": meta, "results.csv": table, "per_seed.csv": pd.DataFrame(raw)}))
    rep.close(status)
    return table


def paired_gaps(raw: pd.DataFrame) -> np.ndarray:
    """Signed difference of each row to the single-task model of the same ρ, seed and task
    (positive = better); NaN without a single-task row."""
    single = raw[raw["model"] == "single"].set_index(["correlation", "seed", "task"])["value"]
    if not len(single):
        return np.full(len(raw), np.nan)
    ref = raw.set_index(["correlation", "seed", "task"]).index.map(lambda k: single.get(k, np.nan))
    sign = np.where(raw["higher"].astype(bool), 1.0, -1.0)
    return (raw["value"].to_numpy() - np.asarray(ref, dtype=float)) * sign


def summarise_correlation(raw: pd.DataFrame) -> pd.DataFrame:
    """Raw rows (one per ρ, seed, model, task) -> means, spreads and paired gaps to the
    single-task model per (ρ, model, task)."""
    if raw is None or raw.empty:
        return pd.DataFrame(columns=CORRELATION_COLUMNS)
    raw = raw.copy()
    raw["value"] = pd.to_numeric(raw["value"], errors="coerce")
    raw["gap"] = paired_gaps(raw)
    out = []
    for (rho, model, task), g in raw.groupby(["correlation", "model", "task"], sort=False):
        v = g["value"].dropna()
        gap = g["gap"].dropna()
        out.append({"correlation": float(rho), "model": model, "task": task, "metric": g["metric"].iloc[0],
                    "value": float(v.mean()) if len(v) else None,
                    "std": float(v.std(ddof=1)) if len(v) >= 2 else None,
                    "vs_single": float(gap.mean()) if len(gap) else None,
                    "vs_single_std": float(gap.std(ddof=1)) if len(gap) >= 2 else None,
                    "vs_single_se": float(gap.std(ddof=1) / math.sqrt(len(gap))) if len(gap) >= 2 else None,
                    "n_seeds": int(len(v))})
    return pd.DataFrame(out, columns=CORRELATION_COLUMNS)


def list_correlation_labs(root=None) -> list[dict]:
    """Saved correlation labs under ``<root>/corrlab``, newest first."""
    return list_results(root, "corrlab", "corrlab.json")


def load_correlation_lab(path) -> pd.DataFrame:
    """The summary table of a saved lab (``attrs["per_seed"]``: its raw rows, when saved)."""
    from pathlib import Path

    table = read_result(path, ["results.csv"], "correlation lab")["results.csv"]
    if (Path(path) / "per_seed.csv").exists():
        table.attrs["per_seed"] = read_result(path, ["per_seed.csv"], "correlation lab")["per_seed.csv"]
    return table
