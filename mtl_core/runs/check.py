"""Checks on a run directory's files before anything is built from them.

A run folder may be damaged, edited or not written by MTL Lab. Every file ``runs.LoadedRun``
reads goes through here: JSON that is not JSON, a missing file, a value of the wrong type, an
unknown key or sizes that would make the model allocate gigabytes become one ``DataError``
sentence naming the run and the file, before any allocation.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..errors import DataError

_FEATURE_KEYS = {"cat_names": str, "cat_cardinalities": int, "num_names": str}


def _bad(path: Path, what: str) -> DataError:
    return DataError(f"The file {path.name} of run {path.parent.name!r} {what}, so the run cannot be opened; "
                     "train it again (or choose another run).")


def read_json(path: Path, kind: type = dict, required: bool = True):
    """The JSON value of ``path``, which must be a ``kind``; ``None`` when absent and not
    ``required``."""
    if not path.is_file():
        if required:
            raise _bad(path, "is missing")
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        raise _bad(path, "is not valid JSON") from None
    if not isinstance(value, kind):
        raise _bad(path, f"holds a {type(value).__name__} where a {kind.__name__} is expected")
    return value


def read_frame(path: Path):
    """A run's CSV / Parquet table (an empty frame when absent)."""
    import pandas as pd

    if not path.is_file():
        return pd.DataFrame()
    try:
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception:  # noqa: BLE001 - pyarrow / the CSV parser raise many types
        kind = "a Parquet" if path.suffix == ".parquet" else "a CSV"
        raise _bad(path, f"is not {kind} table") from None


def _check_numeric_encoding(path: Path, feats: dict) -> None:
    """``num_encoding`` is a known one and ``num_bins`` (runs saved before them have neither)
    one list of increasing finite edges per numeric field when the encoding needs them."""
    import math

    from ..config import NUMERIC_ENCODINGS

    if feats.get("num_encoding", "scalar") not in NUMERIC_ENCODINGS:
        raise _bad(path, "has an unknown numeric encoding")
    bins = feats.get("num_bins", [])
    ok = isinstance(bins, list) and all(
        isinstance(b, list) and len(b) >= 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                    and math.isfinite(v) for v in b)
        and all(x < y for x, y in zip(b, b[1:])) for b in bins)
    if not ok or (feats.get("num_encoding") == "ple" and len(bins) != len(feats["num_names"])):
        raise _bad(path, "has damaged numeric bins (features.num_bins)")


def check_meta(path: Path, meta: dict, max_params: int) -> dict:
    """``model_meta.json`` has the types the loader needs, only known model settings, and
    embedding tables within ``max_params`` (checked before they are allocated)."""
    from ..config import ModelConfig

    feats = meta.get("features")
    if not isinstance(meta.get("arch"), str) or not isinstance(feats, dict) or not isinstance(meta.get("tasks"), list):
        raise _bad(path, "lacks its architecture, features or tasks")
    if not set(_FEATURE_KEYS) <= set(feats) <= set(_FEATURE_KEYS) | {"num_encoding", "num_bins"}:
        raise _bad(path, "has unexpected feature fields")
    _check_numeric_encoding(path, feats)
    for key, typ in _FEATURE_KEYS.items():
        vals = feats[key]
        if not isinstance(vals, list) or not all(isinstance(v, typ) and not isinstance(v, bool) for v in vals):
            raise _bad(path, f"has a damaged features.{key}")
    cards = feats["cat_cardinalities"]
    if len(cards) != len(feats["cat_names"]) or any(c < 1 for c in cards):
        raise _bad(path, "has vocabulary sizes that do not match its features")
    mcfg = meta.get("model_config")
    known = {f.name for f in dataclasses.fields(ModelConfig)}
    if not isinstance(mcfg, dict) or set(mcfg) - known:
        extra = ", ".join(sorted(map(str, set(mcfg) - known))) if isinstance(mcfg, dict) else "none"
        raise _bad(path, f"has unknown model settings ({extra})")
    embed = mcfg.get("embed_dim", ModelConfig().embed_dim)
    if not isinstance(embed, int) or isinstance(embed, bool) or not 1 <= embed <= 4096:
        raise _bad(path, "has a damaged embedding size")
    if sum(cards) * embed > max_params:
        raise _bad(path, f"asks for {sum(cards) * embed:,} embedding parameters, more than "
                         f"limits.max_model_params={max_params:,}")
    if not all(isinstance(t, dict) and isinstance(t.get("name"), str) for t in meta["tasks"]) or not meta["tasks"]:
        raise _bad(path, "has damaged task entries")
    return meta
