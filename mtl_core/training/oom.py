"""Out-of-memory during training, turned into a ``TrainingError`` that suggests a fix."""
from __future__ import annotations

from ..config import RunConfig
from ..errors import TrainingError


def is_out_of_memory(exc: BaseException) -> bool:
    import torch

    oom = getattr(torch.cuda, "OutOfMemoryError", None)
    return (oom is not None and isinstance(exc, oom)) or "out of memory" in str(exc).lower()


def oom_error(config: RunConfig, trainer) -> TrainingError:
    """The error for a run that ran out of memory (CUDA's cache emptied first)."""
    import torch

    try:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # noqa: BLE001 - freeing memory is best effort
        pass
    bs = int(config.train.batch_size)
    smaller = max(1, bs // 4)
    where = getattr(getattr(trainer, "device", None), "type", "the device")
    return TrainingError(
        f"Training ran out of memory on {where} with batch size {bs}; "
        f"try a smaller batch size, e.g. {smaller}, or a smaller embedding size or fewer experts."
    )
