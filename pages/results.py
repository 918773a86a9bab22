"""Results: per-task test scores, confusion matrices with a threshold slider, ROC / PR,
calibration, regression errors, ranking quality, training curves and downloads."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from mtl_core.app.state import optimisation_label
from mtl_core.safe_text import md
from pages import _ui

run = _ui.run_page("Results", "res_run", manage=True)

from mtl_core import figures  # noqa: E402 - plotly only when there is something to draw
from mtl_core.evaluation.baselines import baseline_table  # noqa: E402
from mtl_core.evaluation.catalog import catalog_table  # noqa: E402
from mtl_core.evaluation.metrics import binary_at_threshold, metrics_table, to_safe_csv  # noqa: E402
from mtl_core.evaluation.thresholds import describe_threshold  # noqa: E402
from mtl_core.models import gate_experts  # noqa: E402

metrics = run.metrics or {}
task_metrics: dict = metrics.get("tasks", {})
infos = {t.name: t for t in run.task_infos}
train = metrics.get("train", {})
rid = run.run_id
status = (run.status or {}).get("status", "complete")
if status not in ("complete", "completed"):
    st.warning(md(f"This run ended early ({status}): {(run.status or {}).get('message') or 'see the training curves'}."))

c = st.columns(5)
c[0].metric("Architecture", run.config.model.arch)
c[1].metric("Weighting", run.config.train.weighting)
c[2].metric("Epochs", f"{train.get('epochs', '?')} (best {train.get('best_epoch', '?')})")
c[3].metric("Training time", f"{float(train.get('seconds') or 0):.1f} s")
sps = float(train.get("samples_per_s") or 0)
c[4].metric("Samples / s", f"{sps / 1000:,.1f}k" if sps >= 10_000 else f"{sps:,.0f}",
            help=f"Training throughput on {train.get('device', '?')}.")
split = metrics.get("split") or {}
if split:
    st.caption("Test scores on held-out rows · split sizes: " +
               ", ".join(f"{k} {int(v):,}" for k, v in split.items() if isinstance(v, (int, float))) +
               f" · split method: {run.config.split.method} · {optimisation_label(run.config.train)}")
tags = metrics.get("tags") or {}
if tags.get("tuning"):
    st.caption(md(f"Trial {tags.get('trial')} of {tags.get('trials')} of tuning session {tags['tuning']} "
                  "(trials are compared on the validation split)."))

# --------------------------------------------------------------------------- warnings
task_warns = {t: m.get("warnings") or [] for t, m in task_metrics.items() if isinstance(m, dict)}
for t, c_m in (metrics.get("catalog") or {}).items():
    task_warns.setdefault(t, [])
    task_warns[t] = task_warns[t] + list(c_m.get("warnings") or [])
for t, warns in task_warns.items():
    if warns:
        st.warning("\n".join(f"- {md(w.get('message', ''))}" for w in warns), icon=":material/warning:")

# --------------------------------------------------------------------------- table
st.header("Scores per task")
table = metrics_table(metrics).rename(columns={c: f"{c} (within test rows)" for c in ("gauc", "ndcg@10", "hit@10")})
st.dataframe(table, hide_index=True, key=f"metrics_table_{rid}",
             column_config={c: st.column_config.NumberColumn(format="%.4f")
                            for c in table.columns if c != "task" and pd.api.types.is_float_dtype(table[c])})
thr_words = [f"{md(t)} {md(describe_threshold(m))}" for t, m in task_metrics.items() if m.get("kind") == "binary"]
if thr_words:
    st.caption("Binary scores (accuracy, precision, recall, F1) use one threshold per task, also in the "
               "bar chart and as the sliders' start: " + "; ".join(thr_words) + ".")

st.subheader("Beside the baselines")
st.caption("Each score next to a predictor that learns nothing, fitted on the training labels and scored on "
           "the same test rows: prior = the training positive rate as every row's probability; mean / median "
           "= the training target's mean / median; majority = the most frequent training class. gbm = one "
           "gradient-boosted tree model per task (scikit-learn's histogram gradient boosting at default "
           "settings, fitted on the same training rows): the reference a tabular model should reach; the row "
           "model − gbm is the model's margin over it (positive = the model's value is higher).")
for kind in dict.fromkeys(m.get("kind") for m in task_metrics.values() if isinstance(m, dict)):
    st.dataframe(baseline_table(metrics, kind), hide_index=True, key=f"baselines_table_{rid}_{kind}",
                 column_config={c: st.column_config.NumberColumn(format="%.4f")
                                for c in ("auc", "logloss", "precision", "recall", "f1", "rmse", "mae", "r2",
                                          "accuracy", "macro_f1")})

pred = run.predictions
binary = [t for t, m in task_metrics.items() if m.get("kind") == "binary"]
regression = [t for t, m in task_metrics.items() if m.get("kind") == "regression"]
multiclass = [t for t, m in task_metrics.items() if m.get("kind") == "multiclass"]

tab_names = []
if binary:
    tab_names += ["Binary tasks", "ROC · PR · calibration"]
if regression:
    tab_names.append("Regression tasks")
if multiclass:
    tab_names.append("Multiclass tasks")
tab_names += ["Ranking", "Feature importance", "Training", "Downloads"]
tabs = dict(zip(tab_names, st.tabs(tab_names)))

if binary:
    with tabs["Binary tasks"]:
        with _ui.errors_here():
            _ui.plot(figures.metric_bars(metrics), key=f"fig_bars_{rid}", run=run)
        st.caption("Move a task's threshold to trade precision for recall: the confusion matrix and "
                   "scores are recomputed from the stored test predictions.")
        cols = st.columns(min(2, len(binary)))
        for i, t in enumerate(binary):
            with cols[i % len(cols)]:
                with _ui.errors_here():
                    m = task_metrics[t]
                    default = m.get("threshold", 0.5)
                    default = min(max(float(default) if default is not None else 0.5, 0.0), 1.0)
                    start = round(default, 3)
                    thr = st.slider(f"Threshold for {md(t)}", 0.0, 1.0, start, 0.001, format="%.3f",
                                    key=f"thr_{rid}_{t}",
                                    help="Starts at the run's threshold (the one the table above uses). A row "
                                         "counts as predicted positive when its probability is at least this.")
                    thr = default if thr == start else thr  # the slider's start shows the table's numbers exactly
                    y, p = pred.get(f"true:{t}"), pred.get(f"pred:{t}")
                    if y is None or p is None:
                        st.info(f"No stored predictions for {md(t)}.")
                        continue
                    ok = ~(pd.isna(y) | pd.isna(p)).to_numpy()
                    res = binary_at_threshold(y.to_numpy()[ok], p.to_numpy()[ok], thr)
                    k = st.columns(4)
                    for j, name in enumerate(("accuracy", "precision", "recall", "f1")):
                        v = res.get(name)
                        k[j].metric(name.capitalize() if name != "f1" else "F1", "–" if v is None else f"{v:.3f}")
                    info = infos.get(t)
                    pos = info.positive if info is not None and info.positive else None
                    if pos is None or str(pos).strip().lower() in ("1", "1.0", "true", "yes"):
                        labels = [f"no {t}", t]
                    else:
                        labels = [f"not {pos}", str(pos)]
                    _ui.plot(figures.confusion_heatmap(res["confusion"], labels, f"{t}: confusion matrix at {thr:.3f}"),
                             key=f"fig_cm_{rid}_{t}", run=run)
    with tabs["ROC · PR · calibration"]:
        curves = run.curves or {}
        if not curves:
            st.info("No curves stored (a task needs both classes in the test split).")
        else:
            with _ui.errors_here():
                c1, c2 = st.columns(2)
                with c1:
                    _ui.plot(figures.roc_curves(curves), key=f"fig_roc_{rid}", run=run)
                with c2:
                    _ui.plot(figures.pr_curves(curves), key=f"fig_pr_{rid}", run=run)
                _ui.plot(figures.calibration_plot(curves), key=f"fig_cal_{rid}", run=run)
                st.caption("Calibration: points on the diagonal mean a predicted 30% is right 30% of the time.")

if regression:
    with tabs["Regression tasks"]:
        for t in regression:
            with _ui.errors_here():
                m = task_metrics[t]
                k = st.columns(3)
                for j, name in enumerate(("rmse", "mae", "r2")):
                    v = m.get(name)
                    k[j].metric(f"{md(t)} · {name.upper() if name != 'r2' else 'R²'}", "–" if v is None else f"{v:.3f}")
                y, p = pred.get(f"true:{t}"), pred.get(f"pred:{t}")
                if y is None or p is None:
                    continue
                c1, c2 = st.columns(2)
                with c1:
                    _ui.plot(figures.pred_vs_actual(y.to_numpy(), p.to_numpy(), t), key=f"fig_pva_{rid}_{t}", run=run)
                with c2:
                    _ui.plot(figures.residuals_hist(y.to_numpy(), p.to_numpy(), t), key=f"fig_res_{rid}_{t}", run=run)

if multiclass:
    with tabs["Multiclass tasks"]:
        cols = st.columns(min(2, len(multiclass)))
        for i, t in enumerate(multiclass):
            with cols[i % len(cols)], _ui.errors_here():
                m = task_metrics[t]
                st.metric(f"{md(t)} · accuracy / macro F1",
                          f"{float(m.get('accuracy') or 0):.3f} / {float(m.get('macro_f1') or 0):.3f}")
                info = infos.get(t)
                classes = m.get("classes") or (info.classes if info is not None else None)
                if m.get("confusion"):
                    _ui.plot(figures.confusion_heatmap(m["confusion"], classes, f"{t}: confusion matrix"),
                             key=f"fig_mcm_{rid}_{t}", run=run)

with tabs["Ranking"]:
    catalog = metrics.get("catalog") or {}
    if catalog:
        st.subheader("Catalogue ranking")
        st.caption("For each test user, every catalogue item the user did not interact with in training is "
                   "ranked by the task's score; the user's positive test items are the targets. Recall@10 is "
                   "the share of targets in the top 10, NDCG@10 also rewards placing them high, Hit@10 the share "
                   "of users with a target in the top 10. Popularity recommends the items with the most "
                   "training positives to everyone.")
        st.dataframe(catalog_table(catalog), hide_index=True, key=f"catalog_table_{rid}")
        sampled = [f"{t}: {c.get('users')} users of {c.get('test_users')}" for t, c in catalog.items() if c.get("sampled")]
        if sampled:
            st.caption("Users were sampled (seed evaluation.catalog_seed) to keep users × items within "
                       "evaluation.catalog_max_pairs: " + "; ".join(sampled) + ".")
    ranking = metrics.get("ranking") or {}
    if ranking:
        st.subheader("Ranking within each user's test rows")
        st.caption("GAUC averages each user's AUC over that user's own test rows; NDCG@10 and Hit@10 rank only "
                   "those few rows, so they run high (Hit@10 is 1.0 for a user with under 10 test rows) and "
                   "say little about ranking the catalogue.")
    with _ui.errors_here():
        _ui.plot(figures.ranking_bars(ranking), key=f"fig_rank_{rid}", run=run)

with tabs["Feature importance"]:
    importance = metrics.get("importance") or {}
    if not importance:
        st.info("This run has no stored importances (older runs, or no validation rows); "
                f"`python -m mtl_core explain --run {rid}` computes them.")
    else:
        from mtl_core.evaluation.explain import importance_table

        st.caption("Permutation importance on validation rows: how much a task's score falls when one "
                   "feature's values are shuffled across rows (AUC drop for binary tasks, RMSE rise for "
                   "regression, accuracy drop for multiclass; mean ± spread over 3 shuffles). Colours are "
                   "shares of each task's most important feature: a feature bright in several columns is "
                   "shared by those tasks, one bright in a single column serves that task alone.")
        with _ui.errors_here():
            _ui.plot(figures.importance_figure(importance), key=f"fig_importance_{rid}")
            st.dataframe(importance_table(importance), key=f"importance_table_{rid}",
                         column_config={t: st.column_config.NumberColumn(format="%.4f") for t in importance})

with tabs["Training"]:
    with _ui.errors_here():
        _ui.plot(_ui.integer_epochs(figures.loss_curves(run.history)), key=f"fig_hist_{rid}", run=run)
        wh = run.weights_history
        if wh is not None and len(wh) and wh["weight"].nunique() > 1:
            _ui.plot(figures.task_weights_over_time(wh), key=f"fig_w_{rid}", run=run)
        diag = run.diagnostics or []
        last = diag[-1] if diag else {}
        if isinstance(last.get("cosine"), dict) and last["cosine"]:
            _ui.plot(figures.grad_cosine_heatmap(last["cosine"], list(task_metrics)), key=f"fig_cos_{rid}", run=run)
            st.caption("Cosine between task gradients on the shared representation (last epoch): "
                       "negative values mean the tasks pull the shared layers in opposite directions.")
        if isinstance(last.get("gates"), dict) and last["gates"]:
            _ui.plot(figures.gate_heatmap(last["gates"], gate_experts(run.config.model.arch, list(task_metrics),
                                                                     run.config.model)), key=f"fig_gates_{rid}", run=run)

with tabs["Downloads"]:
    st.caption("Everything needed to reproduce or reuse this run. CSV cells that a spreadsheet "
               "would read as a formula are escaped.")
    c1, c2, c3, c4 = st.columns(4)
    c1.download_button("config.json", run.config.to_json(), file_name=f"{rid}-config.json",
                       mime="application/json", key=f"dl_cfg_{rid}", icon=":material/download:")
    c2.download_button("Metrics (CSV)", to_safe_csv(table), file_name=f"{rid}-metrics.csv", mime="text/csv",
                       key=f"dl_metrics_{rid}", icon=":material/download:")
    c3.download_button("History (CSV)", to_safe_csv(run.history), file_name=f"{rid}-history.csv",
                       mime="text/csv", key=f"dl_hist_{rid}", icon=":material/download:")
    model_bytes = run.model_bytes()
    ext = "pt" if (run.path / "model.pt").exists() else "json"
    c4.download_button("Model weights", model_bytes, file_name=f"{rid}-model.{ext}",
                       mime="application/octet-stream", key=f"dl_model_{rid}", icon=":material/download:",
                       disabled=not model_bytes)
    from mtl_core.report import REPORT_MIME, run_report

    st.download_button("Report (one HTML file)", lambda path=str(run.path): run_report(path), file_name=f"{rid}-report.html",
                       mime=REPORT_MIME, key=f"dl_report_{rid}", icon=":material/summarize:",
                       help="One self-contained page to send after a demo: the data's provenance, the setup, every "
                            "task's scores beside its baselines, the charts and a sample of recommendations. It "
                            "opens in any browser without a network (about 5 MB: the chart library is inside).")
    st.caption(f"Run folder on the server: `{run.path.name}` · reproduce with "
               f"`python -m mtl_core train --config {rid}-config.json` (add --data FILE).")
    if len(pred):
        st.download_button("Test-split predictions (CSV)", to_safe_csv(pred), file_name=f"{rid}-test-predictions.csv",
                           mime="text/csv", key=f"dl_pred_{rid}", icon=":material/download:")
    from pages._sales import continue_section, onnx_section, score_section

    score_section(run)
    onnx_section(run)
    if _ui.own_run(run):
        continue_section(run)
