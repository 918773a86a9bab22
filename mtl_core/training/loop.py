"""One fit's training machinery: tensors on the device, the weighting method, the
optimizer, and the batches of an epoch.

Performance properties (kept by design, checked by ``tests/test_perf_paths.py``): the data
is moved to the device once; an epoch is one seeded permutation, sliced into batches whose
rows are gathered from the tensors (no second copy of the training rows per epoch: at 8 M
rows that copy was ~1 GB); nothing in the batch loop reads a value back from the device
(the epoch's loss sums stay on it until the epoch ends).
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from ..config import TrainConfig
from ..types import EncodedSplit, TaskInfo
from . import distributed
from .device import autocast
from .epoch_metrics import quick_metrics
from .losses import masked_loss_sums
from .optim import load_optimizer_state, make_optimizer, training_parameters
from .prediction import eval_losses
from .progress import Progress
from .schedule import Schedule, warmup_steps
from .tensors import to_tensors


class EpochLoop:
    """Built at the start of ``Trainer.fit`` (after the seed is set and the model is on
    ``device``); ``run_epoch`` trains one epoch, ``validate`` scores the validation split."""

    def __init__(self, model, tasks: list[TaskInfo], config: TrainConfig, device: torch.device,
                 ranks: distributed.Ranks, train: EncodedSplit, val: EncodedSplit | None,
                 inverse_target: Callable | None = None, parent: dict | None = None, sharded: bool = False) -> None:
        from ..weighting import build_weighting

        self.model, self.tasks, self.config, self.device, self.ranks = model, tasks, config, device, ranks
        self.names = [t.name for t in tasks]
        self.inverse_target = inverse_target
        self.generator = torch.Generator().manual_seed(config.seed)
        self.tr = to_tensors(train, self.names, device)
        self.va = to_tensors(val, self.names, device) if val is not None and len(val) else None
        self._va_np = (self.va.y.cpu().numpy(), self.va.mask.cpu().numpy()) if self.va is not None else None
        self.weighting = build_weighting(config.weighting, self.names, config, device)
        self.forward = distributed.wrap(model, device, ranks, self.weighting, config.weighting)
        self.optimizer = make_optimizer(training_parameters(model, self.weighting), config)
        # rows per rank and epoch: the same on every rank, so that every rank runs as many steps
        self.sharded = sharded  # ``train`` is this rank's shard, not every rank's rows
        self.n = ranks.min_rows(len(self.tr), device) if sharded else ranks.rows_per_rank(len(self.tr))
        self.batch_size = min(max(1, config.batch_size // ranks.world), self.n)  # same effective batch
        self.steps = math.ceil(self.n / self.batch_size)
        parent = parent if parent and load_optimizer_state(self.optimizer, parent.get("optimizer")) else None
        self.restore_schedule((parent or {}).get("schedule"))
        self._autocast = autocast(device, bool(config.amp))

    def _epoch_order(self) -> torch.Tensor:
        """This epoch's rows (this rank's share) in a fresh seeded order; a sharded loop's
        rows are already this rank's, truncated to the common step count."""
        perm = torch.randperm(len(self.tr), generator=self.generator).to(self.device)
        return perm[:self.n] if self.sharded else self.ranks.shard(perm, self.n)

    def _batch(self, rows: torch.Tensor):
        tr = self.tr
        return (tr.cat.index_select(0, rows), tr.num.index_select(0, rows), tr.y.index_select(0, rows),
                tr.mask.index_select(0, rows))

    def _step(self, cat, num, y, mask) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.config
        with self._autocast:
            out = self.forward(cat, num)
        # Performance: one [T] sum/count pair per batch (no per-task dict/stack in the
        # bookkeeping, and no .item(): nothing here waits for the device)
        sums, counts = masked_loss_sums(out, y, mask, self.tasks, cfg.regression_loss, cfg.huber_delta)
        losses = dict(zip(self.names, (sums / counts.clamp(min=1.0)).unbind()))
        for task, extra in self.model.extra_losses(out).items():  # the architecture's own terms
            losses[task] = losses[task] + extra
        self.optimizer.zero_grad(set_to_none=True)
        self.weighting.backward(losses, self.model)
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.optimizer.step()
        self.schedule.step()
        return sums, counts

    def run_epoch(self, epoch: int, progress: Progress, cancel=None) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """Train one epoch: (loss sum per task, labelled rows per task, over every rank;
        whether ``cancel`` was set before the epoch ended)."""
        progress.start_epoch()
        order = self._epoch_order()
        loss_sum = torch.zeros(len(self.tasks), device=self.device, dtype=torch.float64)
        cnt_sum = torch.zeros(len(self.tasks), device=self.device, dtype=torch.float64)
        bs, cancelled = self.batch_size, False
        for step in range(self.steps):
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
            sl = slice(step * bs, (step + 1) * bs)
            sums, counts = self._step(*self._batch(order[sl]))
            with torch.no_grad():
                loss_sum += sums.detach()  # = mean loss x labelled rows of the batch
                cnt_sum += counts
            progress.batch(epoch, step, min(bs, self.n - step * bs))
        progress.end_epoch()
        self.ranks.sum_(loss_sum, cnt_sum)  # the epoch loss over all ranks' rows
        return loss_sum, cnt_sum, cancelled

    def restore_schedule(self, state: dict | None, epochs_done: int = 0) -> None:
        """The learning-rate schedule over the epochs left, continuing ``state`` (a parent
        run's or a checkpoint's ``Schedule.state_dict``) when it has steps left."""
        cfg = self.config
        self.schedule = Schedule(self.optimizer, cfg.lr_schedule, (cfg.epochs - epochs_done) * self.steps,
                                 warmup_steps(cfg.warmup_epochs, self.steps), state)

    def optimizer_state(self) -> dict:
        """The optimizer's and the schedule's state, saved with a run (``optimizer.pt``) so that
        a continued run picks up both."""
        return {"optimizer": self.optimizer.state_dict(), "schedule": self.schedule.state_dict()}

    def validate(self) -> tuple[dict[str, float], dict[str, dict]]:
        """Validation loss and metrics per task (empty without a validation split). Computed
        once, on rank 0 (the only rank with validation rows when sharded); every rank gets
        the same numbers and so takes the same decisions."""
        val_loss: dict[str, float] = {}
        val_metrics: dict[str, dict] = {}
        if self.ranks.rank == 0 and self.va is not None:
            val_loss, preds = eval_losses(self.model, self.va, self.tasks, self.config)
            val_metrics = quick_metrics(self.tasks, *self._va_np, preds, self.inverse_target)
        return self.ranks.from_rank0(val_loss, val_metrics)
