"""GradNorm (Chen et al., "GradNorm: Gradient Normalization for Adaptive Loss Balancing in
Deep Multitask Networks", ICML 2018).

Learnable task weights ``w_t`` (start: the user's ``task_weights`` rescaled to sum to T, so
1.0 each by default). Per batch:

1. ``n_t = |grad_W L_t|`` on the *last shared weight matrix* ``W`` (the last shared
   parameter with >= 2 dims; the last shared parameter if none is a matrix; all parameters
   for models without shared ones). ``G_t = w_t n_t`` is the weighted gradient norm; ``n_t``
   does not depend on ``w`` so no double backward is needed.
2. The model gets the gradients of ``sum_t w_t L_t`` (``w`` detached).
3. GradNorm loss ``sum_t |G_t - G_avg r_t^alpha|`` with ``r_t = (L_t/L_t(0)) / mean_j(L_j/L_j(0))``
   and the target held constant (as in the paper); ``alpha`` default 1.5.

Design for the trainer's single ``optimizer.step()``: the weights are *not* handed to the
trainer (``parameters()`` is empty). ``backward`` itself takes one step of a private Adam
optimizer on ``w`` (``lr``, default 0.025, independent of the model's learning rate, which
is usually far too small for the weights), then clamps ``w >= 1e-4`` and renormalises to
``sum_t w_t = T``. So the whole update happens inside ``backward``, with no host sync.
"""
from __future__ import annotations

import torch

from .base import Weighting


class GradNorm(Weighting):
    def __init__(self, task_names, train_config, device="cpu") -> None:
        super().__init__(task_names, train_config, device)
        self.alpha = self.hparam("alpha", 1.5, lo=0)
        self.lr = self.hparam("lr", 0.025, lo=0, lo_open=True)
        T = len(self.task_names)
        s = self.base_weights.sum()
        w0 = self.base_weights * T / s if float(s) > 0 else torch.ones_like(self.base_weights)
        self.w = torch.nn.Parameter(w0.clone())
        self._opt = torch.optim.Adam([self.w], lr=self.lr)
        self.initial_losses: torch.Tensor | None = None
        self.last_grad_norms: torch.Tensor | None = None  # G_t of the last batch (weighted norms)

    @staticmethod
    def norm_layer(model) -> list[torch.nn.Parameter]:
        shared = list(model.shared_parameters())
        mats = [p for p in shared if p.dim() >= 2]
        if mats:
            return [mats[-1]]
        if shared:
            return shared[-1:]
        return [p for p in model.parameters() if p.requires_grad]

    def backward(self, losses: dict[str, torch.Tensor], model) -> torch.Tensor:
        L = self.stack(losses)  # [T]
        layer = self.norm_layer(model)
        norms = self.task_gradients(losses, self.task_names, layer).norm(dim=1)  # [T]
        total = (self.w.detach() * L).sum()
        total.backward()

        Ld = L.detach()
        if self.initial_losses is None:
            self.initial_losses = Ld.clamp_min(1e-12)
        ratio = Ld / self.initial_losses
        r = ratio / ratio.mean().clamp_min(1e-12)
        G = self.w * norms  # [T], differentiable in w only
        target = (G.mean() * r.clamp_min(0) ** self.alpha).detach()
        gn_loss = (G - target).abs().sum()
        self._opt.zero_grad(set_to_none=True)
        self.w.grad = torch.autograd.grad(gn_loss, self.w)[0]
        self._opt.step()
        with torch.no_grad():
            self.w.clamp_(min=1e-4)
            self.w.mul_(len(self.task_names) / self.w.sum())
        self.last_grad_norms = G.detach()
        return total.detach()

    def weights(self) -> dict[str, float]:
        return dict(zip(self.task_names, self.w.detach().tolist()))
