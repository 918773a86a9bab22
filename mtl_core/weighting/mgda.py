"""MGDA (Sener & Koltun, "Multi-Task Learning as Multi-Objective Optimization",
NeurIPS 2018).

The shared parameters move along the min-norm point of the convex hull of the task
gradients, ``d = sum_t lambda_t g_t`` with ``lambda`` on the simplex minimising ``|d|^2``
(a Pareto-stationary direction when it is zero). The paper's MGDA-UB takes gradients w.r.t.
the shared representation as a cheap upper bound; here they are taken on the shared
*parameters* (exact MGDA, one extra backward per task). For two tasks the closed form

    gamma = clamp((g2 - g1) . g2 / |g1 - g2|^2, 0, 1),   lambda = (gamma, 1 - gamma)

is used; for more tasks Frank-Wolfe on the Gram matrix (``iters`` steps, default 25, with
exact line search), all on the device. Task-specific parameters get their own task's
ordinary gradient (Algorithm 2 of the paper). ``weights()`` reports the last ``lambda``.
"""
from __future__ import annotations

import torch

from .base import Weighting


def min_norm_weights(GG: torch.Tensor, iters: int = 25) -> torch.Tensor:
    """Simplex weights of the min-norm point of the convex hull of vectors with Gram matrix
    ``GG [T, T]``."""
    T = GG.shape[0]
    M = GG / (GG.diagonal().mean() + 1e-12)  # the minimiser is scale-free
    if T == 1:
        return torch.ones(1, device=M.device, dtype=M.dtype)
    if T == 2:
        denom = M[0, 0] + M[1, 1] - 2 * M[0, 1]
        gamma = torch.where(denom > 1e-12, (M[1, 1] - M[0, 1]) / denom.clamp_min(1e-12),
                            torch.full_like(denom, 0.5)).clamp(0.0, 1.0)
        return torch.stack([gamma, 1 - gamma])
    lam = torch.full((T,), 1.0 / T, device=M.device, dtype=M.dtype)
    eye = torch.eye(T, device=M.device, dtype=M.dtype)
    for _ in range(iters):
        Ml = M @ lam
        e = eye[Ml.argmin()]  # vertex with the smallest inner product with the current point
        v1, v12, v2 = lam @ Ml, e @ Ml, e @ M @ e
        denom = v1 + v2 - 2 * v12
        gamma = torch.where(denom > 1e-12, (v2 - v12) / denom.clamp_min(1e-12),
                            torch.ones_like(denom)).clamp(0.0, 1.0)
        lam = gamma * lam + (1 - gamma) * e
    return lam


class MGDA(Weighting):
    def __init__(self, task_names, train_config, device="cpu") -> None:
        super().__init__(task_names, train_config, device)
        self.iters = self.hparam("iters")
        self.lambdas = torch.full((len(self.task_names),), 1.0 / max(len(self.task_names), 1), device=self.device)

    def _combine(self, G: torch.Tensor) -> torch.Tensor:
        self.lambdas = min_norm_weights(G @ G.T, self.iters).detach()
        return self.lambdas @ G

    def backward(self, losses: dict[str, torch.Tensor], model) -> torch.Tensor:
        return self.combined_backward(losses, model, self._combine)

    def weights(self) -> dict[str, float]:
        return dict(zip(self.task_names, self.lambdas.tolist()))
