"""Reloads and restarts keep everything: the session's table and choices come back on a new
connection, a run cut by a restart shows as interrupted with its last completed epoch and can
be deleted, and old orphaned temporary folders are cleaned."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pandas as pd

from apptest_support import ROOT, assert_no_errors, new_app
from mtl_core.app import persist
from mtl_core.app import state as app_state
from mtl_core.runs import clean_orphans, list_interrupted


def test_table_and_choices_round_trip(tmp_path):
    df = pd.DataFrame({"a": [1, 2, 3], "mixed": ["x", 2, None], "s": ["p", None, "q"]})
    persist.save_table(tmp_path, df)
    state = {**app_state.fresh_state(), "tasks": ["a"], "roles": {"s": "categorical"},
             "train_settings": {"epochs": 7}, "data_name": "t.csv", "last_loaded": "upload"}
    persist.save_choices(tmp_path, state)
    back, choices = persist.load(tmp_path)
    assert back["a"].tolist() == [1, 2, 3] and back["mixed"].tolist()[:2] == ["x", "2"]
    assert choices["tasks"] == ["a"] and choices["train_settings"] == {"epochs": 7}
    assert choices["roles"] == {"s": "categorical"} and choices["data_name"] == "t.csv"


def test_damaged_or_mistyped_saved_state_counts_as_absent(tmp_path):
    base = tmp_path / persist.STATE_DIR
    base.mkdir()
    (base / "table.parquet").write_bytes(b"not parquet")
    (base / "choices.json").write_text(json.dumps({"tasks": "click", "roles": [], "data_name": "x"}))
    df, choices = persist.load(tmp_path)
    assert df is None and choices == {"data_name": "x"}
    (base / "choices.json").write_text("{not json")
    assert persist.load(tmp_path) == (None, {})


def test_reload_brings_back_table_and_choices(runs_root):
    at = new_app()
    at.switch_page("pages/data.py")
    at.run()
    at.number_input(key="syn_rows").set_value(600)
    at.button(key="syn_go").click().run()
    assert_no_errors(at)
    sid, ver = at.session_state["sid"], at.session_state["data_version"]
    at.multiselect(key=f"tasks_{ver}").set_value(["click", "rating"]).run()
    at.switch_page("pages/train.py")
    at.run()
    at.number_input(key="tr_epochs").set_value(9).run()
    assert_no_errors(at)
    rows = len(at.session_state["df"])

    again = new_app(sid)  # a reload: a new connection of the same browser session
    again.switch_page("pages/train.py")
    again.run()
    assert_no_errors(again)
    assert len(again.session_state["df"]) == rows
    assert list(again.session_state["tasks"]) == ["click", "rating"]
    assert again.number_input(key="tr_epochs").value == 9

    stranger = new_app()  # another session sees none of it
    stranger.switch_page("pages/train.py")
    stranger.run()
    assert stranger.session_state["df"] is None


_TRAIN = """
import sys
from mtl_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from mtl_core.data.synth import make_synthetic
from mtl_core.pipeline import run_experiment
cfg = RunConfig(data=DataConfig(tasks=["click"], user_col="user_id", item_col="item_id"),
                model=ModelConfig(arch="shared_bottom", embed_dim=4, hidden=[8], tower_hidden=[4]),
                train=TrainConfig(epochs=500, batch_size=64, patience=0, num_threads=1))
run_experiment(cfg, make_synthetic(rows=2000, seed=1), runs_root=sys.argv[1])
"""


def test_run_cut_by_a_restart_shows_as_interrupted_and_can_be_deleted(runs_root):
    sid = app_state.new_session_id()
    folder = runs_root / sid
    proc = subprocess.Popen([sys.executable, "-c", _TRAIN, str(folder)], cwd=ROOT,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait for the second completed epoch
            items = list_interrupted(folder)
            if items and (items[0].get("epoch") or 0) >= 2:
                break
            assert proc.poll() is None, "training ended before it could be cut"
            time.sleep(0.2)
        else:
            raise AssertionError("no epoch was recorded")
    finally:
        proc.kill()  # the server dies mid-training
        proc.wait()
    [item] = list_interrupted(folder)
    assert item["status"] == "interrupted" and item["epoch"] >= 2 and item["epochs"] == 500

    at = new_app(sid)  # the restarted server, the same browser session
    at.switch_page("pages/results.py")
    at.run()
    assert_no_errors(at)
    assert any("were interrupted" in w.value for w in at.warning)
    assert any(f"interrupted after epoch {item['epoch']} of 500" in t.value for t in at.text)
    at.button(key=f"del_tmp_{item['run_id']}").click().run()
    assert not item["path"].exists() and not at.warning


def test_old_orphaned_temporary_folders_are_cleaned(tmp_path):
    old = tmp_path / ("0" * 32) / ".tmp-old"
    fresh = tmp_path / ".tmp-fresh"
    for p in (old, fresh):
        p.mkdir(parents=True)
        (p / "status.json").write_text(json.dumps({"status": "running", "pid": 2 ** 22 + 7, "epoch": 1}))
    past = time.time() - 8 * 86400
    os.utime(old / "status.json", (past, past))
    os.utime(old, (past, past))
    assert clean_orphans(tmp_path) == ["old"]
    assert fresh.exists() and not old.exists()
