"""Array helpers shared by the metric modules, and the one place where predictions and labels
return to original units before they are scored."""
from __future__ import annotations

from typing import Any

import numpy as np


def as_1d(a: Any, dtype=np.float64) -> np.ndarray:
    return np.asarray(a, dtype=dtype).reshape(-1)


def binary_labels(y: Any) -> np.ndarray:
    """0/1 labels (``y > 0.5``) as int64."""
    return (as_1d(y) > 0.5).astype(np.int64)


def original_units(preprocessor, tasks, values: dict) -> dict:
    """``{task: array}`` with regression values mapped back through the fitted preprocessor's
    target scaling (``inverse_target``); other kinds are returned unchanged. Used for
    predictions and for labels alike, so that metrics are computed in the data's own units."""
    return {t.name: preprocessor.inverse_target(t.name, values[t.name]) if t.kind == "regression"
            else values[t.name] for t in tasks}
