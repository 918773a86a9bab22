"""The Train page: its controls come from the registries (every architecture's and
weighting method's settings, by kind) and its defaults from the config dataclasses, the
same the command line starts from."""
from __future__ import annotations

import pytest

from apptest_support import assert_no_errors, job_ended, new_app
from mtl_core.app import state as app_state
from mtl_core.config import ModelConfig, SplitConfig, TrainConfig
from mtl_core.data.synth import make_synthetic
from mtl_core.models import MODELS
from mtl_core.weighting import WEIGHTINGS

TASKS = ["click", "purchase"]


@pytest.fixture
def train_page(runs_root):
    from mtl_core.data.schema import infer_schema

    df = make_synthetic(rows=600, seed=3)
    at = new_app()
    at.session_state["df"] = df
    at.session_state["schema"] = infer_schema(df)
    at.session_state["tasks"] = list(TASKS)
    at.switch_page("pages/train.py")
    at.run()
    assert_no_errors(at)
    return at


def _widget(at, key: str):
    """The widget with this key, whatever its type."""
    for kind in ("slider", "number_input", "text_input", "selectbox"):
        found = [w for w in getattr(at, kind) if w.key == key]
        if found:
            return found[0]
    return None


def _state(at) -> dict:
    """The session's data choices, as the Train page passes them to build_config."""
    return {k: at.session_state[k] for k in ("tasks", "schema", "roles", "drop", "task_kinds", "task_positive",
                                             "preprocess") if k in at.session_state}


def _key(at, prefix: str, setting) -> str:
    key = f"{prefix}{setting.field}"
    return f"{key}_{at.session_state['data_version']}" if setting.kind == "task" else key


def test_defaults_come_from_the_config_dataclasses():
    d = app_state.default_train_settings(TASKS)
    m, t, s = ModelConfig(), TrainConfig(), SplitConfig()
    assert (d["lr"], d["batch_size"], d["epochs"], d["patience"]) == (t.lr, t.batch_size, t.epochs, t.patience)
    assert (d["optimizer"], d["weighting"], d["seed"], d["device"]) == (t.optimizer, t.weighting, t.seed, t.device)
    assert (d["arch"], d["embed_dim"], d["n_experts"], d["dropout"]) == (m.arch, m.embed_dim, m.n_experts, m.dropout)
    assert d["hidden"] == ",".join(map(str, m.hidden)) and d["tower_hidden"] == ",".join(map(str, m.tower_hidden))
    assert (d["split_method"], d["train_frac"], d["val_frac"]) == (s.method, s.train, s.val)


def test_untouched_page_builds_the_default_config(train_page):
    at = train_page
    assert at.select_slider(key="tr_lr").value == TrainConfig().lr
    assert at.select_slider(key="tr_bs").value == TrainConfig().batch_size
    assert at.number_input(key="tr_epochs").value == TrainConfig().epochs
    cfg = app_state.build_config(_state(at), at.session_state["train_settings"])
    t, m = cfg.train, cfg.model
    assert (t.lr, t.batch_size, t.epochs, t.optimizer, t.patience) == (
        TrainConfig().lr, TrainConfig().batch_size, TrainConfig().epochs, TrainConfig().optimizer, TrainConfig().patience)
    assert (m.arch, m.hidden, m.tower_hidden, m.n_experts) == (
        ModelConfig().arch, ModelConfig().hidden, ModelConfig().tower_hidden, ModelConfig().n_experts)


def _prefix(registry, name: str) -> str:
    return "tr_m_" if registry is MODELS else f"tr_wp_{name}_"


def _default(registry, setting):
    """What the control shows first: ModelConfig's value (architectures), the registry's
    default (weighting methods)."""
    if registry is MODELS:
        return app_state.default_train_settings(TASKS)[setting.field]
    return setting.default


@pytest.mark.parametrize("select,registry,name",
                         [("tr_arch", MODELS, n) for n in MODELS.names()]
                         + [("tr_weighting", WEIGHTINGS, n) for n in WEIGHTINGS.names()])
def test_every_registered_setting_has_a_control(train_page, select, registry, name):
    at = train_page
    at.selectbox(key=select).set_value(name).run()
    assert_no_errors(at)
    own = registry.info(name).settings
    for setting in own:
        w = _widget(at, _key(at, _prefix(registry, name), setting))
        assert w is not None and w.label == setting.label, (name, setting.field)
        if setting.kind != "task":
            assert w.value == _default(registry, setting), (name, setting.field)
    # the settings of the other entries are not shown
    shown_elsewhere = [(e.name, st.field) for e in registry.entries() if e.name != name for st in e.settings
                       if st.field not in {o.field for o in own}
                       and _widget(at, _key(at, _prefix(registry, e.name), st)) is not None]
    assert not shown_elsewhere


