"""CAGrad (Liu et al., "Conflict-Averse Gradient Descent for Multi-task Learning",
NeurIPS 2021).

With task gradients ``g_t`` on the shared parameters and their average ``g0``, the dual
problem over the simplex is

    min_x  F(x) = g_w . g0 + c |g0| |g_w|,      g_w = sum_t x_t g_t

(``c`` = ``c``, default 0.5). As in the reference implementation the update is

    d = (g0 + (c |g0| / |g_w|) g_w) / (1 + c^2)

The dual is solved scipy-free on the ``[T, T]`` Gram matrix (normalised to unit mean
diagonal; the minimiser is scale-free) by projected gradient descent on the simplex with
step ``step / sqrt(k+1)``, keeping the best iterate; everything stays on the device.

With ``c = 0`` the update is exactly the *average* of the task gradients ``g0`` (not their
sum): the shared parameters then get ``1/T`` of the Fixed method's gradient. Task-specific
parameters get their ordinary gradients (as in the reference code).
"""
from __future__ import annotations

import torch

from .base import Weighting


def project_simplex(v: torch.Tensor) -> torch.Tensor:
    """Euclidean projection of ``v [T]`` onto the probability simplex (sort-based, no sync)."""
    n = v.shape[0]
    u, _ = torch.sort(v, descending=True)
    css = torch.cumsum(u, 0) - 1.0
    k = torch.arange(1, n + 1, device=v.device, dtype=v.dtype)
    rho = ((u - css / k) > 0).to(v.dtype).mul(k).argmax()  # last index where the test holds
    theta = css.gather(0, rho.view(1)) / (rho + 1).to(v.dtype)
    return torch.clamp(v - theta, min=0.0)


def cagrad_dual(GG: torch.Tensor, c: float, iters: int = 50, step: float = 0.5) -> torch.Tensor:
    """Simplex weights ``x [T]`` minimising ``x'A b + c sqrt(b'A b) sqrt(x'A x)`` (A = Gram
    matrix, b = uniform)."""
    T = GG.shape[0]
    A = GG / (GG.diagonal().mean() + 1e-12)
    b = torch.full((T,), 1.0 / T, device=A.device, dtype=A.dtype)
    Ab = A @ b
    cn = c * torch.sqrt(b @ Ab + 1e-12)  # c |g0| in normalised units

    def f(x):
        return x @ Ab + cn * torch.sqrt(x @ A @ x + 1e-12)

    x = b.clone()
    best, best_f = x, f(x)
    for k in range(iters):
        Ax = A @ x
        grad = Ab + cn * Ax / torch.sqrt(x @ Ax + 1e-12)
        x = project_simplex(x - step / (k + 1) ** 0.5 * grad)
        fx = f(x)
        better = fx < best_f
        best = torch.where(better, x, best)
        best_f = torch.where(better, fx, best_f)
    return best


def cagrad_combine(G: torch.Tensor, c: float, iters: int = 50) -> torch.Tensor:
    """CAGrad update direction from task gradients ``G [T, P]``."""
    g0 = G.mean(0)
    if c == 0:
        return g0
    x = cagrad_dual(G @ G.T, c, iters)
    gw = x @ G
    lam = c * g0.norm() / (gw.norm() + 1e-8)
    return (g0 + lam * gw) / (1.0 + c ** 2)


class CAGrad(Weighting):
    def __init__(self, task_names, train_config, device="cpu") -> None:
        super().__init__(task_names, train_config, device)
        self.c = self.hparam("c")
        self.iters = self.hparam("iters")

    def backward(self, losses: dict[str, torch.Tensor], model) -> torch.Tensor:
        return self.combined_backward(losses, model, lambda G: cagrad_combine(G, self.c, self.iters))
