"""Run directories: save, list and load finished runs.

A run directory holds::

    config.json          complete RunConfig (``python -m mtl_core train --config`` reproduces it)
    metrics.json         test metrics + train summary + split sizes
    curves.json          ROC / PR / calibration points per binary task (for plots)
    history.csv          epoch, split, task, loss and per-epoch validation metrics
    weights.csv          task weights per epoch (weighting methods)
    diagnostics.json     per-epoch gradient norms, cosines and gate utilisation
    preprocessor.json    the fitted preprocessor (JSON, applied unchanged to new rows)
    model.pt             model state dict (loaded with ``torch.load(weights_only=True)``)
    model.json           sklearn baseline coefficients (instead of model.pt)
    model_meta.json      architecture, features, tasks, model config
    predictions.parquet  test split: ids + ``true:<task>`` / ``pred:<task>``
    catalog.parquet      items seen in training with their latest attributes
    users.parquet        user-level features (latest row per user)
    interactions.parquet training-period user–item rows with their labels
    status.json          complete | cancelled | diverged, with a message

It is written under ``<root>/.tmp-<id>`` and renamed into place at the end, so a crash or a
restart never leaves a half-written run where ``list_runs`` looks; leftovers of interrupted
runs are reported by ``list_interrupted``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .config import RunConfig
from .errors import ConfigError, DataError
from .values import json_safe

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def default_runs_root() -> Path:
    return Path(os.environ.get("MTL_LAB_RUNS", "runs"))


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(json_safe(obj), indent=2, allow_nan=False), encoding="utf-8")


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def new_run_id(arch: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    safe_arch = re.sub(r"[^A-Za-z0-9_]", "", arch)[:20] or "run"
    return f"{stamp}-{safe_arch}-{uuid.uuid4().hex[:6]}"


class RunWriter:
    """Collects a run's files in a temporary directory and publishes them atomically."""

    def __init__(self, root: str | Path, run_id: str) -> None:
        if not isinstance(run_id, str) or not _ID_RE.fullmatch(run_id):  # fullmatch: "$" accepts a final newline
            raise DataError(f"Invalid run id {run_id!r}.")
        self.root = Path(root)
        self.run_id = run_id
        self.tmp = self.root / f".tmp-{run_id}"
        self.final = self.root / run_id
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.tmp.mkdir(exist_ok=False)
        except OSError as exc:  # a file where the folder should be, under a file, not writable
            what = ("is a file, not a folder" if self.root.is_file() else
                    "lies under a file" if isinstance(exc, (FileExistsError, NotADirectoryError)) else
                    f"cannot be written ({exc.strerror or type(exc).__name__})")
            raise ConfigError(f"The runs folder {str(self.root)!r} {what}; choose another folder with --out "
                              "(or MTL_LAB_RUNS).") from None
        self._status = {"status": "running", "pid": os.getpid(), "started": time.time(), "epoch": 0}
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
        os.replace(self.tmp, self.final)
        return self.final

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


# --------------------------------------------------------------------------- listing
@dataclass
class RunInfo:
    path: Path
    run_id: str
    name: str
    created: str
    status: str
    arch: str
    tasks: list[str]
    summary: dict = field(default_factory=dict)  # task -> headline metric value


def _headline(task_metrics: dict) -> float | None:
    for k in ("auc", "rmse", "accuracy"):
        if task_metrics.get(k) is not None:
            return task_metrics[k]
    return None


def run_info(path: Path) -> RunInfo | None:
    try:
        cfg = read_json(path / "config.json")
        metrics = read_json(path / "metrics.json")
        status = read_json(path / "status.json") if (path / "status.json").exists() else {}
    except (OSError, ValueError):
        return None
    tasks = list(metrics.get("tasks", {}))
    created = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")
    return RunInfo(
        path=path, run_id=path.name, name=cfg.get("name") or path.name, created=created,
        status=status.get("status", "complete"), arch=cfg.get("model", {}).get("arch", "?"), tasks=tasks,
        summary={t: _headline(m) for t, m in metrics.get("tasks", {}).items()},
    )


def list_runs(root: str | Path | None = None) -> list[RunInfo]:
    """Finished runs under ``root``, newest first."""
    root = Path(root) if root is not None else default_runs_root()
    if not root.is_dir():
        return []
    out = []
    for p in root.iterdir():
        if p.is_dir() and not p.name.startswith(".") and (p / "metrics.json").exists():
            info = run_info(p)
            if info is not None:
                out.append(info)
    out.sort(key=lambda r: (r.created, r.run_id), reverse=True)
    return out


def list_interrupted(root: str | Path | None = None) -> list[dict]:
    """Temporary directories of runs that never finished (server restart, crash)."""
    root = Path(root) if root is not None else default_runs_root()
    if not root.is_dir():
        return []
    out = []
    for p in root.glob(".tmp-*"):
        st = {}
        try:
            st = read_json(p / "status.json")
        except (OSError, ValueError):
            pass
        pid = st.get("pid")
        alive = isinstance(pid, int) and (pid == os.getpid() or _pid_alive(pid))  # still training
        epoch = st.get("epoch")
        out.append({"run_id": p.name[len(".tmp-"):], "path": p, "status": "running" if alive else "interrupted",
                    "started": st.get("started"), "epoch": epoch if isinstance(epoch, int) else 0,
                    "epochs": st.get("epochs") if isinstance(st.get("epochs"), int) else None})
    return out


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def clean_orphans(root: str | Path | None = None, older_than_s: float = 7 * 86400) -> list[str]:
    """Remove interrupted runs' temporary folders (under ``root`` and one level of session
    folders below it) whose last update is older than ``older_than_s``; returns their ids."""
    root = Path(root) if root is not None else default_runs_root()
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


