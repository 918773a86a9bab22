"""PLE: Progressive Layered Extraction (CGC when ``config.levels == 1``).

Tang, Liu, Zhao, Gong, "Progressive Layered Extraction (PLE): A Novel Multi-Task Learning
(MTL) Model for Personalized Recommendations", RecSys 2020. Every extraction level has
``config.n_task_experts`` task-specific experts per task and ``config.n_shared_experts``
shared experts (MLPs ``config.hidden``). A task's gate mixes its own and the shared experts;
below the top level a shared gate mixes all experts into the next level's shared input.

The shared representation is the top level's shared experts' outputs ``[B, n_shared, H]``:
the last tensor every task's gate reads (a task's own experts are read by that task only).
"""
from __future__ import annotations

import torch
from torch import nn

from ..types import FeatureSpec, TaskInfo
from .base import Experts, MultiTaskModel, Towers, gated_mix
from .diagram import Diagram, DiagramBuilder


class PLE(MultiTaskModel):
    shared_modules = ("embedding", "shared_experts", "shared_gates")
    representation = "outputs of the top level's shared experts [B, n_shared_experts, hidden[-1]]"
    has_gates = True

    def __init__(self, features: FeatureSpec, tasks: list[TaskInfo], config) -> None:
        super().__init__(features, tasks, config)
        hidden, nt, ns, T = list(config.hidden), config.n_task_experts, config.n_shared_experts, len(self.tasks)
        self.task_experts, self.task_gates = nn.ModuleList(), nn.ModuleList()
        self.shared_experts, self.shared_gates = nn.ModuleList(), nn.ModuleList()
        d = self.embedding.output_dim
        for level in range(config.levels):
            self.task_experts.append(nn.ModuleDict({t.name: Experts(d, nt, hidden, config.dropout) for t in self.tasks}))
            self.task_gates.append(nn.ModuleDict({t.name: nn.Linear(d, nt + ns) for t in self.tasks}))
            self.shared_experts.append(Experts(d, ns, hidden, config.dropout))
            if level < config.levels - 1:  # the top level has no shared output
                self.shared_gates.append(nn.Linear(d, T * nt + ns))
            d = self.shared_experts[-1].output_dim
        self.towers = Towers(d, self.tasks, list(config.tower_hidden), config.dropout)
        self.init_weights(config.init)

    def forward(self, cat: torch.Tensor, num: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.embedding(cat, num)  # [B, C*E + D]
        task_in = {name: x for name in self.task_names}
        shared_in = x
        top = len(self.shared_experts) - 1
        for level, shared_experts in enumerate(self.shared_experts):
            shared = shared_experts(shared_in)  # [B, ns, H]
            if level == top:
                shared = self.share(shared)
            own = {n: self.task_experts[level][n](task_in[n]) for n in self.task_names}  # [B, nt, H]
            for n in self.task_names:
                pool = torch.cat([own[n], shared], dim=1)  # [B, nt + ns, H]
                task_in[n], w = gated_mix(self.task_gates[level][n](task_in[n]), pool)  # [B, H]
                if self.record_gates:
                    self.last_gates[f"level{level}/{n}"] = w.detach()  # [B, nt + ns]
            if level < top:
                pool = torch.cat([own[n] for n in self.task_names] + [shared], dim=1)  # [B, T*nt + ns, H]
                shared_in, _ = gated_mix(self.shared_gates[level](shared_in), pool)  # [B, H]
        return self.towers(task_in)  # task -> [B] or [B, K]

    @classmethod
    def gate_experts(cls, tasks, config) -> dict[str, list[str]]:
        """A task's gate reads its own experts first, then the shared ones (see ``forward``)."""
        nt, ns = int(config.n_task_experts), int(config.n_shared_experts)
        out = {}
        for level in range(int(config.levels)):
            at = "" if int(config.levels) == 1 else f" (L{level + 1})"
            for t in (str(getattr(t, "name", t)) for t in tasks):
                out[f"level{level}/{t}"] = ([f"{t} own {j + 1}{at}" for j in range(nt)]
                                            + [f"shared {j + 1}{at}" for j in range(ns)])
        return out

    @classmethod
    def diagram(cls, tasks, config) -> Diagram:
        levels = int(config.levels)
        title = "PLE (CGC): own + shared experts per task" if levels == 1 else \
            f"PLE, {levels} levels: own + shared experts"
        b = DiagramBuilder(title, tasks)
        x = b.inputs()
        per_level = "" if levels == 1 else f" (at each of the {levels} levels)"
        shared = b.box("shared_experts", f"Shared\nexperts ×{config.n_shared_experts}", "expert", 1,
                       hover=f"{config.n_shared_experts} experts shared by all tasks{per_level}")
        own = b.per_task("own", f"Own\nexperts ×{config.n_task_experts}\n{{task}}", "expert", 1,
                         f"{config.n_task_experts} expert(s) of {{task}} only{per_level}")
        b.fan([x], [shared, *own.values()])
        gates = b.per_task("gate", "Gate", "gate", 2, "Softmax gate of {task}: mixes the shared and its own experts")
        b.fan([shared], gates.values())
        b.pair(own, gates)
        b.towers(3, gates)
        return b.build(representation=[shared])
