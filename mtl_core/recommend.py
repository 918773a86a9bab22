"""Top-K recommendations for a user from a saved run.

Every catalogue item (items seen in training, with their latest attributes) is scored with
the user's features; the task scores are fused into one ranking score:

- ``product`` (default): the product of the binary tasks' probabilities (each raised to its
  weight; weight 0 leaves a task out) — the funnel probability. A task whose model output
  already includes its parent's probability (ESMM's children: pCTCVR = pCTR × pCVR) enters
  as its conditional probability (pCVR = pCTCVR / pCTR), so no stage is counted twice.
- ``weighted``: a weighted sum of the task scores, each min-max normalised over the
  candidates so tasks on different scales are comparable, plus ``price_weight`` × price ×
  probability of the deepest binary task (expected revenue).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .data import targets
from .data.keys import same_key
from .errors import DataError


def _require_users(run) -> tuple[str, str]:
    meta = run.meta
    if not meta.get("user_col"):
        raise DataError("This run's data has no user column, so there is no user to recommend for; "
                        "mark a column as the user id and train again.")
    if not meta.get("item_col"):
        raise DataError("This run's data has no item column, so there is no catalogue to recommend from; "
                        "mark a column as the item id and train again.")
    return meta["user_col"], meta["item_col"]


def _same_id(series: pd.Series, user_id) -> np.ndarray:
    return same_key(series, user_id)


def list_users(run, limit: int | None = None) -> list:
    """Users known to the run (from training), most active first."""
    user_col, _ = _require_users(run)
    inter = run.interactions
    if inter.empty:
        users = run.users[user_col].tolist() if not run.users.empty else []
    else:
        users = inter[user_col].value_counts(sort=True).index.tolist()
    return users[:limit] if limit else users


def user_history(run, user_id) -> pd.DataFrame:
    user_col, item_col = _require_users(run)
    inter = run.interactions
    if inter.empty:
        return pd.DataFrame()
    hist = inter[_same_id(inter[user_col], user_id)]
    cat = run.catalog
    if not cat.empty and len(hist):
        cat_key = cat[item_col].astype(str)
        hist = hist.assign(_k=hist[item_col].astype(str)).merge(
            cat.assign(_k=cat_key).drop(columns=[item_col]), on="_k", how="left").drop(columns="_k")
    return hist.reset_index(drop=True)


def user_feature_rows(users: pd.DataFrame, user_ids, meta: dict) -> pd.DataFrame:
    """One row per id of ``user_ids`` with the user id, the user's features and the context
    columns: a user seen in training gets their latest training values, an unknown user
    missing user features and the context defaults. Column ``_known`` says which. Shared by
    the recommendations and the catalogue evaluation."""
    user_col = meta["user_col"]
    user_cols = list(meta.get("user_cols", []))
    cols = user_cols + list(meta.get("context_cols", []))
    ids = pd.Series(list(user_ids), dtype=object)
    pos = np.full(len(ids), -1, dtype=np.int64)
    if not users.empty:
        table = users.drop_duplicates(user_col, keep="last")
        key = pd.Index(table[user_col].astype(str).str.strip())
        pos = key.get_indexer(ids.astype(str).str.strip())
    known = pos >= 0
    parts = []
    if known.any():
        part = table.iloc[pos[known]][[user_col] + [c for c in cols if c in table.columns]].copy()
        part.index = np.flatnonzero(known)
        parts.append(part)
    if (~known).any():
        part = pd.DataFrame({user_col: ids[~known].to_numpy()}, index=np.flatnonzero(~known))
        for c in user_cols:
            part[c] = np.nan
        for c, v in meta.get("context_defaults", {}).items():
            part[c] = v
        parts.append(part)
    out = pd.concat(parts).sort_index() if len(parts) > 1 else parts[0]
    out["_known"] = known
    return out.reset_index(drop=True)


def candidate_frame(run, user_id) -> pd.DataFrame:
    """One row per catalogue item, with the user's features and context defaults."""
    _require_users(run)
    cat = run.catalog
    if cat.empty:
        raise DataError("This run has no item catalogue to recommend from.")
    row = user_feature_rows(run.users, [user_id], run.meta).iloc[0]
    frame = cat.copy()
    for c in row.index:
        if c != "_known":
            frame[c] = row[c]
    frame.attrs["known_user"] = bool(row["_known"])
    return frame


