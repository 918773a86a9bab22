"""AppTest: every page renders on a fresh session and with a finished run, and the main flow
(open the sample -> tasks -> train 2 epochs -> results -> recommendations) shows sane values."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from apptest_support import (ROOT, assert_no_errors, chart_specs, chart_titles, job_ended, new_app, open_page,
                             put_frame, run_until)
from mtl_core.app import state as app_state
from mtl_core.config import RunConfig
from mtl_core.errors import ConfigError

PAGES = ["start", "data", "train", "results", "recommend"]


def _click_train(at: AppTest, epochs: int, batch_size: int = 1024, **numbers) -> None:
    """On the Train page: set the epochs, the batch size and other number inputs (by key),
    then click Train."""
    at.switch_page("pages/train.py")
    at.run()
    at.number_input(key="tr_epochs").set_value(epochs)
    for key, value in numbers.items():
        at.number_input(key=key).set_value(value)
    at.select_slider(key="tr_bs").set_value(batch_size)
    at.button(key="train_go").click().run()


def _sample_app() -> AppTest:
    """A fresh session with the bundled sample opened from the Start page."""
    at = new_app()
    at.run()
    at.button(key="start_sample").click().run()
    return at


def _train(at: AppTest, epochs: int = 2, timeout: float = 120) -> None:
    """Click Train and rerun (fragment timers do not fire in AppTest) until the job ends."""
    _click_train(at, epochs)
    assert_no_errors(at)
    run_until(at, job_ended, timeout)
    assert_no_errors(at)
    assert any("Finished" in s.value for s in at.success), [s.value for s in at.success]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One finished run on the bundled sample (shared by the tests that need a run)."""
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("runs")
    mp.setenv("MTL_LAB_RUNS", str(root))
    mp.chdir(ROOT)
    at = _sample_app()
    assert_no_errors(at)
    _train(at)
    sid = at.session_state["sid"]
    yield {"at": at, "root": root, "sid": sid}
    mp.undo()


@pytest.fixture
def run_session(trained, monkeypatch):
    """The trained session, with the runs root pointing at its folder again (conftest gives
    every test its own MTL_LAB_RUNS)."""
    monkeypatch.setenv("MTL_LAB_RUNS", str(trained["root"]))
    monkeypatch.chdir(ROOT)
    return trained


# --------------------------------------------------------------------------- smoke
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_a_fresh_session(runs_root, page):
    at = open_page(f"pages/{page}.py")
    assert_no_errors(at)
    assert at.title and at.title[0].value
    assert app_state.valid_session_id(at.session_state["sid"])
    from mtl_core.app.sessions import verify

    url = at.query_params["s"]
    assert verify(runs_root, url[0] if isinstance(url, list) else url) == at.session_state["sid"]


_NO_TORCH_START = """
import importlib.abc, json, sys, threading

ATTEMPTS = []  # who tried to import torch: the thread, and whether the device label asked


class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            f, callers = sys._getframe(1), set()
            while f is not None:
                callers.add(f.f_code.co_name)
                f = f.f_back
            ATTEMPTS.append({"thread": threading.current_thread().name,
                             "device_label": "_device_label" in callers})
            raise ImportError("torch is blocked in this test")
        return None

sys.meta_path.insert(0, NoTorch())
sys.path.insert(0, "tests")
from apptest_support import new_app

at = new_app()
at.run()
print(json.dumps({"exceptions": [e.value for e in at.exception], "errors": [e.value for e in at.error],
                  "titles": [t.value for t in at.title], "subheaders": [h.value for h in at.subheader],
                  "buttons": [b.key for b in at.button], "captions": [c.value for c in at.caption],
                  "torch": "torch" in sys.modules, "attempts": ATTEMPTS}))
"""


