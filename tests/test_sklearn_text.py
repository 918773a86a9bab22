"""The scikit-learn baseline reads free-text columns as their sparse TF-IDF (vocabulary and idf
fitted on the training split), not as the dense TF-IDF -> SVD columns the neural models get."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from mtl_core.config import ModelConfig, PreprocessConfig
from mtl_core.data.preprocessing import Preprocessor
from mtl_core.models.sklearn_baseline import SklearnBaseline
from mtl_core.types import TaskSpec


def _reviews(n: int, seed: int) -> pd.DataFrame:
    """The label is carried by which of 40 rare words a review holds: 2 SVD columns cannot
    keep that, the sparse TF-IDF keeps every word."""
    rng = np.random.default_rng(seed)
    good, bad = [f"good{i}" for i in range(20)], [f"bad{i}" for i in range(20)]
    filler = ["the", "item", "arrived", "with", "box", "colour", "size", "fits", "on", "time"]
    y = rng.integers(0, 2, n)
    text = [" ".join(rng.choice(filler, 6).tolist() + [rng.choice(good if v else bad)]) for v in y]
    return pd.DataFrame({"review": text, "shop": rng.choice(["a", "b", "c"], n), "price": rng.normal(10, 2, n),
                         "liked": y})


def _fitted(text_dims: int = 2):
    train, test = _reviews(600, 0), _reviews(300, 1)
    pp = Preprocessor(PreprocessConfig(text_dims=text_dims, time_features=False), ["shop"], ["price"],
                      [TaskSpec("liked", "binary")], text_cols=["review"])
    tr = pp.fit_transform(train)
    model = SklearnBaseline(pp.feature_spec_, pp.task_infos_, ModelConfig(arch="sklearn")).fit(tr)
    return pp, tr, pp.transform(test), test, model


def test_splits_carry_the_tfidf_with_the_training_vocabulary_only():
    pp, tr, te, test, _ = _fitted()
    vocab = pp.text_state_["review"]["vocabulary"]
    assert tr.text["review"].shape == (600, len(vocab)) and te.text["review"].shape == (300, len(vocab))
    # a word seen only in new rows is not in the vocabulary: it changes nothing
    shifted = pp.transform(test.assign(review=test["review"] + " zzzunseen"))
    assert "zzzunseen" not in vocab
    assert (shifted.text["review"] != te.text["review"]).nnz == 0
    # rows are L2-normalised TF-IDF, and the dense features are their SVD projection
    norms = np.sqrt(np.asarray(te.text["review"].multiply(te.text["review"]).sum(axis=1))).ravel()
    np.testing.assert_allclose(norms[norms > 0], 1.0, rtol=1e-9)
    st = pp.text_state_["review"]
    dense = (te.text["review"] @ np.asarray(st["components"]).T - st["mean"]) / st["scale"]
    np.testing.assert_allclose(te.num[:, -2:], dense, rtol=1e-4, atol=1e-5)
    # no text features at all: no sparse text either
    off = Preprocessor(PreprocessConfig(text_dims=0, time_features=False), ["shop"], ["price"],
                       [TaskSpec("liked", "binary")], text_cols=["review"])
    assert off.fit_transform(_reviews(50, 0)).text is None


def test_logistic_regression_reads_the_sparse_tfidf_not_the_svd_columns():
    import scipy.sparse as sp
    from sklearn.metrics import roc_auc_score

    pp, tr, te, _, model = _fitted()
    assert model.reads_text and model.text_cols_ == ["review"]
    assert [pp.feature_spec_.num_names[j] for j in model.num_keep_] == ["price"]
    # the same logistic regression, by hand: one-hot shop + price + the review's TF-IDF
    onehot = lambda s: sp.csr_matrix(np.eye(pp.feature_spec_.cat_cardinalities[0])[s.cat[:, 0]])  # noqa: E731
    X = lambda s: sp.hstack([onehot(s), sp.csr_matrix(s.num[:, :1].astype(np.float64)), s.text["review"]])  # noqa: E731
    ref = LogisticRegression(C=1 / model.config.sk_alpha, max_iter=model.config.sk_max_iter).fit(X(tr), tr.labels["liked"])
    got = model.predict(te)["liked"]
    np.testing.assert_allclose(got, ref.predict_proba(X(te))[:, 1], rtol=1e-5, atol=1e-7)
    # the words carry the label; 2 SVD columns lose most of it
    y = te.labels["liked"]
    svd = LogisticRegression().fit(tr.num, tr.labels["liked"]).predict_proba(te.num)[:, 1]
    assert roc_auc_score(y, got) > 0.95 > roc_auc_score(y, svd) + 0.1


def test_json_state_restores_the_text_model_and_refuses_rows_without_text():
    pp, _, te, _, model = _fitted()
    state = json.loads(json.dumps(model.state_dict_json()))
    assert state["format"] == "mtl_sklearn_baseline/2" and state["text_cols"] == ["review"]
    back = SklearnBaseline.from_state_json(state)
    np.testing.assert_array_equal(back.predict(te)["liked"], model.predict(te)["liked"])
    te.text = None
    with pytest.raises(ValueError, match="TF-IDF of the text column 'review'"):
        model.predict(te)


def test_a_model_saved_before_sparse_text_still_predicts_from_the_svd_columns():
    pp, tr, te, _, _ = _fitted()
    tr.text = te.text = None  # a run saved by the previous version: no sparse text
    old = SklearnBaseline(pp.feature_spec_, pp.task_infos_, ModelConfig(arch="sklearn")).fit(tr)
    state = old.state_dict_json()
    state["format"] = "mtl_sklearn_baseline/1"
    for key in ("text_cols", "num_keep"):
        state.pop(key)
    back = SklearnBaseline.from_state_json(state)
    assert not back.reads_text and back.num_keep_ == list(range(len(pp.feature_spec_.num_names)))
    np.testing.assert_allclose(back.predict(te)["liked"], old.predict(te)["liked"], rtol=1e-12)
