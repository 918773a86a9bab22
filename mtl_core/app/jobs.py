"""Background training jobs for the app (plain Python: no Streamlit here).

A page submits a function ``fn(callback, cancel_event) -> result``; the ``JobManager`` runs it
in a daemon thread once a slot is free (at most ``max_concurrent`` at a time, the rest wait
in FIFO order with status ``queued`` and a queue position). The thread writes into a
thread-safe ``Progress`` that the page polls with ``snapshot()``. Worker threads never call
Streamlit.

Errors: an ``MTLError`` becomes status ``failed`` with its (user-facing) message; any other
exception becomes ``failed`` with a short generic message naming the exception class, and
the traceback goes to the server log only.
"""
from __future__ import annotations

import copy
import itertools
import logging
import os
import threading
import time
import uuid
from collections import deque
from typing import Any, Callable

from ..errors import MTLError
from ..values import finite as _num

log = logging.getLogger(__name__)

STATUSES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")


#: modules a training job needs; importing them is pure-Python work that holds the GIL for
#: seconds, so a server imports them once, in the background, instead of inside each job
#: (under several users' page reruns an import inside a job thread could take minutes)
WARM_MODULES = ("torch", "sklearn.impute", "sklearn.preprocessing", "sklearn.metrics",
                "mtl_core.pipeline", "mtl_core.training.trainer", "mtl_core.evaluation.metrics", "mtl_core.data.preprocessing",
                "mtl_core.data.split", "mtl_core.recommend", "mtl_core.training.diagnostics", "mtl_core.models.mmoe",
                "mtl_core.weighting.fixed")
_warm_lock = threading.Lock()
_warm_started = False


def warm_up_in_background(modules: tuple[str, ...] = WARM_MODULES) -> bool:
    """Import the training stack once per process in a daemon thread. Returns True when
    this call started it (later calls do nothing)."""
    global _warm_started
    with _warm_lock:
        if _warm_started:
            return False
        _warm_started = True

    def run() -> None:
        import importlib

        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - a failed warm-up only costs time later
                log.debug("warm-up import of %s failed", name, exc_info=True)

    threading.Thread(target=run, name="mtl-warm-up", daemon=True).start()
    return True


