"""Predictions of a trained model, and the validation pass of each epoch."""
from __future__ import annotations

import numpy as np
import torch

from ..config import TrainConfig
from ..types import EncodedSplit, TaskInfo
from .losses import task_losses
from .tensors import TensorSplit

#: the most rows ``predict`` sends through the model at once on CPU
CPU_CHUNK = 16384


def output_to_prediction(out: torch.Tensor, kind: str) -> torch.Tensor:
    """Binary: probability; multiclass: class probabilities; regression: the value."""
    if kind == "binary":
        return torch.sigmoid(out.float())
    if kind == "multiclass":
        return torch.softmax(out.float(), dim=-1)
    return out.float()


@torch.inference_mode()
def predict(model, split: EncodedSplit | TensorSplit, tasks: list[TaskInfo], device=None,
            batch_size: int = 65536) -> dict[str, np.ndarray]:
    """Predictions per task: binary probability ``[n]``, regression value ``[n]`` (scaled
    space), multiclass probabilities ``[n, K]``."""
    if getattr(model, "is_sklearn", False):
        return model.predict(split)
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    if isinstance(split, EncodedSplit):
        cat = torch.as_tensor(np.ascontiguousarray(split.cat, dtype=np.int32))
        num = torch.as_tensor(np.ascontiguousarray(split.num, dtype=np.float32))
    else:
        cat, num = split.cat, split.num
    n = int(cat.shape[0])
    if torch.device(device).type == "cpu":
        # Performance: on CPU the activations of a 65k-row batch (experts x tasks x hidden)
        # spill out of the caches; 16k-row chunks score ~1.7x faster (same predictions)
        batch_size = min(int(batch_size), CPU_CHUNK)
    parts: dict[str, list[torch.Tensor]] = {t.name: [] for t in tasks}
    for i in range(0, n, batch_size):
        out = model(cat[i:i + batch_size].to(device), num[i:i + batch_size].to(device))
        for t in tasks:
            parts[t.name].append(output_to_prediction(out[t.name], t.kind).cpu())
    model.train(was_training)
    result = {}
    for t in tasks:
        if parts[t.name]:
            result[t.name] = torch.cat(parts[t.name]).numpy()
        else:
            shape = (0, t.n_outputs) if t.kind == "multiclass" else (0,)
            result[t.name] = np.zeros(shape, dtype=np.float32)
    return result


@torch.inference_mode()
def eval_losses(model, data: TensorSplit, tasks: list[TaskInfo],
                config: TrainConfig) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Validation loss per task and the raw predictions (for metrics)."""
    model.eval()
    bs = config.eval_batch_size
    sums = torch.zeros(len(tasks), device=data.y.device, dtype=torch.float64)
    counts = data.mask.sum(0).to(torch.float64)
    preds: dict[str, list[torch.Tensor]] = {t.name: [] for t in tasks}
    for i in range(0, len(data), bs):
        sl = slice(i, i + bs)
        out = model(data.cat[sl], data.num[sl])
        losses = task_losses(out, data.y[sl], data.mask[sl], tasks, config.regression_loss, config.huber_delta)
        nb = data.mask[sl].sum(0).to(torch.float64)
        sums += torch.stack([losses[t.name].to(torch.float64) for t in tasks]) * nb
        for t in tasks:
            preds[t.name].append(output_to_prediction(out[t.name], t.kind).cpu())
    model.train()
    mean = (sums / counts.clamp(min=1)).tolist()
    return ({t.name: float(v) for t, v in zip(tasks, mean)},
            {t.name: torch.cat(preds[t.name]).numpy() for t in tasks})