def score_candidates(run, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    from .training.trainer import predict

    pre = run.preprocessor()
    tasks = run.task_infos
    frame = frame.copy()
    for spec in run.meta.get("task_specs", []):
        if spec["column"] not in frame.columns:
            frame[spec["column"]] = np.nan
    enc = pre.transform(frame)
    if len(enc) != len(frame):
        raise DataError("Some catalogue items could not be scored (missing attributes with the 'drop' cleaning strategy).")
    preds = predict(run.model(), enc, tasks, device="cpu")
    out = {}
    for t in tasks:
        p = preds[t.name]
        if t.kind == "regression":
            p = pre.inverse_target(t.name, p)
        elif t.kind == "multiclass":
            p = p.max(-1)
        out[t.name] = np.asarray(p, dtype=np.float64)
    return out


def output_parents(model) -> dict[str, str]:
    """Tasks whose model output is already multiplied by a parent task's probability, mapped
    to that parent: ESMM's children (it declares ``parent`` and ``children_tasks``)."""
    parent = getattr(model, "parent", None)
    return {c: parent for c in getattr(model, "children_tasks", ())} if parent else {}


def fuse(scores: dict[str, np.ndarray], tasks, fusion: dict | None = None,
         price: np.ndarray | None = None, parents: dict[str, str] | None = None) -> np.ndarray:
    """One ranking score per candidate from the task scores (see the module docstring);
    ``parents`` maps a task whose score includes its parent's probability to that parent."""
    fusion = fusion or {}
    parents = parents or {}
    mode = fusion.get("mode", "product")
    weights = fusion.get("weights", {})
    binary = [t.name for t in tasks if t.kind == "binary"]
    n = len(next(iter(scores.values()))) if scores else 0
    if mode == "product":
        if not binary:  # no probabilities to multiply: fall back to the weighted mode
            return fuse(scores, tasks, {**fusion, "mode": "weighted"}, price)
        logp = np.zeros(n)
        for name in binary:
            w = float(weights.get(name, 1.0))
            if w:
                lp = np.log(np.clip(scores[name], 1e-12, None))
                if name in parents:  # conditional on the parent: log(p_child / p_parent) <= 0
                    lp = np.minimum(lp - np.log(np.clip(scores[parents[name]], 1e-12, None)), 0.0)
                logp += w * lp
        fused = np.exp(logp)
    elif mode == "weighted":
        fused = np.zeros(n)
        for t in tasks:
            w = float(weights.get(t.name, 1.0))
            s = scores[t.name]
            rng = s.max() - s.min() if n else 0.0
            fused += w * ((s - s.min()) / rng if rng > 0 else np.zeros(n))
    else:
        raise DataError(f"Unknown fusion mode {mode!r}; use 'product' or 'weighted'.")
    pw = float(fusion.get("price_weight", 0.0))
    if pw and price is not None and binary:
        deepest = scores[binary[-1]]
        fused = fused + pw * np.nan_to_num(price.astype(float)) * deepest
    return fused


def known_positive_items(run, user_id) -> set[str]:
    """Items (as text) with a positive label of any binary task (its positive value, by the
    one rule of ``targets.is_positive``) in the user's training interactions: what "hide
    items already bought" hides."""
    user_col, item_col = _require_users(run)
    inter = run.interactions
    if inter.empty:
        return set()
    mine = inter[_same_id(inter[user_col], user_id)]
    pos = np.zeros(len(mine), dtype=bool)
    for t in run.task_infos:
        if t.kind == "binary" and t.column in mine.columns:
            pos |= targets.is_positive(mine[t.column], t.positive)
    return set(mine.loc[pos, item_col].astype(str))


def recommend(run, user_id, k: int = 10, fusion: dict | None = None, exclude_bought: bool = True) -> pd.DataFrame:
    """Top-``k`` items for ``user_id`` with each task's score, the fused score and the
    item's attributes."""
    user_col, item_col = _require_users(run)
    if not isinstance(k, int) or k < 1:
        raise DataError(f"k must be a positive whole number; got {k!r}.")
    frame = candidate_frame(run, user_id)
    scores = score_candidates(run, frame)
    price_col = (fusion or {}).get("price_col") or next(
        (c for c in run.meta.get("item_cols", []) if "price" in c.lower()), None)
    price = pd.to_numeric(frame[price_col], errors="coerce").to_numpy() if price_col and price_col in frame else None
    fused = fuse(scores, run.task_infos, fusion, price, output_parents(run.model()))
    out = frame[[item_col] + [c for c in run.meta.get("item_cols", []) if c in frame.columns]].copy()
    for name, s in scores.items():
        out[f"score:{name}"] = s
    out["fused_score"] = fused
    if exclude_bought:
        out = out[~out[item_col].astype(str).isin(known_positive_items(run, user_id))]
    out = out.sort_values("fused_score", ascending=False, kind="stable").head(k).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out.attrs["known_user"] = frame.attrs.get("known_user", True)
    return out
