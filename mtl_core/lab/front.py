"""The Pareto front of two metrics: which points no other point beats on both."""
from __future__ import annotations

from typing import Any

import numpy as np


def pareto_front(xs: Any, ys: Any, maximize: tuple[bool, bool] = (True, True)) -> np.ndarray:
    """Boolean mask of non-dominated points (a point is dominated when another one is at least as
    good on both axes and strictly better on one). NaN points are never on the front."""
    x = np.asarray(xs, dtype=np.float64).reshape(-1)
    y = np.asarray(ys, dtype=np.float64).reshape(-1)
    if not maximize[0]:
        x = -x
    if not maximize[1]:
        y = -y
    ok = np.isfinite(x) & np.isfinite(y)
    out = np.zeros(x.size, dtype=bool)
    xv, yv = x[ok], y[ok]
    n = xv.size
    if n == 0:
        return out
    dominated = np.zeros(n, dtype=bool)
    step = max(1, 2_000_000 // max(n, 1))
    for s in range(0, n, step):
        xi, yi = xv[s:s + step, None], yv[s:s + step, None]
        ge = (xv[None, :] >= xi) & (yv[None, :] >= yi)
        gt = (xv[None, :] > xi) | (yv[None, :] > yi)
        dominated[s:s + step] = (ge & gt).any(axis=1)
    out[np.flatnonzero(ok)] = ~dominated
    return out
