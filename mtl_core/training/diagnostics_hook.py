"""What the trainer records per epoch for the trade-off lab: per-task gradient norms and
cosines on the shared parameters (a few seeded training batches), and the gate utilisation
of gated models on validation rows. The measurements themselves are in ``diagnostics``."""
from __future__ import annotations

import logging
from typing import Callable

import numpy as np
import torch

from ..config import TrainConfig
from ..types import TaskInfo
from .losses import task_losses
from .tensors import TensorSplit

log = logging.getLogger(__name__)

#: validation rows the gate utilisation is measured on
GATE_ROWS = 4096


def _gradient_stats(model, tasks: list[TaskInfo], config: TrainConfig, epoch: int, tr: TensorSplit) -> dict:
    from . import diagnostics as D

    names = [t.name for t in tasks]
    g = torch.Generator().manual_seed(config.seed + epoch)
    bs = min(config.batch_size, len(tr))
    stats = []
    for _ in range(config.diagnostic_batches):
        idx = torch.randint(0, len(tr), (bs,), generator=g).to(tr.cat.device)
        o = model(tr.cat[idx], tr.num[idx])
        losses = task_losses(o, tr.y[idx], tr.mask[idx], tasks, config.regression_loss, config.huber_delta)
        stats.append(D.task_gradient_stats(model, losses, names))
    model.zero_grad(set_to_none=True)
    keys = stats[0].get("cosine", {}).keys() if stats else []
    return {
        "grad_norm": {t: float(np.mean([s["grad_norm"][t] for s in stats])) for t in names
                      if all(t in s.get("grad_norm", {}) for s in stats)},
        "cosine": {k: float(np.mean([s["cosine"][k] for s in stats])) for k in keys},
    }


def diagnostics_hook(model, tasks: list[TaskInfo], config: TrainConfig) -> Callable | None:
    """``run(epoch, train_tensors, val_tensors) -> dict`` recording this epoch's diagnostics,
    or None when they are off (``config.diagnostics``) or there is a single task. A failure
    is logged and never breaks training."""
    if not config.diagnostics or len(tasks) < 2:
        return None

    def run(epoch: int, tr: TensorSplit, va: TensorSplit | None) -> dict:
        from . import diagnostics as D

        out: dict = {}
        try:
            if model.shared_parameters():
                out.update(_gradient_stats(model, tasks, config, epoch, tr))
            if getattr(model, "has_gates", False) and va is not None:
                m = min(len(va), GATE_ROWS)
                gates = D.gate_utilisation(model, va.cat[:m], va.num[:m])
                if gates:
                    out["gates"] = gates
        except Exception:  # diagnostics must never break training
            log.exception("diagnostics failed")
        return out

    return run
