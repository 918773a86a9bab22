"""Shared-Bottom (hard parameter sharing): one shared MLP, then a tower per task.

Caruana, "Multitask Learning", Machine Learning 28 (1997); the standard multi-task
baseline in Ma et al., "Modeling Task Relationships in Multi-task Learning with
Multi-gate Mixture-of-Experts", KDD 2018. The shared representation is the bottom MLP's
output, read by every tower.
"""
from __future__ import annotations

import torch

from ..types import FeatureSpec, TaskInfo
from .base import MultiTaskModel, Towers, mlp, mlp_out_dim
from .diagram import Diagram, DiagramBuilder


class SharedBottom(MultiTaskModel):
    shared_modules = ("embedding", "bottom")
    representation = "output of the shared bottom MLP [B, hidden[-1]]"

    def __init__(self, features: FeatureSpec, tasks: list[TaskInfo], config) -> None:
        super().__init__(features, tasks, config)
        d = self.embedding.output_dim
        self.bottom = mlp(d, list(config.hidden), config.dropout)
        self.towers = Towers(mlp_out_dim(d, list(config.hidden)), self.tasks,
                             list(config.tower_hidden), config.dropout)
        self.init_weights(config.init)

    def forward(self, cat: torch.Tensor, num: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.embedding(cat, num)  # [B, C*E + D]
        h = self.share(self.bottom(x))  # [B, H]
        return self.towers(h)  # task -> [B] or [B, K]

    @classmethod
    def diagram(cls, tasks, config) -> Diagram:
        b = DiagramBuilder("Shared bottom: one MLP, a tower per task", tasks)
        h = bottom_box(b, b.inputs(), config)
        b.towers(2, h)
        return b.build(representation=[h])


def bottom_box(b: DiagramBuilder, src: str, config) -> str:
    """The shared bottom MLP box in column 1, fed by ``src``."""
    h = b.box("bottom", "Shared\nbottom MLP", "shared", 1,
              hover=f"Hidden layers {list(config.hidden)} shared by all tasks")
    b.arrow(src, h)
    return h
