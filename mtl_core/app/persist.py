"""A session's working table and choices on disk, so that a reload or a server restart brings
them back (no Streamlit here).

Kept in the session's folder under ``.session/``: ``table.parquet`` (the uploaded or
generated table; the bundled sample is re-read instead) and ``choices.json`` (data name and
source, column roles, tasks, task kinds and positive values, cleaning and the Train page's
settings). Nothing is written for a session that has no data, so it has no folder.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from ..values import json_safe
from .state import DEFAULTS

STATE_DIR = ".session"
CHOICE_KEYS = ("data_name", "data_source", "last_loaded", "roles", "drop", "tasks", "task_kinds", "task_positive",
               "preprocess", "train_settings", "selected_run")


def _atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_table(session_dir: str | Path, df: pd.DataFrame | None) -> None:
    """Keep ``df`` as the session's table (None: forget the saved one)."""
    path = Path(session_dir) / STATE_DIR / "table.parquet"
    if df is None:
        path.unlink(missing_ok=True)
        return
    out = df
    if any(not isinstance(c, str) for c in df.columns) or any(
            df[c].dtype == object and pd.api.types.infer_dtype(df[c], skipna=True) not in ("string", "empty")
            for c in df.columns):
        out = df.copy()  # mixed-type cells: Parquet needs one type per column
        out.columns = [str(c) for c in out.columns]
        for c in out.columns:
            if out[c].dtype == object:
                out[c] = out[c].map(lambda v: v if v is None or (isinstance(v, float) and v != v) else str(v))
    _atomic(path, lambda p: out.to_parquet(p, index=False))


def save_choices(session_dir: str | Path, state: dict) -> str:
    """Write the choices of ``state`` (a session-state mapping); returns what was written, so
    a caller can skip writing the same again."""
    text = json.dumps(json_safe({k: state.get(k) for k in CHOICE_KEYS}), sort_keys=True, allow_nan=False)
    _atomic(Path(session_dir) / STATE_DIR / "choices.json", lambda p: p.write_text(text, encoding="utf-8"))
    return text


def load(session_dir: str | Path) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    """(the saved table or None, the saved choices or {}); damaged files count as absent."""
    base = Path(session_dir) / STATE_DIR
    choices: dict[str, Any] = {}
    df = None
    try:
        raw = json.loads((base / "choices.json").read_text(encoding="utf-8"))
        if isinstance(raw, dict):  # only values of the type the app keeps there
            choices = {k: raw[k] for k in CHOICE_KEYS if k in raw and (
                DEFAULTS[k] is None and isinstance(raw[k], (str, type(None)))
                or DEFAULTS[k] is not None and isinstance(raw[k], type(DEFAULTS[k])))}
    except (OSError, ValueError):
        pass
    if (base / "table.parquet").is_file():
        try:
            df = pd.read_parquet(base / "table.parquet")
        except Exception:  # noqa: BLE001 - a damaged file: the session starts without data
            df = None
    return df, choices
