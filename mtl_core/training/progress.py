"""Progress of a training run: the ``TrainEvent``s a callback receives, and the clock.

``start`` / ``epoch`` / ``end`` events are sent once each; ``batch`` events at most every
half second. Samples per second count training time only (not validation or diagnostics)
and, under torchrun, the samples of every rank.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class TrainEvent:
    kind: str  # start | batch | epoch | end
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    steps: int = 0
    samples_per_s: float = 0.0
    train_loss: dict = field(default_factory=dict)
    val_loss: dict = field(default_factory=dict)
    val_metrics: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict)
    diagnostics: dict = field(default_factory=dict)
    message: str = ""


class Progress:
    """Counts samples and training seconds and reports them to ``callback`` (may be None)."""

    REPORT_EVERY_S = 0.5

    def __init__(self, callback: Callable[[TrainEvent], None] | None, epochs: int, steps: int,
                 world: int = 1) -> None:
        self.callback = callback
        self.epochs, self.steps, self.world = epochs, steps, world
        self.samples = 0  # this rank's
        self.train_seconds = 0.0
        self.t_start = self._last_report = time.perf_counter()
        self._t_epoch = self.t_start

    @property
    def samples_per_s(self) -> float:
        return self.samples * self.world / max(self.train_seconds, 1e-9)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.t_start

    def _send(self, kind: str, **kw) -> None:
        if self.callback:
            self.callback(TrainEvent(kind, epochs=self.epochs, **kw))

    def start(self, weights: dict, message: str) -> None:
        self._send("start", steps=self.steps, weights=weights, message=message)

    def start_epoch(self) -> None:
        self._t_epoch = time.perf_counter()

    def batch(self, epoch: int, step: int, rows: int) -> None:
        self.samples += rows
        if not self.callback:
            return
        now = time.perf_counter()
        if now - self._last_report >= self.REPORT_EVERY_S:
            self._last_report = now
            elapsed = self.train_seconds + (now - self._t_epoch)
            self._send("batch", epoch=epoch, step=step + 1, steps=self.steps,
                       samples_per_s=self.samples / max(elapsed, 1e-9))

    def end_epoch(self) -> None:
        self.train_seconds += time.perf_counter() - self._t_epoch

    def epoch(self, epoch: int, **kw) -> None:
        self._send("epoch", epoch=epoch, step=self.steps, steps=self.steps, samples_per_s=self.samples_per_s, **kw)

    def end(self, epoch: int, message: str) -> None:
        self._send("end", epoch=epoch, samples_per_s=self.samples_per_s, message=message)
