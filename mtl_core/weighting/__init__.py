"""Loss-weighting / gradient-combination registry (one file per method, imported on first
use: they import torch). Each method's own settings live in
``TrainConfig.weighting_params`` under the setting's ``field``; the ``Setting`` is the one
place their default and range are written (``Weighting.hparam`` validates against it)."""
from __future__ import annotations

from ..registry import Registry, Setting

WEIGHTINGS = Registry("weighting method", __name__)

_ITERS = "Solver iterations"
_GRADNORM = (
    Setting("alpha", "Restoring force α", "float", 1.5, 0.0, 5.0, 0.1,
            help="How strongly slow tasks are pushed to catch up (0 = equal gradient norms)."),
    Setting("lr", "Weight learning rate", "float", 0.025, 0.001, 1.0, 0.001,
            help="Step size of GradNorm's own optimizer for the task weights."),
)
_DWA = (Setting("temperature", "Temperature", "float", 2.0, 0.1, 10.0, 0.1, help="Higher = weights closer to equal."),)
_CAGRAD = (
    Setting("c", "Conflict radius c", "float", 0.5, 0.0, 2.0, 0.1,
            help="0 = plain average gradient; larger = more weight on the worst task."),
    Setting("iters", _ITERS, "int", 50, 1, 1000),
)
_MGDA = (Setting("iters", _ITERS, "int", 25, 1, 1000),)

WEIGHTINGS.register("fixed", "fixed", "Fixed", "Fixed weights",
                    "User-set constant weight per task (equal weights by default).")
WEIGHTINGS.register("uncertainty", "uncertainty", "Uncertainty", "Uncertainty (Kendall et al.)",
                    "Kendall et al. 2018: learns a per-task variance; noisier tasks get less weight.")
WEIGHTINGS.register("gradnorm", "gradnorm", "GradNorm", "GradNorm",
                    "Chen et al. 2018: learns weights so the tasks' gradient norms on the shared representation "
                    "train at similar rates.", _GRADNORM)
WEIGHTINGS.register("dwa", "dwa", "DWA", "Dynamic Weight Average",
                    "Liu et al. 2019: weights follow the rate at which each task's loss is falling.", _DWA)
WEIGHTINGS.register("pcgrad", "pcgrad", "PCGrad", "PCGrad",
                    "Yu et al. 2020: projects away the conflicting part of task gradients on shared parameters.")
WEIGHTINGS.register("cagrad", "cagrad", "CAGrad", "CAGrad",
                    "Liu et al. 2021: conflict-averse update that also improves the worst task.", _CAGRAD)
WEIGHTINGS.register("mgda", "mgda", "MGDA", "MGDA",
                    "Sener & Koltun 2018: min-norm combination of task gradients (a Pareto-stationary step).", _MGDA)


def build_weighting(name: str, task_names, train_config, device):
    return WEIGHTINGS.get(name)(task_names, train_config, device)
