"""Trade-off lab: what sharing between tasks wins and costs.

Diagnostics of a saved run (task weights, gradient norms and conflicts, gate use), the
multi-task vs single-task comparison (negative transfer), a Pareto sweep of loss weights
for two tasks, and the MMoE paper's task-correlation experiment. Long experiments run in
the background through the app's job manager; logic lives in ``mtl_core.lab``."""
from __future__ import annotations

from functools import partial
from types import SimpleNamespace

import pandas as pd
import streamlit as st

from mtl_core import lab
from mtl_core.app import state as app_state
from mtl_core.safe_text import md, md_list
from pages import _ui

_ui.ensure_app()
_ui.init_state()

ss = st.session_state
st.title("Trade-off lab")
st.caption("What does sharing between tasks win, and what does it cost? Every experiment here "
           "trains small models in the background; results are saved with this session's runs.")

root = _ui.runs_root()
mgr = _ui.job_manager()
LEARNED = ["uncertainty", "gradnorm", "dwa", "pcgrad", "cagrad", "mgda"]


# --------------------------------------------------------------------------- helpers
def _adapter(callback):
    """Lab progress dicts -> the job's Progress (``step``/``steps`` carry per-mille done)."""
    def cb(p: dict) -> None:
        callback(SimpleNamespace(kind="lab", step=int(round(1000 * float(p.get("fraction", 0.0)))),
                                 steps=1000, message=str(p.get("message", ""))))
    return cb


def _owner(kind: str) -> str:
    return f"{ss['sid']}/lab-{kind}"  # distinct from the Train page's jobs of this session


def _train_config():
    """The Train page's settings (or their defaults) as a RunConfig for this data."""
    from mtl_core.app.jobs import recommended_threads

    tasks = list(ss.get("tasks") or [])
    settings = {**app_state.default_train_settings(tasks), **(ss.get("train_settings") or {})}
    return app_state.build_config(dict(ss), settings, num_threads=recommended_threads())


def _submit(kind: str, fn) -> None:
    """Run ``fn(callback=..., cancel=...)`` (a lab experiment) as this session's ``kind`` job."""
    def work(callback, cancel):
        return fn(callback=_adapter(callback), cancel=cancel)

    mgr.submit(work, name=f"lab-{kind}", owner=_owner(kind))
    ss[f"lab_{kind}_seen"] = None


def _start_button(kind: str, what: str, label: str, icon: str, problem: str | None, fn) -> None:
    """The progress panel of this session's ``kind`` job and the button that starts ``fn`` in
    the background, unless ``problem`` says what to change first."""
    running = _job_panel(kind, what)
    if st.button(label, key=f"{kind}_go", type="primary", disabled=running, icon=icon):
        if problem:
            st.error(problem, icon=":material/error:")
        else:
            _submit(kind, fn)
            st.rerun()


def _job_panel(kind: str, what: str) -> bool:
    """Progress bar + Stop of this session's latest ``kind`` job; True while it runs."""
    job = mgr.latest_for(_owner(kind))
    if job is None:
        return False
    active = job.status in ("queued", "running")

    @st.fragment(run_every=1.0 if active else None)
    def panel() -> None:
        try:
            snap = job.snapshot()
            status = snap["status"]
            if status == "queued":
                st.info(f"Queued (position {snap.get('queue_position') or 1}): other runs are training on "
                        "this server. It starts as soon as one finishes.", icon=":material/hourglass_top:")
            elif status == "running":
                frac = min(1.0, (snap.get("step") or 0) / max(1, snap.get("steps") or 1000))
                st.progress(frac, text=f"{what}: {md(snap.get('message') or 'starting…')} · {snap['elapsed_s']:.0f} s")
                if st.button("Stop", key=f"lab_{kind}_stop", icon=":material/stop:"):
                    job.cancel()
            elif status == "done":
                st.success(f"{what} finished in {snap['elapsed_s']:.1f} s and is saved.",
                           icon=":material/check_circle:")
            elif status == "cancelled":
                st.warning(f"{what} stopped. Finished points are saved.", icon=":material/stop_circle:")
            else:
                st.error(md(snap.get("error") or f"{what} failed."), icon=":material/error:")
            if active and status not in ("queued", "running") and ss.get(f"lab_{kind}_seen") != job.id:
                ss[f"lab_{kind}_seen"] = job.id
                st.rerun(scope="app")  # redraw the page with the new result, without the timer
        except Exception as exc:  # noqa: BLE001
            _ui.show_error(exc)

    panel()
    return active


