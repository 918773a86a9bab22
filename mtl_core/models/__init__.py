"""Architecture registry.

``MODELS`` maps a name to a class. Torch-based architectures are imported lazily the first
time the registry is used, so importing ``mtl_core`` (and validating a config name) does not
pay for importing torch... except that registering needs the classes: we register light
*factories* here and import the module that defines each class on first use.
"""
from __future__ import annotations

import importlib

from ..registry import Registry

MODELS: Registry = Registry("architecture")

# name -> (module, class name, one-line description). One file per architecture.
_ARCHS = {
    "linear": ("linear", "LinearMTL", "One linear/logistic head per task over the shared input features."),
    "single": ("single", "SingleTask", "An independent MLP per task: nothing shared (the single-task baseline)."),
    "shared_bottom": ("shared_bottom", "SharedBottom", "Hard sharing: one shared MLP, then a small tower per task."),
    "mmoe": ("mmoe", "MMoE", "Multi-gate Mixture-of-Experts: shared experts mixed by a softmax gate per task."),
    "ple": ("ple", "PLE", "Progressive Layered Extraction: task-specific plus shared experts over several levels."),
    "esmm": ("esmm", "ESMM", "Entire Space Multi-task Model: child probability = parent x conditional (e.g. CTCVR = CTR x CVR)."),
    "sklearn": ("sklearn_baseline", "SklearnBaseline", "scikit-learn baseline: logistic regression per binary task, MultiTaskElasticNet for regression."),
}

DESCRIPTIONS = {name: desc for name, (_, _, desc) in _ARCHS.items()}


class _Lazy:
    """Stands in the registry for a class until it is first needed."""

    def __init__(self, module: str, cls: str) -> None:
        self.module, self.cls = module, cls

    def load(self):
        return getattr(importlib.import_module(f"{__name__}.{self.module}"), self.cls)


for _name, (_mod, _cls, _desc) in _ARCHS.items():
    MODELS.register(_name)(_Lazy(_mod, _cls))


def get_model_class(name: str):
    entry = MODELS.get(name)
    return entry.load() if isinstance(entry, _Lazy) else entry


def build_model(name: str, features, tasks, config):
    """Build architecture ``name`` for ``features`` (FeatureSpec), ``tasks`` (list[TaskInfo])
    and ``config`` (ModelConfig)."""
    return get_model_class(name)(features, tasks, config)
