"""Catalogue ranking: how well each binary task's score ranks the whole catalogue for a user.

For each test user, every catalogue item (items seen in training) the user did not interact
with in training is a candidate; the user's positive test items of the task (outside their
training interactions) are the targets. Recall@K = targets in the top K / targets,
NDCG@K = DCG of the top K / ideal DCG (binary gains, ``min(targets, K)`` ideal hits),
HitRate@K = share of users with a target in the top K; averaged over users with at least one
target. A target item outside the catalogue (first seen in the test period) cannot be
recommended and counts as a miss. The ``popularity`` baseline ranks items by their number of
training positives of the task. Ties are broken by catalogue position, in both rankings.

Everything is vectorised: the model scores ``[users, items]`` blocks built from the encoded
user rows and item rows (columns taken from the item side or the user side exactly as
``recommend.candidate_frame`` does), and the top K comes from ``np.partition`` on the block.
When users × items exceeds ``max_pairs``, users are sampled with ``seed`` (``sampled``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..types import EncodedSplit
from ..values import finite as _f
from .ranking import _discount_cumsum
from .task_warnings import catalog_warnings

__all__ = ["catalog_ranking", "top_k", "ranking_at_k"]


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of each row's ``k`` largest scores, best first; ties go to the lower
    index. ``[B, I] -> [B, min(k, I)]``, without sorting whole rows."""
    s = np.asarray(scores, dtype=np.float64)
    n = s.shape[1]
    k = min(int(k), n)
    if k == 0:
        return np.zeros((s.shape[0], 0), dtype=np.int64)
    if k < n:
        kth = -np.partition(-s, k - 1, axis=1)[:, k - 1]
        greater = s > kth[:, None]
        eq = s == kth[:, None]
        need = k - greater.sum(axis=1)
        take = greater | (eq & (np.cumsum(eq, axis=1) <= need[:, None]))
        idx = np.nonzero(take)[1].reshape(-1, k)
    else:
        idx = np.tile(np.arange(n), (s.shape[0], 1))
    order = np.argsort(-np.take_along_axis(s, idx, axis=1), axis=1, kind="stable")
    return np.take_along_axis(idx, order, axis=1)


def ranking_at_k(hits: np.ndarray, n_targets: np.ndarray, k: int) -> dict:
    """Per-user sums of recall, NDCG and hit from ``hits`` ``[B, K]`` (bool, best first)."""
    n_targets = np.asarray(n_targets, dtype=np.float64)
    disc = 1.0 / np.log2(np.arange(hits.shape[1]) + 2.0)
    dcg = (hits * disc).sum(axis=1)
    idcg = _discount_cumsum(np.minimum(n_targets, k).astype(np.int64), k)
    return {"recall": hits.sum(axis=1) / n_targets, "ndcg": dcg / idcg, "hit": hits.any(axis=1).astype(np.float64)}


def _encoded_side(pre, frame: pd.DataFrame, filler: pd.Series) -> tuple[EncodedSplit, np.ndarray]:
    """Encode ``frame`` with the other side's columns filled from ``filler`` (one valid row,
    so a 'drop' cleaning strategy does not drop rows for them); ``ok`` marks kept rows."""
    frame = frame.copy()
    needed = pre.cat_cols + pre.num_cols + list(getattr(pre, "text_cols", []))
    needed += [c for c in (getattr(pre, "time_col", None),) if c]
    for c in needed:
        if c not in frame.columns:
            frame[c] = filler.get(c, np.nan)
    enc = pre.transform(frame)
    ok = np.zeros(len(frame), dtype=bool)
    ok[enc.index] = True
    cat = np.zeros((len(frame), enc.cat.shape[1]), dtype=np.int64)
    num = np.zeros((len(frame), enc.num.shape[1]), dtype=np.float32)
    cat[enc.index], num[enc.index] = enc.cat, enc.num
    text = None
    if enc.text:  # sparse TF-IDF rows back at the frame's positions (empty rows where dropped)
        import scipy.sparse as sp

        place = sp.csr_matrix((np.ones(len(enc.index)), (enc.index, np.arange(len(enc.index)))),
                              shape=(len(frame), len(enc.index)))
        text = {c: (place @ X).tocsr() for c, X in enc.text.items()}
    return EncodedSplit(cat=cat, num=num, labels={}, index=np.arange(len(frame)), text=text), ok


def _num_names(pre) -> list[str]:
    """Names of the encoded numeric features: inputs, then derived text/time features."""
    spec = getattr(pre, "feature_spec_", None)
    return list(spec.num_names) if spec is not None else list(pre.num_cols)


def _num_source(pre, j: int, name: str) -> str | None:
    """The input column a numeric feature comes from: itself, the text column of a text
    feature, the item column for the item's age (time feature), else the row's context."""
    if j < len(pre.num_cols):
        return pre.num_cols[j]
    for col in getattr(pre, "text_cols", []):
        if name.startswith(f"{col}:text"):
            return col
    return pre.item_col if name.endswith("_since_item_first_seen") else None


