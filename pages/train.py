"""Train: choose an architecture, a loss-weighting method and the optimisation settings;
train in the background and watch per-task losses live."""
from __future__ import annotations

import streamlit as st

from mtl_core import tuning
from mtl_core.app import state as app_state
from mtl_core.evaluation import headline_value
from mtl_core.config import DEVICES, FULL_BATCH, INITS, LR_SCHEDULES, OPTIMIZERS, SPLIT_METHODS, TrainConfig
from mtl_core.models import MODELS
from mtl_core.weighting import WEIGHTINGS
from mtl_core.safe_text import md
from pages import _ui
from pages._interrupted import interrupted_panel

_ui.ensure_app()
_ui.init_state()

ss = st.session_state
st.title("Train")
interrupted_panel(progress=False)  # a resumed run's progress shows below, like any job's
if not _ui.need_data():
    st.stop()

tasks: list[str] = list(ss.get("tasks") or [])
st.markdown(_ui.data_summary())
_ui.column_usage_note(f"train_usage_{ss['data_version']}")
if not tasks:
    st.warning("Choose at least one task on the Data page first.", icon=":material/warning:")
    if st.button("Go to the Data page", key="train_to_data"):
        _ui.go("data")
    st.stop()

defaults = app_state.default_train_settings(tasks)
settings = {**defaults, **(ss.get("train_settings") or {})}
ver = ss["data_version"]


INIT_LABELS = {"default": "PyTorch default", "xavier": "Xavier (Glorot)", "kaiming": "Kaiming (He)"}
OPT_LABELS = {"sgd": "SGD", "momentum": "SGD + momentum", "adam": "Adam", "adamw": "AdamW"}


def _idx(options, value) -> int:
    options = list(options)
    return options.index(value) if value in options else 0


def setting_widget(where, setting, value, key: str):
    """The widget of a registry ``Setting`` by its kind: int -> slider (number box without a
    range), float -> slider, layers -> text "64,32", task -> one of this run's tasks."""
    label, help_ = setting.label, setting.help or None
    if setting.kind == "task":
        return where.selectbox(label, tasks, index=_idx(tasks, value), key=f"{key}_{ver}", help=help_)
    if setting.kind == "layers":
        return where.text_input(label, str(app_state.widget_value(setting, value)), key=key, help=help_)
    if setting.kind == "int":
        if setting.lo is None or setting.hi is None:
            return where.number_input(label, value=int(value), step=1, key=key, help=help_)
        return where.slider(label, int(setting.lo), int(setting.hi), int(value), int(setting.step or 1),
                            key=key, help=help_)
    lo, hi = float(setting.lo if setting.lo is not None else 0.0), float(setting.hi if setting.hi is not None else 1.0)
    return where.slider(label, lo, hi, float(value), float(setting.step) if setting.step else None,
                        key=key, help=help_)


def setting_widgets(settings_, values: dict, prefix: str) -> dict:
    """One widget per setting, three to a row; returns field -> value."""
    out = {}
    for i, setting in enumerate(settings_):
        if i % 3 == 0:
            cols = st.columns(3)
        out[setting.field] = setting_widget(cols[i % 3], setting, values.get(setting.field, setting.default),
                                            f"{prefix}{setting.field}")
    return out


archs = MODELS.names()

# --------------------------------------------------------------------------- model
left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader("Architecture")
    s = settings
    s["arch"] = st.selectbox("Architecture", archs, index=_idx(archs, s["arch"]), key="tr_arch",
                             format_func=lambda a: MODELS.info(a).display)
    st.caption(MODELS.info(s["arch"]).description)
    arch = s["arch"]
    c1, c2 = st.columns(2)
    s["embed_dim"] = c1.number_input("Embedding size", 1, 256, int(s["embed_dim"]), key="tr_embed",
                                     help="Width of the vector learnt for each id / category value.")
    s["init"] = c2.selectbox("Initialisation", INITS, index=_idx(INITS, s.get("init")), key="tr_init",
                             format_func=INIT_LABELS.get,
                             help="Starting weights of the Linear layers (embedding tables always start small "
                                  "and normal). Xavier keeps the signal's variance through tanh-like layers, "
                                  "Kaiming through ReLU layers.")
    s.update(setting_widgets(MODELS.info(arch).settings, s, "tr_m_"))
