"""Dynamic Weight Average (Liu, Johns & Davison, "End-to-End Multi-Task Learning with
Attention", CVPR 2019).

Weights follow how fast each task's loss is falling, from the mean training losses of the
last two epochs: ``r_t = L_t(e-1) / L_t(e-2)`` and

    lambda_t = T * exp(r_t / Temp) / sum_j exp(r_j / Temp)       (Temp = ``temperature``, default 2)

so a task whose loss falls slowly (large ``r_t``) gets more weight. Equal weights
(``lambda_t = 1``) until two epochs have been seen. The loss is ``sum_t w_t lambda_t L_t``
with the user's ``task_weights`` ``w_t``; weights are updated only in ``on_epoch_end``.
"""
from __future__ import annotations

import math

import torch

from .base import Weighting


class DWA(Weighting):
    def __init__(self, task_names, train_config, device="cpu") -> None:
        super().__init__(task_names, train_config, device)
        self.temperature = self.hparam("temperature")
        self.history: list[list[float]] = []  # mean train loss per task, one row per epoch
        self.lambdas = torch.ones(len(self.task_names), device=self.device)

    def combine(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        return (self.base_weights * self.lambdas * self.stack(losses)).sum()

    def on_epoch_end(self, epoch: int, train_losses: dict[str, float]) -> None:
        self.history.append([float(train_losses[t]) for t in self.task_names])
        self.history = self.history[-2:]
        if len(self.history) < 2:
            return
        prev2, prev1 = self.history
        r = [a / b if b > 0 and math.isfinite(a / b) else 1.0 for a, b in zip(prev1, prev2)]
        z = torch.tensor(r, dtype=torch.float32) / self.temperature
        lam = len(self.task_names) * torch.softmax(z, dim=0)
        self.lambdas = lam.to(self.device)

    def weights(self) -> dict[str, float]:
        return dict(zip(self.task_names, (self.base_weights * self.lambdas).tolist()))