class _PairScorer:
    """Scores ``[users, items]`` blocks: item-side columns from the catalogue rows, the rest
    (user id, user features, context) from the user rows."""

    def __init__(self, model, pre, tasks, catalog: pd.DataFrame, user_rows: pd.DataFrame, meta: dict,
                 device=None, batch_size: int = 65536):
        item_side = {meta["item_col"], *meta.get("item_cols", [])}
        self.items, self.item_ok = _encoded_side(pre, catalog, user_rows.iloc[0])
        self.users, self.user_ok = _encoded_side(pre, user_rows.drop(columns="_known"), catalog.iloc[0])
        self.cat_item = np.array([c in item_side for c in pre.cat_cols], dtype=bool)
        self.num_item = np.array([_num_source(pre, j, name) in item_side
                                  for j, name in enumerate(_num_names(pre))], dtype=bool)
        # a model that reads the sparse TF-IDF (the scikit-learn baseline) gets it per pair too
        self.text_item = ({c: c in item_side for c in self.items.text or {}}
                          if getattr(model, "reads_text", False) else {})
        self.model, self.tasks, self.device, self.batch_size = model, tasks, device, batch_size
        self.pre, self.user_ids = pre, user_rows[meta["user_col"]].to_numpy(dtype=object)
        self.item_ids = catalog[meta["item_col"]].to_numpy(dtype=object)

    def _text(self, users: np.ndarray, n: int) -> dict | None:
        if not self.text_item:
            return None
        rows_i, rows_u = np.tile(np.arange(n), len(users)), np.repeat(users, n)
        return {c: self.items.text[c][rows_i] if on_item else self.users.text[c][rows_u]
                for c, on_item in self.text_item.items()}

    def __call__(self, users: np.ndarray) -> dict[str, np.ndarray]:
        from ..training.trainer import predict

        b, n = len(users), len(self.item_ok)
        cat = np.where(self.cat_item, self.items.cat[None], self.users.cat[users][:, None])
        num = np.where(self.num_item, self.items.num[None], self.users.num[users][:, None])
        if getattr(self.pre, "collab_", None) is not None:  # pair features belong to (user, item), not one side
            cols, pair = self.pre.collab_block(np.repeat(self.user_ids[users], n), np.tile(self.item_ids, b))
            num[:, :, cols] = pair.reshape(b, n, -1)
        split = EncodedSplit(cat=cat.reshape(b * n, -1), num=num.reshape(b * n, -1).astype(np.float32),
                             labels={}, index=np.arange(b * n), text=self._text(users, n))
        preds = predict(self.model, split, self.tasks, self.device, self.batch_size)
        bad = ~(self.item_ok[None, :] & self.user_ok[users][:, None])
        out = {}
        for t in self.tasks:
            if t.kind != "binary":
                continue
            s = np.asarray(preds[t.name], dtype=np.float64).reshape(b, n)
            out[t.name] = np.where(bad | ~np.isfinite(s), -np.inf, s)
        return out


def _pairs(uindex: pd.Index, iindex: pd.Index, users, items) -> tuple[np.ndarray, np.ndarray]:
    """(user position, item position or -1) of the rows whose user is in ``uindex``: only
    those rows are looked up (a few sampled users among millions of training rows)."""
    rows = np.flatnonzero(pd.Series(users, copy=False).isin(uindex).to_numpy())
    return uindex.get_indexer(users[rows]), iindex.get_indexer(items[rows])


