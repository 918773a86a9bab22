"""PCGrad (Yu et al., "Gradient Surgery for Multi-Task Learning", NeurIPS 2020).

Per-task gradients ``g_t`` on the shared parameters. For each task, visiting the other tasks
in random order, the part of its gradient that conflicts with another task's (original)
gradient is projected away:

    if g_i . g_j < 0:   g_i <- g_i - (g_i . g_j / |g_j|^2) g_j

and the projected gradients are summed into the shared parameters. The conflict test is
done with ``clamp(dot, max=0)`` so no host sync is needed per batch. Task-specific
parameters get their ordinary gradients.
"""
from __future__ import annotations

import torch

from .base import Weighting


def project_conflicting(G: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """PCGrad combination of task gradients ``G [T, P]`` -> ``[P]``."""
    T = G.shape[0]
    sq = (G * G).sum(1).clamp_min(1e-20)  # [T]
    rows = []
    for i in range(T):
        g = G[i]
        for j in torch.randperm(T, generator=generator).tolist():  # CPU permutation: no device sync
            if j == i:
                continue
            dot = torch.dot(g, G[j])
            g = g - torch.clamp(dot, max=0.0) / sq[j] * G[j]
        rows.append(g)
    return torch.stack(rows).sum(0)


class PCGrad(Weighting):
    def __init__(self, task_names, train_config, device="cpu") -> None:
        super().__init__(task_names, train_config, device)
        self.generator = torch.Generator().manual_seed(int(getattr(train_config, "seed", 0) or 0))

    def backward(self, losses: dict[str, torch.Tensor], model) -> torch.Tensor:
        return self.combined_backward(losses, model, lambda G: project_conflicting(G, self.generator))
