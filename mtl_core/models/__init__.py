"""Architecture registry (one file per architecture, imported on first use).

``MODELS.info(name)`` gives the display name, description and settings without importing
torch; ``MODELS.get(name)`` the class (its ``diagram``, ``representation`` and ``has_gates``
declare what it shares, see ``base.MultiTaskModel``); ``build_model`` an instance.
"""
from __future__ import annotations

from ..registry import Registry, Setting

MODELS = Registry("architecture", __name__)

_TOWERS = Setting("tower_hidden", "Tower layers", "layers", [32], help="Per-task tower MLP sizes, comma separated.")
_HIDDEN = Setting("hidden", "Hidden layers", "layers", [64], help="Bottom / expert MLP sizes, comma separated, e.g. 128,64.")
_DROPOUT = Setting("dropout", "Dropout", "float", 0.0, 0.0, 0.8, 0.05)

MODELS.register("linear", "linear", "LinearMTL", "Linear",
                "One linear/logistic head per task over the shared input features.")
MODELS.register("single", "single", "SingleTask", "Single-task MLPs",
                "An independent MLP per task: nothing shared (the single-task baseline).",
                (_HIDDEN, _DROPOUT))
MODELS.register("shared_bottom", "shared_bottom", "SharedBottom", "Shared bottom",
                "Hard sharing: one shared MLP, then a small tower per task.",
                (_HIDDEN, _TOWERS, _DROPOUT))
MODELS.register("mmoe", "mmoe", "MMoE", "MMoE",
                "Multi-gate Mixture-of-Experts: shared experts mixed by a softmax gate per task.",
                (_HIDDEN, _TOWERS, Setting("n_experts", "Experts", "int", 4, 1, 16), _DROPOUT))
MODELS.register("ple", "ple", "PLE", "PLE",
                "Progressive Layered Extraction: task-specific plus shared experts over several levels.",
                (_HIDDEN, _TOWERS,
                 Setting("n_shared_experts", "Shared experts", "int", 2, 1, 8),
                 Setting("n_task_experts", "Experts per task", "int", 1, 1, 8),
                 Setting("levels", "Levels", "int", 1, 1, 4, help="1 = CGC."), _DROPOUT))
MODELS.register("esmm", "esmm", "ESMM", "ESMM",
                "Entire Space Multi-task Model: child probability = parent x conditional (e.g. CTCVR = CTR x CVR).",
                (_HIDDEN, _TOWERS,
                 Setting("esmm_parent", "Parent task (e.g. click)", "task",
                         help="Every other binary task is modelled as parent probability × conditional probability."),
                 _DROPOUT))
MODELS.register("sklearn", "sklearn_baseline", "SklearnBaseline", "scikit-learn baseline",
                "scikit-learn baseline: logistic regression per binary task, MultiTaskElasticNet for regression.",
                (Setting("sk_alpha", "Regularisation α", "float", 1e-3, 0.0, 1.0, 1e-4,
                         help="L2 strength of the logistic models (C = 1/α) and the α of the elastic net."),
                 Setting("sk_max_iter", "Solver iterations", "int", 200, 10, 5000, 10)))


def build_model(name: str, features, tasks, config):
    """Build architecture ``name`` for ``features`` (FeatureSpec), ``tasks`` (list[TaskInfo])
    and ``config`` (ModelConfig)."""
    return MODELS.get(name)(features, tasks, config)


def gate_experts(name: str, tasks, config) -> dict[str, list[str]]:
    """Gate key -> names of the experts that gate mixes, in gate order, for architecture
    ``name`` (``{}`` without gates): what the gate heatmap labels its columns with."""
    return MODELS.get(name).gate_experts(tasks, config)
