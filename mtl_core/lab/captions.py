"""Conclusions of the lab's figures, computed from the numbers they show (never fixed
sentences): each function returns plain sentences that say "not significant over these seeds"
when the ±2 SE intervals overlap (see ``seeds``)."""
from __future__ import annotations

import pandas as pd

from .seeds import NOT_SIGNIFICANT, cells_mean_se, compare_caption, fmt, overlap, specialisation_caption, \
    versus_caption


def pareto_captions(points: pd.DataFrame, axis_a: str, axis_b: str, maximize: tuple[bool, bool]) -> list[str]:
    """Where the learned weightings and the single-task point lie against the sweep's best
    fixed weighting of each axis, with standard errors when the sweep ran on several seeds."""
    p = points.copy()
    out = []
    sweep = p[p["kind"] == "sweep"]
    n = int(pd.to_numeric(p.get("n_seeds", pd.Series([1])), errors="coerce").max() or 1)
    for col, se_col, axis, hi in (("x", "x_se", axis_a, maximize[0]), ("y", "y_se", axis_b, maximize[1])):
        if sweep.empty:
            break
        best = sweep.loc[sweep[col].idxmax() if hi else sweep[col].idxmin()]
        for _, r in p[p["kind"].isin(["learned", "single"])].iterrows():
            a = (float(r[col]), _se(r.get(se_col)))
            b = (float(best[col]), _se(best.get(se_col)))
            nums = f"{fmt(*a)} vs {fmt(*b)}"
            if overlap(a, b):
                out.append(f"{axis}: {r['label']} and the best fixed weighting ({best['label']}) do not differ, "
                           f"{NOT_SIGNIFICANT} ({nums}, n = {n}).")
            else:
                word = "better" if (a[0] > b[0]) == hi else "worse"
                out.append(f"{axis}: {r['label']} is {word} than the best fixed weighting ({best['label']}; "
                           f"{nums}, n = {n}).")
    return out


def _se(v) -> float | None:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if v == v else None


def correlation_captions(per_seed: pd.DataFrame) -> list[str]:
    """Per task and the lowest and highest correlation: the shared models' paired improvement
    over single-task models compared between models (``per_seed``: the lab's raw rows)."""
    from .correlation import paired_gaps

    if per_seed is None or per_seed.empty or "single" not in set(per_seed["model"]):
        return []
    raw = per_seed.copy()
    raw["gap"] = paired_gaps(raw)
    models = [m for m in dict.fromkeys(raw["model"]) if m != "single"]
    rhos = sorted(set(raw["correlation"]))
    out = []
    for task, g in raw.groupby("task", sort=False):
        metric = str(g["metric"].iloc[0]).upper()
        for rho in dict.fromkeys([rhos[0], rhos[-1]]):
            at = g[g["correlation"] == rho]
            gaps = {m: at.loc[at["model"] == m, "gap"].dropna().tolist() for m in models}
            what = f"{metric} {task} at ρ = {rho:g}, improvement over single-task"
            if len(models) >= 2:
                out.append(compare_caption(models[0], gaps[models[0]], models[1], gaps[models[1]], what))
            for m in models:
                out.append(versus_caption(m, gaps[m], what, 0.0, "better than single-task",
                                          "worse than single-task"))
    return out


def diagnostics_captions(diagnostics: list[dict]) -> list[str]:
    """Over the seeds of a negative-transfer check: whether each task pair's gradients agree or
    conflict (cosine vs 0) and whether the gates specialise (vs the uniform 1/E)."""
    cos = [d.get("cosine") or {} for d in diagnostics or []]
    gates = [d.get("gates") or {} for d in diagnostics or []]
    out = []
    pairs = list(dict.fromkeys(k for c in cos for k in c))
    for pair in pairs:
        vals = [c[pair] for c in cos if pair in c]
        out.append(versus_caption(pair.replace("|", " · "), vals, "Gradient cosine (last epoch)", 0.0,
                                  "the tasks' gradients agree", "the tasks' gradients conflict"))
    if any(gates):
        means, ses = cells_mean_se(gates)
        out.append(specialisation_caption(means, ses, sum(1 for g in gates if g)))
    return out