with right:
    from mtl_core import figures

    with _ui.errors_here():
        drawn = {st_.field: s[st_.field] for st_ in MODELS.info(arch).settings
                 if st_.kind in ("int", "task") and st_.field in s}  # e.g. the number of experts
        fig = figures.architecture_diagram(arch, tasks, drawn)
        _ui.plot(fig, key="fig_arch")

# --------------------------------------------------------------------------- weighting + optimisation
st.subheader("Balancing the tasks")
methods = WEIGHTINGS.names()
c1, c2 = st.columns([1, 2])
s["weighting"] = c1.selectbox("Loss weighting", methods, index=_idx(methods, s["weighting"]), key="tr_weighting",
                              format_func=lambda m: WEIGHTINGS.info(m).display)
c2.caption(WEIGHTINGS.info(s["weighting"]).description)
method = s["weighting"]
wparams = {k: dict(v) for k, v in (s.get("weighting_params") or {}).items()}
wparams[method] = setting_widgets(WEIGHTINGS.info(method).settings, wparams.get(method, {}), f"tr_wp_{method}_")
s["weighting_params"] = wparams
weights = dict(s.get("task_weights") or {})
wcols = st.columns(min(4, max(1, len(tasks))))
for i, t in enumerate(tasks):
    weights[t] = wcols[i % len(wcols)].slider(
        f"Weight of {md(t)}", 0.0, 5.0, float(weights.get(t, 1.0)), 0.1, key=f"tr_w_{ver}_{t}",
        help="Fixed weighting: the task's loss weight. Other methods: the starting / prior weight.")
s["task_weights"] = {t: weights[t] for t in tasks}

st.subheader("Optimisation and split")
c1, c2, c5, c3, c4 = st.columns(5)
s["optimizer"] = c1.selectbox("Optimizer", OPTIMIZERS, index=_idx(OPTIMIZERS, s["optimizer"]), key="tr_opt",
                              format_func=OPT_LABELS.get,
                              help="SGD with a full batch is plain gradient descent; momentum (0.9) averages "
                                   "past steps; Adam and AdamW scale each parameter's step.")
lrs = sorted({1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, TrainConfig().lr})  # the default is always a stop
s["lr"] = c2.select_slider("Learning rate", lrs, value=min(lrs, key=lambda v: abs(v - float(s["lr"]))),
                           key="tr_lr", format_func=lambda v: f"{v:g}")
s["lr_schedule"] = c5.selectbox("Schedule", LR_SCHEDULES, index=_idx(LR_SCHEDULES, s["lr_schedule"]), key="tr_sched",
                                help="Learning rate per batch: constant; cosine (linear warm-up, then cosine decay "
                                     "to 0); onecycle (rises to the learning rate, then anneals).")
if s["lr_schedule"] == "cosine":
    s["warmup_epochs"] = c5.number_input("Warm-up epochs", 0.0, 50.0, float(s["warmup_epochs"]), 0.5, key="tr_warmup")
sizes = [64, 128, 256, 512, 1024, 2048, 4096, FULL_BATCH]
s["batch_size"] = c3.select_slider("Batch size", sizes, value=min(sizes, key=lambda v: abs(v - int(s["batch_size"]))),
                                   key="tr_bs", format_func=lambda v: "full batch" if v == FULL_BATCH else f"{v:,}",
                                   help="Rows per gradient step. Full batch: every training row in one step "
                                        "(full-batch gradient descent: one step per epoch).")
s["epochs"] = c4.number_input("Epochs", 1, 200, int(s["epochs"]), key="tr_epochs")
c1, c2, c3, c4 = st.columns(4)
s["split_method"] = c1.selectbox("Split", SPLIT_METHODS, index=_idx(SPLIT_METHODS, s["split_method"]), key="tr_split",
                                 help="random; stratified on the first binary task; temporal (train on the past, "
                                      "test on the future); user (no user in two splits).")
