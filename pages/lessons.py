"""Lessons: guided experiments, each with pinned settings, what to notice, the expected
result, and a check that says whether this run showed it. The experiments run in the
background on generated data (no upload needed); logic lives in ``mtl_core.lessons``."""
from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import streamlit as st

from mtl_core.app import links
from mtl_core.lessons import LESSONS, get_lesson, run_lesson
from mtl_core.safe_text import md
from pages import _ui

_ui.ensure_app()
_ui.init_state()

ss = st.session_state
st.title("Lessons")
st.caption("Small experiments that each show one effect of multi-task learning. Each trains a few small models on "
           "generated data in seconds, then checks whether this run showed the effect: with other seeds it may "
           "not, and the lesson says how often it held in our tests.")

ids = list(LESSONS)
if "lesson_pick" not in ss:  # a link's lesson, once
    linked, problem = links.lesson_from(st.query_params.to_dict(), ids)
    ss["lesson_pick"] = linked or ids[0]
    if problem:
        st.warning(f"The link names no known lesson ({md(problem)}); showing the first one.", icon=":material/link_off:")
lid = st.selectbox("Lesson", ids, key="lesson_pick", format_func=lambda i: LESSONS[i].title)
lesson = get_lesson(lid)
if st.query_params.get(links.LESSON_PARAM) != lid:
    st.query_params[links.LESSON_PARAM] = lid

st.subheader(lesson.question)
c1, c2 = st.columns([2, 3], gap="large")
with c1:
    st.markdown("**Pinned settings**")
    st.dataframe(pd.DataFrame({"setting": list(lesson.pinned), "value": [str(v) for v in lesson.pinned.values()]}),
                 hide_index=True, key=f"lesson_pinned_{lid}")
with c2:
    st.markdown(f"**What to notice.** {lesson.notice}")
    st.markdown(f"**Expected.** {lesson.expected}")
    if "Not robust" in lesson.robustness:
        st.warning(lesson.robustness, icon=":material/warning:")
    elif lesson.robustness:
        st.info(lesson.robustness, icon=":material/verified:")

seeds_text = st.text_input("Seeds", ",".join(map(str, lesson.default_seeds)), key=f"lesson_seeds_{lid}",
                           help="Each seed draws new data, a new split and a new initialisation; the check reads "
                                "all of them (mean ± standard error).")
mgr = _ui.job_manager()
owner = f"{ss['sid']}/lesson-{lid}"
job = mgr.latest_for(owner)
busy = job is not None and job.status in ("queued", "running")
if st.button("Run this lesson", key="lesson_go", type="primary", disabled=busy, icon=":material/play_arrow:"):
    with _ui.errors_here():
        from mtl_core.lab.common import check_seeds

        seeds = check_seeds(seeds_text)

        def work(callback, cancel, lesson=lesson, seeds=seeds):
            def progress(p: dict) -> None:  # lesson progress -> the job's progress (per mille)
                callback(SimpleNamespace(kind="lab", step=int(round(1000 * float(p.get("fraction", 0.0)))),
                                         steps=1000, message=str(p.get("message", ""))))
            return run_lesson(lesson, seeds, callback=progress, cancel=cancel)

        mgr.submit(work, name=f"lesson-{lid}", owner=owner)
        ss["lesson_seen"] = None
        st.rerun()

if job is not None:
    active = job.status in ("queued", "running")

    @st.fragment(run_every=1.0 if active else None)
    def panel() -> None:
        snap = job.snapshot()
        status = snap["status"]
        if status == "queued":
            st.info("Queued: other runs are training on this server.", icon=":material/hourglass_top:")
        elif status == "running":
            frac = min(1.0, (snap.get("step") or 0) / max(1, snap.get("steps") or 1000))
            st.progress(frac, text=f"{md(snap.get('message') or 'starting…')} · {snap['elapsed_s']:.0f} s")
            if st.button("Stop", key="lesson_stop", icon=":material/stop:"):
                job.cancel()
        elif status == "failed":
            st.error(md(snap.get("error") or "The lesson failed."), icon=":material/error:")
        elif status == "cancelled":
            st.warning("Stopped.", icon=":material/stop_circle:")
        if active and status not in ("queued", "running") and ss.get("lesson_seen") != job.id:
            ss["lesson_seen"] = job.id
            st.rerun(scope="app")

    panel()
    result = job.result if job.status == "done" else None
    if result is not None:
        seeds_done = ", ".join(map(str, result.seeds))
        if result.verdict is None:
            st.warning("The run stopped before every seed finished: no verdict.", icon=":material/stop_circle:")
        elif result.verdict.passed:
            st.success(f"**This run showed it** (seeds {seeds_done}, {result.seconds:.0f} s). {md(result.verdict.evidence)}",
                       icon=":material/check_circle:")
        else:
            st.warning(f"**This run did not show it** (seeds {seeds_done}, {result.seconds:.0f} s). "
                       f"{md(result.verdict.evidence)}", icon=":material/help:")
        st.dataframe(result.observations, hide_index=True, key=f"lesson_obs_{job.id}",
                     column_config={c: st.column_config.NumberColumn(format="%.4f")
                                    for c in result.observations.columns if c != "seed"})
        st.caption("One row per seed: the numbers the check reads.")

with st.expander("Link to this lesson", icon=":material/link:"):
    base = str(getattr(st.context, "url", "") or "").split("?")[0]
    st.code(f"{base}?{links.query_string({links.LESSON_PARAM: lid})}", language=None)
    st.caption("Opens this lesson for whoever follows it, on their own session.")
