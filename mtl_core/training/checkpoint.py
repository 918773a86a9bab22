"""The state of a training run after an epoch, and restoring it: what an interrupted run
resumes from (the file itself is written and read by ``mtl_core.runs.resume``).

A checkpoint holds everything the next epoch depends on: the model's and the optimizer's
state, the learning-rate schedule's, the weighting method's state (``Weighting.state_dict``), early stopping (best score,
best epoch and its weights, epochs without improvement), the epoch counter, the histories
so far, the clock, and the random state (the epoch-order generator, torch's global generator
and, on CUDA, the device's). A run resumed from it trains the same epochs an uninterrupted
run would have (bit-identical on CPU; ``tests/test_resume.py``).
"""
from __future__ import annotations

import torch

from ..errors import DataError

FORMAT = 1
KEYS = {"format": int, "epoch": int, "model": dict, "optimizer": dict, "weighting": dict, "stopper": dict,
        "history": list, "weights_history": list, "diagnostics": list, "rng": dict, "clock": dict}


def capture(epoch: int, loop, stopper, progress, history: list, weights_history: list, diagnostics: list) -> dict:
    """The training state after ``epoch`` (tensors are the live ones: write it at once)."""
    best_is_current = stopper.best_epoch == epoch
    rng = {"order": loop.generator.get_state(), "torch": torch.get_rng_state()}
    if loop.device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(loop.device)
    return {
        "format": FORMAT, "epoch": int(epoch),
        "model": loop.model.state_dict(), "optimizer": loop.optimizer.state_dict(),
        "schedule": loop.schedule.state_dict(),
        "weighting": loop.weighting.state_dict(),
        "stopper": {"best_score": stopper.best_score, "best_epoch": stopper.best_epoch,
                    "bad_epochs": stopper.bad_epochs,
                    "best_state": None if best_is_current else stopper.best_state},
        "history": history, "weights_history": weights_history, "diagnostics": diagnostics,
        "rng": rng,
        "clock": {"samples": progress.samples, "train_seconds": progress.train_seconds,
                  "seconds": progress.seconds},
    }


def problem(state) -> str | None:
    """None when ``state`` has the keys and types of a checkpoint, else what is wrong."""
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        return "was not written by this version of MTL Lab"
    bad = [k for k, kind in KEYS.items() if not isinstance(state.get(k), kind)]
    return f"lacks {', '.join(bad)}" if bad else None


def restore(state: dict, loop, stopper, progress) -> tuple[int, list, list, list]:
    """Put ``state`` back into a freshly built loop, early stopping and clock; returns (the
    last completed epoch, history, weights history, diagnostics)."""
    try:
        loop.model.load_state_dict(state["model"])
        loop.optimizer.load_state_dict(state["optimizer"])
        loop.weighting.load_state_dict(state["weighting"])
    except (RuntimeError, KeyError, ValueError, TypeError) as exc:
        raise DataError(f"The checkpoint does not fit this run's model ({str(exc).splitlines()[0][:160]}), "
                        "so the run cannot be resumed; delete it.") from None
    loop.restore_schedule(state.get("schedule"), int(state["epoch"]))  # the learning rate carries on
    s = state["stopper"]
    stopper.best_score, stopper.best_epoch, stopper.bad_epochs = s["best_score"], int(s["best_epoch"]), int(s["bad_epochs"])
    stopper.best_state = s["best_state"] if s["best_state"] is not None else {
        k: v.detach().clone() for k, v in loop.model.state_dict().items()}
    rng = state["rng"]
    loop.generator.set_state(rng["order"])
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and loop.device.type == "cuda":
        torch.cuda.set_rng_state(rng["cuda"], loop.device)
    clock = state["clock"]
    progress.samples = int(clock.get("samples", 0))
    progress.train_seconds = float(clock.get("train_seconds", 0.0))
    progress.t_start -= float(clock.get("seconds", 0.0))
    return int(state["epoch"]), list(state["history"]), list(state["weights_history"]), list(state["diagnostics"])