s["train_frac"] = c2.slider("Train share", 0.5, 0.9, float(s["train_frac"]), 0.05, key="tr_train_frac")
s["val_frac"] = c3.slider("Validation share", 0.05, 0.3, float(s["val_frac"]), 0.05, key="tr_val_frac")
c4.metric("Test share", f"{max(0.0, 1 - s['train_frac'] - s['val_frac']):.0%}")
c1, c2, c3, c4 = st.columns(4)
s["patience"] = c1.number_input("Early-stopping patience", 0, 50, int(s["patience"]), key="tr_patience",
                                help="Stop after this many epochs without a better validation loss; 0 = off.")
s["seed"] = c2.number_input("Seed", 0, 2**31 - 1, int(s["seed"]), key="tr_seed")
s["device"] = c3.selectbox("Device", DEVICES, index=_idx(DEVICES, s["device"]), key="tr_device",
                           help="auto: a GPU when there is one, else the CPU.")
s["name"] = c4.text_input("Run name (optional)", s.get("name", ""), key="tr_name", max_chars=80)
ss["train_settings"] = s
with st.expander("Link to these settings", icon=":material/link:"):
    st.code(_ui.settings_link(s), language=None, wrap_lines=True)
    st.caption("Opens the Train page with these settings, on the data of whoever opens it (a link never "
               "carries your data or your session).")