def test_start_page_draws_without_torch(runs_root):
    """The Start page (and app.py around it) draws everything without torch: in a fresh
    interpreter where importing torch fails, the page renders whole and without an error, the
    only import attempts come from the device line (filled in after drawing; it falls back to
    CPU) and the background warm-up."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", _NO_TORCH_START], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    page = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not page["exceptions"] and not page["errors"], page
    assert page["titles"] == ["MTL Lab"] and "How it works" in page["subheaders"]
    assert "start_sample" in page["buttons"]
    assert "Training device: CPU" in page["captions"] and not page["torch"]
    # torch is asked for only by the device label (drawn last) and the background warm-up
    assert any(a["device_label"] for a in page["attempts"]), page["attempts"]
    assert all(a["device_label"] or a["thread"] == "mtl-warm-up" for a in page["attempts"]), page["attempts"]


def test_cold_start_imports_neither_torch_nor_sklearn_metrics():
    """What app.py and the Start page import at module level stays light."""
    import subprocess
    import sys

    code = ("import sys; import pages._ui, mtl_core.app.state, mtl_core.app.jobs, mtl_core.runs; "
            "bad = [m for m in ('torch', 'sklearn.metrics') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_invalid_session_id_is_replaced(runs_root):
    at = new_app(sid="../../etc")
    at.run()
    sid = at.session_state["sid"]
    assert app_state.valid_session_id(sid) and sid != "../../etc"


def test_start_button_opens_sample_and_switches_to_train(runs_root):
    at = new_app()
    at.run()
    at.button(key="start_sample").click().run()
    assert_no_errors(at)
    assert at.title[0].value == "Train"
    assert list(at.session_state["tasks"]) == ["click", "purchase"]
    assert len(at.session_state["df"]) > 1000


def test_data_page_with_sample(runs_root):
    at = open_page("pages/data.py")
    at.button(key="data_sample").click().run()
    assert_no_errors(at)
    ver = at.session_state["data_version"]
    ms = at.multiselect(key=f"tasks_{ver}")
    assert ms.value == ["click", "purchase"]
    ms.set_value(["click", "purchase", "rating"]).run()
    assert_no_errors(at)
    assert at.session_state["tasks"] == ["click", "purchase", "rating"]
    assert any("rating → regression" in c.value for c in at.caption)
    titles = chart_titles(at)
    assert any("issing" in t for t in titles) and any("Label balance" in t for t in titles)
    # the roles editor and cleaning choices exist and feed the config
    assert at.session_state["preprocess"]["missing"] == "median"
    at.selectbox(key="pre_outliers").set_value("iqr").run()
    assert at.session_state["preprocess"]["outliers"] == "iqr"


def test_data_page_says_when_roles_come_from_a_sample(runs_root, monkeypatch):
    """Past ``SAMPLE_ROWS`` rows the schema's value rules read a sample and a continuous
    column's distinct count is an estimate: the roles caption says so (and not below it)."""
    import mtl_core.data.column_counts as counts

    at = open_page("pages/data.py")
    at.button(key="data_sample").click().run()
    assert not any("seeded" in c.value for c in at.caption)
    monkeypatch.setattr(counts, "SAMPLE_ROWS", 500)  # the sample has more rows than that
    at.run()
    assert_no_errors(at)
    assert any("inferred from a seeded 500-row sample" in c.value and "estimated" in c.value for c in at.caption)


def test_task_error_is_shown_next_to_the_tasks(runs_root):
    at = open_page("pages/data.py")
    at.button(key="data_sample").click().run()
    ver = at.session_state["data_version"]
    at.multiselect(key=f"tasks_{ver}").set_value(["click", "item_category"]).run()
    at.selectbox(key=f"kind_{ver}_item_category").set_value("regression").run()
    assert not at.exception
    assert at.error and "item\\_category" in at.error[0].value  # shown escaped: names from data are not Markdown


def _event_log(n: int = 600) -> pd.DataFrame:
    import numpy as np

    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "visitorid": [f"u{i}" for i in rng.integers(0, 40, n)],
        "itemid": [f"i{i}" for i in rng.integers(0, 30, n)],
        "event": rng.choice(["view", "addtocart", "transaction"], n, p=[0.8, 0.15, 0.05]),
        "timestamp": np.sort(rng.integers(1_600_000_000, 1_600_100_000, n)),
    })


def test_funnel_builder_turns_an_event_log_into_tasks(runs_root):
    log = _event_log()
    at = put_frame(open_page("pages/data.py"), log, "events.csv", 7)
    assert_no_errors(at)
    assert at.selectbox(key="fun_user_7").value == "visitorid"
    assert at.selectbox(key="fun_event_7").value == "event"
    at.multiselect(key="fun_stages_7").set_value(["view", "addtocart", "transaction"]).run()
    at.button(key="fun_go").click().run()
    assert_no_errors(at)
    df = at.session_state["df"]
    assert {"addtocart", "transaction"} <= set(df.columns)
    assert len(df) < len(log)  # one row per user-item pair
    assert at.session_state["tasks"] == ["addtocart", "transaction"]
    assert at.session_state["data_name"].startswith("funnel table")


