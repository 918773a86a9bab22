"""GradNorm (Chen et al., "GradNorm: Gradient Normalization for Adaptive Loss Balancing in
Deep Multitask Networks", ICML 2018).

Learnable task weights ``w_t`` (start: the user's ``task_weights`` rescaled to sum to T, so
1.0 each by default). Per batch:

1. ``n_t = |grad_h L_t|`` on the model's *shared representation* ``h``, the tensor every
   task reads from the shared part as the architecture declares it
   (``model.shared_representation()``: the shared-bottom output, MMoE's expert outputs,
   PLE's top-level shared experts' outputs, the linear model's input embeddings): the
   representation-gradient option of LibMTL, and the paper's choice of the last shared
   layer's activations. ``G_t = w_t n_t`` is the weighted gradient norm; ``n_t`` does not
   depend on ``w`` so no double backward is needed.
2. The model gets the gradients of ``sum_t w_t L_t`` (``w`` detached).
3. GradNorm loss ``sum_t |G_t - G_avg r_t^alpha|`` with ``r_t = (L_t/L_t(0)) / mean_j(L_j/L_j(0))``
   and the target held constant (as in the paper); ``alpha`` default 1.5.

A model that shares no representation (``single``, the scikit-learn baseline) has nothing
to balance: GradNorm then keeps its initial weights, i.e. behaves as fixed weighting, and
says so once with a ``RuntimeWarning`` (``fallback`` holds the reason).

Design for the trainer's single ``optimizer.step()``: the weights are *not* handed to the
trainer (``param_groups()`` is empty). ``backward`` itself takes one step of a private Adam
optimizer on ``w`` (``lr``, default 0.025, independent of the model's learning rate, which
is usually far too small for the weights), then clamps ``w >= 1e-4`` and renormalises to
``sum_t w_t = T``. So the whole update happens inside ``backward``, with no host sync.
"""
from __future__ import annotations

import warnings

import torch

from .base import Weighting


class GradNorm(Weighting):
    def __init__(self, task_names, train_config, device="cpu") -> None:
        super().__init__(task_names, train_config, device)
        self.alpha = self.hparam("alpha")
        self.lr = self.hparam("lr")
        T = len(self.task_names)
        s = self.base_weights.sum()
        w0 = self.base_weights * T / s if float(s) > 0 else torch.ones_like(self.base_weights)
        self.w = torch.nn.Parameter(w0.clone())
        self._opt = torch.optim.Adam([self.w], lr=self.lr)
        self.initial_losses: torch.Tensor | None = None
        self.last_grad_norms: torch.Tensor | None = None  # G_t of the last batch (weighted norms)
        self.fallback: str | None = None  # why the weights stay fixed, if they do

    def backward(self, losses: dict[str, torch.Tensor], model) -> torch.Tensor:
        G_rep = self.representation_gradients(losses, self.task_names, model)  # [T, P]
        if G_rep is None:
            return self._fixed(losses, model)
        norms = G_rep.norm(dim=1).float()  # [T]
        L = self.stack(losses)  # [T]
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

    def _fixed(self, losses: dict[str, torch.Tensor], model) -> torch.Tensor:
        if self.fallback is None:
            self.fallback = (f"GradNorm needs a shared representation to balance and {type(model).__name__} "
                             "shares none; the task weights stay fixed at their initial values.")
            warnings.warn(self.fallback, RuntimeWarning, stacklevel=3)
        total = (self.w.detach() * self.stack(losses)).sum()
        total.backward()
        return total.detach()

    def weights(self) -> dict[str, float]:
        return dict(zip(self.task_names, self.w.detach().tolist()))
