"""Results over seeds: mean ± standard error, and conclusions computed from them.

A lab conclusion ("MMoE suffers less than shared-bottom", "the tasks' gradients conflict",
"the gates specialise") is only stated when the numbers on screen support it: two means
differ when their intervals ``mean ± 2·SE`` do not overlap, a mean differs from a reference
when the reference lies outside its interval. Otherwise the sentence says "not significant
over these seeds". With one seed nothing is significant (no standard error)."""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

#: half-width of an interval in standard errors
Z = 2.0
NOT_SIGNIFICANT = "not significant over these seeds"


def mean_se(values: Iterable) -> tuple[float | None, float | None, int]:
    """(mean, standard error = sd / √n, n) of the finite values; se None with fewer than 2."""
    v = np.asarray([float(x) for x in values if x is not None and math.isfinite(float(x))], dtype=np.float64)
    if v.size == 0:
        return None, None, 0
    se = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size >= 2 else None
    return float(v.mean()), se, int(v.size)


def interval(mean: float | None, se: float | None) -> tuple[float, float] | None:
    """``mean ± Z·se``; None without a standard error."""
    if mean is None or se is None:
        return None
    return mean - Z * se, mean + Z * se


def overlap(a: tuple[float | None, float | None], b: tuple[float | None, float | None]) -> bool:
    """True when the intervals of (mean, se) ``a`` and ``b`` overlap, or either has no SE."""
    ia, ib = interval(*a), interval(*b)
    if ia is None or ib is None:
        return True
    return ia[0] <= ib[1] and ib[0] <= ia[1]


def fmt(mean: float | None, se: float | None, digits: int = 3) -> str:
    """'0.123 ± 0.004' (or '0.123' without SE, '—' without a value)."""
    if mean is None:
        return "—"
    return f"{mean:+.{digits}f}" + (f" ± {se:.{digits}f}" if se is not None else "")


def compare_caption(name_a: str, values_a: Sequence, name_b: str, values_b: Sequence, what: str,
                    higher_is_better: bool = True) -> str:
    """A computed sentence comparing ``what`` (e.g. "difference to single-task AUC") of A and B
    over seeds: which is better when the intervals do not overlap, else not significant."""
    a, b = mean_se(values_a), mean_se(values_b)
    nums = f"{name_a} {fmt(a[0], a[1])} vs {name_b} {fmt(b[0], b[1])}, n = {min(a[2], b[2])} seeds"
    if a[0] is None or b[0] is None:
        return f"{what}: not enough results to compare {name_a} and {name_b}."
    if overlap(a[:2], b[:2]):
        why = "one seed gives no standard error" if min(a[2], b[2]) < 2 else "the intervals (±2 SE) overlap"
        return f"{what}: {name_a} and {name_b} do not differ, {NOT_SIGNIFICANT} ({nums}; {why})."
    better_a = (a[0] > b[0]) == bool(higher_is_better)
    best, other = (name_a, name_b) if better_a else (name_b, name_a)
    return f"{what}: {best} is better than {other} ({nums}; the ±2 SE intervals do not overlap)."


def versus_caption(name: str, values: Sequence, what: str, reference: float, above: str, below: str) -> str:
    """A computed sentence on whether ``what`` of ``name`` is above or below ``reference`` over
    seeds: ``above`` / ``below`` name the two conclusions (e.g. "agree" / "conflict")."""
    m, se, n = mean_se(values)
    if m is None:
        return f"{what} of {name}: no value recorded."
    iv = interval(m, se)
    nums = f"{fmt(m, se)}, n = {n} seed{'s' if n != 1 else ''}"
    if iv is None or iv[0] <= reference <= iv[1]:
        return f"{what} of {name}: neither {above} nor {below} beyond the noise, {NOT_SIGNIFICANT} ({nums})."
    return f"{what} of {name}: {above if m > reference else below} ({nums}; {reference:g} is outside ±2 SE)."


def aggregate(frame: pd.DataFrame, by: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
    """Per group of ``by``: ``<col>`` (mean over rows, i.e. seeds), ``<col>_se`` and ``n_seeds``."""
    rows = []
    for key, g in frame.groupby(list(by), sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by, key))
        n = 0
        for c in columns:
            m, se, n_c = mean_se(pd.to_numeric(g[c], errors="coerce").tolist())
            row[c], row[f"{c}_se"] = m, se
            n = max(n, n_c)
        row["n_seeds"] = n
        rows.append(row)
    return pd.DataFrame(rows, columns=list(by) + [x for c in columns for x in (c, f"{c}_se")] + ["n_seeds"])


def cells_mean_se(per_seed: Sequence[dict]) -> tuple[dict, dict]:
    """``[{key: [values...]}, ...]`` (one dict per seed: gate weights per task, or
    ``{pair: cosine}``) -> (means, standard errors) with the same keys and shapes; a standard
    error is None with one seed."""
    keys = list(dict.fromkeys(k for d in per_seed for k in (d or {})))
    means, ses = {}, {}
    for k in keys:
        arrs = [np.asarray(d[k], dtype=np.float64) for d in per_seed if d and k in d]
        shapes = {a.shape for a in arrs}
        if len(shapes) != 1:
            continue
        stack = np.stack(arrs)
        m = stack.mean(axis=0)
        se = stack.std(axis=0, ddof=1) / math.sqrt(len(arrs)) if len(arrs) >= 2 else None
        means[k] = m.tolist() if m.ndim else float(m)
        ses[k] = None if se is None else (se.tolist() if se.ndim else float(se))
    return means, ses


def specialisation_caption(means: dict, ses: dict, n_seeds: int) -> str:
    """Whether any task's gate puts more (or less) than the uniform weight 1/E on an expert
    beyond ±2 SE over seeds: computed from the gate means and standard errors."""
    hits = []
    for key, row in means.items():
        row = np.asarray(row, dtype=np.float64).reshape(-1)
        se = ses.get(key)
        uniform = 1.0 / max(1, row.size)
        for j, m in enumerate(row):
            s = None if se is None else float(np.asarray(se, dtype=np.float64).reshape(-1)[j])
            iv = interval(float(m), s)
            if iv is not None and not iv[0] <= uniform <= iv[1] and m > uniform:
                hits.append(f"{key} → expert {j + 1} ({m:.2f} vs uniform {uniform:.2f})")
    if n_seeds < 2:
        return f"Gate specialisation: {NOT_SIGNIFICANT} (one seed gives no standard error)."
    if not hits:
        return (f"Gate specialisation: no gate weight differs from the uniform 1/E beyond ±2 SE, "
                f"{NOT_SIGNIFICANT} (n = {n_seeds} seeds).")
    return f"Gates prefer an expert beyond ±2 SE over {n_seeds} seeds: " + "; ".join(hits[:6]) + "."