def test_stop_button_cancels_training(runs_root):
    at = _sample_app()
    _click_train(at, 200, 64, tr_patience=0)
    run_until(at, lambda a: a.get("progress"), 60, every=0.2)  # wait until it is really training
    assert at.get("progress"), "training never started"
    at.button(key="train_stop").click().run()
    run_until(at, lambda a: a.warning or a.success or a.error, 60, every=0.2)
    assert not at.exception
    assert at.warning and at.warning[0].value.startswith("Stopped"), [w.value for w in at.warning]
    assert not at.success


def test_queued_job_shows_its_position_then_runs(runs_root, monkeypatch):
    import threading

    from pages import _ui

    monkeypatch.setenv("MTL_LAB_MAX_JOBS", "1")
    _ui.job_manager.clear()
    release = threading.Event()
    try:
        mgr = _ui.job_manager()
        assert mgr.max_concurrent == 1
        mgr.submit(lambda cb, cancel: release.wait(30), owner="another-session")
        at = _sample_app()
        _click_train(at, 1, 2048)
        assert_no_errors(at)
        assert any("Queued (position 1)" in i.value for i in at.info), [i.value for i in at.info]
        assert at.button(key="train_go").disabled
        release.set()
        run_until(at, lambda a: a.success, 90)
        assert_no_errors(at)
        assert at.success and "Finished" in at.success[0].value
    finally:
        release.set()
        _ui.job_manager.clear()


def test_unexpected_error_is_short_and_without_traceback(runs_root, monkeypatch):
    import mtl_core.runs as runs

    def boom(*a, **k):
        raise ZeroDivisionError("internal detail")

    monkeypatch.setattr(runs, "list_runs", boom)
    at = open_page("pages/results.py")
    assert not at.exception
    assert at.error and "Something went wrong: ZeroDivisionError" in at.error[0].value
    assert "internal detail" not in at.error[0].value


# --------------------------------------------------------------------------- main flow
def test_results_show_per_task_scores(run_session):
    at = open_page("pages/results.py", run_session["sid"])
    assert_no_errors(at)
    table = at.dataframe[0].value
    assert set(table["task"]) == {"click", "purchase"}
    assert table["auc"].between(0, 1).all()
    titles = chart_titles(at)
    for expected in ("Classification metrics per binary task", "click: confusion matrix",
                     "purchase: confusion matrix", "ROC curves", "Precision", "Calibration",
                     "Ranking within each user's test rows", "Loss per task"):
        assert any(expected in t for t in titles), (expected, titles)
    loss = next(s for s in chart_specs(at) if s["layout"]["title"]["text"] == "Loss per task")
    assert {tr["name"] for tr in loss["data"]} >= {"click · train", "click · val", "purchase · train"}
    assert loss["layout"]["xaxis"]["title"]["text"] == "Epoch"
    labels = [b.label for b in at.get("download_button")]
    assert len(labels) == 6 and "Test-split predictions (CSV)" in labels and "Report (one HTML file)" in labels, labels


def test_threshold_slider_recomputes_confusion_matrix(run_session):
    at = open_page("pages/results.py", run_session["sid"])
    slider = next(s for s in at.slider if s.key.startswith("thr_") and s.key.endswith("_click"))

    def cm():
        spec = next(s for s in chart_specs(at) if s["layout"]["title"]["text"].startswith("click: confusion"))
        return spec["data"][0]["z"]

    slider.set_value(0.0).run()
    z0 = cm()
    assert z0[0][0] == 0 and z0[1][0] == 0  # everything predicted positive
    next(s for s in at.slider if s.key == slider.key).set_value(1.0).run()
    z1 = cm()
    assert z1[0][1] == 0  # (almost) nothing predicted positive: no false positives
    assert sum(map(sum, z0)) == sum(map(sum, z1))
    assert_no_errors(at)