def _needs_tasks(n: int, key: str) -> bool:
    if ss.get("df") is None:
        st.info("No data yet: load a table or the bundled sample on the Data page.", icon=":material/info:")
        if st.button("Open the bundled sample", key=f"{key}_sample"):
            _ui.open_sample()
            st.rerun()
        return False
    if len(ss.get("tasks") or []) < n:
        st.info(f"This experiment needs at least {n} tasks; choose them on the Data page.", icon=":material/info:")
        return False
    return True


def _tab_config(intro: str, key: str):
    """A two-task experiment's tab: its introduction, then the Train page's configuration, or
    None (after saying why) without data, without two tasks or with invalid settings."""
    st.markdown(intro)
    if not _needs_tasks(2, key):
        return None
    with _ui.errors_here():
        return _train_config()
    return None


tab_diag, tab_nt, tab_pareto, tab_corr, tab_opt = st.tabs(["Diagnostics", "Negative transfer", "Pareto sweep",
                                                           "Correlation lab", "Optimisers"])

# --------------------------------------------------------------------------- diagnostics
with tab_diag:
    run = _ui.pick_run("lab_run")
    if run is not None:
        from mtl_core import figures

        with _ui.errors_here():
            rid = run.run_id
            tasks = [t.name for t in run.task_infos]
            st.caption(f"{run.config.model.arch} · weighting {run.config.train.weighting} · tasks {md_list(tasks)}")
            wh = run.weights_history
            if wh is not None and len(wh):
                _ui.plot(figures.task_weights_over_time(wh), key=f"lab_w_{rid}")
                st.caption("How much each task's loss counted in each epoch. Flat lines are fixed weights; "
                           "a learned method that keeps shrinking one task is telling you that task is noisy "
                           "or already learnt.")
            diag = run.diagnostics or []
            norms = pd.DataFrame([{"epoch": d["epoch"], "task": t, "grad_norm": v}
                                  for d in diag for t, v in (d.get("grad_norm") or {}).items()])
            cos = pd.DataFrame([{"epoch": d["epoch"], "pair": p.replace("|", " · "), "cosine": v}
                                for d in diag for p, v in (d.get("cosine") or {}).items()])
            if len(norms):
                _ui.plot(figures.grad_norms_over_time(norms), key=f"lab_gn_{rid}")
                st.caption("Size of each task's gradient on the shared layers. A task whose norm is ten times "
                           "the others dominates the shared representation, whatever the loss weights say.")
            if len(cos):
                c1, c2 = st.columns(2)
                with c1:
                    last = diag[-1].get("cosine") or {}
                    fig = figures.grad_cosine_heatmap(last, tasks)
                    fig.update_layout(title={"text": f"Gradient cosine, last epoch ({diag[-1]['epoch']})"})
                    _ui.plot(fig, key=f"lab_cos_{rid}")
                    st.caption("Agreement of the tasks' gradients in the last epoch: near 1 they push the shared "
                               "layers the same way, below 0 they fight. Persistent negative cells are where "
                               "PCGrad or more task-specific capacity (MMoE/PLE) can help.")
                with c2:
                    _ui.plot(figures.cosine_over_time(cos), key=f"lab_cos_t_{rid}")
                    st.caption("The same agreement over training. Conflicts often appear late, once the easy "
                               "shared signal is learnt and the tasks start to want different things.")
            elif not len(norms):
                st.info("This run has no gradient diagnostics (a single task, nothing shared, or diagnostics "
                        "turned off).", icon=":material/info:")
            gated = [d for d in diag if d.get("gates")]
            if gated:
                epochs = [int(d["epoch"]) for d in gated]
                ep = epochs[-1]
                if len(epochs) > 1:
                    ep = st.select_slider("Gate weights at epoch", epochs, value=epochs[-1], key=f"lab_gate_ep_{rid}")
                gates = next(d["gates"] for d in gated if int(d["epoch"]) == ep)
                fig = figures.gate_heatmap(gates)
                fig.update_layout(title={"text": f"Gate weights per task (epoch {ep})"})
                _ui.plot(fig, key=f"lab_gates_{rid}")
                st.caption("Mean gate weight of each task on each expert, on validation rows. Rows that look "
                           "alike mean the tasks share experts; an expert used by one task only is that "
                           "task's private capacity. Move the slider to watch the specialisation form.")
            elif run.config.model.arch in ("mmoe", "ple"):
                st.info("No gate weights were recorded for this run.", icon=":material/info:")

