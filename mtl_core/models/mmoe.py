"""MMoE: Multi-gate Mixture-of-Experts.

Ma, Zhao, Yi, Chen, Hong, Chi, "Modeling Task Relationships in Multi-task Learning with
Multi-gate Mixture-of-Experts", KDD 2018. ``config.n_experts`` shared expert MLPs
(``config.hidden`` each); every task mixes them with its own softmax gate (one Linear from
the input to the experts), then applies its tower (``config.tower_hidden``).
"""
from __future__ import annotations

import torch
from torch import nn

from ..types import FeatureSpec, TaskInfo
from .base import Experts, MultiTaskModel, Towers, gated_mix


class MMoE(MultiTaskModel):
    shared_modules = ("embedding", "experts")
    has_gates = True

    def __init__(self, features: FeatureSpec, tasks: list[TaskInfo], config) -> None:
        super().__init__(features, tasks, config)
        d = self.embedding.output_dim
        self.experts = Experts(d, config.n_experts, list(config.hidden), config.dropout)
        self.gates = nn.ModuleDict({t.name: nn.Linear(d, config.n_experts) for t in self.tasks})
        self.towers = Towers(self.experts.output_dim, self.tasks, list(config.tower_hidden), config.dropout)
        self.init_weights(config.init)

    def forward(self, cat: torch.Tensor, num: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.embedding(cat, num)  # [B, C*E + D]
        experts = self.experts(x)  # [B, n_experts, H]
        mixed = {}
        for name in self.task_names:
            mixed[name], w = gated_mix(self.gates[name](x), experts)  # [B, H], [B, n_experts]
            if self.record_gates:
                self.last_gates[name] = w.detach()
        return self.towers(mixed)  # task -> [B] or [B, K]