_n_train = int(len(ss["df"]) * float(s["train_frac"]))
_batch = min(int(s["batch_size"]), _n_train) or int(s["batch_size"])
_steps = -(-_n_train // _batch) if _n_train else 0
st.caption(f"Budget: {int(s['epochs'])} epochs × {_steps:,} steps of {_batch:,} rows "
           f"(about {_n_train:,} training rows).")
if _hint := app_state.batch_hint(_n_train, int(s["batch_size"])):
    st.info(_hint, icon=":material/speed:")
if _hint := app_state.warmup_hint(s["lr_schedule"], s["warmup_epochs"], s["epochs"]):
    st.warning(_hint, icon=":material/trending_up:")

# --------------------------------------------------------------------------- submit
mgr = _ui.job_manager()
job = mgr.latest_for(ss["sid"])  # survives a page reload: the session id is in the URL
busy = job is not None and job.status in ("queued", "running")
if job is not None and job.id not in (ss.get("job_data") or {}):
    # reattached after a reload or restart: the job belongs to the data restored with the session
    ss["job_data"] = {**(ss.get("job_data") or {}), job.id: ss.get("data_version")}
if job is not None and not busy and ss["job_data"].get(job.id) != ss.get("data_version"):
    job = None  # a finished run of data loaded before: not this data's result

c1, c2, c5, c3, c4 = st.columns([1, 1, 1, 1, 2], vertical_alignment="bottom")
clicked = c1.button("Train", key="train_go", type="primary", disabled=busy, icon=":material/play_arrow:")
n_trials = c2.number_input("Trials", 2, tuning.search.MAX_TRIALS, tuning.DEFAULT_TRIALS, key="tune_trials", disabled=busy)
tune_minutes = c5.number_input("Time budget (minutes, 0 = none)", 0.0, 24 * 60.0, 0.0, 5.0, key="tune_minutes",
                               disabled=busy, help="Tuning starts no further trial once this time has passed (the "
                                                   "running trial finishes); the report says how many trials ran.")
tune_clicked = c3.button("Tune", key="tune_go", disabled=busy, icon=":material/tune:",
                         help="Random search (seeded) over the architecture's settings, learning rate, weight decay, "
                              "embedding size and schedule; trial 1 is the settings above, and no trial's model costs "
                              "more than 4× theirs per row. Trials are compared on the validation split; each is "
                              "saved as a run.")
if busy:
    c4.caption("A run of this session is in progress; stop it or wait for it to finish.")
if (clicked or tune_clicked) and not busy:
    try:
        from mtl_core.app.jobs import recommended_threads

        cfg = app_state.build_config(dict(ss), s, num_threads=recommended_threads())
        df = ss["df"]
        root = _ui.runs_root()
        n = int(n_trials) if tune_clicked else 0
        budget_s = float(tune_minutes) * 60 or None

        def work(callback, cancel, cfg=cfg, df=df, root=root, n=n, budget_s=budget_s):
            from mtl_core.pipeline import run_experiment
            from mtl_core.tuning import tune

            if n:
                return tune(cfg, n, df, runs_root=root, callback=callback, cancel=cancel, background=True,
                            time_budget_s=budget_s)
            return run_experiment(cfg, df, callback=callback, cancel=cancel, runs_root=root, background=True)

        job = mgr.submit(work, name=(f"tuning ({n} trials) " if n else "") + (cfg.name or cfg.model.arch),
                         owner=ss["sid"])
        ss["job_ids"] = [*ss.get("job_ids", []), job.id][-20:]
        ss["job_data"] = {**(ss.get("job_data") or {}), job.id: ss.get("data_version")}
        ss["job_done_seen"] = None
    except Exception as exc:  # noqa: BLE001 - shown next to the Train button
        _ui.show_error(exc)
        job = mgr.latest_for(ss["sid"])
    else:
        st.rerun()  # redraw with the Train button disabled while the job runs

# --------------------------------------------------------------------------- live progress
if job is not None:
    active = job.status in ("queued", "running")

    @st.fragment(run_every=1.0 if active else None)
    def progress_panel() -> None:
        try:
            snap = job.snapshot()
            status = snap["status"]
            st.subheader("Training")
            if status == "queued":
                st.info(f"Queued (position {snap.get('queue_position') or 1}): "
                        f"{mgr.running} run(s) are training on this server. It starts as soon as one finishes.",
                        icon=":material/hourglass_top:")
            elif status == "running":
                if snap.get("tuning"):
                    st.markdown(md(tuning.progress_text(snap["tuning"])))
                frac = app_state.progress_fraction(snap)
                sps = snap.get("samples_per_s") or 0.0
                text = (f"Epoch {max(1, snap['epoch'])}/{snap['epochs'] or '?'} · "
                        f"{sps:,.0f} samples/s · {snap['elapsed_s']:.0f} s")
                if not snap.get("phase"):
                    text = "Preparing the data: split, cleaning and encoding…"
                elif snap.get("phase") == "end":
                    text = md(snap.get("message")) if snap.get("message") else text
                st.progress(frac, text=text)
            elif status == "done":
                st.success(f"Finished in {snap['elapsed_s']:.1f} s. The run is saved.", icon=":material/check_circle:")
                task_metrics = (getattr(job.result, "metrics", None) or {}).get("tasks", {})
                if isinstance(job.result, tuning.TuneResult):
                    st.markdown("  \n".join(map(md, job.result.report().splitlines())))
                elif task_metrics:
                    cols = st.columns(min(4, len(task_metrics)))
                    for i, (name, m) in enumerate(task_metrics.items()):
                        key, value = headline_value(m)
                        if value is not None:
                            cols[i % len(cols)].metric(f"{md(name)} · test {key.upper()}", f"{value:.3f}")
            elif status == "cancelled":
                msg = "Stopped. " + ("What was learnt so far is saved as a run." if snap.get("run_dir")
                                     else md(snap.get("message") or ""))
                st.warning(msg, icon=":material/stop_circle:")
                if isinstance(job.result, tuning.TuneResult):
                    st.markdown("  \n".join(map(md, job.result.report().splitlines())))
            else:
                st.error(md(snap.get("error") or "Training failed."), icon=":material/error:")

            if status == "running":
                if st.button("Stop", key="train_stop", icon=":material/stop:"):
                    job.cancel()
            hist = app_state.history_frame(snap.get("history") or [])
            if len(hist) or status == "running":
                _ui.plot(_ui.integer_epochs(figures.loss_curves(hist)), key="fig_live_loss")
            if status in ("done", "cancelled") and snap.get("run_dir"):
                ss["selected_run"] = snap["run_dir"]
                if st.button("See the results", key="train_to_results", type="primary",
                             icon=":material/monitoring:"):
                    _ui.go("results")
            if not active or ss.get("job_done_seen") == job.id:
                return
            if status not in ("queued", "running"):
                ss["job_done_seen"] = job.id
                st.rerun(scope="app")  # redraw the page without the timer
        except Exception as exc:  # noqa: BLE001
            _ui.show_error(exc)

    progress_panel()