# --------------------------------------------------------------------------- negative transfer
with tab_nt:
    cfg = _tab_config("Trains the model set on the **Train** page and, for each task, a single-task model on "
                      "that task alone with the same epochs, batch size, learning rate, split and seed.", "nt")
    if cfg is not None:
        with _ui.errors_here():
            st.caption(f"Multi-task model: {cfg.model.arch}, {cfg.train.weighting} weighting, "
                       f"{cfg.train.epochs} epochs, batch {cfg.train.batch_size}, lr {cfg.train.lr:g} "
                       "(change them on the Train page).")
            seeds = st.multiselect("Seeds", list(range(10)), default=[0, 1, 2], key="nt_seeds",
                                   help="With one seed a difference cannot be told apart from noise; "
                                        "three or more give a standard error.")
            _start_button("nt", "Negative-transfer check", "Compare with single-task models",
                          ":material/compare_arrows:", None if seeds else "Choose at least one seed.",
                          partial(lab.negative_transfer, cfg, ss["df"], seeds=list(seeds), runs_root=root,
                                  background=True))
        saved = lab.list_transfers(root)
        if saved:
            with _ui.errors_here():
                latest = saved[0]
                table = lab.load_transfer(latest["path"])
                st.subheader("Multi-task vs single-task (test split)")
                flagged = table[table["verdict"] == lab.VERDICT_NEGATIVE]
                if len(flagged):
                    st.warning("Negative transfer on " + ", ".join(flagged["task"].astype(str)) +
                             ": the multi-task model is worse than a model trained on that task alone.",
                             icon=":material/warning:")
                else:
                    st.success("No negative transfer beyond run-to-run variation.", icon=":material/check_circle:")

                def _flag(v: str) -> str:
                    return {lab.VERDICT_NEGATIVE: f"⚠ {lab.VERDICT_NEGATIVE}",
                            lab.VERDICT_POSITIVE: f"✓ {lab.VERDICT_POSITIVE}"}.get(v, v)

                show = table.assign(verdict=table["verdict"].map(_flag))
                st.dataframe(show, hide_index=True, key="nt_table",
                             column_config={c: st.column_config.NumberColumn(format="%.4f")
                                            for c in ("mt_mean", "st_mean", "diff", "std")})
                st.caption(f"diff > 0: the multi-task model is better (for RMSE, lower is better, so the sign is "
                           f"flipped). Seeds {', '.join(map(str, latest.get('seeds', [])))} · "
                           f"{latest.get('status', '')} · {latest.get('created', '')}.")