def delete_run(path: str | Path) -> None:
    """Remove a finished run or an interrupted run's temporary folder (nothing else)."""
    p = Path(path)
    if not p.is_dir() or p.is_symlink():
        raise DataError(f"{p.name!r} is not a run folder.")
    if not (p / "metrics.json").is_file() and not p.name.startswith(".tmp-"):
        raise DataError(f"{p.name!r} is not a run folder (no metrics.json), so it was not deleted.")
    shutil.rmtree(p)


# --------------------------------------------------------------------------- loading
class LoadedRun:
    """A run read back from disk; heavy parts (model, preprocessor) load on demand."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        from . import run_files as rf

        if not (self.path / "config.json").exists() or not (self.path / "metrics.json").exists():
            raise DataError(f"{self.path} is not a finished run directory (config.json/metrics.json missing).")
        self.config = RunConfig.from_dict(rf.read_json(self.path / "config.json"))
        self.metrics: dict = rf.read_json(self.path / "metrics.json")
        self.status: dict = rf.read_json(self.path / "status.json", required=False) or {"status": "complete"}
        # types, known keys and sizes checked before anything is allocated from them
        self.meta: dict = rf.check_meta(self.path / "model_meta.json", rf.read_json(self.path / "model_meta.json"),
                                        self.config.limits.max_model_params)
        self._model = None
        self._pre = None
        self._cache: dict = {}

    @property
    def run_id(self) -> str:
        return self.path.name

    def _frame(self, name: str) -> pd.DataFrame:
        if name not in self._cache:
            from .run_files import read_frame

            self._cache[name] = read_frame(self.path / name)
        return self._cache[name]

    @property
    def history(self) -> pd.DataFrame:
        return self._frame("history.csv")

    @property
    def weights_history(self) -> pd.DataFrame:
        return self._frame("weights.csv")

    @property
    def predictions(self) -> pd.DataFrame:
        return self._frame("predictions.parquet")

    @property
    def catalog(self) -> pd.DataFrame:
        return self._frame("catalog.parquet")

    @property
    def users(self) -> pd.DataFrame:
        return self._frame("users.parquet")

    @property
    def interactions(self) -> pd.DataFrame:
        return self._frame("interactions.parquet")

    @property
    def curves(self) -> dict:
        from .run_files import read_json as checked

        return checked(self.path / "curves.json", dict, required=False) or {}

    @property
    def diagnostics(self) -> list[dict]:
        from .run_files import read_json as checked

        return checked(self.path / "diagnostics.json", list, required=False) or []

    @property
    def task_infos(self):
        from .types import TaskInfo

        try:
            return [TaskInfo.from_dict(t) for t in self.meta["tasks"]]
        except TypeError:  # unknown or missing fields
            raise DataError(f"The file model_meta.json of run {self.path.name!r} has damaged task entries, so the "
                            "run cannot be opened; train it again (or choose another run).") from None

    def preprocessor(self):
        if self._pre is None:
            from .data.preprocess import Preprocessor

            from .run_files import read_json as checked

            state = checked(self.path / "preprocessor.json")
            try:
                self._pre = Preprocessor.from_dict(state)
            except (KeyError, TypeError, ValueError):
                raise DataError(f"The file preprocessor.json of run {self.path.name!r} is damaged, so the run "
                                "cannot be used; train it again (or choose another run).") from None
        return self._pre

    def model(self):
        """The trained model, rebuilt from its metadata and weights (no unpickling)."""
        if self._model is None:
            from .config import ModelConfig
            from .models import MODELS, build_model
            from .types import FeatureSpec

            features = FeatureSpec.from_dict(self.meta["features"])
            mcfg = ModelConfig(**self.meta["model_config"])
            cls = MODELS.get(self.meta["arch"])
            if getattr(cls, "is_sklearn", False):
                self._model = cls.from_state_json(read_json(self.path / "model.json"))
            else:
                import torch

                model = build_model(self.meta["arch"], features, self.task_infos, mcfg)
                try:
                    # weights_only: tensors and plain containers only, never code from the file
                    state = torch.load(self.path / "model.pt", map_location="cpu", weights_only=True)
                    model.load_state_dict(state)
                except Exception:  # noqa: BLE001 - unpickling refused, damaged or mismatched file
                    raise DataError(
                        f"The model file of run {self.path.name!r} is not a plain set of weights for this model "
                        "(damaged, edited or not written by MTL Lab), so it was not loaded; train the run again."
                    ) from None
                model.eval()
                self._model = model
        return self._model

    def model_bytes(self) -> bytes:
        for name in ("model.pt", "model.json"):
            p = self.path / name
            if p.exists():
                return p.read_bytes()
        return b""

    def file_bytes(self, name: str) -> bytes:
        return (self.path / name).read_bytes()


def load_run(path: str | Path) -> LoadedRun:
    return LoadedRun(path)
