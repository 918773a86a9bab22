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


def _foot(fig, config: dict | None, seed=None):
    """``fig`` with the footer 'data · seed · architecture' of ``config`` (a config dict), so
    a downloaded image says what produced it."""
    from mtl_core.data.provenance import describe
    from mtl_core.figures.common import footer

    c = config or {}
    seed = (c.get("train") or {}).get("seed") if seed is None else seed
    return footer(fig, describe((c.get("data") or {}).get("source")), seed, (c.get("model") or {}).get("arch", ""))


def _seeds_input(key: str, default: str = "0,1,2") -> list[int] | None:
    """A text box for the seeds of an experiment ('0,1,2'); None (after saying why) when invalid."""
    from mtl_core.lab.common import check_seeds

    text = st.text_input("Seeds", default, key=key, help="Comma-separated, e.g. 0,1,2 or 6,7,8. Each seed "
                         "changes the split and the initialisation; results are shown as mean ± standard "
                         "error over them, and a conclusion only when the intervals do not overlap.")
    try:
        return check_seeds([s.strip() for s in text.split(",") if s.strip()])
    except Exception as exc:  # noqa: BLE001 - a ConfigError that names the parameter
        st.error(str(exc), icon=":material/error:")
        return None


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` without its ``attrs`` (per-seed frames there cannot be sent to the browser)."""
    out = df.copy(deep=False)
    out.attrs = {}
    return out


def _captions(lines: list[str]) -> None:
    for line in lines:
        st.caption(md(line))


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


tab_diag, tab_nt, tab_pareto, tab_corr = st.tabs(["Diagnostics", "Negative transfer", "Pareto sweep",
                                                  "Correlation lab"])

# --------------------------------------------------------------------------- diagnostics
with tab_diag:
    run = _ui.pick_run("lab_run")
    if run is not None:
        from mtl_core import figures

        with _ui.errors_here():
            rid = run.run_id
            tasks = [t.name for t in run.task_infos]
            rcfg = run.config.to_dict()
            st.caption(f"{run.config.model.arch} · weighting {run.config.train.weighting} · tasks {md_list(tasks)}")
            wh = run.weights_history
            if wh is not None and len(wh):
                _ui.plot(_foot(figures.task_weights_over_time(wh), rcfg), key=f"lab_w_{rid}")
                st.caption("How much each task's loss counted in each epoch. Flat lines are fixed weights; "
                           "a learned method that keeps shrinking one task is telling you that task is noisy "
                           "or already learnt.")
            diag = run.diagnostics or []
            norms = pd.DataFrame([{"epoch": d["epoch"], "task": t, "grad_norm": v}
                                  for d in diag for t, v in (d.get("grad_norm") or {}).items()])
            cos = pd.DataFrame([{"epoch": d["epoch"], "pair": p.replace("|", " · "), "cosine": v}
                                for d in diag for p, v in (d.get("cosine") or {}).items()])
            if len(norms):
                _ui.plot(_foot(figures.grad_norms_over_time(norms), rcfg), key=f"lab_gn_{rid}")
                st.caption("Size of each task's gradient on the shared layers. A task whose norm is ten times "
                           "the others dominates the shared representation, whatever the loss weights say.")
            if len(cos):
                c1, c2 = st.columns(2)
                with c1:
                    last = diag[-1].get("cosine") or {}
                    fig = figures.grad_cosine_heatmap(last, tasks)
                    fig.update_layout(title={"text": f"Gradient cosine, last epoch ({diag[-1]['epoch']})"})
                    _ui.plot(_foot(fig, rcfg), key=f"lab_cos_{rid}")
                    st.caption("Agreement of the tasks' gradients in the last epoch: near 1 they push the shared "
                               "layers the same way, below 0 they fight. Persistent negative cells are where "
                               "PCGrad or more task-specific capacity (MMoE/PLE) can help.")
                with c2:
                    _ui.plot(_foot(figures.cosine_over_time(cos), rcfg), key=f"lab_cos_t_{rid}")
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
                from mtl_core.models import gate_experts

                fig = figures.gate_heatmap(gates, gate_experts(run.config.model.arch, tasks, run.config.model))
                fig.update_layout(title={"text": fig.layout.title.text.replace("per task", f"per task (epoch {ep})")})
                _ui.plot(_foot(fig, rcfg), key=f"lab_gates_{rid}")
                st.caption("Mean gate weight of each task on each expert, on validation rows, on a fixed 0–1 "
                           "scale: white is the uniform weight 1/E (no preference), red above it, blue below. "
                           "PLE's columns name each task's own experts and the shared ones. One run is one "
                           "seed: whether a preference holds across seeds is on the Negative transfer tab.")
            elif run.config.model.arch in ("mmoe", "ple"):
                st.info("No gate weights were recorded for this run.", icon=":material/info:")

def _transfer_figures(table, latest: dict) -> None:
    """Paired differences with error bars, and the multi-task model's gradient cosines and gate
    weights as mean ± SE over the check's seeds, each with its computed conclusion."""
    from mtl_core import figures

    meta = table.attrs.get("meta") or {}
    cfg = meta.get("config") or {}
    seeds = ",".join(map(str, latest.get("seeds", [])))
    _ui.plot(_foot(figures.paired_difference_bars(table.attrs.get("per_seed")), cfg, seeds), key=f"nt_bars_{latest['id']}")
    st.caption("Bars: mean paired difference over seeds, error bars ±2 standard errors, dots: single seeds. "
               "A bar whose error bar crosses 0 is " + lab.NOT_SIGNIFICANT + ".")
    diags = table.attrs.get("diagnostics") or []
    if not diags:
        return
    cos_m, cos_se = lab.cells_mean_se([d.get("cosine") or {} for d in diags])
    gate_m, gate_se = lab.cells_mean_se([d.get("gates") or {} for d in diags if d.get("gates")])
    c1, c2 = st.columns(2)
    if cos_m:
        fig = figures.grad_cosine_heatmap(cos_m, list(table["task"].astype(str)), cos_se)
        fig.update_layout(title={"text": f"Gradient cosine, last epoch, mean ± SE over {len(diags)} seed(s)"})
        with c1:
            _ui.plot(_foot(fig, cfg, seeds), key=f"nt_cos_{latest['id']}")
    if gate_m:
        from mtl_core.config import ModelConfig
        from mtl_core.models import gate_experts

        model_cfg = ModelConfig(**{k: v for k, v in (cfg.get("model") or {}).items() if k in ModelConfig().__dict__})
        fig = figures.gate_heatmap(gate_m, gate_experts(model_cfg.arch, list(table["task"].astype(str)), model_cfg),
                                   gate_se)
        fig.update_layout(title={"text": f"Gate weights, mean ± SE over {len(diags)} seed(s)"})
        with c2:
            _ui.plot(_foot(fig, cfg, seeds), key=f"nt_gates_{latest['id']}")
    _captions(lab.diagnostics_captions(diags))


# --------------------------------------------------------------------------- negative transfer
with tab_nt:
    cfg = _tab_config("Trains the model set on the **Train** page and, for each task, a single-task model on "
                      "that task alone with the same epochs, batch size, learning rate, split and seed.", "nt")
    if cfg is not None:
        with _ui.errors_here():
            st.caption(f"Multi-task model: {cfg.model.arch}, {cfg.train.weighting} weighting, "
                       f"{cfg.train.epochs} epochs, batch {cfg.train.batch_size}, lr {cfg.train.lr:g} "
                       "(change them on the Train page).")
            seeds = _seeds_input("nt_seed_list")
            _start_button("nt", "Negative-transfer check", "Compare with single-task models",
                          ":material/compare_arrows:", None if seeds else "Choose at least one seed.",
                          partial(lab.negative_transfer, cfg, ss["df"], seeds=list(seeds or []), runs_root=root,
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
                    st.info(f"No negative transfer beyond two standard errors: {lab.NOT_SIGNIFICANT}, or the "
                            "multi-task model is better (see each task's explanation).", icon=":material/info:")
                for line in lab.few_positives(table.attrs.get("per_seed")):
                    st.warning(md(line), icon=":material/warning:")

                def _flag(v: str) -> str:
                    return {lab.VERDICT_NEGATIVE: f"⚠ {lab.VERDICT_NEGATIVE}",
                            lab.VERDICT_POSITIVE: f"✓ {lab.VERDICT_POSITIVE}"}.get(v, v)

                show = table.assign(verdict=table["verdict"].map(_flag))
                st.dataframe(_plain(show), hide_index=True, key="nt_table",
                             column_config={c: st.column_config.NumberColumn(format="%.4f")
                                            for c in ("mt_mean", "st_mean", "gbm_mean", "diff", "std")})
                from mtl_core import figures

                _ui.plot(figures.transfer_plot(table), key="nt_fig")
                st.caption(f"diff > 0: the multi-task model is better (for RMSE, lower is better, so the sign is "
                           f"flipped). gbm_mean: one gradient-boosted tree model per task on the same split, "
                           f"the reference both should reach (empty when evaluation.gbm is off). Seeds {', '.join(map(str, latest.get('seeds', [])))} · "
                           f"{latest.get('status', '')} · {latest.get('created', '')}.")
                _transfer_figures(table, latest)

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
            ps_seeds = _seeds_input("ps_seed_list", str(cfg.train.seed))
            st.caption(f"{(n_points + len(learned) + (2 if single else 0)) * len(ps_seeds or [0])} trainings of "
                       f"{cfg.train.epochs} epochs ({cfg.model.arch}).")
            problem = "Choose two different tasks." if ta == tb else None if ps_seeds else "Choose at least one seed."
            _start_button("ps", "Pareto sweep", "Run the sweep", ":material/scatter_plot:", problem,
                          partial(lab.pareto_sweep, cfg, ss["df"], ta, tb, n_points=int(n_points),
                                  learned=list(learned), include_single=bool(single), runs_root=root,
                                  background=True, seeds=ps_seeds))
    sweeps = lab.list_sweeps(root)
    if sweeps:
        with _ui.errors_here():
            from mtl_core import figures

            labels = {str(s["path"]): f"{s['task_a']} vs {s['task_b']} · {s.get('arch', '')} · "
                                      f"{s.get('created', '')[:16].replace('T', ' ')} · {s.get('status', '')}"
                      for s in sweeps}
            newest = str(sweeps[0]["path"])
            if ss.get("ps_newest") != newest:  # a new sweep finished: show it, not the previous selection
                ss["ps_newest"] = newest
                ss["ps_saved"] = newest
            choice = st.selectbox("Saved sweeps", list(labels), format_func=labels.get, key="ps_saved")
            sw = lab.load_sweep(choice)
            pts = sw.points
            _ui.plot(_foot(figures.pareto_plot(pts, sw.axis_a, sw.axis_b, maximize=sw.maximize),
                           sw.meta.get("config"), ",".join(map(str, sw.meta.get("seeds", [])))), key=f"ps_plot_{sw.id}")
            st.caption("Grey points are fixed weightings labelled w_A / w_B and joined in weight order, stars are "
                       "learned weightings, the diamond is two separate single-task models; the dotted line joins "
                       "the multi-task points no other point beats on both tasks. Error bars: ±1 standard error "
                       "over the sweep's seeds. Axes are test metrics; choose a weighting by the validation "
                       "columns below.")
            _captions(lab.pareto_captions(pts, sw.axis_a, sw.axis_b, sw.maximize))
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
        with c3:
            cl_seeds = _seeds_input("cl_seed_list")
        problem = None if corrs and archs else "Choose at least one correlation and one model."
        _start_button("cl", "Correlation lab", "Run the correlation lab", ":material/science:",
                      problem or (None if cl_seeds else "Choose at least one seed."),
                      partial(lab.correlation_lab, sorted(corrs), list(archs), rows=int(rows), epochs=int(epochs),
                              seeds=list(cl_seeds or []), runs_root=root, background=True,
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
            gen = {"source": {"kind": "generated", "generator": latest.get("generator", "make_synthetic"),
                              "params": {"rows": latest.get("rows")}}}
            for i, (task, d) in enumerate(res.groupby("task", sort=False)):
                with cols[i]:
                    fig = figures.correlation_task_plot(d, task, "metric" if view == "Metric" else "vs_single")
                    _foot(fig, {"data": gen, "model": {"arch": ", ".join(dict.fromkeys(res["model"]))}},
                          ",".join(map(str, latest.get("seeds", []))))
                    _ui.plot(fig, key=f"cl_plot_{latest['id']}_{task}_{view}")
            if view == "Metric":
                st.caption("Test metric of each model as the tasks become more related (right). Error bars are "
                           "the spread across seeds, which also changes the data, so compare models at one "
                           "correlation rather than across the axis.")
            else:
                st.caption("How much better (above 0) or worse than single-task models each shared model is, "
                           "paired by seed (error bars: standard error over seeds). Every axis is oriented so "
                           "that up is better: for RMSE the plotted value is single-task RMSE minus the model's.")
                _captions(lab.correlation_captions(res.attrs.get("per_seed")))
            st.caption(f"{latest.get('dataset', 'ecommerce')} data · "
                       f"{latest.get('rows', '?'):,} rows · {latest.get('epochs', '?')} epochs · seeds "
                       f"{', '.join(map(str, latest.get('seeds', [])))} · {latest.get('seconds', '?')} s · "
                       f"{latest.get('status', '')}")
            st.dataframe(_plain(res), hide_index=True, key=f"cl_table_{latest['id']}",
                         column_config={c: st.column_config.NumberColumn(format="%.4f")
                                        for c in ("value", "std", "vs_single", "vs_single_std")})