# --------------------------------------------------------------------------- Pareto sweep
with tab_pareto:
    cfg = _tab_config("Trains the Train page's model with fixed loss weights *(w, 1 − w)* for two tasks (other "
                      "tasks keep weight 1), plus learned weightings and single-task models, and draws the "
                      "trade-off.", "ps")
    if cfg is not None:
        with _ui.errors_here():
            from mtl_core.data.schema import parse_task_spec

            keys = [parse_task_spec(s).key for s in cfg.data.tasks]
            c1, c2, c3 = st.columns(3)
            ta = c1.selectbox("Task A (x axis)", keys, index=0, key="ps_a")
            tb = c2.selectbox("Task B (y axis)", keys, index=1 if len(keys) > 1 else 0, key="ps_b")
            n_points = c3.slider("Fixed-weight points", 2, 9, 5, key="ps_points")
            c1, c2 = st.columns([2, 1])
            learned = c1.multiselect("Learned weightings", LEARNED, default=["uncertainty", "gradnorm"],
                                     key="ps_learned")
            single = c2.checkbox("Single-task reference", value=True, key="ps_single")
            st.caption(f"{n_points + len(learned) + (2 if single else 0)} trainings of {cfg.train.epochs} epochs "
                       f"({cfg.model.arch}).")
            _start_button("ps", "Pareto sweep", "Run the sweep", ":material/scatter_plot:",
                          "Choose two different tasks." if ta == tb else None,
                          partial(lab.pareto_sweep, cfg, ss["df"], ta, tb, n_points=int(n_points),
                                  learned=list(learned), include_single=bool(single), runs_root=root,
                                  background=True))
    sweeps = lab.list_sweeps(root)
    if sweeps:
        with _ui.errors_here():
            from mtl_core import figures

            labels = {str(s["path"]): f"{s['task_a']} vs {s['task_b']} · {s.get('arch', '')} · "
                                      f"{s.get('created', '')[:16].replace('T', ' ')} · {s.get('status', '')}"
                      for s in sweeps}
            choice = st.selectbox("Saved sweeps", list(labels), format_func=labels.get, key="ps_saved")
            sw = lab.load_sweep(choice)
            pts = sw.points
            _ui.plot(figures.pareto_plot(pts[["x", "y", "label", "kind", "pareto"]], sw.axis_a, sw.axis_b,
                                         maximize=sw.maximize), key=f"ps_plot_{sw.id}")
            st.caption("Each grey point is one fixed weighting, stars are learned weightings and the diamond is "
                       "two separate single-task models; the dotted line joins the multi-task points no other "
                       "point beats on both tasks. A learned method below that line wastes accuracy, and a "
                       "diamond beyond it means sharing costs more than it gives. Axes are test metrics; choose "
                       "a weighting by the validation columns below.")
            st.dataframe(pts.drop(columns=["x", "y"]), hide_index=True, key=f"ps_table_{sw.id}",
                         column_config={c: st.column_config.NumberColumn(format="%.4f")
                                        for c in ("val_a", "val_b", "test_a", "test_b")})