def test_controls_flow_into_the_run_config(train_page):
    at = train_page
    at.selectbox(key="tr_arch").set_value("ple").run()
    at.slider(key="tr_m_levels").set_value(2).run()
    at.slider(key="tr_m_n_shared_experts").set_value(3).run()
    at.text_input(key="tr_m_hidden").set_value("24,12").run()
    at.selectbox(key="tr_weighting").set_value("gradnorm").run()
    at.slider(key="tr_wp_gradnorm_alpha").set_value(0.5).run()
    assert_no_errors(at)
    cfg = app_state.build_config(_state(at), at.session_state["train_settings"])
    assert (cfg.model.arch, cfg.model.levels, cfg.model.n_shared_experts, cfg.model.hidden) == ("ple", 2, 3, [24, 12])
    assert cfg.train.weighting == "gradnorm"
    assert cfg.train.weighting_params == {"alpha": 0.5, "lr": 0.025}
    # a value chosen for one method is not carried to another with a field of the same name
    at.selectbox(key="tr_weighting").set_value("cagrad").run()
    at.slider(key="tr_wp_cagrad_iters").set_value(7).run()
    at.selectbox(key="tr_weighting").set_value("mgda").run()
    cfg = app_state.build_config(_state(at), at.session_state["train_settings"])
    assert cfg.train.weighting_params == {"iters": 25}


def test_initialisation_optimiser_and_full_batch_controls_flow_into_the_run_config(train_page):
    from mtl_core.config import FULL_BATCH, INITS, OPTIMIZERS

    at = train_page
    assert at.selectbox(key="tr_init").value == ModelConfig().init
    assert list(at.selectbox(key="tr_init").options) == ["PyTorch default", "Xavier (Glorot)", "Kaiming (He)"]
    assert len(at.selectbox(key="tr_opt").options) == len(OPTIMIZERS) and len(INITS) == 3
    at.selectbox(key="tr_init").set_value("xavier").run()
    at.selectbox(key="tr_opt").set_value("momentum").run()
    at.select_slider(key="tr_bs").set_value(FULL_BATCH).run()
    assert_no_errors(at)
    assert any("steps of 480 rows" in c.value for c in at.caption)  # 600 rows × 0.8: one step per epoch
    cfg = app_state.build_config(_state(at), at.session_state["train_settings"])
    assert (cfg.model.init, cfg.train.optimizer, cfg.train.batch_size) == ("xavier", "momentum", FULL_BATCH)


def test_tune_button_runs_a_search_in_the_background(train_page):
    """Tune: trial k/N in the background within the time budget, then the best trial's settings
    and its test metrics."""
    from apptest_support import run_until
    from pages import _ui

    at = train_page
    assert at.selectbox(key="tr_sched").value == TrainConfig().lr_schedule
    at.number_input(key="tr_epochs").set_value(1)
    at.number_input(key="tune_trials").set_value(3)
    at.number_input(key="tune_minutes").set_value(1e-6)  # spent once trial 1 ends: trials 2 and 3 never start
    try:
        at.button(key="tune_go").click().run()
        assert_no_errors(at)
        assert run_until(at, job_ended, 180)  # (1 epoch with a 1-epoch warm-up: the page warns of it)
        assert_no_errors(at)
        assert any("Finished" in s.value for s in at.success), [s.value for s in at.success]
        text = " ".join(m.value for m in at.markdown).replace("\\", "")  # shown Markdown-escaped
        assert "Best: trial 1" in text and text.count("Its test metrics") == 1
        assert "1 of 3 trial(s)" in text and "time budget" in text
    finally:
        _ui.job_manager.clear()


def test_large_training_sets_get_a_batch_size_hint(train_page, monkeypatch):
    """Past LARGE_TRAINING_ROWS training rows with a batch under 2,048 the page suggests a larger
    batch; the hint goes away once the batch is large enough."""
    assert app_state.batch_hint(999_999, 256) == "" and app_state.batch_hint(2_000_000, 4096) == ""
    assert "2,000,000 training rows" in app_state.batch_hint(2_000_000, 1024)
    assert not [i for i in train_page.info if "training rows: batches" in i.value]  # 600 rows: no hint
    monkeypatch.setattr(app_state, "LARGE_TRAINING_ROWS", 100)
    train_page.run()
    hints = [i.value for i in train_page.info if "training rows: batches" in i.value]
    assert len(hints) == 1 and hints[0].startswith("480 training rows")  # 80 % of 600 rows
    train_page.select_slider(key="tr_bs").set_value(2048).run()
    assert_no_errors(train_page)
    assert not [i for i in train_page.info if "training rows: batches" in i.value]


def test_a_warm_up_as_long_as_the_run_is_flagged(train_page):
    """The cosine schedule's warm-up covering every epoch (the learning rate would only rise)
    gets a warning; a shorter warm-up or another schedule does not."""
    assert app_state.warmup_hint("cosine", 1.0, 10) == "" and app_state.warmup_hint("constant", 5, 1) == ""
    assert "only rises" in app_state.warmup_hint("cosine", 1.0, 1)

    def flagged():
        return [w for w in train_page.warning if "only rises" in w.value]

    assert not flagged()  # the defaults: 10 epochs, 1 warm-up epoch
    _widget(train_page, "tr_epochs").set_value(1).run()
    assert len(flagged()) == 1 and flagged()[0].value.startswith("The warm-up (1 epoch) lasts the whole run of 1 epoch:")
    _widget(train_page, "tr_warmup").set_value(0.05).run()
    assert_no_errors(train_page)
    assert not flagged()
