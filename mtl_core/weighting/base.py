"""Base class of loss-weighting and gradient-combination methods.

The trainer builds the optimizer from the model's parameters plus the method's
``param_groups()`` (its own learnable parameters, without weight decay), then calls, per
batch::

    total = weighting.backward(losses, model)   # losses: task -> scalar tensor
    optimizer.step()

and, per epoch, ``weighting.on_epoch_end(epoch, mean_train_losses)``. It never checks a
method's name. Loss-weighting methods only implement ``combine``; gradient methods
(PCGrad, CAGrad, MGDA, GradNorm) override ``backward`` and use the helpers here: per-task
gradients on the model's shared parameters or on its shared representation, and writing a
combined gradient back. ``combined_backward(losses, model, combine)`` is the whole template
of such a method: it only needs ``combine(G [T, P]) -> [P]``. Hyper-parameters come from
``train_config.weighting_params`` through ``hparam``, whose default and range are the
method's registry ``Setting``.
"""
from __future__ import annotations

import copy

import torch

from ..errors import TrainingError


class Weighting:
    def __init__(self, task_names: list[str], train_config, device: torch.device | str = "cpu") -> None:
        self.task_names = list(task_names)
        self.config = train_config
        self.device = torch.device(device)
        tw = dict(train_config.task_weights or {})
        self.base_weights = torch.tensor([float(tw.get(t, 1.0)) for t in self.task_names],
                                         dtype=torch.float32, device=self.device)
        self.params = dict(train_config.weighting_params or {})
        #: the method's resolved hyper-parameters (filled by ``hparam``)
        self.hparams: dict[str, float | int] = {}

    # -- API used by the trainer ------------------------------------------------------------
    def param_groups(self) -> list[dict]:
        """Optimizer parameter groups of the method's own learnable parameters (e.g.
        log-variances), each with ``weight_decay = 0``: the trainer adds them to the model's
        optimizer (``optimizer.add_param_group``) so the model's weight decay never pulls
        them towards 0. Empty for methods without any."""
        return []

    def parameters(self) -> list[torch.nn.Parameter]:
        """All parameters of ``param_groups()`` (prefer the groups: they carry no weight decay)."""
        return [p for g in self.param_groups() for p in g["params"]]

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

    # -- state of a resumable run -------------------------------------------------------------
    #: attributes set from the configuration (rebuilt, never saved)
    _CONFIGURED = ("task_names", "config", "device", "base_weights", "params", "hparams")

    def state_dict(self) -> dict:
        """What the method learnt or counted so far, for a run's per-epoch checkpoint: its
        tensors and parameters, its own optimizer and random generator, and plain values
        (lists, numbers, strings). Generic, so a new method's state is saved without code."""
        out: dict = {}
        for k, v in vars(self).items():
            if k in self._CONFIGURED:
                continue
            if isinstance(v, torch.Tensor):
                out[k] = v.detach().cpu().clone()
            elif isinstance(v, torch.optim.Optimizer):
                out[k] = {"optimizer": v.state_dict()}
            elif isinstance(v, torch.Generator):
                out[k] = {"generator": v.get_state()}
            elif v is None or isinstance(v, (bool, int, float, str, list, dict)):
                out[k] = copy.deepcopy(v)
        return out

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()``; parameters are updated in place (optimizers hold them)."""
        for k, v in state.items():
            if k in self._CONFIGURED or k not in vars(self):
                continue
            cur = getattr(self, k)
            if isinstance(cur, torch.nn.Parameter):
                with torch.no_grad():
                    cur.copy_(v)
            elif isinstance(cur, torch.optim.Optimizer):
                cur.load_state_dict(v["optimizer"])
            elif isinstance(cur, torch.Generator):
                cur.set_state(v["generator"])
            elif isinstance(v, torch.Tensor):
                setattr(self, k, v.to(self.device))
            else:
                setattr(self, k, v)

    # -- helpers for subclasses -------------------------------------------------------------
    def hparam(self, name: str) -> float | int:
        """Hyper-parameter ``name`` from ``train_config.weighting_params``, validated against
        the method's registry ``Setting`` (its default when absent; a ``ConfigError`` names
        the parameter, the range and the value)."""
        from ..validate import number
        from . import WEIGHTINGS

        method = WEIGHTINGS.name_of(type(self))
        setting = {s.field: s for s in WEIGHTINGS.info(method).settings}.get(name) if method else None
        if setting is None:
            raise ValueError(f"{type(self).__name__} declares no registry setting {name!r}")
        label = f"train.weighting_params[{name!r}]"
        value = number(label, self.params.get(name, setting.default), lo=setting.lo, hi=setting.hi)
        if setting.kind == "int":
            number(label, int(value) if float(value).is_integer() else value, integer=True)
            value = int(value)
        self.hparams[name] = value
        return value

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
                       shared: list[torch.Tensor], strict: bool = False) -> torch.Tensor:
        """Per-task gradients with respect to ``shared`` (parameters, or the tensors of a
        shared representation), flattened: ``[T, P]``. A task whose loss does not reach one
        of them contributes zeros there; so does a task without a gradient (e.g. a batch
        where every label of the task is missing). ``strict``: a loss with a gradient must
        reach at least one of ``shared`` (else ``TrainingError``)."""
        rows = []
        for t in task_names:
            if not losses[t].requires_grad:
                rows.append(torch.cat([torch.zeros_like(p).reshape(-1) for p in shared]))
                continue
            grads = torch.autograd.grad(losses[t], shared, retain_graph=True, allow_unused=True)
            if strict and all(g is None for g in grads):
                raise TrainingError(f"The loss of task {t!r} does not depend on the tensors it is measured on.")
            rows.append(torch.cat([
                (g if g is not None else torch.zeros_like(p)).reshape(-1) for g, p in zip(grads, shared)
            ]))
        return torch.stack(rows)

    @staticmethod
    def representation_gradients(losses: dict[str, torch.Tensor], task_names: list[str], model) -> torch.Tensor | None:
        """Per-task gradients ``[T, P]`` with respect to the model's shared representation
        (``model.shared_representation()``, recorded by the forward pass the losses come
        from); ``None`` when the model declares no shared representation. A
        ``TrainingError`` when it declares one but the losses do not reach it (they were not
        computed from its last forward pass with gradients enabled)."""
        if getattr(model, "representation", None) is None:
            return None
        rep = list(model.shared_representation())
        stale = TrainingError(
            f"The losses do not come from the last forward pass of {type(model).__name__} run with gradients "
            "enabled, so its shared representation cannot be measured; compute them right before backward.")
        if not rep:
            raise stale
        try:
            return Weighting.task_gradients(losses, task_names, rep, strict=True)
        except TrainingError:
            raise stale from None

    @staticmethod
    def write_gradient(shared: list[torch.nn.Parameter], flat: torch.Tensor) -> None:
        """Set ``.grad`` of ``shared`` parameters from a flat vector (overwriting)."""
        i = 0
        for p in shared:
            n = p.numel()
            p.grad = flat[i:i + n].view_as(p).clone()
            i += n

    def backward_task_specific(self, losses: dict[str, torch.Tensor], model) -> None:
        """Backpropagate the base-weighted sum of losses into the task-specific parameters
        only, leaving the shared parameters' gradients as a gradient method wrote them."""
        specific = model.task_specific_parameters()
        total = (self.base_weights * self.stack(losses)).sum()
        if specific and total.requires_grad:
            grads = torch.autograd.grad(total, specific, retain_graph=False, allow_unused=True)
            for p, g in zip(specific, grads):
                if g is not None:
                    p.grad = g if p.grad is None else p.grad + g
