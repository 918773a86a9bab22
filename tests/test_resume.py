"""Resuming an interrupted run from its last completed epoch: the per-epoch checkpoint is
written atomically and read back safely, a damaged one gives a clear "cannot be resumed,
delete it" message, and a resumed run ends with the same weights and test metrics as a run
that was never interrupted (CPU, same seed), for every weighting method."""
from __future__ import annotations

import json

import pytest
import torch

from mtl_core.cli.main import main
from mtl_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from mtl_core.data.synth import make_synthetic
from mtl_core.errors import DataError
from mtl_core.pipeline import resume_run, run_experiment
from mtl_core.runs import list_interrupted, load_run
from mtl_core.runs import store
from mtl_core.runs.resume import read_checkpoint, write_checkpoint
from mtl_core.weighting import WEIGHTINGS

DEAD_PID = 2 ** 22 + 7  # no process has it: the training process is gone


class Killed(BaseException):
    """Stands for SIGKILL: raised from the progress callback after the checkpoint of an epoch."""


def _config(weighting: str = "uncertainty", epochs: int = 5, patience: int = 2, **train) -> RunConfig:
    return RunConfig(
        data=DataConfig(tasks=["click", "purchase", "rating"], user_col="user_id", item_col="item_id"),
        model=ModelConfig(arch="mmoe", embed_dim=4, hidden=[8], tower_hidden=[4], dropout=0.2),
        train=TrainConfig(epochs=epochs, batch_size=128, patience=patience, weighting=weighting, num_threads=1,
                          seed=3, **train))


def _interrupt(cfg, df, root, after_epoch: int, monkeypatch):
    """Run ``cfg`` until ``after_epoch`` is complete and cut it there as a kill would: the
    temporary folder stays, its process is gone. Returns the folder."""
    def cut(ev):
        if ev.kind == "epoch" and ev.epoch == after_epoch:
            raise Killed

    with monkeypatch.context() as m:
        m.setattr(store.RunWriter, "abort", lambda self: None)  # a killed process cleans nothing
        with pytest.raises(Killed):
            run_experiment(cfg, df, callback=cut, runs_root=root)
    [item] = list_interrupted(root)
    status = item["path"] / "status.json"
    status.write_text(json.dumps({**json.loads(status.read_text()), "pid": DEAD_PID}))
    [item] = list_interrupted(root)
    assert item["status"] == "interrupted" and item["epoch"] == after_epoch and item["cannot_resume"] is None
    return item["path"]


def _same_run(a, b) -> None:
    sa = torch.load(a / "model.pt", weights_only=True)
    sb = torch.load(b / "model.pt", weights_only=True)
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k
    ma, mb = (json.loads((p / "metrics.json").read_text()) for p in (a, b))
    assert ma["tasks"] == mb["tasks"]
    for k in ("epochs", "best_epoch", "stopped"):
        assert ma["train"][k] == mb["train"][k]
    assert (a / "history.csv").read_text() == (b / "history.csv").read_text()
    assert (a / "weights.csv").read_text() == (b / "weights.csv").read_text()


@pytest.mark.parametrize("weighting", WEIGHTINGS.names())
def test_resumed_run_equals_an_uninterrupted_one(weighting, tmp_path, monkeypatch):
    df = make_synthetic(rows=1200, seed=2)
    whole = run_experiment(_config(weighting), df, runs_root=tmp_path / "whole").run_dir
    folder = _interrupt(_config(weighting), df, tmp_path / "cut", 2, monkeypatch)
    seen = []
    res = resume_run(folder, callback=lambda ev: seen.append(ev.epoch) if ev.kind == "epoch" else None)
    assert seen and seen[0] == 3  # epochs 1 and 2 come from the checkpoint, not trained again
    assert res.run_dir == folder.parent / folder.name[len(".tmp-"):]  # the same id, published
    assert not folder.exists() and not list_interrupted(tmp_path / "cut")
    assert not {"checkpoint.pt", "resume.json", "data.parquet"} & {p.name for p in res.run_dir.iterdir()}
    assert res.metrics["train"]["resumed_after_epoch"] == 2
    _same_run(whole, res.run_dir)
    load_run(res.run_dir).model()  # a complete, loadable run


