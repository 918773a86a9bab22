"""Removing runs: one finished run or an interrupted run's temporary folder (from the UI),
and interrupted folders nobody came back for (at server start)."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from ..errors import DataError
from .load import list_interrupted
from .store import resolve_root


def delete_run(path: str | Path) -> None:
    """Remove a finished run or an interrupted run's temporary folder (nothing else)."""
    p = Path(path)
    if not p.is_dir() or p.is_symlink():
        raise DataError(f"{p.name!r} is not a run folder.")
    if not (p / "metrics.json").is_file() and not p.name.startswith(".tmp-"):
        raise DataError(f"{p.name!r} is not a run folder (no metrics.json), so it was not deleted.")
    shutil.rmtree(p)


def clean_orphans(root: str | Path | None = None, older_than_s: float = 7 * 86400) -> list[str]:
    """Remove interrupted runs' temporary folders (under ``root`` and one level of session
    folders below it) whose last update is older than ``older_than_s``; returns their ids."""
    root = resolve_root(root)
    if not root.is_dir():
        return []
    removed = []
    now = time.time()
    for base in [root, *[p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]]:
        for item in list_interrupted(base):
            if item["status"] != "interrupted":
                continue
            try:
                status = item["path"] / "status.json"
                age = now - max(item["path"].stat().st_mtime, status.stat().st_mtime if status.exists() else 0)
            except OSError:
                continue
            if age >= older_than_s:
                shutil.rmtree(item["path"], ignore_errors=True)
                removed.append(item["run_id"])
    return removed
