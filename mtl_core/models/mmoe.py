"""MMoE: Multi-gate Mixture-of-Experts.

Ma, Zhao, Yi, Chen, Hong, Chi, "Modeling Task Relationships in Multi-task Learning with
Multi-gate Mixture-of-Experts", KDD 2018. ``config.n_experts`` shared expert MLPs
(``config.hidden`` each); every task mixes them with its own softmax gate (one Linear from
the input to the experts), then applies its tower (``config.tower_hidden``).

The shared representation is the experts' outputs ``[B, n_experts, H]``: the last tensor
every task reads (LibMTL's rep-grad takes each task's own gated mixture instead, which no
other task's loss reaches, so task gradients there cannot be compared).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..types import FeatureSpec, TaskInfo
from .base import Experts, MultiTaskModel, Towers, gated_mix
from .diagram import Diagram, DiagramBuilder


class MMoE(MultiTaskModel):
    shared_modules = ("embedding", "experts")
    representation = "outputs of the shared experts [B, n_experts, hidden[-1]]"
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
        experts = self.share(self.experts(x))  # [B, n_experts, H]
        # Performance: all tasks' gates as one Linear (weights concatenated per call; the
        # parameters and state dict keep one Linear per task), one softmax, one mixing op.
        gw = torch.cat([self.gates[n].weight for n in self.task_names])  # [T*E, d]
        gb = torch.cat([self.gates[n].bias for n in self.task_names])
        logits = F.linear(x, gw, gb).view(x.shape[0], len(self.task_names), -1)  # [B, T, E]
        mixed_all, w = gated_mix(logits, experts.unsqueeze(1))  # [B, T, H], [B, T, E]
        mixed = {}
        for j, name in enumerate(self.task_names):
            mixed[name] = mixed_all[:, j]  # [B, H]
            if self.record_gates:
                self.last_gates[name] = w[:, j].detach()  # [B, n_experts]
        return self.towers(mixed)  # task -> [B] or [B, K]

    @classmethod
    def gate_experts(cls, tasks, config) -> dict[str, list[str]]:
        names = [f"Expert {i + 1}" for i in range(int(config.n_experts))]
        return {str(getattr(t, "name", t)): list(names) for t in tasks}

    @classmethod
    def diagram(cls, tasks, config) -> Diagram:
        b = DiagramBuilder(f"MMoE: {config.n_experts} shared experts, one gate per task", tasks)
        experts = b.experts(1, config.n_experts, b.inputs(), "Shared expert MLP, read by every gate")
        gates = b.per_task("gate", "Gate", "gate", 2, "Softmax gate of {task}: mixes all experts")
        b.fan(experts, gates.values())
        b.towers(3, gates)
        return b.build(representation=experts)
