"""Uncertainty weighting (Kendall, Gal & Cipolla, "Multi-Task Learning Using Uncertainty to
Weigh Losses for Scene Geometry and Semantics", CVPR 2018).

Each task has a learnable log-variance ``s_t = log sigma_t^2`` and

    total = sum_t exp(-s_t) * L_t + s_t

i.e. the paper's objective without its 1/2 factors (the common "classification" form, also
used by LibMTL). For an MSE loss the optimum is ``exp(s_t) = L_t``: a noisier task learns a
larger variance and so a smaller weight ``exp(-s_t)``. ``s_t`` starts at ``-log w_t`` (the
user's ``task_weights``, 1.0 by default, i.e. ``s_t = 0``) and is trained by the trainer's
optimizer, in its own parameter group without weight decay (``param_groups()``): decay would
pull every ``s_t`` towards 0, i.e. the weights towards 1, whatever the tasks' noise.
"""
from __future__ import annotations

import math

import torch

from .base import Weighting


class Uncertainty(Weighting):
    def __init__(self, task_names, train_config, device="cpu") -> None:
        super().__init__(task_names, train_config, device)
        init = [-math.log(max(w, 1e-6)) for w in self.base_weights.tolist()]
        self.log_vars = torch.nn.Parameter(torch.tensor(init, dtype=torch.float32, device=self.device))

    def param_groups(self) -> list[dict]:
        return [{"params": [self.log_vars], "weight_decay": 0.0}]

    def combine(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        return (torch.exp(-self.log_vars) * self.stack(losses) + self.log_vars).sum()

    def weights(self) -> dict[str, float]:
        return dict(zip(self.task_names, torch.exp(-self.log_vars.detach()).tolist()))