def test_recommend_page_shows_top_k(run_session):
    at = open_page("pages/recommend.py", run_session["sid"])
    assert_no_errors(at)
    recs = at.dataframe[0].value
    assert len(recs) == 10
    assert {"rank", "fused_score", "score:click", "score:purchase"} <= set(recs.columns)
    assert recs["fused_score"].is_monotonic_decreasing
    assert recs["score:click"].between(0, 1).all()
    at.slider(key=next(s.key for s in at.slider if s.key.startswith("rec_k_"))).set_value(5).run()
    assert len(at.dataframe[0].value) == 5
    assert_no_errors(at)
    # weighted fusion, and a user never seen in training
    at.radio(key=next(r.key for r in at.radio if r.key.startswith("rec_mode_"))).set_value("weighted").run()
    assert_no_errors(at)
    assert at.dataframe[0].value["fused_score"].is_monotonic_decreasing
    at.text_input(key=next(t.key for t in at.text_input if t.key.startswith("rec_typed_"))).input("nobody").run()
    assert_no_errors(at)
    assert any("not seen in training" in c.value for c in at.caption)
    assert len(at.dataframe[0].value) == 5


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_with_a_finished_run(run_session, page):
    at = open_page(f"pages/{page}.py", run_session["sid"])
    assert_no_errors(at)


def test_train_page_shows_finished_run_and_links_results(run_session):
    at = run_session["at"]
    at.switch_page("pages/train.py")
    at.run()
    assert_no_errors(at)
    assert at.session_state["selected_run"]
    assert Path(at.session_state["selected_run"]).is_dir()
    assert "Loss per task" in chart_titles(at)
    assert at.button(key="train_to_results")
    aucs = {m.label: float(m.value) for m in at.metric if "test AUC" in m.label}
    assert set(aucs) == {"click · test AUC", "purchase · test AUC"}
    assert all(0 <= v <= 1 for v in aucs.values())

    # after a reload the session state is rebuilt without the job -> data map: the finished
    # job of this session is reattached to the restored data, not hidden
    at.session_state["job_data"] = {}
    at.run()
    assert_no_errors(at)
    assert any("Finished in" in s.value for s in at.success)
    assert at.button(key="train_to_results")


# --------------------------------------------------------------------------- app_state
def _schema(df):
    from mtl_core.data.schema import infer_schema

    return infer_schema(df)


def test_build_config_from_choices():
    df = pd.DataFrame({"user_id": ["u1", "u2"] * 5, "item_id": ["i1", "i2", "i3", "i4", "i5"] * 2,
                       "price": range(10), "click": [0, 1] * 5})
    state = {**app_state.fresh_state(), "df": df, "schema": _schema(df), "tasks": ["click"]}
    settings = app_state.default_train_settings(["click"])
    settings.update(hidden="32, 16", epochs=3, weighting="uncertainty")
    cfg = app_state.build_config(state, settings, num_threads=1)
    assert isinstance(cfg, RunConfig)
    assert cfg.data.tasks == ["click"] and cfg.model.hidden == [32, 16]
    assert cfg.data.user_col == "user_id" and cfg.data.item_col == "item_id"
    assert cfg.split.test == pytest.approx(0.1) and cfg.train.num_threads == 1
    RunConfig.from_dict(json.loads(cfg.to_json()))  # round-trips

    with pytest.raises(ConfigError, match="Hidden layers"):
        app_state.build_config(state, {**settings, "hidden": "big"})
    with pytest.raises(ConfigError, match="no test data"):
        app_state.build_config(state, {**settings, "train_frac": 0.9, "val_frac": 0.1})
    with pytest.raises(ConfigError, match="at least one task"):
        app_state.build_config({**state, "tasks": []}, settings)


def test_roles_table_round_trip():
    df = pd.DataFrame({"user_id": ["u1", "u2"] * 5, "price": range(10), "color": list("abcdeabcde"),
                       "click": [0, 1] * 5})
    schema = _schema(df)
    table = app_state.roles_table(schema, tasks=["click"])
    assert list(table["column"]) == list(df.columns)
    table.loc[table["column"] == "color", "role"] = "ignore"
    table.loc[table["column"] == "price", "use as feature"] = False
    roles, drop = app_state.roles_from_table(table, schema, tasks=["click"])
    assert roles == {"color": "ignore"}
    assert drop == ["price"]


