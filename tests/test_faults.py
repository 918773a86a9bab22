"""Faults during training: NaN/infinite loss, Stop pressed mid-epoch, the process killed
mid-training, CUDA out of memory. Each ends in a clear message and, where anything was
learnt, a usable run; never a half-written run directory."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import torch

from mtl_core import pipeline
from mtl_core.config import DataConfig, ModelConfig, RunConfig, SplitConfig, TrainConfig
from mtl_core.errors import TrainingError
from mtl_core.recommend import recommend
from mtl_core.runs import list_interrupted, list_runs, load_run
from mtl_core.data.synth import make_synthetic

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def df():
    return make_synthetic(rows=800, seed=3)


def _cfg(epochs: int = 3, batch_size: int = 64) -> RunConfig:
    return RunConfig(
        data=DataConfig(tasks=["click", "purchase"], user_col="user_id", item_col="item_id"),
        split=SplitConfig(seed=0),
        model=ModelConfig(arch="mmoe", embed_dim=4, hidden=[16], tower_hidden=[8], n_experts=2),
        train=TrainConfig(epochs=epochs, batch_size=batch_size, patience=0, num_threads=1, device="cpu",
                          diagnostics=False, seed=0),
    )


def _poison_forward(monkeypatch, state: dict):
    """Wrap the run's model so its outputs become NaN while ``state['nan']`` is set, and
    ``state['on_batch']`` (if any) runs on every training forward."""
    real = pipeline.build_run_model

    def build(prep):
        model = real(prep)
        orig = model.forward

        def forward(*args, **kwargs):
            out = orig(*args, **kwargs)
            if model.training and state.get("on_batch"):
                state["on_batch"]()
            if state.get("nan"):
                out = {k: v * float("nan") for k, v in out.items()}
            if state.get("raise"):
                raise state["raise"]
            return out

        model.forward = forward
        return model

    monkeypatch.setattr(pipeline, "build_run_model", build)


def _usable(run_dir: Path, status: str) -> None:
    run = load_run(run_dir)
    assert run.status["status"] == status
    model = run.model()
    assert all(torch.isfinite(p).all() for p in model.parameters())
    preds = run.predictions
    assert len(preds) > 0
    for col in [c for c in preds.columns if c.startswith("pred:")]:
        assert preds[col].notna().all(), col
    user = run.interactions["user_id"].iloc[0]
    recs = recommend(run, user, k=5)
    assert len(recs) > 0 and recs["fused_score"].notna().all()


# --------------------------------------------------------------------------- NaN loss
def test_nan_loss_after_a_good_epoch_saves_a_diverged_run(df, tmp_path, monkeypatch):
    state: dict = {}
    _poison_forward(monkeypatch, state)

    def callback(ev):
        if ev.kind == "epoch" and ev.epoch == 1:
            state["nan"] = True  # epoch 2 diverges
        if ev.kind == "end":
            state["nan"] = False  # evaluation of the kept weights is healthy again

    res = pipeline.run_experiment(_cfg(epochs=4), df, callback=callback, runs_root=tmp_path)
    assert res.status == "diverged"
    assert "click" in res.message and "epoch 2" in res.message
    assert "learning rate" in res.message and "last good weights" in res.message
    assert res.metrics["train"]["epochs"] == 1 and res.metrics["train"]["best_epoch"] == 1
    assert [r.status for r in list_runs(tmp_path)] == ["diverged"]
    assert list_interrupted(tmp_path) == []
    _usable(res.run_dir, "diverged")
    status = json.loads((res.run_dir / "status.json").read_text())
    assert "epoch 2" in status["message"]


def test_nan_loss_in_the_first_epoch_is_a_clear_error_and_saves_nothing(df, tmp_path, monkeypatch):
    _poison_forward(monkeypatch, {"nan": True})
    with pytest.raises(TrainingError, match=r"task 'click'.*epoch 1.*learning rate"):
        pipeline.run_experiment(_cfg(), df, runs_root=tmp_path)
    assert list_runs(tmp_path) == [] and list_interrupted(tmp_path) == []
    assert not any(tmp_path.iterdir())


def test_infinite_features_and_labels_do_not_diverge(df, tmp_path):
    bad = df.astype({"sales": float, "item_price": float})
    bad.loc[bad.index[::7], "item_price"] = float("inf")
    bad.loc[bad.index[::11], "item_price"] = float("-inf")
    bad.loc[bad.index[::5], "sales"] = float("inf")
    cfg = _cfg(epochs=2)
    cfg.data.tasks = ["click", "sales:regression"]
    res = pipeline.run_experiment(cfg, bad, runs_root=tmp_path)
    assert res.status == "completed"
    assert res.metrics["tasks"]["sales"]["rmse"] is not None


# --------------------------------------------------------------------------- Stop
def test_stop_mid_epoch_saves_a_cancelled_run_with_what_was_learnt(df, tmp_path, monkeypatch):
    cancel = threading.Event()
    state: dict = {"batches": 0}

    def on_batch():
        state["batches"] += 1
        if state.get("epoch1_done") and state["batches"] == state["mark"] + 3:
            cancel.set()  # Stop pressed in the middle of epoch 2

    state["on_batch"] = on_batch
    _poison_forward(monkeypatch, state)

    def callback(ev):
        if ev.kind == "epoch" and ev.epoch == 1:
            state["epoch1_done"] = True
            state["mark"] = state["batches"]

    cfg = _cfg(epochs=10, batch_size=32)
    # the synthetic timestamps carry no signal: without time features one epoch already learns
    cfg.preprocess.time_features = False
    cfg.train.lr_schedule = "constant"  # full learning rate from the first batch (no cosine warm-up)
    res = pipeline.run_experiment(cfg, df, callback=callback, cancel=cancel,
                                  runs_root=tmp_path)
    assert res.status == "cancelled"
    assert 1 <= res.metrics["train"]["epochs"] <= 2
    assert "stopped by the user" in res.message
    assert [r.status for r in list_runs(tmp_path)] == ["cancelled"]
    _usable(res.run_dir, "cancelled")
    assert load_run(res.run_dir).metrics["tasks"]["click"]["auc"] > 0.5  # something was learnt


def test_stop_before_the_first_epoch_ends_saves_nothing(df, tmp_path):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(TrainingError, match="stopped by the user"):
        pipeline.run_experiment(_cfg(), df, cancel=cancel, runs_root=tmp_path)
    assert list_runs(tmp_path) == [] and list_interrupted(tmp_path) == []


# --------------------------------------------------------------------------- crash / restart
CHILD = textwrap.dedent("""
    import sys, time
    from mtl_core.config import DataConfig, ModelConfig, RunConfig, SplitConfig, TrainConfig
    from mtl_core.pipeline import run_experiment
    from mtl_core.data.synth import make_synthetic

    df = make_synthetic(rows=600, seed=1)
    cfg = RunConfig(data=DataConfig(tasks=["click", "purchase"]),
                    model=ModelConfig(arch="shared_bottom", embed_dim=4, hidden=[8], tower_hidden=[4]),
                    train=TrainConfig(epochs=200, batch_size=64, patience=0, num_threads=1, device="cpu",
                                      diagnostics=False))

    def cb(ev):
        if ev.kind == "epoch":
            print("EPOCH", ev.epoch, flush=True)
            time.sleep(0.5)  # keep training going until the parent kills us

    run_experiment(cfg, df, callback=cb, runs_root=sys.argv[1])
    print("FINISHED", flush=True)
