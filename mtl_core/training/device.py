"""Training device choice: CUDA, then MPS, then CPU (``auto``), and torch thread sizing."""
from __future__ import annotations

import os

from ..errors import ConfigError


def pick_device(pref: str = "auto"):
    """Return a ``torch.device`` for ``pref`` (auto | cpu | cuda | mps); explicit requests
    for an unavailable accelerator raise ``ConfigError``."""
    import torch

    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if pref == "cpu":
        return torch.device("cpu")
    if pref == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("train.device is 'cuda' but no CUDA GPU is available here; use 'auto' or 'cpu'.")
        return torch.device("cuda")
    if pref == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ConfigError("train.device is 'mps' but Apple's MPS backend is not available here; use 'auto' or 'cpu'.")
        return torch.device("mps")
    raise ConfigError(f"train.device must be one of auto, cpu, cuda, mps; got {pref!r}.")


def describe_device(pref: str = "auto") -> dict:
    """A small JSON-safe description of the device training will use."""
    import torch

    dev = pick_device(pref)
    if dev.type == "cuda":
        label = f"CUDA GPU: {torch.cuda.get_device_name(dev)}"
    elif dev.type == "mps":
        label = "Apple GPU (MPS)"
    else:
        label = f"CPU ({default_threads()} training thread{'s' if default_threads() > 1 else ''}, {os.cpu_count()} cores)"
    return {"name": dev.type, "label": label}


def default_threads(background: bool = False) -> int:
    """Threads for torch on this machine. In the app (``background``) we leave a core for
    the web server: on 2 cores torch's default threading starves it."""
    n = os.cpu_count() or 1
    if background:
        return max(1, n // 2) if n > 2 else 1
    return max(1, n)


def set_threads(n: int = 0, background: bool = False) -> int:
    import torch

    n = n or default_threads(background)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def autocast(device, enabled: bool):
    """bf16 autocast on CPU/CUDA when ``enabled`` (``TrainConfig.amp``), else a no-op."""
    import contextlib
    import logging

    import torch

    if not enabled:
        return contextlib.nullcontext()
    if device.type not in ("cpu", "cuda"):
        logging.getLogger(__name__).warning(
            "train.amp: bf16 autocast is only used on CPU and CUDA; training in float32 on %s", device.type)
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def is_out_of_memory(exc: BaseException) -> bool:
    import torch

    oom = getattr(torch.cuda, "OutOfMemoryError", None)
    return (oom is not None and isinstance(exc, oom)) or "out of memory" in str(exc).lower()


def out_of_memory_error(batch_size: int, trainer):
    """The ``TrainingError`` for a run that ran out of memory, with a smaller batch size."""
    import torch

    from ..errors import TrainingError

    try:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # noqa: BLE001 - freeing memory is best effort
        pass
    bs = int(batch_size)
    smaller = max(1, bs // 4)
    where = getattr(getattr(trainer, "device", None), "type", "the device")
    return TrainingError(
        f"Training ran out of memory on {where} with batch size {bs}; "
        f"try a smaller batch size, e.g. {smaller}, or a smaller embedding size or fewer experts."
    )
