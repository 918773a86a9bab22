"""Where run directories live and how their files are written and read: the runs root,
strict JSON, run ids, the atomic writer, and the saved results of the trade-off lab."""
from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from ..errors import ConfigError, DataError
from ..values import json_safe

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def default_runs_root() -> Path:
    return Path(os.environ.get("MTL_LAB_RUNS", "runs"))


def resolve_root(root: str | Path | None) -> Path:
    """``root``, or the default runs root (``$MTL_LAB_RUNS`` or ``./runs``) when None."""
    return Path(root) if root is not None else default_runs_root()


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(json_safe(obj), indent=2, allow_nan=False), encoding="utf-8")


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def read_frame(path: Path) -> pd.DataFrame:
    """A saved table (``.parquet`` or CSV); an empty frame when the file does not exist."""
    if not path.exists():
        return pd.DataFrame()
    return pd.read_parquet(path) if path.name.endswith(".parquet") else pd.read_csv(path)


def new_run_id(kind: str) -> str:
    """``<UTC time>-<kind>-<6 hex>``; ``kind`` is the architecture of a run or the lab
    experiment (``transfer``, ``sweep``, ``corrlab``)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    safe_kind = re.sub(r"[^A-Za-z0-9_]", "", kind)[:20] or "run"
    return f"{stamp}-{safe_kind}-{uuid.uuid4().hex[:6]}"


#: files only an unfinished run has, for resuming it (``runs.resume``); removed on publishing
CHECKPOINT, RESUME, DATA = "checkpoint.pt", "resume.json", "data.parquet"
RESUME_FILES = (CHECKPOINT, RESUME, DATA)


class RunWriter:
    """Collects a run's files in a temporary directory and publishes them atomically.

    ``running=True`` (runs) marks the temporary directory with a ``running`` status and this
    process id for the whole training, so ``list_interrupted`` finds what a crash left.
    ``runs.resume.reopen`` takes over an interrupted run's directory to resume it."""

    def __init__(self, root: str | Path, run_id: str, running: bool = True, resumed: bool = False) -> None:
        if not isinstance(run_id, str) or not _ID_RE.fullmatch(run_id):  # fullmatch: "$" accepts a final newline
            raise DataError(f"Invalid run id {run_id!r}.")
        self.root = Path(root)
        self.run_id = run_id
        self.tmp = self.root / f".tmp-{run_id}"
        self.final = self.root / run_id
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            if not resumed:  # a resumed run's folder exists (``runs.resume.reopen``)
                self.tmp.mkdir(exist_ok=False)
        except OSError as exc:  # a file where the folder should be, under a file, not writable
            what = ("is a file, not a folder" if self.root.is_file() else
                    "lies under a file" if isinstance(exc, (FileExistsError, NotADirectoryError)) else
                    f"cannot be written ({exc.strerror or type(exc).__name__})")
            raise ConfigError(f"The runs folder {str(self.root)!r} {what}; choose another folder with --out "
                              "(or MTL_LAB_RUNS).") from None
        self._status = {"status": "running", "pid": os.getpid(), "started": time.time(), "epoch": 0}
        self.resumed = resumed  # a resumed run's folder is kept (as interrupted) when it fails again
        if running:
            write_json(self.tmp / "status.json", self._status)

    def follow(self, callback):
        """Wrap a training callback so that status.json records each completed epoch (what a
        restart shows of an interrupted run)."""
        def cb(event):
            if getattr(event, "kind", None) == "epoch":
                self._status.update(epoch=int(event.epoch), epochs=int(event.epochs), updated=time.time())
                try:
                    write_json(self.tmp / "status.json", self._status)
                except OSError:
                    pass
            return callback(event) if callback is not None else None
        return cb

    @property
    def path(self) -> Path:
        return self.tmp

    def json(self, name: str, obj) -> None:
        write_json(self.tmp / name, obj)

    def frame(self, name: str, df: pd.DataFrame) -> None:
        if name.endswith(".parquet"):
            out = df.copy()
            for c in out.columns:  # parquet needs consistent column types
                if out[c].dtype == object:
                    out[c] = out[c].astype("string")
            out.columns = [str(c) for c in out.columns]
            out.to_parquet(self.tmp / name, index=False)
        else:
            df.to_csv(self.tmp / name, index=False)

    def commit(self) -> Path:
        for name in RESUME_FILES:
            (self.tmp / name).unlink(missing_ok=True)
        os.replace(self.tmp, self.final)
        return self.final

    def abort(self) -> None:
        """Remove the temporary folder; a resumed run's folder is kept, shown as interrupted
        again (the user may retry or delete it)."""
        if not self.resumed:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        self._status.update(pid=None, updated=time.time())
        try:
            write_json(self.tmp / "status.json", self._status)
        except OSError:
            pass


# --------------------------------------------------------------------------- lab results
def save_result(root: str | Path | None, kind: str, files: dict[str, Any], result_id: str | None = None) -> Path:
    """Write a lab result atomically to ``<root>/<kind>/<id>``: ``files`` maps a file name to
    a dict (JSON) or a DataFrame (CSV, or Parquet by its name). ``id`` defaults to
    ``new_run_id(kind)``."""
    writer = RunWriter(resolve_root(root) / kind, result_id or new_run_id(kind), running=False)
    try:
        for name, obj in files.items():
            if isinstance(obj, pd.DataFrame):
                writer.frame(name, obj)
            else:
                writer.json(name, obj)
        return writer.commit()
    except BaseException:
        writer.abort()
        raise


def list_results(root: str | Path | None, kind: str, meta_file: str) -> list[dict]:
    """Saved lab results under ``<root>/<kind>``, newest first: each one's ``meta_file``
    (JSON) plus ``id`` and ``path``; unreadable ones are skipped."""
    base = resolve_root(root) / kind
    if not base.is_dir():
        return []
    out = []
    for p in base.iterdir():
        if not p.is_dir() or p.name.startswith(".") or not (p / meta_file).exists():
            continue
        try:
            meta = read_json(p / meta_file)
        except (OSError, ValueError):
            continue
        out.append({**meta, "id": p.name, "path": p})
    out.sort(key=lambda d: (str(d.get("created", "")), d["id"]), reverse=True)
    return out


def read_result(path: str | Path, names: Sequence[str], what: str) -> dict[str, Any]:
    """The files ``names`` of a saved lab result (JSON as dicts, tables as DataFrames), or a
    ``DataError`` saying the folder is not a saved ``what``."""
    p = Path(path)
    missing = [n for n in names if not (p / n).exists()]
    if missing:
        raise DataError(f"{p} is not a saved {what} ({' / '.join(missing)} missing).")
    return {n: read_json(p / n) if n.endswith(".json") else read_frame(p / n) for n in names}
