"""The search space of the tuner and its seeded sampling.

A trial is a dict of overrides ``{"model.n_experts": 6, "train.lr": 0.002, ...}`` applied to
the base ``RunConfig``. Trial 1 is the base configuration itself (the defaults the user
chose), so the search never ends worse on validation than not searching. Later trials draw:

- every setting of the chosen architecture's registry entry (``models.MODELS``): an ``int``
  uniformly in its [lo, hi]; a ``float`` on its step grid, log-uniformly when the range spans
  three or more decades of steps (e.g. a regularisation strength); ``layers`` from a short
  list of sizes; ``task`` settings are kept;
- for torch models: the learning rate (log-uniform 3e-4 .. 1e-2), the weight decay, the
  embedding size and the learning-rate schedule.

**Cost bound.** A trial's model costs at most ``max_cost`` (``MAX_COST``, 4) times the base
model per row: the cost is the number of trainable parameters outside the embedding tables
(``model_cost``; each is about one multiply-add per row, forward, while a table row is only
looked up). A draw over the bound is redrawn (up to ``REDRAWS`` times); if none fits, the last
draw is shrunk: it keeps the overrides that do not make the model dearer than the base (the
learning rate, weight decay, schedule, dropout, smaller sizes) and the base's sizes for the
others. Without a cost function (``cost=None``) nothing is bounded.

The draws come from one ``numpy`` generator seeded with the tuning seed, in trial order, so
the same seed (on the same data, whose features set the cost) gives the same trials.
"""
from __future__ import annotations

import copy
import dataclasses
import math
from typing import Callable

import numpy as np

from ..config import LR_SCHEDULES, RunConfig

LR_RANGE = (3e-4, 1e-2)
WEIGHT_DECAYS = (0.0, 1e-6, 1e-5, 1e-4)
EMBED_DIMS = (4, 8, 16, 32)
LAYERS = {"hidden": ([64], [128], [128, 64], [256, 128]), "tower_hidden": ([16], [32], [64])}
MAX_COST = 4.0  # a trial's model: at most this many times the base model's cost per row
REDRAWS = 20  # draws tried for a trial before the last one is shrunk to fit


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _draw_setting(rng: np.random.Generator, s):
    """A value for one registry ``Setting``, or None to keep the base value."""
    if s.kind == "layers":
        options = LAYERS.get(s.field)
        return list(options[rng.integers(len(options))]) if options else None
    if s.lo is None or s.hi is None or s.kind not in ("int", "float"):
        return None
    lo, hi = float(s.lo), float(s.hi)
    if s.kind == "int":
        return int(rng.integers(int(lo), int(hi) + 1))
    step = float(s.step or (hi - lo) / 20)
    if hi / step >= 1000:  # e.g. a regularisation strength 1e-4 .. 1: log-uniform
        return float(f"{_log_uniform(rng, max(lo, step), hi):.3g}")
    return round(lo + step * int(rng.integers(0, int(round((hi - lo) / step)) + 1)), 10)


def _draw(rng: np.random.Generator, entry, torch_model: bool) -> dict:
    """One trial's overrides (see the module)."""
    t: dict = {}
    for s in entry.settings:
        v = _draw_setting(rng, s)
        if v is not None:
            t[f"model.{s.field}"] = v
    if torch_model:
        t["train.lr"] = float(f"{_log_uniform(rng, *LR_RANGE):.3g}")
        t["train.weight_decay"] = WEIGHT_DECAYS[rng.integers(len(WEIGHT_DECAYS))]
        t["model.embed_dim"] = int(EMBED_DIMS[rng.integers(len(EMBED_DIMS))])
        t["train.lr_schedule"] = LR_SCHEDULES[rng.integers(len(LR_SCHEDULES))]
    return t


def _shrink(base: RunConfig, t: dict, cost: Callable, base_cost: float, limit: float) -> dict:
    """``t`` without the overrides that make the model dearer than ``base``; without any model
    override if their mix is still over ``limit`` (the base model, cost ``base_cost``)."""
    kept = {k: v for k, v in t.items() if cost(apply(base, {k: v})) <= base_cost}
    if cost(apply(base, kept)) <= limit:
        return kept
    return {k: v for k, v in kept.items() if not k.startswith("model.")}


def sample_trials(base: RunConfig, n: int, seed: int, cost: Callable[[RunConfig], float] | None = None,
                  max_cost: float = MAX_COST) -> list[dict]:
    """``n`` trials (override dicts) for ``base``'s architecture; trial 1 is ``{}`` (the base).
    With ``cost`` (``model_cost``), every trial's model costs at most ``max_cost`` times the
    base's (see the module)."""
    from ..models import MODELS
    from ..validate import number

    number("max_cost (the cost bound of a trial, times the base model's)", max_cost, lo=1.0)
    entry = MODELS.info(base.model.arch)
    torch_model = not getattr(MODELS.get(entry.name), "is_sklearn", False)
    rng = np.random.default_rng(seed)
    base_cost = cost(base) if cost is not None else None
    trials: list[dict] = [{}]
    for _ in range(1, n):
        for _ in range(REDRAWS):
            t = _draw(rng, entry, torch_model)
            if base_cost is None or cost(apply(base, t)) <= max_cost * base_cost:
                break
        else:
            t = _shrink(base, t, cost, base_cost, max_cost * base_cost)
        trials.append(t)
    return trials


def model_cost(features, tasks) -> Callable[[RunConfig], float]:
    """The cost per row of a configuration's model on these features (``FeatureSpec``) and
    tasks (``TaskInfo`` list): its trainable parameters outside the embedding tables, which a
    row multiplies through once; 0 for the scikit-learn baseline (so nothing bounds it)."""
    import torch

    from ..models import MODELS, build_model

    small = dataclasses.replace(features, cat_cardinalities=[1] * len(features.cat_cardinalities))  # tables not needed

    def cost(cfg: RunConfig) -> float:
        if getattr(MODELS.get(cfg.model.arch), "is_sklearn", False):
            return 0.0
        with torch.random.fork_rng(devices=[]):  # building initialises weights: leave the global seed alone
            model = build_model(cfg.model.arch, small, tasks, cfg.model)
        tables = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
        return float(sum(p.numel() for p in model.parameters() if p.requires_grad and id(p) not in tables))

    return cost


def apply(base: RunConfig, overrides: dict) -> RunConfig:
    """A copy of ``base`` with ``overrides`` (``"section.field": value``) set and validated."""
    cfg = copy.deepcopy(base)
    for key, value in overrides.items():
        section, field = key.split(".", 1)
        setattr(getattr(cfg, section), field, copy.deepcopy(value))
    return cfg.validate()


def describe(overrides: dict) -> str:
    """'lr 0.0031, weight decay 1e-05, n_experts 6, ...'; 'the base settings' for ``{}``."""
    if not overrides:
        return "the base settings"
    words = []
    for key, v in overrides.items():
        name = key.split(".", 1)[1].replace("_", " ")
        words.append(f"{name} {','.join(map(str, v)) if isinstance(v, list) else f'{v:g}' if isinstance(v, float) else v}")
    return ", ".join(words)
