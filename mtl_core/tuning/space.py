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

The draws come from one ``numpy`` generator seeded with the tuning seed, in trial order, so
the same seed gives the same trials.
"""
from __future__ import annotations

import copy
import math

import numpy as np

from ..config import LR_SCHEDULES, RunConfig

LR_RANGE = (3e-4, 1e-2)
WEIGHT_DECAYS = (0.0, 1e-6, 1e-5, 1e-4)
EMBED_DIMS = (4, 8, 16, 32)
LAYERS = {"hidden": ([64], [128], [128, 64], [256, 128]), "tower_hidden": ([16], [32], [64])}


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


def sample_trials(base: RunConfig, n: int, seed: int) -> list[dict]:
    """``n`` trials (override dicts) for ``base``'s architecture; trial 1 is ``{}`` (the base)."""
    from ..models import MODELS

    entry = MODELS.info(base.model.arch)
    torch_model = not getattr(MODELS.get(entry.name), "is_sklearn", False)
    rng = np.random.default_rng(seed)
    trials: list[dict] = [{}]
    for _ in range(1, n):
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
        trials.append(t)
    return trials


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
