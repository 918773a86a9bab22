"""Turn an event log (user, item, event type, time) into a per-pair funnel table with labels."""
from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from ..errors import DataError
from .keys import datetimes, time_numbers


def _need(df: pd.DataFrame, col: str | None, what: str) -> None:
    if col is None:
        raise DataError(f"The {what} column is not set; choose which column holds the {what}.")
    if col not in df.columns:
        close = difflib.get_close_matches(str(col), [str(c) for c in df.columns], n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        raise DataError(f"The {what} column {col!r} is not in the table{hint}.")


def _parse_time(s: pd.Series) -> pd.Series:
    """Numeric times stay numeric; text becomes UTC datetimes (unparseable -> NaT)."""
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s
    try:
        return datetimes(s, errors="coerce", utc=True)
    except (ValueError, TypeError, OverflowError):
        return datetimes(s, errors="coerce", utc=True, format="mixed")


def _count_before(events: pd.DataFrame, key: str, queries: pd.DataFrame) -> np.ndarray:
    """For each query row (key, t): number of ``events`` with the same key and time strictly before t."""
    n_q = len(queries)
    keys = pd.concat([queries[key], events[key]], ignore_index=True)
    codes, _ = pd.factorize(keys)
    t = np.concatenate([queries["_k"].to_numpy(dtype=np.float64), events["_k"].to_numpy(dtype=np.float64)])
    w = np.concatenate([np.zeros(n_q, dtype=np.int64), np.ones(len(events), dtype=np.int64)])
    order = np.lexsort((w, t, codes))  # queries before events at equal times: "strictly before"
    c_s, w_s = codes[order], w[order]
    excl = np.cumsum(w_s) - w_s
    start = np.r_[True, c_s[1:] != c_s[:-1]]
    base = np.maximum.accumulate(np.where(start, excl, 0))
    before = excl - base
    out = np.empty(len(order), dtype=np.int64)
    out[order] = before
    return out[:n_q]


LABEL_MODES = ("reached", "event")


def _check(df: pd.DataFrame, user_col, item_col, event_col, funnel, time_col, session_col, by,
           labels: str = "reached") -> tuple[str, list[str]]:
    """The pair key column and the stripped stages; ``DataError`` for unusable arguments."""
    if by not in ("user", "session"):
        raise DataError(f"by must be 'user' or 'session'; got {by!r}.")
    if labels not in LABEL_MODES:
        raise DataError(f"labels must be 'reached' (this stage or a later one) or 'event' (this event happened); got {labels!r}.")
    key_col = user_col if by == "user" else session_col
    _need(df, key_col, "user" if by == "user" else "session")
    _need(df, item_col, "item")
    _need(df, event_col, "event type")
    if user_col is not None:
        _need(df, user_col, "user")
    if time_col is not None:
        _need(df, time_col, "time")
    stages = [str(f).strip() for f in funnel]
    if len(stages) < 2 or len(set(stages)) != len(stages):
        raise DataError(f"The funnel needs at least two different stages in order, e.g. view, cart, purchase; got {funnel!r}.")
    if not len(df):
        raise DataError("The event log has no rows; load a file with events.")
    return key_col, stages


def _stage_events(df: pd.DataFrame, keys: list[str], cols: list[str], event_col: str, stages: list[str],
                  time_col: str | None) -> pd.DataFrame:
    """Events of a funnel stage with a key and an item: ``cols``, ``_stage`` (index in the
    funnel), ``_t`` (parsed time, or file order) and ``_k`` (float ordering key)."""
    # on codes: each distinct event type is stripped and looked up once, not once per row
    codes, uniques = pd.factorize(df[event_col])
    names = pd.Index(uniques).astype(str).str.strip()
    missing = [s for s in stages if s not in set(names)]
    if missing:
        counts = pd.Series(np.bincount(codes[codes >= 0], minlength=len(names)), index=names)
        existing = counts.groupby(level=0, sort=False).sum().sort_values(ascending=False, kind="stable").index[:10]
        raise DataError(
            f"Funnel stage(s) {', '.join(repr(m) for m in missing)} do not occur in column {event_col!r}; "
            f"its values are {', '.join(repr(v) for v in existing)}."
        )
    of_name = names.map({s: i for i, s in enumerate(stages)}).to_numpy(dtype=np.float64, na_value=np.nan)
    stage = pd.Series(np.where(codes >= 0, of_name[codes], np.nan), index=df.index)
    keep = stage.notna() & df[keys[0]].notna() & df[keys[1]].notna()
    d = df.loc[keep, cols].copy()
    d["_stage"] = stage[keep].astype(np.int64).to_numpy()
    if d.empty:
        raise DataError("No event has a funnel stage together with a user/session and an item; check the chosen columns.")
    d["_t"] = _parse_time(d[time_col]) if time_col is not None else np.arange(len(d))  # file order stands in
    d["_k"] = time_numbers(d["_t"])
    return d


def _activity_counts(d: pd.DataFrame, out: pd.DataFrame, keys: list[str], user_col: str, item_col: str,
                     by_session_user: str | None, timed: bool) -> tuple[np.ndarray, np.ndarray]:
    """First-stage events of each pair's user and item before the pair started (with a time
    column), or all of them except the pair's own (without one): they cannot encode labels."""
    first = d[d["_stage"] == 0]
    if timed:
        return _count_before(first, user_col, out), _count_before(first, item_col, out)
    pair_n = out.set_index(keys).index.map(first.groupby(keys, sort=False).size()).fillna(0).to_numpy()
    if by_session_user is not None:
        su = first.groupby([by_session_user, item_col], sort=False).size()
        pair_n = pd.MultiIndex.from_frame(out[[by_session_user, item_col]]).map(su).fillna(0).to_numpy()
    user_n = out[user_col].map(first.groupby(user_col).size()).fillna(0).to_numpy() - pair_n
    item_n = out[item_col].map(first.groupby(item_col).size()).fillna(0).to_numpy() - pair_n
    return user_n, item_n


def _latest_attrs(df: pd.DataFrame, d: pd.DataFrame, item_col: str, attrs: list[str], time_col: str | None) -> pd.DataFrame:
    """Latest value of each item attribute per item (time order, else file order)."""
    a = df.loc[df[item_col].notna(), [item_col, *attrs]].copy()
    if time_col is not None:
        a["_k"] = d["_k"].reindex(a.index).to_numpy() if len(d) == len(df) else time_numbers(_parse_time(df.loc[a.index, time_col]))
        a = a.sort_values("_k", kind="stable", na_position="first")
    return a.groupby(item_col, sort=False)[attrs].last()


def build_funnel_table(
    df: pd.DataFrame,
    *,
    user_col: str | None,
    item_col: str,
    event_col: str,
    funnel: list[str],
    time_col: str | None = None,
    session_col: str | None = None,
    by: str = "user",
    item_attr_cols: list[str] | None = None,
    labels: str = "reached",
) -> pd.DataFrame:
    """One row per (user, item) or (session, item) with a 0/1 label per funnel stage after the first.

    ``labels="reached"``: a label is 1 when the pair has an event of that stage or of a later
    one (a strict funnel: view -> cart -> purchase). ``labels="event"``: 1 when the pair has an
    event of that stage (logs such as pv/fav/cart/buy, which are not strict funnels). The
    table carries the chosen columns' roles in ``attrs["roles"]`` (user/session/item id,
    timestamp), which :func:`mtl_core.data.schema.infer_schema` applies. Features cannot
    encode the labels: item attributes (latest value), and counts of first-stage events of the
    pair's user and item before the pair's first event (without a time column: excluding the
    pair's own events). The pair's first event time is kept under ``time_col``.
    """
    key_col, stages = _check(df, user_col, item_col, event_col, funnel, time_col, session_col, by, labels)
    keys = [key_col, item_col]
    cols = list(dict.fromkeys([c for c in [key_col, item_col, user_col, time_col] if c is not None]))
    d = _stage_events(df, keys, cols, event_col, stages, time_col)

    g = d.groupby(keys, sort=False, observed=True, dropna=True)
    out = g["_stage"].max().rename("_max").to_frame()
    out["_t0"] = g["_t"].min()
    out["_k"] = g["_k"].min()
    session_user = user_col if by == "session" and user_col is not None else None
    if session_user is not None:
        out[user_col] = g[user_col].first()
    out = out.reset_index()
    user_n, item_n = _activity_counts(d, out, keys, user_col if user_col is not None else key_col, item_col,
                                      session_user, timed=time_col is not None)
    out[f"user_n_{stages[0]}"] = np.asarray(user_n, dtype=np.int64)
    out[f"item_n_{stages[0]}"] = np.asarray(item_n, dtype=np.int64)

    attrs = _item_attr_cols(df, item_col, exclude={key_col, item_col, event_col, time_col, session_col, user_col},
                            given=item_attr_cols)
    if attrs:
        out = out.join(_latest_attrs(df, d, item_col, attrs, time_col), on=item_col)
    if time_col is not None:
        out[time_col] = out["_t0"]
    _add_labels(out, d, keys, stages, labels)
    front = [c for c in [key_col, user_col if by == "session" else None, item_col, time_col] if c is not None]
    rest = [c for c in out.columns if c not in front and not c.startswith("_") and c not in stages]
    table = out[list(dict.fromkeys(front)) + rest + stages[1:]].reset_index(drop=True)
    roles = {key_col: "user_id" if by == "user" else "session_id", item_col: "item_id"}
    if by == "session" and user_col is not None:
        roles[user_col] = "user_id"
    if time_col is not None:
        roles[time_col] = "timestamp"
    table.attrs["roles"] = roles
    return table


def _add_labels(out: pd.DataFrame, d: pd.DataFrame, keys: list[str], stages: list[str], labels: str) -> None:
    """One 0/1 column per stage after the first: reached it or a later one, or had its event."""
    if labels == "reached":
        for k, name in enumerate(stages[1:], start=1):
            out[name] = (out["_max"] >= k).astype(np.int64)
        return
    present = d[[*keys, "_stage"]].drop_duplicates()
    pairs = pd.MultiIndex.from_frame(out[keys])
    for k, name in enumerate(stages[1:], start=1):
        had = pd.MultiIndex.from_frame(present.loc[present["_stage"] == k, keys])
        out[name] = pairs.isin(had).astype(np.int64)


def _item_attr_cols(df: pd.DataFrame, item_col: str, exclude: set, given: list[str] | None) -> list[str]:
    if given is not None:
        for c in given:
            _need(df, c, "item attribute")
        return [c for c in given if c not in exclude]
    cands = [c for c in df.columns if c not in exclude]
    if not cands:
        return []
    sample = df[[item_col, *cands]].dropna(subset=[item_col])
    if len(sample) > 200_000:
        sample = sample.sample(200_000, random_state=0)
    nun = sample.groupby(item_col, sort=False)[cands].nunique()
    multi = sample.groupby(item_col, sort=False).size() > 1
    if not multi.any():
        return cands
    nun = nun[multi]
    return [c for c in cands if float((nun[c] <= 1).mean()) >= 0.9]
