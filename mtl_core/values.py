"""The one place for turning numbers and containers into plain, JSON-safe Python values.

``finite(x)`` is a finite Python float or ``None`` (NaN, inf, missing, not a number);
``json_safe(obj)`` converts numpy/pandas scalars and arrays recursively, with non-finite
floats as ``None`` so files are strict JSON. Everything that writes JSON or displays a
number that may be missing calls these.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np


def finite(x: Any) -> float | None:
    """A finite Python float, or None (NaN/inf/None/unparseable)."""
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def json_safe(obj: Any) -> Any:
    """Recursively convert numpy/pandas values to JSON-safe Python values (NaN/inf → None)."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [json_safe(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return finite(obj)
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, Path):
        return str(obj)
    try:
        import pandas as pd

        if obj is pd.NA or obj is pd.NaT:
            return None
    except ImportError:  # pragma: no cover
        pass
    return str(obj)
