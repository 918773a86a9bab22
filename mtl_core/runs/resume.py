"""What an interrupted run needs to be resumed, in its temporary folder ``.tmp-<id>``:

    resume.json     the run's complete configuration, where its data comes from and a
                    fingerprint of the prepared data (checked again before resuming)
    data.parquet    the table trained on, when it was given in memory (an upload in the app);
                    a run read from a file (the CLI) reads that file again
    checkpoint.pt   the training state after the last completed epoch
                    (``training.checkpoint``), overwritten each epoch: written to a temporary
                    file and renamed into place, loaded with ``torch.load(weights_only=True)``

These files are removed when the run is published (``RunWriter.commit``). ``resume_info``
says whether a folder can be resumed and why not; ``read_checkpoint`` and ``read_resume``
turn a damaged or missing file into one ``DataError`` that says to delete the run.
"""
from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import numpy as np

from ..errors import DataError
from .load import list_interrupted, resume_info
from .store import CHECKPOINT, DATA, RESUME, RunWriter, read_json, write_json

_reopen_lock = threading.Lock()


def _cannot(folder: Path, why: str) -> DataError:
    name = folder.name[len(".tmp-"):] if folder.name.startswith(".tmp-") else folder.name
    return DataError(f"The interrupted run {name!r} cannot be resumed: {why}; delete it.")


# --------------------------------------------------------------------------- at the start of a run
def fingerprint(prep) -> str:
    """SHA-256 of the prepared splits (rows, encoded features and labels): the same data,
    split and preprocessing give the same value."""
    h = hashlib.sha256()
    for name in ("train", "val", "test"):
        enc = prep.encoded[name]
        for arr in (enc.index, enc.cat, enc.num, *(enc.labels[k] for k in sorted(enc.labels))):
            a = np.ascontiguousarray(arr)
            h.update(f"{name}:{a.dtype}:{a.shape}".encode())
            h.update(a.tobytes())
    return h.hexdigest()


def save_resume(writer, prep, df=None) -> None:
    """Write ``resume.json`` (and ``data.parquet`` when the table ``df`` was given in memory)
    into the run's temporary folder."""
    if df is not None:
        writer.frame(DATA, df)
    write_json(writer.path / RESUME, {"config": prep.config.to_dict(), "data": DATA if df is not None else None,
                                      "fingerprint": fingerprint(prep)})


# --------------------------------------------------------------------------- resuming
def read_resume(folder: str | Path, data: str | None = None):
    """(configuration, the table or None to read ``config.data.path``, fingerprint) of an
    interrupted run; ``data`` replaces the data file's path (a moved file)."""
    import pandas as pd

    from ..config import RunConfig
    from ..errors import ConfigError

    folder = Path(folder)
    why = resume_info(folder)
    if why:
        raise _cannot(folder, why)
    try:
        info = read_json(folder / RESUME)
        config = RunConfig.from_dict(info["config"])
        fp = str(info["fingerprint"])
    except (OSError, ValueError, KeyError, TypeError, ConfigError):
        raise _cannot(folder, f"its {RESUME} is damaged") from None
    df = None
    if info.get("data"):
        try:
            df = pd.read_parquet(folder / DATA)
        except Exception:  # noqa: BLE001 - pyarrow raises many types
            raise _cannot(folder, f"its copy of the data ({DATA}) is missing or damaged") from None
    elif data is not None:
        config.data.path = str(data)
    return config, df, fp


def check_fingerprint(folder: str | Path, prep, expected: str) -> None:
    if fingerprint(prep) != expected:
        raise _cannot(Path(folder), "its data reads back differently from the data it was trained on "
                                    "(the file changed, or a table did not survive being saved)")


def write_checkpoint(folder: str | Path, state: dict) -> None:
    """``torch.save`` ``state`` to ``checkpoint.pt`` atomically (a crash leaves the previous one)."""
    import torch

    path = Path(folder) / CHECKPOINT
    tmp = path.with_name(f".{CHECKPOINT}.{os.getpid()}.tmp")
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_checkpoint(folder: str | Path, max_params: int | None = None) -> dict:
    """The checkpoint of an interrupted run (tensors and plain containers only), checked;
    a ``DataError`` saying the run cannot be resumed when it is missing or damaged."""
    import torch

    from ..training.checkpoint import problem

    folder = Path(folder)
    path = folder / CHECKPOINT
    if not path.is_file():
        raise _cannot(folder, "no epoch was completed")
    if max_params is not None and path.stat().st_size > 64 * max_params + (1 << 20):
        raise _cannot(folder, f"its {CHECKPOINT} is larger than any model within limits.max_model_params")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - unpickling refused, truncated or not a torch file
        raise _cannot(folder, f"its {CHECKPOINT} is damaged (or was not written by MTL Lab)") from None
    why = problem(state)
    if why:
        raise _cannot(folder, f"its {CHECKPOINT} {why}")
    return state


def reopen(folder: str | Path) -> RunWriter:
    """The writer of an interrupted run's temporary folder ``<root>/.tmp-<id>``, marked as
    running in this process again; a ``DataError`` when it is not one, or when a live process
    (this one included) is training it. Publishing it gives the run its original id."""
    folder = Path(folder)
    run_id = folder.name[len(".tmp-"):] if folder.name.startswith(".tmp-") else ""
    with _reopen_lock:  # two clicks on Resume: one wins
        item = next((i for i in list_interrupted(folder.parent) if i["run_id"] == run_id), None)
        if item is None or folder.is_symlink():
            raise DataError(f"{folder.name!r} is not the folder of an interrupted run.")
        if item["status"] != "interrupted":
            raise DataError(f"The run {run_id!r} is being trained or resumed right now.")
        if (folder.parent / run_id).exists():
            raise DataError(f"A finished run named {run_id!r} already exists; delete the interrupted one.")
        writer = RunWriter(folder.parent, run_id, running=False, resumed=True)
        writer._status.update(epoch=item["epoch"], epochs=item["epochs"], resumed=True)
        write_json(folder / "status.json", writer._status)
    return writer