def recommended_threads(cpu_count: int | None = None) -> int:
    """Torch intra-op threads for a training job inside the app.

    On small machines torch's default (one thread per core) starves the web server: a toy
    job ran 2x faster in-app with 1 thread on 2 cores. Use half the cores, 1 on <= 2 cores.
    """
    n = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    if n <= 2:
        return 1
    return max(1, n // 2)


class Progress:
    """Thread-safe progress of one job; the worker writes, pages read ``snapshot()``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.status = "queued"
        self.phase = ""  # kind of the last TrainEvent: start | batch | epoch | end
        self.queue_position = 0
        self.epoch = 0
        self.epochs = 0
        self.step = 0
        self.steps = 0
        self.samples_per_s = 0.0
        self.history: list[dict] = []  # rows {"epoch", "split", "task", "loss", <metric>...}
        self.weights: dict = {}
        self.diagnostics: dict = {}
        self.tuning: dict = {}  # a tuning job: trial k of n, the best so far (tuning.search.TuneEvent)
        self.message = ""
        self.error: str | None = None
        self.run_dir: str | None = None
        self.submitted = time.time()
        self.started: float | None = None
        self.finished: float | None = None

    # -- writer side -------------------------------------------------------------------
    def update(self, **fields: Any) -> None:
        with self._lock:
            for k, v in fields.items():
                if not hasattr(self, k) or k.startswith("_"):
                    raise AttributeError(f"Progress has no field {k!r}")
                setattr(self, k, v)

    def add_history(self, rows: list[dict]) -> None:
        with self._lock:
            self.history.extend(dict(r) for r in rows)

    def on_event(self, event: Any) -> None:
        """Callback for ``pipeline.run_experiment``: folds a ``TrainEvent`` into the fields."""
        kind = getattr(event, "kind", "")
        fields: dict[str, Any] = {}
        for name in ("epoch", "epochs", "step", "steps"):
            v = getattr(event, name, None)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                fields[name] = int(v)
        sps = _num(getattr(event, "samples_per_s", None))
        if sps is not None:
            fields["samples_per_s"] = sps
        if kind:
            fields["phase"] = str(kind)
        msg = getattr(event, "message", None)
        if msg:
            fields["message"] = str(msg)
        if kind == "end":
            fields["message"] = "Evaluating on the test split and saving the run…"
        weights = getattr(event, "weights", None)
        if weights:
            fields["weights"] = dict(weights)
        diag = getattr(event, "diagnostics", None)
        if diag:
            fields["diagnostics"] = diag
        tuning = getattr(event, "tuning", None)
        if tuning:
            fields["tuning"] = dict(tuning)
            fields["history"] = []  # the live curves follow the current trial
        rows: list[dict] = []
        if kind == "epoch":
            ep = int(getattr(event, "epoch", 0) or 0)
            for task, loss in (getattr(event, "train_loss", None) or {}).items():
                rows.append({"epoch": ep, "split": "train", "task": task, "loss": _num(loss)})
            val_metrics = getattr(event, "val_metrics", None) or {}
            for task, loss in (getattr(event, "val_loss", None) or {}).items():
                row = {"epoch": ep, "split": "val", "task": task, "loss": _num(loss)}
                for m, v in (val_metrics.get(task) or {}).items():
                    if _num(v) is not None:
                        row[m] = _num(v)
                rows.append(row)
        with self._lock:
            for k, v in fields.items():
                setattr(self, k, v)
            self.history.extend(rows)

    # -- reader side -------------------------------------------------------------------
    def snapshot(self) -> dict:
        with self._lock:
            d = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
            d = copy.deepcopy(d)
        now = time.time()
        if d["started"]:
            d["elapsed_s"] = (d["finished"] or now) - d["started"]
        else:
            d["elapsed_s"] = 0.0
        return d


class Job:
    """One submitted function, its progress, result and cancel switch."""

    def __init__(self, fn: Callable, name: str = "", manager: "JobManager | None" = None,
                 owner: str | None = None) -> None:
        self.id = uuid.uuid4().hex
        self.name = name
        self.owner = owner
        self.fn = fn
        self.progress = Progress()
        self.cancel_event = threading.Event()
        self.result: Any = None
        self.thread: threading.Thread | None = None
        self._manager = manager
        self._done = threading.Event()

    @property
    def status(self) -> str:
        return self.progress.snapshot()["status"]

    def snapshot(self) -> dict:
        snap = self.progress.snapshot()
        if snap["status"] == "queued" and self._manager is not None:
            snap["queue_position"] = self._manager.queue_position(self)
        snap["id"] = self.id
        snap["name"] = self.name
        return snap

    def cancel(self) -> None:
        """Ask the job to stop. A queued job is cancelled at once; a running one stops at the
        next check of the cancel event (the trainer checks it between batches)."""
        self.cancel_event.set()
        if self._manager is not None:
            self._manager._wake()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has finished; True if it did within ``timeout``."""
        return self._done.wait(timeout)

    @property
    def done(self) -> bool:
        return self._done.is_set()


class JobManager:
    """Runs jobs in daemon threads, at most ``max_concurrent`` at once, FIFO queue."""

    def __init__(self, max_concurrent: int = 2, num_threads: int | None = None, keep: int = 200) -> None:
        self.max_concurrent = max(1, int(max_concurrent))
        self.num_threads = num_threads if num_threads is not None else recommended_threads()
        self.keep = keep
        self._cond = threading.Condition()
        self._waiting: deque[Job] = deque()
        self._running = 0
        self._jobs: dict[str, Job] = {}
        self._counter = itertools.count(1)

    # -- public ------------------------------------------------------------------------
    def submit(self, fn: Callable[[Callable, threading.Event], Any], name: str = "",
               owner: str | None = None) -> Job:
        """Queue ``fn(callback, cancel_event)``; ``owner`` (e.g. a browser session id) lets a
        page find its jobs again after a reload (``latest_for``)."""
        job = Job(fn, name=name or f"job-{next(self._counter)}", manager=self, owner=owner)
        with self._cond:
            self._jobs[job.id] = job
            self._waiting.append(job)
            self._forget_old()
        t = threading.Thread(target=self._worker, args=(job,), name=f"mtl-{job.name}", daemon=True)
        job.thread = t
        t.start()
        return job

    def get(self, job_id: str | None) -> Job | None:
        if not job_id:
            return None
        with self._cond:
            return self._jobs.get(job_id)

    def latest_for(self, owner: str | None) -> Job | None:
        """The most recently submitted job of ``owner`` (None if it has none)."""
        if not owner:
            return None
        with self._cond:
            mine = [j for j in self._jobs.values() if j.owner == owner]
        return mine[-1] if mine else None

    def queue_position(self, job: Job) -> int:
        """1-based position among waiting jobs; 0 when not waiting."""
        with self._cond:
            for i, j in enumerate(self._waiting):
                if j is job:
                    return i + 1
        return 0

    @property
    def running(self) -> int:
        with self._cond:
            return self._running

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._waiting)

    # -- internals ---------------------------------------------------------------------
    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _forget_old(self) -> None:
        if len(self._jobs) <= self.keep:
            return
        for jid in [j for j, job in self._jobs.items() if job.done][: len(self._jobs) - self.keep]:
            del self._jobs[jid]

    def _acquire(self, job: Job) -> bool:
        """Wait for a slot in FIFO order; False if the job was cancelled while waiting."""
        with self._cond:
            while True:
                if job.cancel_event.is_set():
                    self._waiting.remove(job)
                    self._cond.notify_all()
                    return False
                if self._waiting and self._waiting[0] is job and self._running < self.max_concurrent:
                    self._waiting.popleft()
                    self._running += 1
                    self._cond.notify_all()
                    return True
                self._cond.wait(timeout=0.5)

    def _release(self) -> None:
        with self._cond:
            self._running -= 1
            self._cond.notify_all()

    def _set_threads(self) -> None:
        try:
            import torch  # lazily: only worker threads pay for it

            torch.set_num_threads(max(1, int(self.num_threads)))
        except Exception:  # torch missing or already-initialised pools: not fatal
            log.debug("could not set torch threads", exc_info=True)

    def _worker(self, job: Job) -> None:
        prog = job.progress
        try:
            if not self._acquire(job):
                prog.update(status="cancelled", message="Cancelled before it started.",
                            finished=time.time())
                return
            try:
                prog.update(status="running", started=time.time(), message="Starting…")
                self._set_threads()
                result = job.fn(prog.on_event, job.cancel_event)
                job.result = result
                run_dir = getattr(result, "run_dir", None)
                rstatus = str(getattr(result, "status", "") or "")
                cancelled = job.cancel_event.is_set() or rstatus == "cancelled"
                prog.update(
                    status="cancelled" if cancelled else "done",
                    run_dir=str(run_dir) if run_dir is not None else None,
                    message="Stopped by the user." if cancelled else "Finished.",
                    finished=time.time(),
                )
            except MTLError as exc:
                if job.cancel_event.is_set():  # stopped before anything was learnt
                    prog.update(status="cancelled", message="Stopped before the first epoch finished; nothing was saved.",
                                finished=time.time())
                else:
                    prog.update(status="failed", error=str(exc), message=str(exc), finished=time.time())
            except Exception as exc:  # noqa: BLE001 - the user sees a short message, the log the traceback
                log.exception("training job %s failed", job.name)
                msg = (f"Training stopped by an unexpected error ({type(exc).__name__}). "
                       "The details are in the server log; try smaller settings or another architecture.")
                prog.update(status="failed", error=msg, message=msg, finished=time.time())
            finally:
                self._release()
        finally:
            job.fn = None  # drop the closure (it may hold a large DataFrame)
            job._done.set()