def test_task_spec_strings():
    assert app_state.task_spec("click") == "click"
    assert app_state.task_spec("rating", "regression") == "rating:regression"
    assert app_state.task_spec("status", "auto", "active") == "status=active"
    assert app_state.task_spec("status", "binary", "active") == "status:binary=active"
    assert app_state.task_spec("rating", "binary", ">=4") == "rating:binary>=4"
    assert app_state.task_spec("rating", "auto", "< 2") == "rating< 2"


def test_threshold_label_on_the_data_page(runs_root):
    at = open_page("pages/data.py")
    at.button(key="data_sample").click().run()
    ver = at.session_state["data_version"]
    at.multiselect(key=f"tasks_{ver}").set_value(["click", "rating"]).run()
    at.text_input(key=f"thr_{ver}_rating").set_value(">=4").run()
    assert_no_errors(at)
    assert any("rating → binary (positive = >=4)" in c.value.replace("\\", "") for c in at.caption)
    at.text_input(key=f"thr_{ver}_rating").set_value(">=99").run()
    assert at.error and "one class" in at.error[0].value


def test_session_ids():
    sid = app_state.new_session_id()
    assert app_state.valid_session_id(sid)
    for bad in ("", "../x", "ABC", sid + "0", None, 5):
        assert not app_state.valid_session_id(bad)


def test_data_page_first_row_is_data_and_rename(runs_root):
    """An uploaded headerless log is detected; the user can still say the first row is names
    (or data again) and rename the columns."""
    from mtl_core.data.io import read_table
    from mtl_core.data.schema import infer_schema

    raw = b"u1,i1,pv,1511544070\nu2,i1,buy,1511544071\nu3,i2,pv,1511544072\nu1,i2,cart,1511544073\n"
    df = read_table(raw, filename="log.csv")
    at = open_page("pages/data.py")
    for k, v in {"raw_upload": (raw, "log.csv"), "df": df, "schema": infer_schema(df), "data_name": "log.csv",
                 "data_version": 3, "last_loaded": "upload"}.items():
        at.session_state[k] = v
    at.run()
    assert_no_errors(at)
    assert list(at.session_state["df"].columns) == ["col_0", "col_1", "col_2", "col_3"] and len(at.session_state["df"]) == 4
    assert any("read as data" in c.value for c in at.caption)
    at.radio(key="read_header_3").set_value("names").run()
    assert_no_errors(at)
    assert list(at.session_state["df"].columns) == ["u1", "i1", "pv", "1511544070"] and len(at.session_state["df"]) == 3
    ver = at.session_state["data_version"]
    at.radio(key=f"read_header_{ver}").set_value("data").run()
    ver = at.session_state["data_version"]
    assert len(at.session_state["df"]) == 4
    at.text_input(key=f"rename_names_{ver}").set_value("user, item, event, ts")
    at.button[[b.label for b in at.button].index("Rename columns")].click().run()
    assert_no_errors(at)
    df2 = at.session_state["df"]
    assert list(df2.columns) == ["user", "item", "event", "ts"] and len(df2) == 4
    assert at.session_state["schema"].time_col == "ts"  # the Unix seconds are a timestamp by their values
    ver = at.session_state["data_version"]
    at.text_input(key=f"rename_names_{ver}").set_value("a, b")
    at.button[[b.label for b in at.button].index("Rename columns")].click().run()
    assert at.error and "4 columns" in at.error[0].value and list(at.session_state["df"].columns)[0] == "user"


def test_funnel_builder_event_labels_and_roles(runs_root):
    from mtl_core.data.schema import infer_schema

    at = open_page("pages/data.py")
    log = _event_log().rename(columns={"visitorid": "col_0", "itemid": "col_1", "timestamp": "col_3"})
    for k, v in {"df": log, "schema": infer_schema(log), "data_name": "events.csv", "data_version": 5}.items():
        at.session_state[k] = v
    at.run()
    at.selectbox(key="fun_user_5").set_value("col_0")
    at.selectbox(key="fun_item_5").set_value("col_1")
    at.selectbox(key="fun_time_5").set_value("col_3")
    at.multiselect(key="fun_stages_5").set_value(["view", "addtocart", "transaction"])
    at.radio(key="fun_labels").set_value("event").run()
    at.button(key="fun_go").click().run()
    assert_no_errors(at)
    df, schema = at.session_state["df"], at.session_state["schema"]
    assert (schema.user_col, schema.item_col, schema.time_col) == ("col_0", "col_1", "col_3")
    # 'event' labels: a transaction without an add-to-cart is not counted as an add-to-cart
    ev = log.groupby(["col_0", "col_1"])["event"].agg(set)
    want = ev.map(lambda s: int("addtocart" in s))
    got = df.set_index(["col_0", "col_1"])["addtocart"]
    assert (got == want.reindex(got.index)).all() and (want.reindex(got.index) != ev.map(
        lambda s: int(bool({"addtocart", "transaction"} & s))).reindex(got.index)).any()


