"""Cross-stitch networks.

Misra, Shrivastava, Gupta, Hebert, "Cross-stitch Networks for Multi-task Learning",
CVPR 2016. One column (an MLP of ``config.hidden`` layers) per task over the shared
embeddings; after every layer a cross-stitch unit mixes the columns' activations with a
learned task × task matrix α: the input of task t's next layer is Σ_s α[t, s] h_s. α starts
near the identity (``SELF_WEIGHT`` on the diagonal, the rest of each row shared equally
among the other tasks, as the paper's (0.9, 0.1)), so training starts from almost separate
networks and learns how much to share. A tower (``config.tower_hidden``) per task follows.

Every task's loss reaches every column through the units, so the columns and the units are
shared parameters; only the towers are task-specific. The shared representation is the
columns' top-layer activations before the last unit ``[B, n_tasks, hidden[-1]]`` (with no
hidden layer: the embedded input).
"""
from __future__ import annotations

import torch
from torch import nn

from ..types import FeatureSpec, TaskInfo
from .base import MultiTaskModel, Towers, mlp, mlp_out_dim
from .diagram import Diagram, DiagramBuilder

#: the diagonal of a cross-stitch unit at initialisation (the paper's α_S = 0.9)
SELF_WEIGHT = 0.9


class CrossStitchUnit(nn.Module):
    """``[B, T, H] -> [B, T, H]``: output t = Σ_s α[t, s] · input s."""

    def __init__(self, n_tasks: int, self_weight: float = SELF_WEIGHT) -> None:
        super().__init__()
        other = (1.0 - self_weight) / (n_tasks - 1) if n_tasks > 1 else 0.0
        alpha = torch.full((n_tasks, n_tasks), other)
        alpha.fill_diagonal_(self_weight if n_tasks > 1 else 1.0)
        self.alpha = nn.Parameter(alpha)  # [T, T]

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.einsum("ts,bsh->bth", self.alpha, h)


class CrossStitch(MultiTaskModel):
    shared_modules = ("embedding", "columns", "stitches")
    representation = "the task columns' top-layer activations before the last cross-stitch unit [B, T, hidden[-1]]"

    def __init__(self, features: FeatureSpec, tasks: list[TaskInfo], config) -> None:
        super().__init__(features, tasks, config)
        d, hidden = self.embedding.output_dim, list(config.hidden)
        sizes = [d, *hidden]
        self.columns = nn.ModuleDict({t.name: nn.ModuleList(mlp(sizes[i], [h], config.dropout)
                                                            for i, h in enumerate(hidden)) for t in self.tasks})
        self.stitches = nn.ModuleList(CrossStitchUnit(len(self.tasks)) for _ in hidden)
        self.towers = Towers(mlp_out_dim(d, hidden), self.tasks, list(config.tower_hidden), config.dropout)
        self.init_weights(config.init)

    def forward(self, cat: torch.Tensor, num: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.embedding(cat, num)  # [B, C*E + D]
        if not len(self.stitches):
            x = self.share(x)
            return self.towers(x)
        h = [x] * len(self.task_names)
        for level, unit in enumerate(self.stitches):
            acts = torch.stack([self.columns[n][level](h[j]) for j, n in enumerate(self.task_names)], 1)  # [B, T, H]
            if level == len(self.stitches) - 1:
                acts = self.share(acts)
            h = unit(acts).unbind(1)  # T x [B, H]
        return self.towers(dict(zip(self.task_names, h)))  # task -> [B] or [B, K]

    @classmethod
    def diagram(cls, tasks, config) -> Diagram:
        layers = len(config.hidden)
        b = DiagramBuilder("Cross-stitch: task columns mixed by α", tasks)
        x = b.inputs()
        cols = b.per_task("column", "Column\n{task}", "expert", 1,
                          f"{task_layers(config)} of {{task}}, mixed with the other columns after each layer")
        b.fan([x], cols.values())
        unit = b.box("stitch", f"Cross-stitch\nunits ×{layers}", "gate", 2,
                     hover="Learned task × task weights α (start near the identity) mixing the columns' "
                           "activations after every layer")
        b.fan(cols.values(), [unit])
        b.towers(3, unit)
        return b.build(representation=list(cols.values()))


def task_layers(config) -> str:
    return f"Layers {list(config.hidden)}" if config.hidden else "No hidden layer"
