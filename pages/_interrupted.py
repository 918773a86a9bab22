"""The Results page's list of this session's interrupted runs (cut by a server restart or a
crash): the last completed epoch, Resume (a background job that finishes the run from its
checkpoint, logic in mtl_core.pipeline.resume_run) and Delete."""
from __future__ import annotations

import streamlit as st

from mtl_core.safe_text import md
from pages import _ui

#: job names of resumed runs start with this (the job list finds them again after a reload)
JOB_PREFIX = "resume "


def _resuming():
    """This session's latest job when it resumes a run (None otherwise)."""
    job = _ui.job_manager().latest_for(st.session_state["sid"])
    return job if job is not None and str(job.name).startswith(JOB_PREFIX) else None


def _submit(item: dict) -> None:
    folder = item["path"]

    def work(callback, cancel, folder=folder):
        from mtl_core.pipeline import resume_run

        return resume_run(folder, callback=callback, cancel=cancel, background=True)

    ss = st.session_state
    job = _ui.job_manager().submit(work, name=JOB_PREFIX + item["run_id"], owner=ss["sid"])
    ss["job_ids"] = [*ss.get("job_ids", []), job.id][-20:]


def interrupted_panel(progress: bool = True) -> None:
    """Runs of this session cut by a server restart or a crash: say so, with the last
    completed epoch, and offer to resume or delete them; ``progress``: also show the live
    progress of a resumed run, then a link to it."""
    from mtl_core.runs import delete_run, list_interrupted

    job = _resuming()
    busy = job is not None and job.status in ("queued", "running")
    items = [i for i in list_interrupted(_ui.runs_root()) if i["status"] == "interrupted"]
    if items:
        st.warning(f"{len(items)} run(s) of this session were interrupted (server restart or crash) and "
                   "were not saved as finished runs. Resume one to finish it from its last completed epoch.",
                   icon=":material/warning:")
    for item in items:
        rid = item["run_id"]
        c1, c2, c3 = st.columns([4, 1, 1], vertical_alignment="center")
        epochs = f" of {item['epochs']}" if item.get("epochs") else ""
        c1.text(f"{rid} · interrupted after epoch {item['epoch']}{epochs}")
        why = item.get("cannot_resume")
        if why:
            c1.caption(md(f"Cannot be resumed: {why}; delete it."))
        if c2.button("Resume", key=f"resume_tmp_{rid}", icon=":material/play_arrow:", disabled=bool(why) or busy,
                     help="Finish this run from its last completed epoch, with its own settings and data."):
            with _ui.errors_here():
                _submit(item)
                st.rerun()
        if c3.button("Delete", key=f"del_tmp_{rid}", icon=":material/delete:", disabled=busy):
            with _ui.errors_here():
                delete_run(item["path"])
                st.rerun()
    if progress and job is not None:  # until the session starts another job
        from pages._sales import resume_progress

        rid = str(job.name)[len(JOB_PREFIX):]
        resume_progress(job, rid, doing=f"Resuming {rid}", saved="The resumed run")
