"""The Train page's settings survive a change of data: generating new synthetic data (or
uploading a file) keeps the architecture, weighting method, epochs and the rest."""
from __future__ import annotations

from apptest_support import assert_no_errors, new_app


def test_generating_new_data_keeps_the_train_settings(runs_root):
    at = new_app()
    at.run()
    at.button(key="start_sample").click().run()  # opens the sample, switches to Train
    at.switch_page("pages/train.py")
    at.run()
    at.selectbox(key="tr_arch").set_value("shared_bottom").run()
    at.selectbox(key="tr_weighting").set_value("uncertainty").run()
    at.number_input(key="tr_epochs").set_value(8).run()
    at.slider(key="tr_w_%d_click" % at.session_state["data_version"]).set_value(2.5).run()
    assert_no_errors(at)

    at.switch_page("pages/data.py")
    at.run()
    at.number_input(key="syn_rows").set_value(800)
    at.slider(key="syn_corr").set_value(-0.5)
    at.button(key="syn_go").click().run()
    assert_no_errors(at)
    assert at.session_state["data_name"].startswith("synthetic")

    at.switch_page("pages/train.py")
    at.run()
    assert_no_errors(at)
    assert at.selectbox(key="tr_arch").value == "shared_bottom"
    assert at.selectbox(key="tr_weighting").value == "uncertainty"
    assert at.number_input(key="tr_epochs").value == 8
    ver = at.session_state["data_version"]
    assert at.slider(key=f"tr_w_{ver}_click").value == 2.5  # same task in the new data: same weight
    s = at.session_state["train_settings"]
    assert (s["arch"], s["weighting"], s["epochs"]) == ("shared_bottom", "uncertainty", 8)


def test_carried_settings_forget_only_what_names_a_missing_task():
    from mtl_core.app.state import carry_train_settings

    before = {"arch": "esmm", "epochs": 8, "esmm_parent": "click",
              "task_weights": {"click": 2.0, "purchase": 0.5}}
    kept = carry_train_settings(before, ["click", "rating"])
    assert kept == {"arch": "esmm", "epochs": 8, "esmm_parent": "click", "task_weights": {"click": 2.0}}
    gone = carry_train_settings(before, ["rating", "sales"])
    assert "esmm_parent" not in gone and gone["task_weights"] == {} and gone["epochs"] == 8
    assert before["task_weights"] == {"click": 2.0, "purchase": 0.5}  # the input is not changed
