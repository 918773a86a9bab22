"""Base class of loss-weighting and gradient-combination methods.

The trainer calls, per batch::

    total = weighting.backward(losses, model)   # losses: task -> scalar tensor
    optimizer.step()

and, per epoch, ``weighting.on_epoch_end(epoch, mean_train_losses)``. It never checks a
method's name. Loss-weighting methods only implement ``combine``; gradient methods
(PCGrad, CAGrad, MGDA, GradNorm) override ``backward`` and use the helpers here to get
per-task gradients on the model's shared parameters and write a combined gradient back.
``combined_backward(losses, model, combine)`` is the whole template of such a method:
it only needs ``combine(G [T, P]) -> [P]``. Hyper-parameters come from
``train_config.weighting_params`` through ``hparam`` (validated, paper default otherwise).
"""
from __future__ import annotations


import torch


class Weighting:
    #: learnable parameters of the method (e.g. log-variances) are optimised with the model
    def __init__(self, task_names: list[str], train_config, device: torch.device | str = "cpu") -> None:
        self.task_names = list(task_names)
        self.config = train_config
        self.device = torch.device(device)
        tw = dict(train_config.task_weights or {}) if train_config is not None else {}
        self.base_weights = torch.tensor([float(tw.get(t, 1.0)) for t in self.task_names],
                                         dtype=torch.float32, device=self.device)
        self.params = dict(getattr(train_config, "weighting_params", {}) or {})

    # -- API used by the trainer ------------------------------------------------------------
    def parameters(self) -> list[torch.nn.Parameter]:
        """Learnable parameters to add to the optimizer (none by default)."""
        return []

    def combine(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        """Scalar total loss from per-task losses (default: fixed weighted sum)."""
        return (self.base_weights * self.stack(losses)).sum()

    def backward(self, losses: dict[str, torch.Tensor], model) -> torch.Tensor:
        """Compute gradients for one batch (``.grad`` of model and method parameters) and
        return the detached total loss."""
        total = self.combine(losses)
        total.backward()
        return total.detach()

    def weights(self) -> dict[str, float]:
        """Current effective weight per task (for logging / plots)."""
        return {t: float(w) for t, w in zip(self.task_names, self.base_weights.tolist())}

    def on_epoch_end(self, epoch: int, train_losses: dict[str, float]) -> None:
        """Called once per epoch with the mean training loss per task."""

    def state(self) -> dict:
        """JSON-safe state for run records."""
        return {"weights": self.weights()}

    # -- helpers for subclasses -------------------------------------------------------------
    def hparam(self, name: str, default: float, lo: float | None = None, hi: float | None = None,
               lo_open: bool = False) -> float:
        """Hyper-parameter ``name`` from ``train_config.weighting_params`` (paper default
        otherwise), validated: a ``ConfigError`` names the parameter, the range and the value."""
        from ..validate import number

        value = self.params.get(name, default)
        number(f"train.weighting_params[{name!r}]", value, lo=lo, hi=hi, lo_open=lo_open)
        return float(value)

    def combined_backward(self, losses: dict[str, torch.Tensor], model, combine) -> torch.Tensor:
        """Template of the gradient methods (PCGrad, CAGrad, MGDA).

        ``G = task_gradients`` of the *base-weighted* losses on the shared parameters
        (``[T, P]``); ``combine(G) -> flat [P]`` is written to the shared parameters; the
        task-specific parameters get the ordinary gradient of ``sum_t w_t L_t`` (a head only
        sees its own task, so there is nothing to reconcile there). Models without shared
        parameters fall back to the plain weighted-sum backward. Returns the detached
        weighted total."""
        shared = list(model.shared_parameters())
        if not shared:
            return Weighting.backward(self, losses, model)
        weighted = {t: w * losses[t] for t, w in zip(self.task_names, self.base_weights)}
        G = self.task_gradients(weighted, self.task_names, shared)
        self.write_gradient(shared, combine(G))
        self.backward_task_specific(losses, model)
        return (self.base_weights * self.stack(losses)).sum().detach()

    def stack(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.stack([losses[t] for t in self.task_names])

    @staticmethod
    def task_gradients(losses: dict[str, torch.Tensor], task_names: list[str],
                       shared: list[torch.nn.Parameter]) -> torch.Tensor:
        """Per-task gradients on ``shared`` parameters, flattened: ``[T, P]``. A task whose
        loss does not reach a parameter contributes zeros there."""
        rows = []
        for t in task_names:
            if not losses[t].requires_grad:  # e.g. a batch where every label of t is missing
                rows.append(torch.cat([torch.zeros_like(p).reshape(-1) for p in shared]))
                continue
            grads = torch.autograd.grad(losses[t], shared, retain_graph=True, allow_unused=True)
            rows.append(torch.cat([
                (g if g is not None else torch.zeros_like(p)).reshape(-1) for g, p in zip(grads, shared)
            ]))
        return torch.stack(rows)

    @staticmethod
    def write_gradient(shared: list[torch.nn.Parameter], flat: torch.Tensor) -> None:
        """Set ``.grad`` of ``shared`` parameters from a flat vector (overwriting)."""
        i = 0
        for p in shared:
            n = p.numel()
            p.grad = flat[i:i + n].view_as(p).clone()
            i += n

    def backward_task_specific(self, losses: dict[str, torch.Tensor], model, weights: torch.Tensor | None = None) -> None:
        """Backpropagate the (weighted) sum of losses into the task-specific parameters only,
        leaving the shared parameters' gradients as a gradient method wrote them."""
        specific = model.task_specific_parameters()
        w = self.base_weights if weights is None else weights
        total = (w * self.stack(losses)).sum()
        if specific and total.requires_grad:
            grads = torch.autograd.grad(total, specific, retain_graph=False, allow_unused=True)
            for p, g in zip(specific, grads):
                if g is not None:
                    p.grad = g if p.grad is None else p.grad + g
