"""Single-task baseline: an independent network per task, nothing shared.

Each task gets its own embedding tables and its own MLP (``config.hidden`` followed by
``config.tower_hidden``), so this is equivalent to training one model per task — the
reference point every multi-task paper compares against (e.g. Caruana, "Multitask
Learning", Machine Learning 1997; Ma et al., KDD 2018). No shared parameters and no
shared representation.
"""
from __future__ import annotations

import torch
from torch import nn

from ..types import FeatureSpec, TaskInfo
from .base import FeatureEmbedding, MultiTaskModel, mlp, zero_final_bias
from .diagram import Diagram, DiagramBuilder


class _TaskNet(nn.Module):
    """Embedding + MLP for one task: ``(cat, num) -> [B, n_outputs]``."""

    def __init__(self, features: FeatureSpec, task: TaskInfo, config) -> None:
        super().__init__()
        self.embedding = FeatureEmbedding(features, config.embed_dim, config.embed_init_std)
        self.net = mlp(self.embedding.output_dim, list(config.hidden) + list(config.tower_hidden),
                       config.dropout, out_dim=task.n_outputs)
        if task.kind == "binary":
            zero_final_bias(self.net)

    def forward(self, cat: torch.Tensor, num: torch.Tensor) -> torch.Tensor:
        return self.net(self.embedding(cat, num))


class SingleTask(MultiTaskModel):
    shared_modules = ()

    def __init__(self, features: FeatureSpec, tasks: list[TaskInfo], config) -> None:
        super().__init__(features, tasks, config)
        self.embedding = None  # every task has its own embedding in ``nets``
        self.nets = nn.ModuleDict({t.name: _TaskNet(features, t, config) for t in self.tasks})
        self.init_weights(config.init)

    def forward(self, cat: torch.Tensor, num: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {}
        for t in self.tasks:
            y = self.nets[t.name](cat, num)  # [B, K]
            out[t.name] = y.squeeze(-1) if t.n_outputs == 1 else y  # [B] or [B, K]
        return out

    @classmethod
    def diagram(cls, tasks, config) -> Diagram:
        b = DiagramBuilder("Single-task: a separate model per task", tasks)
        own = b.per_task("input", "Own\nembeddings", "input", 0, "Features and embeddings used only by {task}")
        nets = b.per_task("mlp", "MLP\n{task}", "tower", 1, "Independent network for {task}")
        b.pair(own, nets)
        b.pair(nets, b.outputs(2))
        return b.build()