# --------------------------------------------------------------------------- correlation lab
with tab_corr:
    st.markdown("The synthetic experiment of the MMoE paper (Ma et al., KDD 2018): the two tasks' true scores "
                "have a correlation you set. Each model is compared with single-task models on the same data "
                "and seed.")
    with _ui.errors_here():
        dataset_labels = {"ecommerce": "Shop data: click (AUC) and rating (RMSE)",
                          "paper": "Paper's data: x in R^100, two regression tasks (RMSE)"}
        dataset = st.selectbox("Data", list(lab.CORRELATION_DATASETS), format_func=dataset_labels.get,
                               key="cl_dataset", on_change=lambda: ss.__setitem__(
                                   "cl_epochs", lab.CORRELATION_EPOCHS[ss["cl_dataset"]]),
                               help="Shop data: generated e-commerce table whose latent vector mostly comes from "
                                    "id embeddings the models must learn. Paper's data: the MMoE paper's Section "
                                    "4.2 set-up, the 100 inputs observed directly; shared bottom [113] vs MMoE "
                                    "8 x [16]. See docs/LAB.md for what each shows.")
        c1, c2 = st.columns(2)
        corrs = c1.multiselect("Task correlations", [0.0, 0.25, 0.5, 0.75, 0.9, 1.0], default=[0.0, 0.5, 0.9, 1.0],
                               key="cl_corrs")
        archs = c2.multiselect("Models", ["shared_bottom", "mmoe", "ple", "single"],
                               default=["shared_bottom", "mmoe", "single"], key="cl_archs")
        c1, c2, c3 = st.columns(3)
        rows = c1.number_input("Rows", 500, 200_000, 8000, step=1000, key="cl_rows")
        ss.setdefault("cl_epochs", lab.CORRELATION_EPOCHS[dataset])
        epochs = c2.number_input("Epochs", 1, 50, key="cl_epochs")
        n_seeds = c3.number_input("Seeds", 1, 10, 3, key="cl_seeds",
                                  help="Each seed draws new data, split and initialisation.")
        _start_button("cl", "Correlation lab", "Run the correlation lab", ":material/science:",
                      None if corrs and archs else "Choose at least one correlation and one model.",
                      partial(lab.correlation_lab, sorted(corrs), list(archs), rows=int(rows), epochs=int(epochs),
                              seeds=list(range(int(n_seeds))), runs_root=root, background=True,
                              dataset=str(dataset)))
    labs = lab.list_correlation_labs(root)
    if labs:
        with _ui.errors_here():
            from mtl_core import figures

            latest = labs[0]
            res = lab.load_correlation_lab(latest["path"])
            has_single = "single" in set(res["model"]) and len(set(res["model"])) > 1
            view = st.radio("Show", ["Difference to single-task", "Metric"] if has_single else ["Metric"],
                            horizontal=True, key="cl_view")
            cols = st.columns(max(1, res["task"].nunique()))
            for i, (task, d) in enumerate(res.groupby("task", sort=False)):
                metric = str(d["metric"].iloc[0]).upper()
                with cols[i]:
                    if view == "Metric":
                        fig = figures.correlation_lab_plot(d, value_col="value", metric_name=f"{metric} {task} (test)")
                    else:
                        err_col = "vs_single_se" if "vs_single_se" in d.columns else "vs_single_std"
                        dd = d[d["model"] != "single"].rename(columns={"std": "_std", err_col: "std"})
                        fig = figures.correlation_lab_plot(dd, value_col="vs_single",
                                                           metric_name=f"{metric} {task} vs single-task")
                        fig.add_hline(y=0, line={"color": "#999", "dash": "dot", "width": 1})
                    _ui.plot(fig, key=f"cl_plot_{latest['id']}_{task}_{view}")
            if view == "Metric":
                st.caption("Test metric of each model as the tasks become more related (right). Error bars are "
                           "the spread across seeds, which also changes the data, so compare models at one "
                           "correlation rather than across the axis.")
            else:
                st.caption("How much better (above 0) or worse than single-task models each shared model is, "
                           "paired by seed (error bars: standard error over seeds); RMSE is sign-flipped so up "
                           "is always better. In the paper the "
                           "shared bottom falls furthest below 0 as the correlation drops, and MMoE less.")
            st.caption(f"{latest.get('dataset', 'ecommerce')} data · "
                       f"{latest.get('rows', '?'):,} rows · {latest.get('epochs', '?')} epochs · seeds "
                       f"{', '.join(map(str, latest.get('seeds', [])))} · {latest.get('seconds', '?')} s · "
                       f"{latest.get('status', '')}")
            st.dataframe(res, hide_index=True, key=f"cl_table_{latest['id']}",
                         column_config={c: st.column_config.NumberColumn(format="%.4f")
                                        for c in ("value", "std", "vs_single", "vs_single_std")})

# --------------------------------------------------------------------------- optimisers and initialisations
with tab_opt:
    from pages._optlab import optimiser_tab

    optimiser_tab(_train_config, _start_button, _needs_tasks)
