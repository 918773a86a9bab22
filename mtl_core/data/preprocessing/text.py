"""Free-text columns as dense features, fitted on the training split only.

TF-IDF (scikit-learn's ``TfidfVectorizer``: word unigrams and bigrams, sublinear term
frequency, at most ``MAX_TERMS`` terms seen in at least two training rows) reduced by
``TruncatedSVD`` to ``dims`` dense columns, standardised on the training rows. The fitted
state is plain JSON: the vocabulary, the idf weights, the SVD components and the
standardisation, so a saved run transforms new rows the same way without pickle.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

MAX_TERMS = 5000
_PARAMS = dict(lowercase=True, ngram_range=(1, 2), token_pattern=r"(?u)\b\w\w+\b")


def _docs(s: pd.Series | None, n: int) -> list[str]:
    if s is None:
        return [""] * n
    return s.astype(object).where(s.notna(), "").astype(str).tolist()


def _tfidf(docs: list[str], vocabulary: list[str], idf: np.ndarray):
    counts = CountVectorizer(vocabulary={t: i for i, t in enumerate(vocabulary)}, **_PARAMS).transform(docs)
    counts = counts.astype(np.float64)
    counts.data = 1.0 + np.log(counts.data)  # sublinear tf, as TfidfVectorizer(sublinear_tf=True)
    return normalize(counts.multiply(idf.reshape(1, -1)).tocsr(), norm="l2")


def fit(s: pd.Series, dims: int, seed: int = 0) -> dict[str, Any]:
    """JSON state of one text column from its training values (no features when the
    training text has fewer than two distinct terms)."""
    docs = _docs(s, len(s))
    min_df = 2 if len(docs) >= 50 else 1
    vec = TfidfVectorizer(max_features=MAX_TERMS, min_df=min_df, sublinear_tf=True, **_PARAMS)
    try:
        vec.fit(docs)
    except ValueError:  # empty vocabulary: no words in the training text
        return {"vocabulary": [], "idf": [], "components": [], "mean": [], "scale": []}
    vocab = sorted(vec.vocabulary_, key=vec.vocabulary_.get)
    idf = np.asarray(vec.idf_, dtype=np.float64)
    X = _tfidf(docs, vocab, idf)
    k = int(min(dims, X.shape[1] - 1, X.shape[0] - 1))
    if k < 1:
        return {"vocabulary": [], "idf": [], "components": [], "mean": [], "scale": []}
    svd = TruncatedSVD(n_components=k, random_state=seed).fit(X)
    comps = svd.components_.astype(np.float32).astype(np.float64)
    Z = np.asarray(X @ comps.T)
    mean, scale = Z.mean(axis=0), Z.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    return {"vocabulary": vocab, "idf": idf.tolist(), "components": comps.tolist(),
            "mean": mean.tolist(), "scale": scale.tolist()}


def names(col: str, state: dict[str, Any]) -> list[str]:
    return [f"{col}:text{i}" for i in range(len(state.get("components") or []))]


def tfidf(s: pd.Series | None, n: int, state: dict[str, Any]):
    """Sparse float64 ``[n, terms]`` TF-IDF of ``s`` with the training vocabulary and idf
    (rows L2-normalised; a missing column: empty rows); ``None`` when the column has no
    features. The scikit-learn baseline reads this matrix directly."""
    if not state.get("components"):
        return None
    vocab = list(state["vocabulary"])
    if s is None:
        import scipy.sparse as sp

        return sp.csr_matrix((n, len(vocab)))
    return _tfidf(_docs(s, n), vocab, np.asarray(state["idf"], dtype=np.float64))


def project(X, n: int, state: dict[str, Any]) -> np.ndarray:
    """float64 ``[n, dims]`` dense features from the TF-IDF ``X`` (``tfidf``'s output)."""
    comps = np.asarray(state.get("components") or [], dtype=np.float64)
    if X is None or comps.size == 0:
        return np.zeros((n, comps.shape[0] if comps.ndim == 2 else 0))
    Z = np.asarray(X @ comps.T)
    return (Z - np.asarray(state["mean"])) / np.asarray(state["scale"])


def transform(s: pd.Series | None, n: int, state: dict[str, Any]) -> np.ndarray:
    """float64 ``[n, dims]`` features of ``s`` (a missing column: the training mean, 0)."""
    if s is None:
        return project(None, n, state)
    return project(tfidf(s, n, state), n, state)
