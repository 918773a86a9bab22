"""Collaborative features of a (user, item) row, fitted on the training rows' interactions only.

The training split's rows give an implicit-feedback matrix ``X`` (users x items, ``log1p`` of
how many training rows hold the pair; labels are never read). Two families of features:

- ``mf``: truncated SVD of ``X`` (scikit-learn ``TruncatedSVD``): the item factors are the
  SVD components ``V[:, i]``, a user's factors are the user's row folded in, ``X[u] @ V.T``,
  and the affinity is their dot product (the rank-k reconstruction of ``X[u, i]``).
- ``graph``: from the user-item bipartite graph: the item's and the user's degree (distinct
  training partners, log1p) and the co-occurrence score: the mean, over the user's other
  training items ``j``, of ``C[i, j] / deg(j)`` -- the share of ``j``'s users who also have
  ``i`` (``C = B.T @ B``, ``B`` the binary matrix).

Leakage: a training row's own pair is in the matrix that scores it, a test row's is not.
Training rows are therefore scored leave-one-out: the row's own interaction is taken out of
``X`` (exact for the fold-in user factors, the affinity, the degrees and the co-occurrence;
the SVD components themselves keep it), so training and test rows see the same kind of
features. Rows of other splits use the training matrix as it is.

Unseen users or items (not in the training rows) get 0 in every feature that depends on them
(0 is the training mean: features are standardised on the training rows) and a 1 in the
``collab:user_unseen`` / ``collab:item_unseen`` flag column. All computations are sparse and
vectorised (row chunks, no per-row Python). The fitted state is plain JSON (the training
pairs and the SVD components); nothing is pickled.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD

from ..keys import factorize_keys, lookup

METHODS = ("mf", "graph")
_CHUNK = 4096


def _positions(s: pd.Series | None, index: pd.Index, n: int) -> np.ndarray:
    if s is None:
        return np.full(n, -1, dtype=np.int64)
    codes, keys = factorize_keys(s)
    return lookup(codes, keys, index)


class CollabFeatures:
    """``fit(train_df)`` on the training rows, ``transform(df, train=...)`` any rows (see the
    module docstring); ``to_dict`` / ``from_dict`` for JSON persistence."""

    def __init__(self, methods: list[str], user_col: str, item_col: str, dims: int = 8, seed: int = 0) -> None:
        self.methods = [m for m in METHODS if m in methods]
        self.user_col = user_col
        self.item_col = item_col
        self.dims = int(dims)
        self.seed = int(seed)

    # ------------------------------------------------------------------ fit
    def fit(self, df: pd.DataFrame) -> "CollabFeatures":
        users = pd.Index(np.unique(factorize_keys(df[self.user_col])[1]), dtype=object)
        items = pd.Index(np.unique(factorize_keys(df[self.item_col])[1]), dtype=object)
        u = _positions(df[self.user_col], users, len(df))
        i = _positions(df[self.item_col], items, len(df))
        ok = (u >= 0) & (i >= 0)
        counts = sp.coo_matrix((np.ones(int(ok.sum())), (u[ok], i[ok])), shape=(len(users), len(items))).tocsr()
        counts.sum_duplicates()
        self.users_, self.items_ = [str(k) for k in users], [str(k) for k in items]
        coo = counts.tocoo()
        self.pairs_ = {"user": coo.row.tolist(), "item": coo.col.tolist(), "count": coo.data.astype(int).tolist()}
        self.components_ = np.zeros((0, len(items)))
        k = int(min(self.dims, min(counts.shape) - 1))
        if "mf" in self.methods and k >= 1:
            svd = TruncatedSVD(n_components=k, random_state=self.seed).fit(self._matrices()["X"])
            self.components_ = svd.components_.astype(np.float32).astype(np.float64)
        self.__dict__.pop("_cache", None)
        self.mean_, self.scale_ = np.zeros(len(self.names_)), np.ones(len(self.names_))
        Z = self._raw(df, train=True)[0]
        mean, scale = (Z.mean(axis=0), Z.std(axis=0)) if len(Z) else (np.zeros(Z.shape[1]), np.ones(Z.shape[1]))
        self.mean_, self.scale_ = mean, np.where(scale > 1e-12, scale, 1.0)
        return self

    @property
    def names_(self) -> list[str]:
        out: list[str] = []
        k = len(getattr(self, "components_", ()))
        if "mf" in self.methods and k:
            out += [f"collab:user_f{j}" for j in range(k)] + [f"collab:item_f{j}" for j in range(k)]
            out.append("collab:mf_affinity")
        if "graph" in self.methods:
            out += ["collab:user_degree", "collab:item_degree", "collab:cooccurrence"]
        return out

    def names(self) -> list[str]:
        """The feature columns, the two flag columns last."""
        return self.names_ + ["collab:user_unseen", "collab:item_unseen"]

    def _who(self) -> np.ndarray:
        """Which id each standardised column depends on: 1 user, 2 item, 3 both."""
        k = len(self.components_) if "mf" in self.methods else 0
        who = [1] * k + [2] * k + ([3] if k else [])
        if "graph" in self.methods:
            who += [1, 2, 3]
        return np.asarray(who, dtype=np.int64)

    # ------------------------------------------------------------------ matrices
    def _matrices(self) -> dict[str, Any]:
        cache = self.__dict__.get("_cache")
        if cache is None:
            shape = (len(self.users_), len(self.items_))
            p = self.pairs_
            counts = sp.csr_matrix((np.asarray(p["count"], dtype=np.float64), (p["user"], p["item"])), shape=shape)
            B = counts.copy()
            B.data[:] = 1.0
            X = counts.copy()
            X.data = np.log1p(X.data)
            cache = {"counts": counts, "B": B, "X": X,
                     "deg_u": np.asarray(B.sum(axis=1)).ravel(), "deg_i": np.asarray(B.sum(axis=0)).ravel()}
            self.__dict__["_cache"] = cache
        return cache

    def _cooc(self) -> sp.csr_matrix:
        m = self._matrices()
        if "C" not in m:
            B = m["B"]
            m["C"] = (B.T @ B).tocsr().astype(np.float32)
            m["inv_deg"] = 1.0 / np.maximum(m["deg_i"], 1.0)
        return m["C"]

    # ------------------------------------------------------------------ transform
    def _raw(self, df: pd.DataFrame, train: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(df)
        u = _positions(df[self.user_col] if self.user_col in df.columns else None, pd.Index(self.users_, dtype=object), n)
        i = _positions(df[self.item_col] if self.item_col in df.columns else None, pd.Index(self.items_, dtype=object), n)
        m = self._matrices()
        seen_u, seen_i = u >= 0, i >= 0
        uu, ii = np.maximum(u, 0), np.maximum(i, 0)
        both = seen_u & seen_i
        cnt = np.where(both, np.asarray(m["counts"][uu, ii]).ravel(), 0.0) if n else np.zeros(0)
        # the row's own interaction, taken out on training rows (leave-one-out)
        own_x = np.log1p(cnt) - np.log1p(np.maximum(cnt - 1, 0)) if train else np.zeros(n)
        own_b = ((cnt == 1) & train).astype(np.float64)
        blocks = []
        if "mf" in self.methods and len(self.components_):
            V = self.components_
            Ui = np.zeros((n, V.shape[0]))
            for s in range(0, n, _CHUNK):
                Ui[s:s + _CHUNK] = np.asarray(m["X"][uu[s:s + _CHUNK]] @ V.T)
            Vi = V[:, ii].T
            Ui -= own_x[:, None] * Vi
            blocks += [Ui, Vi, np.sum(Ui * Vi, axis=1, keepdims=True)]
        if "graph" in self.methods:
            blocks.append(self._graph(uu, ii, cnt, own_b))
        Z = np.hstack(blocks) if blocks else np.zeros((n, 0))
        return Z, seen_u, seen_i

    def _graph(self, uu: np.ndarray, ii: np.ndarray, cnt: np.ndarray, own_b: np.ndarray) -> np.ndarray:
        m = self._matrices()
        C, inv = self._cooc(), m["inv_deg"]
        B = m["B"]
        has = (cnt > 0).astype(np.float64)  # the pair is in the training matrix
        s1, s0 = np.zeros(len(uu)), np.zeros(len(uu))
        Bs = B @ sp.diags(inv)
        for s in range(0, len(uu), _CHUNK):
            rows = Bs[uu[s:s + _CHUNK]]
            s1[s:s + _CHUNK] = np.asarray(rows.multiply(C[ii[s:s + _CHUNK]]).sum(axis=1)).ravel()
            s0[s:s + _CHUNK] = np.asarray(rows.sum(axis=1)).ravel()
        # leave out j = i (C[i, i] / deg(i) = 1 when the user has i), then the row's own pair
        s1 -= has
        s0 -= has * inv[ii]
        s1 -= own_b * s0  # C'[i, j] = C[i, j] - 1 for the user's other items j
        deg_u, deg_i = m["deg_u"][uu], m["deg_i"][ii]
        others = deg_u - has
        cooc = np.where(others > 0, s1 / np.maximum(others, 1.0), 0.0)
        return np.stack([np.log1p(deg_u - own_b), np.log1p(deg_i - own_b), cooc], axis=1)

    def transform(self, df: pd.DataFrame, train: bool = False) -> np.ndarray:
        """float64 ``[n, len(names())]``: standardised features, then the unseen-user and
        unseen-item flags. ``train=True`` only for the rows ``fit`` saw (leave-one-out)."""
        if not hasattr(self, "mean_"):
            raise RuntimeError("CollabFeatures is not fitted yet; call fit(train_df) first.")
        Z, seen_u, seen_i = self._raw(df, train)
        Z = (Z - self.mean_) / self.scale_
        who = self._who()
        known = np.stack([seen_u, seen_i, seen_u & seen_i], axis=1)  # user, item, both
        Z = np.where(known[:, who - 1], Z, 0.0) if Z.shape[1] else Z
        flags = np.stack([~seen_u, ~seen_i], axis=1).astype(np.float64)
        return np.hstack([np.where(np.isfinite(Z), Z, 0.0), flags])

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        return {"methods": list(self.methods), "user_col": self.user_col, "item_col": self.item_col,
                "dims": self.dims, "seed": self.seed, "users": self.users_, "items": self.items_,
                "pairs": self.pairs_, "components": self.components_.tolist(),
                "mean": self.mean_.tolist(), "scale": self.scale_.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "CollabFeatures":
        obj = cls(d["methods"], d["user_col"], d["item_col"], d.get("dims", 8), d.get("seed", 0))
        obj.users_, obj.items_ = [str(k) for k in d["users"]], [str(k) for k in d["items"]]
        obj.pairs_ = {k: list(d["pairs"][k]) for k in ("user", "item", "count")}
        comps = np.asarray(d["components"], dtype=np.float64)
        obj.components_ = comps.reshape(-1, len(obj.items_)) if comps.size else np.zeros((0, len(obj.items_)))
        obj.mean_ = np.asarray(d["mean"], dtype=np.float64)
        obj.scale_ = np.asarray(d["scale"], dtype=np.float64)
        return obj
