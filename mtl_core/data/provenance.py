"""Where a table came from, recorded in ``config.json`` as ``data.source``: the file name, size
and SHA-256 of the bytes that were read or uploaded, or the generator and its parameters for
generated data. Tables carry it in ``DataFrame.attrs["source"]`` from the reader or generator
to ``pipeline.prepare``, which copies it into the run's configuration."""
from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd

ATTR = "source"


def file_source(data: bytes, name: str | None) -> dict[str, Any]:
    """Provenance of ``data``, the raw bytes of a file read or uploaded as ``name``."""
    return {"kind": "file", "name": str(name or ""), "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}


def path_source(path: Any, name: str | None, size: int) -> dict[str, Any]:
    """Provenance of the file at ``path`` (``size`` bytes), hashed in chunks without loading it."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(8 << 20), b""):
            digest.update(chunk)
    return {"kind": "file", "name": str(name or ""), "bytes": int(size), "sha256": digest.hexdigest()}


def generated_source(generator: str, **params: Any) -> dict[str, Any]:
    """Provenance of a generated table: the generator's name and its parameters."""
    return {"kind": "generated", "generator": str(generator),
            "params": {k: v for k, v in params.items() if v is not None}}


def tag(df: pd.DataFrame, source: dict[str, Any]) -> pd.DataFrame:
    """``df`` with ``source`` as its provenance (in place; returned for chaining)."""
    df.attrs[ATTR] = dict(source)
    return df


def source_of(df: pd.DataFrame | None) -> dict[str, Any]:
    """The provenance a table carries, or ``{}``."""
    return dict(getattr(df, "attrs", {}).get(ATTR) or {}) if df is not None else {}


def describe(source: dict | None) -> str:
    """One short line: 'sales.csv · 1.2 MB · sha256 3f2a9c1b' or
    'make_synthetic(rows=5000, task_correlation=0.5, seed=0)'; '' when unknown."""
    s = source or {}
    if s.get("kind") == "generated":
        params = ", ".join(f"{k}={v}" for k, v in (s.get("params") or {}).items())
        return f"{s.get('generator', 'generated')}({params})"
    if s.get("kind") == "file":
        size = int(s.get("bytes") or 0)
        text = f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{size / 1024:.1f} kB" if size >= 1024 else f"{size} B"
        return f"{s.get('name') or 'file'} · {text} · sha256 {str(s.get('sha256', ''))[:8]}"
    return str(s.get("name") or s.get("kind") or "")


#: app loaders whose table is made from the previous one (its provenance is kept under ``from``)
DERIVED = ("funnel", "sales")


def table_source(df: pd.DataFrame, name: str, how: str, previous: dict | None = None) -> dict[str, Any]:
    """The provenance of a table the app just loaded ``how`` (upload, sample, synthetic, funnel,
    sales…) as ``name``: what the reader or generator recorded, else the loader and name, with the
    table it was built from for derived tables."""
    src = source_of(df)
    if src:
        return src
    src = {"kind": str(how), "name": str(name)}
    if how in DERIVED and previous:
        src["from"] = dict(previous)
    return src