def _cut_file_run(tmp_path, monkeypatch):
    """(an interrupted run read from a CSV file, cut after epoch 1 of 4; that file)."""
    data = tmp_path / "d.csv"
    make_synthetic(rows=800, seed=4).to_csv(data, index=False)
    cfg = _config(epochs=4, patience=0)
    cfg.data.path = str(data)
    return _interrupt(cfg, None, tmp_path / "runs", 1, monkeypatch), data


def test_cli_resumes_an_interrupted_run_read_from_a_file(tmp_path, monkeypatch, capsys):
    folder, data = _cut_file_run(tmp_path, monkeypatch)
    assert not (folder / "data.parquet").exists()  # a file is read again, not copied
    moved = data.rename(tmp_path / "moved.csv")
    assert main(["train", "--resume", str(folder), "--quiet", "--data", str(moved)]) == 0
    out = capsys.readouterr().out
    summary = json.loads(out[out.index("{\n"):])
    assert summary["train"]["epochs"] == 4 and summary["train"]["resumed_after_epoch"] == 1
    assert summary["run_dir"].endswith(folder.name[len(".tmp-"):])


def test_changed_data_file_is_refused(tmp_path, monkeypatch, capsys):
    folder, data = _cut_file_run(tmp_path, monkeypatch)
    make_synthetic(rows=800, seed=5).to_csv(data, index=False)
    assert main(["train", "--resume", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "cannot be resumed" in err and "reads back differently" in err and "delete it" in err
    [item] = list_interrupted(tmp_path / "runs")  # still there, still interrupted
    assert item["status"] == "interrupted"


# --------------------------------------------------------------------------- the checkpoint file
def test_checkpoint_write_is_atomic_and_reads_back(tmp_path):
    folder = tmp_path / ".tmp-r1"
    folder.mkdir()
    state = {"format": 1, "epoch": 3, "model": {"w": torch.ones(2)}, "optimizer": {}, "weighting": {},
             "stopper": {}, "history": [], "weights_history": [], "diagnostics": [], "rng": {}, "clock": {}}
    write_checkpoint(folder, state)
    write_checkpoint(folder, {**state, "epoch": 4})  # overwritten each epoch
    assert [p.name for p in folder.iterdir()] == ["checkpoint.pt"]  # no temporary file left
    back = read_checkpoint(folder)
    assert back["epoch"] == 4 and torch.equal(back["model"]["w"], torch.ones(2))


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.parametrize("damage, why", [
    (lambda p: p.write_bytes(b"\x80\x02garbage"), "is damaged"),
    (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "is damaged"),
    (lambda p: torch.save({"x": _Evil()}, p), "is damaged"),  # weights_only refuses code
    (lambda p: torch.save({"format": 99}, p), "was not written by this version"),
    (lambda p: torch.save({"format": 1, "epoch": "two"}, p), "lacks epoch"),
    (lambda p: p.unlink(), "no epoch was completed"),
])
def test_damaged_checkpoint_gives_a_clear_message(tmp_path, monkeypatch, capsys, damage, why):
    folder = _interrupt(_config(epochs=4, patience=0), make_synthetic(rows=600, seed=1), tmp_path, 1, monkeypatch)
    damage(folder / "checkpoint.pt")
    with pytest.raises(DataError, match=f"cannot be resumed: .*{why}.*; delete it"):
        resume_run(folder)
    assert "pwned" not in capsys.readouterr().out
    [item] = list_interrupted(tmp_path)
    assert item["status"] == "interrupted"  # still listed, to be deleted


def test_checkpoint_of_another_model_is_refused(tmp_path, monkeypatch):
    folder = _interrupt(_config(epochs=4, patience=0), make_synthetic(rows=600, seed=1), tmp_path, 1, monkeypatch)
    state = read_checkpoint(folder)
    state["model"] = {"nonsense": torch.zeros(3)}
    write_checkpoint(folder, state)
    with pytest.raises(DataError, match="does not fit this run's model.*delete it"):
        resume_run(folder)
    assert list_interrupted(tmp_path)[0]["status"] == "interrupted"  # kept after a failed resume


def test_a_run_being_trained_cannot_be_resumed_twice(tmp_path, monkeypatch):
    folder = _interrupt(_config(epochs=4, patience=0), make_synthetic(rows=600, seed=1), tmp_path, 1, monkeypatch)
    status = folder / "status.json"
    import os

    status.write_text(json.dumps({**json.loads(status.read_text()), "pid": os.getpid()}))
    with pytest.raises(DataError, match="being trained or resumed right now"):
        resume_run(folder)


def test_folder_without_settings_cannot_be_resumed(tmp_path):
    folder = tmp_path / ".tmp-early"
    folder.mkdir()
    (folder / "status.json").write_text(json.dumps({"status": "running", "pid": DEAD_PID, "epoch": 0}))
    [item] = list_interrupted(tmp_path)
    assert item["cannot_resume"] == "it was stopped before its settings were saved"
    with pytest.raises(DataError, match="'early' cannot be resumed: it was stopped before its settings"):
        resume_run(folder)


# --------------------------------------------------------------------------- the app's Resume button
def test_results_page_resumes_an_interrupted_run_and_explains_one_it_cannot(runs_root, monkeypatch):
    from apptest_support import assert_no_errors, open_page
    from mtl_core.app import state as app_state
    from pages._ui import job_manager

    sid = app_state.new_session_id()
    folder = _interrupt(_config(epochs=3, patience=0), make_synthetic(rows=600, seed=1), runs_root / sid, 1, monkeypatch)
    early = runs_root / sid / ".tmp-early"
    early.mkdir()
    (early / "status.json").write_text(json.dumps({"status": "running", "pid": DEAD_PID, "epoch": 0}))
    run_id = folder.name[len(".tmp-"):]

    at = open_page("pages/results.py", sid)
    assert_no_errors(at)
    assert any(f"{run_id} · interrupted after epoch 1 of 3" == t.value for t in at.text)
    assert any("Cannot be resumed" in c.value and "settings were saved" in c.value for c in at.caption)
    assert at.button(key="resume_tmp_early").disabled
    at.button(key=f"resume_tmp_{run_id}").click().run()
    assert_no_errors(at)
    job = job_manager().latest_for(sid)
    assert job.name == f"resume {run_id}" and job.wait(120) and job.status == "done", job.snapshot()
    at.run()
    assert_no_errors(at)
    assert any(f"The resumed run `{run_id}` is saved." in s.value for s in at.success)
    assert (runs_root / sid / run_id / "metrics.json").is_file() and not folder.exists()
    assert at.selectbox(key="res_run").value == str(runs_root / sid / run_id)  # it is this session's run now


def test_run_cut_right_after_early_stopping_does_not_train_on(tmp_path, monkeypatch):
    df = make_synthetic(rows=1200, seed=2)
    # a constant rate: the validation loss turns up and stops the run (a cosine decay may not)
    cfg = lambda: _config("fixed", epochs=40, patience=1, lr_schedule="constant")  # noqa: E731
    whole = run_experiment(cfg(), df, runs_root=tmp_path / "whole")
    assert whole.metrics["train"]["stopped"] == "early_stopping"  # the case this test is about
    last = whole.metrics["train"]["epochs"]
    folder = _interrupt(cfg(), df, tmp_path / "cut", last, monkeypatch)  # cut after the stopping epoch
    seen = []
    res = resume_run(folder, callback=lambda ev: seen.append(ev.epoch) if ev.kind == "epoch" else None)
    assert seen == [] and res.metrics["train"]["stopped"] == "early_stopping"
    _same_run(whole.run_dir, res.run_dir)
