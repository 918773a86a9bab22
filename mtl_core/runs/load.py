"""Reading run directories back: list finished and interrupted runs, load one run (its
model and preprocessor on demand, never unpickling)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from ..config import RunConfig
from ..data.provenance import describe
from ..errors import DataError
from ..evaluation.headline import headline_value
from . import check
from .store import CHECKPOINT, RESUME, read_json, resolve_root


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
    data: str = ""  # the data's provenance in one line (``provenance.describe``); "" for older runs


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
        summary={t: headline_value(m)[1] for t, m in metrics.get("tasks", {}).items()},
        data=describe((cfg.get("data") or {}).get("source")),
    )


def list_runs(root: str | Path | None = None) -> list[RunInfo]:
    """Finished runs under ``root``, newest first."""
    root = resolve_root(root)
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
    """Temporary directories of runs that never finished (server restart, crash): id, path,
    status (``running`` in a live process, else ``interrupted``), the last completed epoch
    and the configured epochs, and ``cannot_resume`` (None, or why it cannot be resumed)."""
    root = resolve_root(root)
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
        epoch, epochs = st.get("epoch"), st.get("epochs")
        out.append({"run_id": p.name[len(".tmp-"):], "path": p, "status": "running" if alive else "interrupted",
                    "started": st.get("started"), "epoch": epoch if isinstance(epoch, int) else 0,
                    "epochs": epochs if isinstance(epochs, int) else None, "cannot_resume": resume_info(p)})
    return out


def resume_info(folder: str | Path) -> str | None:
    """None when an interrupted run's folder has what resuming needs (``runs.resume``), else
    why not."""
    folder = Path(folder)
    if not (folder / RESUME).is_file():
        return "it was stopped before its settings were saved"
    if not (folder / CHECKPOINT).is_file():
        return "no epoch was completed"
    return None


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


# --------------------------------------------------------------------------- loading
class LoadedRun:
    """A run read back from disk; heavy parts (model, preprocessor) load on demand."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not (self.path / "config.json").exists() or not (self.path / "metrics.json").exists():
            raise DataError(f"{self.path} is not a finished run directory (config.json/metrics.json missing).")
        self.config = RunConfig.from_dict(check.read_json(self.path / "config.json"))
        self.metrics: dict = check.read_json(self.path / "metrics.json")
        self.status: dict = self._json("status.json", {"status": "complete"})
        # types, known keys and sizes checked before anything is allocated from them
        self.meta: dict = check.check_meta(self.path / "model_meta.json", check.read_json(self.path / "model_meta.json"),
                                           self.config.limits.max_model_params)
        self._model = None
        self._pre = None
        self._cache: dict = {}

    @property
    def run_id(self) -> str:
        return self.path.name

    def _frame(self, name: str) -> pd.DataFrame:
        if name not in self._cache:
            self._cache[name] = check.read_frame(self.path / name)
        return self._cache[name]

    def _json(self, name: str, default):
        value = check.read_json(self.path / name, type(default), required=False)
        return default if value is None else value

    # the run's tables, read on first use (an empty frame when the run has none)
    history = property(lambda self: self._frame("history.csv"))
    weights_history = property(lambda self: self._frame("weights.csv"))
    predictions = property(lambda self: self._frame("predictions.parquet"))
    catalog = property(lambda self: self._frame("catalog.parquet"))
    users = property(lambda self: self._frame("users.parquet"))
    interactions = property(lambda self: self._frame("interactions.parquet"))

    @property
    def curves(self) -> dict:
        return self._json("curves.json", {})

    @property
    def diagnostics(self) -> list[dict]:
        return self._json("diagnostics.json", [])

    @property
    def task_infos(self):
        from ..types import TaskInfo

        try:
            return [TaskInfo.from_dict(t) for t in self.meta["tasks"]]
        except TypeError:  # unknown or missing fields
            raise DataError(f"The file model_meta.json of run {self.path.name!r} has damaged task entries, so the "
                            "run cannot be opened; train it again (or choose another run).") from None

    def preprocessor(self):
        if self._pre is None:
            from ..data.preprocessing import Preprocessor

            state = check.read_json(self.path / "preprocessor.json")
            try:
                self._pre = Preprocessor.from_dict(state)
            except (KeyError, TypeError, ValueError):
                raise DataError(f"The file preprocessor.json of run {self.path.name!r} is damaged, so the run "
                                "cannot be used; train it again (or choose another run).") from None
        return self._pre

    def model(self):
        """The trained model, rebuilt from its metadata and weights (no unpickling)."""
        if self._model is None:
            from ..config import ModelConfig
            from ..models import MODELS, build_model
            from ..types import FeatureSpec

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

    def optimizer_state(self) -> dict | None:
        """The optimizer's and the learning-rate schedule's state at the end of training
        (``optimizer.pt``, torch runs), for a continued run; None when absent or unreadable
        (the continued run then starts a fresh optimizer)."""
        path = self.path / "optimizer.pt"
        if not path.is_file():
            return None
        import torch

        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # noqa: BLE001 - refused, damaged or edited: start afresh
            return None
        return state if isinstance(state, dict) else None

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
