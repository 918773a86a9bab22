"""Encoded splits as tensors on the training device (moved once, before the first epoch)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..types import EncodedSplit


@dataclass
class TensorSplit:
    cat: torch.Tensor  # [n, C] int32 (embedding indices)
    num: torch.Tensor  # [n, D] float
    y: torch.Tensor  # [n, T] float (0 where missing)
    mask: torch.Tensor  # [n, T] bool (label present)

    def __len__(self) -> int:
        return int(self.cat.shape[0])


def to_tensors(split: EncodedSplit, task_names: list[str], device: torch.device) -> TensorSplit:
    y = split.label_matrix(task_names)
    mask = ~np.isnan(y)
    y = np.where(mask, y, 0.0).astype(np.float32)
    return TensorSplit(
        cat=torch.as_tensor(np.ascontiguousarray(split.cat, dtype=np.int32)).to(device),  # shares the array on CPU
        num=torch.as_tensor(np.ascontiguousarray(split.num, dtype=np.float32)).to(device),
        y=torch.as_tensor(y).to(device),
        mask=torch.as_tensor(mask).to(device),
    )
