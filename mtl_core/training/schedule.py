"""Learning-rate schedules, stepped once per batch, built from torch's schedulers.

``train.lr_schedule``:

- ``constant``: ``train.lr`` throughout (no scheduler);
- ``cosine``: linear warm-up over ``train.warmup_epochs`` epochs (``LinearLR``), then cosine
  decay to 0 over the rest of the budget (``CosineAnnealingLR``), chained by ``SequentialLR``;
- ``onecycle``: ``OneCycleLR`` with ``train.lr`` as its peak (torch's defaults: 30 % rising,
  then annealing to lr / 10^4; momentum is left as configured).

The budget is ``epochs x batches per epoch``; early stopping or Stop end training before it.
``Schedule.state_dict`` is saved with the optimizer's state in a run (``optimizer.pt``), and
a continued run (``train --resume``) restores it: the schedule continues from the step
where the parent stopped; once that schedule has run to its end, a new cycle starts over the
continued run's remaining steps (a warm restart), so a parent that finished its schedule is
continued with a fresh schedule over the new epochs.
"""
from __future__ import annotations

import torch

from ..config import LR_SCHEDULES as SCHEDULES  # noqa: F401 - the names, validated by TrainConfig


def _torch_scheduler(optimizer, name: str, total: int, warmup: int):
    sched = torch.optim.lr_scheduler
    if name == "onecycle":
        max_lr = [g.get("max_lr", g["lr"]) for g in optimizer.param_groups]
        return sched.OneCycleLR(optimizer, max_lr=max_lr, total_steps=max(2, total), cycle_momentum=False)
    warmup = min(max(0, warmup), total - 1)
    cosine = sched.CosineAnnealingLR(optimizer, T_max=max(1, total - warmup), eta_min=0.0)
    if warmup <= 0:
        return cosine
    ramp = sched.LinearLR(optimizer, start_factor=1.0 / (warmup + 1), end_factor=1.0, total_iters=warmup)
    return sched.SequentialLR(optimizer, [ramp, cosine], milestones=[warmup])


class Schedule:
    """The learning rate of ``optimizer`` over ``total_steps`` batches (see the module).
    ``step()`` after every optimizer step; ``lr`` is the current rate of the first group."""

    def __init__(self, optimizer, name: str, total_steps: int, warmup_steps: int = 0,
                 resume: dict | None = None) -> None:
        self.optimizer, self.name, self.warmup = optimizer, name, int(warmup_steps)
        self.remaining = int(total_steps)  # steps this training still takes
        self.scheduler, self.total, self.done = None, 0, 0
        if name == "constant":
            return
        for g in optimizer.param_groups:  # every cycle starts from the configured rate
            g.setdefault("initial_lr", g["lr"])
        if resume and resume.get("schedule") == name and 0 < resume.get("done", 0) < resume.get("total", 0):
            self.total, self.done = int(resume["total"]), int(resume["done"])
            self.scheduler = _torch_scheduler(optimizer, name, self.total, int(resume.get("warmup", 0)))
            self.scheduler.load_state_dict(resume["scheduler"])
            self.warmup = int(resume.get("warmup", 0))
            for g, lr in zip(optimizer.param_groups, self.scheduler.get_last_lr()):
                g["lr"] = lr
        else:
            self._new_cycle()

    def _new_cycle(self) -> None:
        for g in self.optimizer.param_groups:
            g["lr"] = g["initial_lr"]
        self.total, self.done = max(1, self.remaining), 0
        self.scheduler = _torch_scheduler(self.optimizer, self.name, self.total, self.warmup)

    def step(self) -> None:
        self.remaining -= 1
        if self.scheduler is None:
            return
        self.scheduler.step()
        self.done += 1
        if self.done >= self.total and self.remaining > 0:
            self._new_cycle()

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def state_dict(self) -> dict:
        return {"schedule": self.name, "total": self.total, "done": self.done, "warmup": self.warmup,
                "scheduler": self.scheduler.state_dict() if self.scheduler is not None else {}}


def warmup_steps(warmup_epochs: float, steps_per_epoch: int) -> int:
    return int(round(float(warmup_epochs) * steps_per_epoch))
