"""Session identity: ids are issued and signed by the server; a forged, altered or foreign id
in a link is replaced (never a folder name); a run is shared read-only only on purpose; runs
and a session's data can be deleted from the UI; a session that saved nothing has no folder."""
from __future__ import annotations

import stat

import pytest

from apptest_support import assert_no_errors, new_app
from mtl_core.app import sessions
from mtl_core.app import state as app_state
from mtl_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig


def _tiny_run(root, sid):
    from mtl_core.data.synth import make_synthetic
    from mtl_core.pipeline import run_experiment

    cfg = RunConfig(data=DataConfig(tasks=["click"], user_col="user_id", item_col="item_id"),
                    model=ModelConfig(arch="shared_bottom", embed_dim=4, hidden=[8], tower_hidden=[4]),
                    train=TrainConfig(epochs=1, batch_size=256, patience=0, num_threads=1), name="tiny")
    return run_experiment(cfg, make_synthetic(rows=600, seed=3), runs_root=root / sid).run_dir


def _folders(root):
    return sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) if root.is_dir() else []


# --------------------------------------------------------------------------- tokens
def test_secret_is_private_and_stable(tmp_path):
    a = sessions.secret(tmp_path)
    assert len(a) == 32 and sessions.secret(tmp_path) == a
    mode = stat.S_IMODE((tmp_path / sessions.SECRET_FILE).stat().st_mode)
    assert mode == 0o600


def test_tokens_verify_only_when_signed_here(tmp_path, monkeypatch):
    sid = app_state.new_session_id()
    token = sessions.token_for(tmp_path, sid)
    assert sessions.verify(tmp_path, token) == sid
    for bad in (sid, token + "\n", token[:-1] + ("0" if token[-1] != "0" else "1"), "../../etc",
                f"{'0' * 32}.{'0' * 32}", token.upper(), None, 5):
        assert sessions.verify(tmp_path, bad) is None, bad
    monkeypatch.setenv("MTL_LAB_SECRET", "another server")
    assert sessions.verify(tmp_path, token) is None  # another secret: another server's token


def test_resolve_trusts_the_cookie_not_the_link(tmp_path):
    mine, theirs = app_state.new_session_id(), app_state.new_session_id()
    t_mine, t_theirs = sessions.token_for(tmp_path, mine), sessions.token_for(tmp_path, theirs)
    assert sessions.resolve(tmp_path, t_mine, t_mine) == (mine, None, False)  # reload
    sid, notice, issued = sessions.resolve(tmp_path, t_mine, t_theirs)  # someone's link
    assert sid == mine and "another browser" in notice and not issued
    sid, notice, issued = sessions.resolve(tmp_path, None, t_theirs)  # link opened on a fresh browser
    assert sid not in (mine, theirs) and "another browser" in notice and issued
    sid, notice, _ = sessions.resolve(tmp_path, None, "a" * 32 + "\n")
    assert app_state.valid_session_id(sid) and "not one this server issued" in notice


def test_valid_session_id_refuses_a_trailing_newline():
    assert not app_state.valid_session_id("a" * 32 + "\n")
    with pytest.raises(ValueError):
        sessions.session_dir("/tmp", "a" * 32 + "\n")


# --------------------------------------------------------------------------- in the app
@pytest.mark.parametrize("bad", ["0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef\n",
                                 "0123456789abcdef0123456789abcdef.0123456789abcdef0123456789abcdef"])
def test_forged_or_newline_id_in_the_url_is_replaced(runs_root, bad):
    at = new_app()
    at.query_params["s"] = bad
    at.switch_page("pages/results.py")
    at.run()
    assert_no_errors(at)
    sid = at.session_state["sid"]
    assert app_state.valid_session_id(sid) and sid != bad.strip().split(".")[0]
    url = at.query_params["s"]
    assert sessions.verify(runs_root, url[0] if isinstance(url, list) else url) == sid
    assert any("not one this server issued" in w.value for w in at.warning)
    assert _folders(runs_root) == []  # opening Results saved nothing, so no folder


def test_another_sessions_valid_id_is_refused(runs_root):
    owner = app_state.new_session_id()
    _tiny_run(runs_root, owner)
    at = new_app()
    at.query_params["s"] = sessions.token_for(runs_root, owner)  # a link sent by the owner
    at.switch_page("pages/results.py")
    at.run()
    assert_no_errors(at)
    assert at.session_state["sid"] != owner
    assert any("belongs to another browser" in w.value for w in at.warning)
    assert not at.selectbox  # none of the owner's runs is listed
    assert any("No finished runs yet" in i.value for i in at.info)


def test_share_link_gives_read_only_access_to_one_run(runs_root):
    owner = app_state.new_session_id()
    first = _tiny_run(runs_root, owner)
    _tiny_run(runs_root, owner)
    token = sessions.share_token(runs_root, owner, first.name)
    at = new_app()
    at.query_params["view"] = token
    at.switch_page("pages/results.py")
    at.run()
    assert_no_errors(at)
    assert at.session_state["sid"] != owner
    options = at.selectbox(key="res_run").options
    assert len(options) == 1 and options[0].startswith("shared, read-only · ")
    assert any("read-only" in c.value for c in at.caption)
    assert not [b for b in at.button if b.key and b.key.startswith("del_run_")]  # no delete offered

    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    at2 = new_app()
    at2.query_params["view"] = forged
    at2.switch_page("pages/results.py")
    at2.run()
    assert not at2.selectbox and any("share link is not valid" in w.value for w in at2.warning)


def test_delete_a_run_and_all_data_from_the_ui(runs_root):
    sid = app_state.new_session_id()
    run_dir = _tiny_run(runs_root, sid)
    at = new_app(sid)
    at.switch_page("pages/results.py")
    at.run()
    assert_no_errors(at)
    share = [c.value for c in at.code if "view=v1~" in c.value]
    assert share and sessions.shared_run(runs_root, share[0].split("view=")[1]) == run_dir
    at.checkbox(key=f"del_sure_{run_dir.name}").check().run()
    at.button(key=f"del_run_{run_dir.name}").click().run()
    assert_no_errors(at)
    assert not run_dir.exists()
    assert any("No finished runs yet" in i.value for i in at.info)

    _tiny_run(runs_root, sid)
    at.switch_page("pages/start.py")
    at.run()
    at.checkbox(key="forget_sure").check().run()
    at.button(key="forget_go").click().run()
    assert_no_errors(at)
    assert not (runs_root / sid).exists()
    assert at.session_state["sid"] != sid


# --------------------------------------------------------------------------- sign-in
def test_sign_in_is_off_without_a_password(runs_root):
    at = new_app()
    at.run()
    assert_no_errors(at)
    assert not at.text_input and at.button(key="start_sample")


def test_sign_in_with_a_password_from_secrets(runs_root):
    at = new_app()
    at.secrets["mtl_lab"] = {"password": "s3cret"}
    at.switch_page("pages/results.py")
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["MTL Lab"] and not at.selectbox  # nothing but the form
    at.text_input(key="sign_in_password").input("wrong").run()
    at.button(key="sign_in_go").click().run()
    assert any("not right" in e.value for e in at.error)
    assert "Results" not in [t.value for t in at.title]
    at.text_input(key="sign_in_password").input("s3cret").run()
    at.button(key="sign_in_go").click().run()
    assert_no_errors(at)
    assert "Results" in [t.value for t in at.title]
