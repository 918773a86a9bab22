"""recommend: score fusion and the "already bought" filter on real (small) runs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from mtl_core.config import RunConfig
from mtl_core.data.synth import make_synthetic
from mtl_core.pipeline import run_experiment
from mtl_core.recommend import fuse, list_users, recommend, user_history
from mtl_core.runs import load_run
from mtl_core.types import TaskInfo

torch.set_num_threads(1)


def _config(tasks, arch="shared_bottom") -> RunConfig:
    cfg = RunConfig()
    cfg.data.tasks = list(tasks)
    cfg.model.arch = arch
    cfg.model.hidden = [8]
    cfg.model.tower_hidden = [4]
    cfg.train.epochs = 1
    cfg.train.batch_size = 256
    cfg.train.diagnostics = False
    return cfg


@pytest.fixture(scope="module")
def shop() -> pd.DataFrame:
    return make_synthetic(rows=2000, seed=3)


def test_product_fusion_counts_the_esmm_parent_once(shop, tmp_path):
    """ESMM's child output is already pCTCVR = pCTR x pCVR: the funnel product is pCTR x pCVR
    (= the child's score), not pCTR x pCTCVR."""
    res = run_experiment(_config(["click", "purchase"], arch="esmm"), shop, runs_root=tmp_path)
    run = load_run(res.run_dir)
    recs = recommend(run, list_users(run)[0], k=20, exclude_bought=False)
    ctr, ctcvr = recs["score:click"].to_numpy(), recs["score:purchase"].to_numpy()
    assert (ctcvr <= ctr * (1 + 1e-5)).all()
    np.testing.assert_allclose(recs["fused_score"], ctcvr, rtol=1e-4)
    assert not np.allclose(recs["fused_score"], ctr * ctcvr, rtol=1e-3)


def test_fuse_uses_the_conditional_probability_of_a_child():
    tasks = [TaskInfo("click", "binary"), TaskInfo("buy", "binary")]
    scores = {"click": np.array([0.5, 0.2]), "buy": np.array([0.1, 0.1])}
    np.testing.assert_allclose(fuse(scores, tasks), [0.05, 0.02])  # independent outputs
    np.testing.assert_allclose(fuse(scores, tasks, parents={"buy": "click"}), [0.1, 0.1])
    np.testing.assert_allclose(fuse(scores, tasks, {"weights": {"click": 1, "buy": 0}}, parents={"buy": "click"}),
                               [0.5, 0.2])


def test_a_yes_no_purchase_column_excludes_bought_items(shop, tmp_path):
    df = shop.assign(purchase=np.where(shop["purchase"] == 1, "yes", "no"))
    res = run_experiment(_config(["click", "purchase"]), df, runs_root=tmp_path)
    run = load_run(res.run_dir)
    buyer = next(u for u in list_users(run) if (user_history(run, u)["purchase"] == "yes").any())
    hist = user_history(run, buyer)
    # every known positive is hidden: the purchases ("yes") and the clicks
    bought = set(hist.loc[(hist["purchase"] == "yes") | (hist["click"] == 1), "item_id"].astype(str))
    assert set(hist.loc[hist["purchase"] == "yes", "item_id"].astype(str)) < bought
    recs = recommend(run, buyer, k=10_000)
    assert bought.isdisjoint(set(recs["item_id"].astype(str)))
    assert len(recommend(run, buyer, k=10_000, exclude_bought=False)) == len(recs) + len(bought)


def test_float_ids_keep_their_integer_form(shop, tmp_path):
    """Ids read as floats (a missing value elsewhere in the column) are 14911, not 14911.0:
    in the run's tables, the recommendations and a typed id."""
    codes = {u: 14900 + i for i, u in enumerate(pd.unique(shop["user_id"]))}
    items = {v: 50000 + i for i, v in enumerate(pd.unique(shop["item_id"]))}
    df = shop.assign(user_id=shop["user_id"].map(codes).astype(float), item_id=shop["item_id"].map(items).astype(float))
    df.loc[df.index[-1], "user_id"] = np.nan
    res = run_experiment(_config(["click", "purchase"]), df, runs_root=tmp_path)
    run = load_run(res.run_dir)
    users = list_users(run)
    assert all(isinstance(u, str) and u.isdigit() for u in users[:20])
    typed = users[0]  # what a user types on the Recommend page
    assert len(user_history(run, typed)) > 0 and len(user_history(run, float(typed))) > 0
    recs = recommend(run, typed, k=5)
    assert recs.attrs.get("known_user", True)
    assert recs["item_id"].astype(str).str.fullmatch(r"5\d{4}").all()