def test_data_page_says_what_each_column_becomes(runs_root):
    at = open_page("pages/data.py")
    at.button(key="data_sample").click().run()
    assert_no_errors(at)
    note = next(c.value for c in at.caption if "columns are model inputs" in c.value)
    # labels that are not tasks are named with the reason they are not used
    assert "**cart**" in note and "not a task" in note and "**click**" in note
    from mtl_core.data.usage import column_usage

    ss = at.session_state
    usage = column_usage(ss["schema"], ["click"], [], ticked=["click"])
    assert "never becomes a feature" in usage["click"]["as"] and not usage["click"]["used"]
    assert usage["item_price"]["used"]


def test_bundled_sample_path_exists():
    """The app opens data/sample.csv, not the synthetic fallback (mtl_core/app/state.py sits two
    folders below the repository root)."""
    assert app_state.SAMPLE_PATH.exists()
    assert app_state.SAMPLE_PATH == Path(__file__).resolve().parent.parent / "data" / "sample.csv"


def test_recommend_page_explains_an_item_and_answers_what_if(run_session):
    at = open_page("pages/recommend.py", run_session["sid"])
    assert_no_errors(at)
    titles = chart_titles(at)
    assert any("Why this item" in t for t in titles) and any("What if" in t for t in titles)
    why = next(s for s in chart_specs(at) if "Why this item" in s["layout"]["title"]["text"])
    assert {d["name"] for d in why["data"]} == {"click", "purchase"}
    table = next(d.value for d in at.dataframe if "change" in d.value.columns)
    assert set(table["task"]) >= {"click", "purchase"} and (table["change"].abs() < 1e-6).all()  # nothing edited yet
    at.selectbox(key=next(s.key for s in at.selectbox if s.key.startswith("wi_col_"))).set_value("item_price").run()
    price = next(n for n in at.number_input if n.key.startswith("wi_val_"))
    price.set_value(price.value * 20 + 500).run()
    assert_no_errors(at)
    table = next(d.value for d in at.dataframe if "change" in d.value.columns)
    assert (table["change"] != 0).any() and (table["after"] - table["before"] - table["change"]).abs().max() < 1e-6
    item = at.selectbox(key=next(s.key for s in at.selectbox if s.key.startswith("why_item_")))
    item.set_value(item.options[1]).run()
    assert_no_errors(at)


def test_time_features_switch_reaches_the_config_and_the_column_note(runs_root):
    at = open_page("pages/data.py")
    at.button(key="data_sample").click().run()
    assert_no_errors(at)
    box = at.checkbox(key="pre_time_features")
    assert box.value is True and not box.disabled  # the sample has a timestamp column
    note = next(c.value for c in at.caption if "columns are model inputs" in c.value)
    box.uncheck().run()
    assert_no_errors(at)
    assert at.session_state["preprocess"]["time_features"] is False
    note_off = next(c.value for c in at.caption if "columns are model inputs" in c.value)
    assert note_off != note and "time features are off" in note_off
    settings = app_state.default_train_settings(["click"])
    state = {k: at.session_state[k] for k in ("df", "schema", "roles", "drop", "tasks", "preprocess")}
    cfg = app_state.build_config({**app_state.fresh_state(), **state}, settings)
    assert cfg.preprocess.time_features is False


def test_app_cleaning_defaults_are_the_library_defaults():
    from mtl_core.config import PreprocessConfig

    pre, lib = app_state.fresh_state()["preprocess"], PreprocessConfig()
    assert pre and all(pre[k] == getattr(lib, k) for k in pre)
    assert set(pre) >= {"missing", "outliers", "scaling", "numeric_encoding", "time_features"}
