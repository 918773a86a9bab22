"""Loss-weighting / gradient-combination registry (one file per method).

Methods are imported lazily (they import torch)."""
from __future__ import annotations

import importlib

from ..registry import Registry

WEIGHTINGS: Registry = Registry("weighting method")

# name -> (module, class name, one-line description)
_METHODS = {
    "fixed": ("fixed", "Fixed", "User-set constant weight per task (equal weights by default)."),
    "uncertainty": ("uncertainty", "Uncertainty", "Kendall et al. 2018: learns a per-task variance; noisier tasks get less weight."),
    "gradnorm": ("gradnorm", "GradNorm", "Chen et al. 2018: learns weights so the tasks' weighted gradient norms train at similar rates."),
    "dwa": ("dwa", "DWA", "Liu et al. 2019: weights follow the rate at which each task's loss is falling."),
    "pcgrad": ("pcgrad", "PCGrad", "Yu et al. 2020: projects away the conflicting part of task gradients on shared parameters."),
    "cagrad": ("cagrad", "CAGrad", "Liu et al. 2021: conflict-averse update that also improves the worst task."),
    "mgda": ("mgda", "MGDA", "Sener & Koltun 2018: min-norm combination of task gradients (a Pareto-stationary step)."),
}

DESCRIPTIONS = {name: desc for name, (_, _, desc) in _METHODS.items()}


class _Lazy:
    def __init__(self, module: str, cls: str) -> None:
        self.module, self.cls = module, cls

    def load(self):
        return getattr(importlib.import_module(f"{__name__}.{self.module}"), self.cls)


for _name, (_mod, _cls, _desc) in _METHODS.items():
    WEIGHTINGS.register(_name)(_Lazy(_mod, _cls))


def get_weighting_class(name: str):
    entry = WEIGHTINGS.get(name)
    return entry.load() if isinstance(entry, _Lazy) else entry


def build_weighting(name: str, task_names, train_config, device):
    return get_weighting_class(name)(task_names, train_config, device)
