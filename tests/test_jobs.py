"""JobManager: queueing beyond the limit, cancel, failure messages, progress events."""
from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from mtl_core.errors import DataError
from mtl_core.app.jobs import JobManager, Progress, recommended_threads


def _wait_until(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return False


def _blocking(release: threading.Event, started: list):
    def fn(callback, cancel):
        started.append(1)
        while not release.is_set() and not cancel.is_set():
            time.sleep(0.01)
        return SimpleNamespace(run_dir=None, status="cancelled" if cancel.is_set() else "completed")
    return fn


def test_recommended_threads():
    assert recommended_threads(1) == 1
    assert recommended_threads(2) == 1
    assert recommended_threads(8) == 4


def test_jobs_beyond_limit_wait_in_fifo_order():
    mgr = JobManager(max_concurrent=2, num_threads=1)
    release = threading.Event()
    started: list = []
    jobs = [mgr.submit(_blocking(release, started), name=f"j{i}") for i in range(4)]
    assert _wait_until(lambda: len(started) == 2)
    time.sleep(0.1)
    assert len(started) == 2  # the limit holds
    snaps = [j.snapshot() for j in jobs]
    assert [s["status"] for s in snaps[:2]] == ["running", "running"]
    assert [s["status"] for s in snaps[2:]] == ["queued", "queued"]
    assert [s["queue_position"] for s in snaps[2:]] == [1, 2]
    release.set()
    for j in jobs:
        assert j.wait(10)
    assert [j.status for j in jobs] == ["done"] * 4
    assert mgr.running == 0 and mgr.waiting == 0


def test_cancel_running_and_queued():
    mgr = JobManager(max_concurrent=1, num_threads=1)
    release = threading.Event()
    started: list = []
    running = mgr.submit(_blocking(release, started))
    queued = mgr.submit(_blocking(release, started))
    assert _wait_until(lambda: running.status == "running")
    assert queued.snapshot()["queue_position"] == 1
    queued.cancel()
    assert queued.wait(5)
    assert queued.status == "cancelled"
    assert len(started) == 1  # the queued job never ran
    running.cancel()
    assert running.wait(5)
    assert running.status == "cancelled"
    # the slot is free again
    after = mgr.submit(lambda cb, cancel: SimpleNamespace(run_dir="/tmp/x", status="completed"))
    assert after.wait(5)
    snap = after.snapshot()
    assert snap["status"] == "done" and snap["run_dir"] == "/tmp/x"


def test_latest_job_per_owner():
    mgr = JobManager(max_concurrent=2, num_threads=1)
    a1 = mgr.submit(lambda cb, c: None, owner="a")
    b1 = mgr.submit(lambda cb, c: None, owner="b")
    a2 = mgr.submit(lambda cb, c: None, owner="a")
    assert mgr.latest_for("a") is a2 and mgr.latest_for("b") is b1
    assert mgr.latest_for("c") is None and mgr.latest_for(None) is None
    for j in (a1, b1, a2):
        assert j.wait(5)


def test_error_after_cancel_counts_as_cancelled():
    mgr = JobManager(max_concurrent=1, num_threads=1)
    gate = threading.Event()

    def fn(cb, cancel):
        gate.wait(5)
        raise DataError("Training stopped before the first epoch finished; nothing was saved.")

    job = mgr.submit(fn)
    assert _wait_until(lambda: job.status == "running")
    job.cancel()
    gate.set()
    assert job.wait(5)
    snap = job.snapshot()
    assert snap["status"] == "cancelled" and snap["error"] is None


def test_mtl_error_message_reaches_the_user():
    mgr = JobManager(max_concurrent=1, num_threads=1)

    def fn(cb, cancel):
        raise DataError("The task column 'click' has only one class in the training data.")

    job = mgr.submit(fn)
    assert job.wait(5)
    snap = job.snapshot()
    assert snap["status"] == "failed"
    assert snap["error"] == "The task column 'click' has only one class in the training data."


def test_unexpected_error_is_short_and_has_no_traceback(caplog):
    mgr = JobManager(max_concurrent=1, num_threads=1)

    def fn(cb, cancel):
        raise ZeroDivisionError("secret internals")

    with caplog.at_level("ERROR"):
        job = mgr.submit(fn)
        assert job.wait(5)
    snap = job.snapshot()
    assert snap["status"] == "failed"
    assert "ZeroDivisionError" in snap["error"]
    assert "Traceback" not in snap["error"] and "secret internals" not in snap["error"]
    assert any("Traceback" in (r.exc_text or "") or r.exc_info for r in caplog.records)
    # a failure frees the slot
    ok = mgr.submit(lambda cb, cancel: None)
    assert ok.wait(5) and ok.status == "done"


def test_progress_folds_train_events_into_history():
    p = Progress()
    p.on_event(SimpleNamespace(kind="start", epoch=0, epochs=2, step=0, steps=10, samples_per_s=0.0,
                               train_loss={}, val_loss={}, val_metrics={}, weights={}, diagnostics={},
                               message="start"))
    p.on_event(SimpleNamespace(kind="epoch", epoch=1, epochs=2, step=10, steps=10, samples_per_s=1234.5,
                               train_loss={"click": 0.6, "purchase": 0.3},
                               val_loss={"click": 0.62, "purchase": float("nan")},
                               val_metrics={"click": {"auc": 0.7}}, weights={"click": 1.0},
                               diagnostics={}, message=""))
    snap = p.snapshot()
    assert snap["epochs"] == 2 and snap["epoch"] == 1 and snap["samples_per_s"] == pytest.approx(1234.5)
    rows = {(r["split"], r["task"]): r for r in snap["history"]}
    assert rows[("train", "click")]["loss"] == 0.6
    assert rows[("val", "click")]["auc"] == 0.7
    assert rows[("val", "purchase")]["loss"] is None  # non-finite values never reach charts
    snap["history"].clear()  # a snapshot is a copy
    assert len(p.snapshot()["history"]) == 4


def test_worker_sets_torch_threads():
    torch = pytest.importorskip("torch")
    mgr = JobManager(max_concurrent=1, num_threads=1)
    seen = []
    job = mgr.submit(lambda cb, cancel: seen.append(torch.get_num_threads()))
    assert job.wait(10)
    assert seen == [1]