def _sample_users(users: np.ndarray, n_items: int, max_pairs: int, seed: int) -> tuple[np.ndarray, bool]:
    cap = max(1, int(max_pairs) // max(n_items, 1))
    if len(users) <= cap:
        return users, False
    pick = np.sort(np.random.default_rng(seed).choice(len(users), size=cap, replace=False))
    return users[pick], True


def catalog_ranking(model, pre, tasks, df: pd.DataFrame, encoded: dict, catalog: pd.DataFrame,
                    users: pd.DataFrame, meta: dict, *, k: int = 10, max_pairs: int = 1_000_000,
                    seed: int = 0, device=None, batch_size: int = 65536) -> dict:
    """``{task: {"recall@k", "ndcg@k", "hit@k", "users", ..., "baselines": {"popularity": {...}}}}``
    for every binary task (empty without a catalogue or a binary task)."""
    from ..recommend import user_feature_rows

    binary = [t for t in tasks if t.kind == "binary"]
    if not binary or catalog.empty:
        return {}
    ucol, icol = meta["user_col"], meta["item_col"]
    iindex = pd.Index(catalog[icol])
    tr, te = encoded["train"], encoded["test"]
    tr_u, tr_i = df[ucol].to_numpy()[tr.index], df[icol].to_numpy()[tr.index]
    te_u, te_i = df[ucol].to_numpy()[te.index], df[icol].to_numpy()[te.index]
    any_pos = np.zeros(len(te), dtype=bool)
    for t in binary:
        any_pos |= te.labels[t.name] == 1
    all_users = pd.unique(te_u[any_pos])
    chosen, sampled = _sample_users(np.asarray(all_users), len(iindex), max_pairs, seed)
    uindex = pd.Index(chosen)
    n_items = len(iindex)
    su, si = _pairs(uindex, iindex, tr_u, tr_i)
    seen = np.unique(su[si >= 0].astype(np.int64) * n_items + si[si >= 0])
    targets, pops = {}, {}
    for t in binary:
        pos_tr = tr.labels[t.name] == 1
        ti = iindex.get_indexer(tr_i[pos_tr])
        pops[t.name] = np.bincount(ti[ti >= 0], minlength=n_items).astype(np.float64)
        pos_te = te.labels[t.name] == 1
        qu, qi = _pairs(uindex, iindex, te_u[pos_te], te_i[pos_te])
        outside = qi < 0
        # distinct (user, item) targets; items outside the catalogue get distinct negative codes
        codes = np.where(outside, -1 - np.arange(len(qi)), qu.astype(np.int64) * n_items + qi)
        qitem = np.where(outside, -1, qi)
        codes, first = np.unique(codes, return_index=True)
        qu, qitem = qu[first], qitem[first]
        fresh = ~np.isin(codes, seen) | (qitem < 0)
        targets[t.name] = (np.sort(codes[fresh & (qitem >= 0)]), np.bincount(qu[fresh], minlength=len(uindex)))
    if not len(uindex):
        return {t.name: _summary({}, 0, k, len(all_users), sampled, n_items) for t in binary}
    rows = user_feature_rows(users, list(uindex), meta)
    scorer = _PairScorer(model, pre, tasks, catalog, rows, meta, device, batch_size)
    sums = {t.name: {"model": np.zeros(3), "popularity": np.zeros(3)} for t in binary}
    step = max(1, int(batch_size) // max(n_items, 1))
    for start in range(0, len(uindex), step):
        ub = np.arange(start, min(start + step, len(uindex)))
        scores = scorer(ub)
        block_seen = _seen_mask(seen, ub, n_items)
        for t in binary:
            codes, n_t = targets[t.name]
            has = n_t[ub] > 0
            if not has.any():
                continue
            for name, s in (("model", scores[t.name]), ("popularity", np.broadcast_to(pops[t.name], scores[t.name].shape))):
                top = top_k(np.where(block_seen, -np.inf, s)[has], k)
                hits = _member(ub[has, None].astype(np.int64) * n_items + top, codes)
                r = ranking_at_k(hits, n_t[ub[has]], k)
                sums[t.name][name] += [r["recall"].sum(), r["ndcg"].sum(), r["hit"].sum()]
    out = {}
    for t in binary:
        n_users = int((targets[t.name][1] > 0).sum())
        out[t.name] = _summary(sums[t.name], n_users, k, len(all_users), sampled, n_items)
    for name, warns in catalog_warnings(out).items():
        out[name]["warnings"] = warns
    return out


def _member(query: np.ndarray, sorted_codes: np.ndarray) -> np.ndarray:
    """``np.isin`` for a sorted reference array, by binary search (no sort per call)."""
    if not len(sorted_codes):
        return np.zeros(query.shape, dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_codes, query), len(sorted_codes) - 1)
    return sorted_codes[pos] == query


def _seen_mask(seen: np.ndarray, ub: np.ndarray, n_items: int) -> np.ndarray:
    lo, hi = np.searchsorted(seen, [ub[0] * n_items, (ub[-1] + 1) * n_items])
    mask = np.zeros((len(ub), n_items), dtype=bool)
    codes = seen[lo:hi]
    mask[codes // n_items - ub[0], codes % n_items] = True
    return mask


def _summary(sums: dict, n_users: int, k: int, users_total: int, sampled: bool, n_items: int) -> dict:
    def block(v) -> dict:
        if not n_users:
            return {f"recall@{k}": None, f"ndcg@{k}": None, f"hit@{k}": None}
        return {f"recall@{k}": _f(v[0] / n_users), f"ndcg@{k}": _f(v[1] / n_users), f"hit@{k}": _f(v[2] / n_users)}

    return {**block(sums.get("model", np.zeros(3))), "users": int(n_users), "k": int(k),
            "items": int(n_items), "test_users": int(users_total), "sampled": bool(sampled),
            "baselines": {"popularity": block(sums.get("popularity", np.zeros(3)))}}


def catalog_table(catalog: dict) -> pd.DataFrame:
    """One row per binary task and ranker (``model``, ``popularity``) for the Results page."""
    rows = []
    for task, c in (catalog or {}).items():
        k = c.get("k", 10)
        keys = (f"recall@{k}", f"ndcg@{k}", f"hit@{k}")
        rows.append({"task": task, "ranker": "model", **{x: c.get(x) for x in keys}, "users": c.get("users")})
        for name, b in (c.get("baselines") or {}).items():
            rows.append({"task": task, "ranker": name, **{x: b.get(x) for x in keys}, "users": c.get("users")})
    return pd.DataFrame(rows)
