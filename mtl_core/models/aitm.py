"""AITM: Adaptive Information Transfer Multi-task model.

Xi, Chen, Song, Shen, Zheng, Wang, Yu, Zhou, "Modeling the Sequential Dependence among
Audience Multi-step Conversions with Multi-task Learning in Targeted Display Advertising",
KDD 2021. The binary tasks form a conversion funnel **in the order the config lists them**
(e.g. view, cart, purchase: list the tasks in funnel order). Every task has its own tower
MLP (``config.hidden``) over the shared embeddings. Along the funnel, the Adaptive
Information Transfer (AIT) module of task t attends over two vectors, its own tower output
q_t and the information p_{t-1} = g(z_{t-1}) passed on from task t-1's transferred output
z_{t-1} (g: Linear-ReLU), and mixes them with scaled dot-product attention weights into
z_t. A head (``config.tower_hidden``) turns z_t into the task's logit. Non-binary tasks get
their tower and head, outside the funnel.

The behavioural expectation calibrator ``extra_losses`` adds
``config.aitm_calibrator × mean(max(p_t − p_{t−1}, 0))`` to task t's loss: a later funnel
step should not be more likely than the step before it (0 turns it off; the paper's code
uses 0.6). The shared representation is the embedded input, read by every tower.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ConfigError
from ..types import FeatureSpec, TaskInfo
from .base import MultiTaskModel, Towers, mlp, mlp_out_dim
from .diagram import Diagram, DiagramBuilder


def funnel_tasks(tasks: list[TaskInfo]) -> list[str]:
    """The binary tasks in config order (the funnel); a ``ConfigError`` with fewer than two."""
    binary = [t.name for t in tasks if t.kind == "binary"]
    if len(binary) < 2:
        raise ConfigError(
            "The aitm architecture needs at least two binary tasks in funnel order (e.g. click, then "
            f"purchase); got {len(binary)}: {', '.join(binary) or 'none'}."
        )
    return binary


class AdaptiveTransfer(nn.Module):
    """Attention over ``[B, 2, H]`` (own tower output, transferred information) -> the
    mixture ``[B, H]`` and its two weights ``[B, 2]``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.q, self.k, self.v = (nn.Linear(dim, dim) for _ in range(3))
        self.scale = 1.0 / math.sqrt(max(dim, 1))

    def forward(self, pair: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = (self.q(pair) * self.k(pair)).sum(-1) * self.scale  # [B, 2]
        w = torch.softmax(a, dim=-1)  # [B, 2]
        return (w.unsqueeze(-1) * self.v(pair)).sum(1), w  # [B, H], [B, 2]


class AITM(MultiTaskModel):
    shared_modules = ("embedding",)
    representation = "input features + embeddings [B, C*E + D], read by every task's tower"

    def __init__(self, features: FeatureSpec, tasks: list[TaskInfo], config) -> None:
        funnel = funnel_tasks(list(tasks))
        super().__init__(features, tasks, config)
        self.funnel = funnel
        self.calibrator = float(config.aitm_calibrator)
        d, hidden = self.embedding.output_dim, list(config.hidden)
        h = mlp_out_dim(d, hidden)
        self.bottoms = nn.ModuleDict({t.name: mlp(d, hidden, config.dropout) for t in self.tasks})
        self.info = nn.ModuleDict({t: nn.Sequential(nn.Linear(h, h), nn.ReLU()) for t in funnel[:-1]})
        self.transfer = nn.ModuleDict({t: AdaptiveTransfer(h) for t in funnel[1:]})
        self.towers = Towers(h, self.tasks, list(config.tower_hidden), config.dropout)
        #: the last forward pass's attention weights per funnel task after the first:
        #: ``[B, 2]`` (own tower, information from the previous task), when ``record_gates``
        self.last_attention: dict[str, torch.Tensor] = {}
        self.init_weights(config.init)

    def forward(self, cat: torch.Tensor, num: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.share(self.embedding(cat, num))  # [B, C*E + D]
        z = {n: self.bottoms[n](x) for n in self.task_names}  # task -> [B, H]
        for prev, task in zip(self.funnel, self.funnel[1:]):
            pair = torch.stack([z[task], self.info[prev](z[prev])], dim=1)  # [B, 2, H]
            z[task], w = self.transfer[task](pair)  # [B, H], [B, 2]
            if self.record_gates:
                self.last_attention[task] = w.detach()
        return self.towers(z)  # task -> [B] or [B, K]

    def extra_losses(self, outputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The behavioural expectation calibrator: task t -> weight × mean(max(p_t − p_{t−1}, 0))."""
        if self.calibrator <= 0:
            return {}
        p = {n: torch.sigmoid(outputs[n].float()) for n in self.funnel}
        return {task: self.calibrator * torch.relu(p[task] - p[prev]).mean()
                for prev, task in zip(self.funnel, self.funnel[1:])}

    @classmethod
    def diagram(cls, tasks, config) -> Diagram:
        b = DiagramBuilder("AITM: tower per task, funnel transfer", tasks)
        funnel = [t for t in b.tasks if b.kinds.get(t) in ("binary", None)]
        x = b.inputs()
        towers = b.per_task("bottom", "Tower\n{task}", "tower", 1, "Own tower MLP of {task}")
        b.fan([x], towers.values())
        ait = b.per_task("ait", "AIT\n{task}", "gate", 2,
                         "Attention over {task}'s tower output and the information from the previous step",
                         funnel[1:])
        b.pair(towers, ait)
        for prev, task in zip(funnel, funnel[1:]):
            b.arrow(ait.get(prev, towers[prev]), ait[task])  # information p_{t-1} = g(z_{t-1})
        heads = {t: ait.get(t, towers[t]) for t in b.tasks}
        b.towers(3, heads, label="Head\n{task}")
        return b.build(representation=[x])