""")


def test_kill_9_mid_training_leaves_no_half_written_run(tmp_path):
    root = tmp_path / "runs"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, str(script), str(root)], stdout=subprocess.PIPE, text=True, env=env,
                            cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        line = ""
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("EPOCH") or not line:
                break
        assert line.startswith("EPOCH"), f"child printed {line!r}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert list_runs(root) == []  # nothing half-written where runs are listed
    assert not [p for p in root.iterdir() if not p.name.startswith(".tmp-")]
    interrupted = list_interrupted(root)
    assert len(interrupted) == 1 and interrupted[0]["status"] == "interrupted"
    assert interrupted[0]["started"] is not None


# --------------------------------------------------------------------------- out of memory
@pytest.mark.parametrize("exc", [
    torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
    RuntimeError("CUDA error: out of memory"),
])
def test_out_of_memory_suggests_a_smaller_batch(df, tmp_path, monkeypatch, exc):
    _poison_forward(monkeypatch, {"raise": exc})
    with pytest.raises(TrainingError) as info:
        pipeline.run_experiment(_cfg(batch_size=512), df, runs_root=tmp_path)
    msg = str(info.value)
    assert "out of memory" in msg and "try a smaller batch size, e.g. 128" in msg
    assert "\n" not in msg
    assert list_runs(tmp_path) == [] and list_interrupted(tmp_path) == []


def test_other_runtime_errors_are_not_called_out_of_memory(df, tmp_path, monkeypatch):
    _poison_forward(monkeypatch, {"raise": RuntimeError("mat1 and mat2 shapes cannot be multiplied")})
    with pytest.raises(RuntimeError, match="shapes"):
        pipeline.run_experiment(_cfg(), df, runs_root=tmp_path)
    assert list_interrupted(tmp_path) == []


def test_out_of_memory_reaches_the_cli_as_one_line(df, tmp_path, monkeypatch, capsys):
    from mtl_core.cli import main

    data = tmp_path / "d.csv"
    df.to_csv(data, index=False)
    _poison_forward(monkeypatch, {"raise": torch.cuda.OutOfMemoryError("CUDA out of memory")})
    rc = main(["train", "--data", str(data), "--task", "click", "--epochs", "1", "--batch-size", "256",
               "--out", str(tmp_path / "runs"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: ") and "e.g. 64" in err[0]
