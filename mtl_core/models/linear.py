"""Linear multi-task baseline: one linear (logistic / softmax / least-squares) head per task.

The classic generalised-linear baseline of click-through-rate prediction (e.g. McMahan et
al., "Ad Click Prediction: a View from the Trenches", KDD 2013), here over learned field
embeddings plus the numeric features. The embedding is the only shared part, so its output
(the input features + embeddings) is the shared representation.
"""
from __future__ import annotations

import torch

from ..types import FeatureSpec, TaskInfo
from .base import MultiTaskModel, Towers
from .diagram import Diagram, DiagramBuilder


class LinearMTL(MultiTaskModel):
    shared_modules = ("embedding",)
    representation = "input features + embeddings [B, C*E + D]"

    def __init__(self, features: FeatureSpec, tasks: list[TaskInfo], config) -> None:
        super().__init__(features, tasks, config)
        self.towers = Towers(self.embedding.output_dim, self.tasks, hidden=[])
        self.init_weights(config.init)

    def forward(self, cat: torch.Tensor, num: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.share(self.embedding(cat, num))  # [B, C*E + D]
        return self.towers(x)  # task -> [B] or [B, K]

    @classmethod
    def diagram(cls, tasks, config) -> Diagram:
        b = DiagramBuilder("Linear: one linear head per task", tasks)
        x = b.inputs()
        b.towers(1, x, label="Linear\n{task}")
        return b.build(representation=[x])
