"""The trainer: epochs of the ``EpochLoop``, with cancel, divergence, early stopping,
diagnostics and progress.

The trainer never checks an architecture's or a weighting method's name: it calls the
model's ``forward`` (a dict of outputs keyed by task), the weighting's ``backward`` and
``on_epoch_end``, and reports progress through a callback receiving ``TrainEvent``s. A
``threading.Event`` passed as ``cancel`` stops training between batches and keeps what was
learnt (the best weights so far are restored). The parts live next door: ``loop`` (device
tensors, batches, optimizer), ``losses``, ``prediction``, ``epoch_metrics``,
``early_stopping``, ``distributed`` (torchrun), ``progress``, ``diagnostics_hook``.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from ..config import TrainConfig
from ..errors import TrainingError
from ..types import EncodedSplit, TaskInfo
from . import distributed
from .checkpoint import capture, restore
from .device import pick_device
from .diagnostics_hook import diagnostics_hook
from .early_stopping import EarlyStopping, check_metric
from .epoch_metrics import HIGHER_IS_BETTER, quick_metrics
from .loop import EpochLoop
from .losses import masked_loss_sums, task_losses
from .optim import make_optimizer
from .prediction import predict
from .progress import Progress, TrainEvent
from .tensors import TensorSplit, to_tensors

# what callers import from here (the trainer's public names before the split)
__all__ = ["Trainer", "TrainResult", "TrainEvent", "TensorSplit", "to_tensors", "masked_loss_sums",
           "task_losses", "predict", "quick_metrics", "make_optimizer", "HIGHER_IS_BETTER",
           "dist_env_world_size", "dist_active", "dist_rank", "init_distributed"]
dist_env_world_size, dist_active = distributed.dist_env_world_size, distributed.dist_active
dist_rank, init_distributed = distributed.dist_rank, distributed.init_distributed


@dataclass
class TrainResult:
    history: list[dict]
    best_epoch: int
    stopped: str  # completed | early_stopping | cancelled | diverged
    seconds: float
    samples_per_s: float
    device: str
    epochs_run: int
    weights_history: list[dict] = field(default_factory=list)
    diagnostics: list[dict] = field(default_factory=list)
    message: str = ""
    optimizer_state: dict = field(default_factory=dict)  # optimizer + schedule at the end (optimizer.pt)


def _divergence_message(task: str, epoch: int) -> str:
    return (f"Training diverged: the loss of task '{task}' became NaN or infinite in epoch {epoch}. "
            "The last good weights were kept; lower the learning rate, enable gradient clipping, "
            "or scale the regression target.")


class Trainer:
    """Trains a multi-task model. See ``fit``.

    The early-stopping metric is checked against the tasks here, before any training: a
    ``ConfigError`` names the bad value and the choices."""

    def __init__(self, model, tasks: list[TaskInfo], config: TrainConfig, device=None,
                 inverse_target: Callable | None = None, parent_optimizer: dict | None = None) -> None:
        self.model = model
        self.tasks = list(tasks)
        self.task_names = [t.name for t in self.tasks]
        self.config = config
        check_metric(config.early_stopping_metric, self.tasks)
        self.device = torch.device(device) if device is not None else pick_device(config.device)
        self.inverse_target = inverse_target
        self.parent_optimizer = parent_optimizer  # a continued run: the parent's optimizer and schedule state
        #: rank in a ``torchrun`` process group (0 otherwise); set by ``fit``
        self.rank = 0
        self.world_size = 1

    # -- sklearn baselines are fitted in one go ------------------------------------------
    def _fit_sklearn(self, train: EncodedSplit, val: EncodedSplit | None, callback) -> TrainResult:
        t0 = time.perf_counter()
        if callback:
            callback(TrainEvent("start", epochs=1, message="fitting scikit-learn baseline"))
        self.model.fit(train)
        seconds = time.perf_counter() - t0
        history: list[dict] = []
        val_metrics = {}
        if val is not None and len(val):
            preds = self.model.predict(val)
            y = val.label_matrix(self.task_names)
            mask = ~np.isnan(y)
            val_metrics = quick_metrics(self.tasks, np.nan_to_num(y), mask, preds, self.inverse_target)
            for t in self.tasks:
                history.append({"epoch": 1, "split": "val", "task": t.name, "loss": float("nan"), **val_metrics.get(t.name, {})})
        sps = len(train) / max(seconds, 1e-9)
        if callback:
            callback(TrainEvent("epoch", epoch=1, epochs=1, step=1, steps=1, samples_per_s=sps,
                                val_loss={}, val_metrics=val_metrics))
            callback(TrainEvent("end", epoch=1, epochs=1, samples_per_s=sps, message="completed"))
        return TrainResult(history, 1, "completed", seconds, sps, "cpu", 1)

    # -- torch models ----------------------------------------------------------------------
    def fit(self, train: EncodedSplit, val: EncodedSplit | None = None,
            callback: Callable[[TrainEvent], None] | None = None, cancel=None,
            checkpoint: Callable[[dict], None] | None = None, resume: dict | None = None,
            sharded: bool = False) -> TrainResult:
        """Train for ``config.epochs`` epochs (fewer when early stopping, ``cancel`` or a
        diverging loss end it) and leave the best epoch's weights in the model.

        ``checkpoint(state)`` receives the training state after each completed epoch (rank 0
        only; ``training.checkpoint``), before the epoch's event; ``resume`` is such a state:
        training continues after its epoch, as if it had never stopped. ``sharded``: under
        torchrun, ``train`` holds only this rank's rows (``training.shards``) and ``val`` may
        be empty on every rank but 0 (which validates)."""
        cfg = self.config
        if getattr(self.model, "is_sklearn", False):
            return self._fit_sklearn(train, val, callback)
        if len(train) == 0:
            raise TrainingError("The training split is empty; use more rows or a larger train fraction.")
        torch.manual_seed(cfg.seed)
        self.device, ranks = distributed.join(self.device)
        self.rank, self.world_size = ranks.rank, ranks.world
        model = self.model.to(self.device)
        model.train()
        loop = EpochLoop(model, self.tasks, cfg, self.device, ranks, train, val, self.inverse_target,
                         self.parent_optimizer, sharded)
        # progress and diagnostics are reported once, by rank 0
        progress = Progress(callback if ranks.rank == 0 else None, cfg.epochs, loop.steps, ranks.world)
        diagnose = diagnostics_hook(model, self.tasks, cfg) if ranks.rank == 0 else None
        return self._epochs(loop, progress, diagnose, cancel, checkpoint if ranks.rank == 0 else None, resume)

    def _epochs(self, loop: EpochLoop, progress: Progress, diagnose, cancel, checkpoint=None,
                resume: dict | None = None) -> TrainResult:
        cfg, model, weighting = self.config, loop.model, loop.weighting
        history: list[dict] = []
        weights_history: list[dict] = []
        diagnostics: list[dict] = []
        stopper = EarlyStopping(cfg.early_stopping_metric, cfg.patience)
        done, last, stopped, message = 0, cfg.epochs, "completed", ""
        if resume is not None:
            done, history, weights_history, diagnostics = restore(resume, loop, stopper, progress)
            if stopper.patience and stopper.bad_epochs >= stopper.patience:  # it had just stopped early
                last, stopped, message = done, "early_stopping", stopper.message
        last_good_state = copy.deepcopy(model.state_dict())
        progress.start(weighting.weights(), f"training on {self.device.type}" + (f", resumed after epoch {done}" if done else ""))
        epoch = done
        for epoch in range(done + 1, last + 1):
            loss_sum, cnt_sum, cancelled = loop.run_epoch(epoch, progress, cancel)
            if cancelled and cnt_sum.sum() == 0:
                stopped, message, epoch = "cancelled", f"stopped by the user in epoch {epoch}", epoch - 1
                break
            train_loss = dict(zip(self.task_names, map(float, (loss_sum / cnt_sum.clamp(min=1)).tolist())))
            bad = [t for t, v in train_loss.items() if not math.isfinite(v)]
            if bad:
                model.load_state_dict(last_good_state)
                stopped, message, epoch = "diverged", _divergence_message(bad[0], epoch), epoch - 1
                break
            history += [{"epoch": epoch, "split": "train", "task": t, "loss": v} for t, v in train_loss.items()]
            val_loss, val_metrics = loop.validate()
            if val_loss:
                history += [{"epoch": epoch, "split": "val", "task": t, "loss": val_loss[t], **val_metrics.get(t, {})}
                            for t in self.task_names]
            weighting.on_epoch_end(epoch, train_loss)
            w = weighting.weights()
            weights_history += [{"epoch": epoch, "task": t, "weight": float(v)} for t, v in w.items()]
            diag = diagnose(epoch, loop.tr, loop.va) if diagnose else {}
            if diag:
                diagnostics.append({"epoch": epoch, **diag})
            last_good_state = copy.deepcopy(model.state_dict())
            decision = stopper.update(epoch, val_loss, val_metrics, train_loss, state=last_good_state)
            if checkpoint is not None:  # before the epoch's event: what a restart shows is on disk
                checkpoint(capture(epoch, loop, stopper, progress, history, weights_history, diagnostics))
            progress.epoch(epoch, train_loss=train_loss, val_loss=val_loss, val_metrics=val_metrics,
                           weights=w, diagnostics=diag)
            if cancelled:
                stopped, message = "cancelled", f"stopped by the user in epoch {epoch}"
                break
            if decision.stop:
                stopped, message = "early_stopping", stopper.message
                break
        if stopper.best_epoch:
            model.load_state_dict(stopper.best_state)
        progress.end(epoch, message or stopped)
        return TrainResult(history, stopper.best_epoch, stopped, progress.seconds, progress.samples_per_s,
                           self.device.type, max(epoch, 0), weights_history, diagnostics, message,
                           loop.optimizer_state())
