"""Catalogue ranking against a brute-force, user-by-user reference; the popularity baseline;
top-k tie-breaking; user sampling; hiding every known positive in recommendations."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from mtl_core.config import RunConfig
from mtl_core.evaluation.catalog import catalog_ranking, top_k

torch.set_num_threads(1)


def test_top_k_matches_a_stable_sort_with_ties():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 4, size=(50, 30)).astype(float)
    s[rng.random(s.shape) < 0.2] = -np.inf
    for k in (1, 5, 30, 40):
        want = np.argsort(-s, axis=1, kind="stable")[:, :k]
        np.testing.assert_array_equal(top_k(s, k), want)


def _tiny_log(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    users = [f"u{i:02d}" for i in range(40)]
    items = [f"i{j:02d}" for j in range(25)]
    taste = {u: rng.integers(0, 3) for u in users}
    genre = {i: int(j % 3) for j, i in enumerate(items)}
    rows = []
    for u in users:
        for i in rng.choice(items, size=rng.integers(6, 14), replace=False):
            like = genre[i] == taste[u]
            click = int(rng.random() < (0.7 if like else 0.2))
            rows.append({"user": u, "item": i, "age": 20 + 5 * taste[u], "genre": f"g{genre[i]}",
                         "price": 1.0 + genre[i], "click": click,
                         "buy": int(click and rng.random() < 0.5)})
    return pd.DataFrame(rows)


def _brute_force(run, prep, k: int) -> dict:
    """User by user, item by item: the recommend path's candidate frames, Python loops."""
    from mtl_core.recommend import candidate_frame, score_candidates

    df, ucol, icol = prep.df, prep.user_col, prep.item_col
    cat_items = list(run.catalog[icol])
    train = df.iloc[prep.encoded["train"].index]
    test = df.iloc[prep.encoded["test"].index]
    out = {}
    for t in ("click", "buy"):
        pos_test = test[prep.encoded["test"].labels[t] == 1]
        pos_train = train[prep.encoded["train"].labels[t] == 1]
        pop = {i: int((pos_train[icol] == i).sum()) for i in cat_items}
        sums = {"model": [0.0, 0.0, 0.0], "popularity": [0.0, 0.0, 0.0]}
        n_users = 0
        for u in pd.unique(pos_test[ucol]):
            seen = set(train.loc[train[ucol] == u, icol])
            targets = set(pos_test.loc[pos_test[ucol] == u, icol]) - seen
            if not targets:
                continue
            n_users += 1
            scores = score_candidates(run, candidate_frame(run, u))[t]
            for name, score_of in (("model", lambda j: scores[j]), ("popularity", lambda j: pop[cat_items[j]])):
                cands = [j for j, i in enumerate(cat_items) if i not in seen]
                ranked = sorted(cands, key=lambda j: (-score_of(j), j))[:k]
                hits = [cat_items[j] in targets for j in ranked]
                dcg = sum(1 / math.log2(r + 2) for r, h in enumerate(hits) if h)
                idcg = sum(1 / math.log2(r + 2) for r in range(min(len(targets), k)))
                sums[name][0] += sum(hits) / len(targets)
                sums[name][1] += dcg / idcg
                sums[name][2] += float(any(hits))
        out[t] = {name: [v / n_users for v in s] for name, s in sums.items()} | {"users": n_users}
    return out


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from mtl_core.pipeline import prepare, run_experiment
    from mtl_core.runs import load_run

    df = _tiny_log()
    cfg = RunConfig()
    cfg.data.tasks = ["click", "buy"]
    cfg.data.user_col, cfg.data.item_col = "user", "item"
    cfg.model.arch, cfg.model.hidden, cfg.model.tower_hidden = "shared_bottom", [8], [4]
    cfg.train.epochs, cfg.train.batch_size, cfg.train.lr = 5, 64, 1e-2
    cfg.split.train, cfg.split.val, cfg.split.test = 0.6, 0.1, 0.3
    res = run_experiment(cfg, df, runs_root=tmp_path_factory.mktemp("runs"))
    return res, load_run(res.run_dir), prepare(RunConfig.from_dict(cfg.to_dict()), df)


def test_catalog_ranking_matches_brute_force(tiny_run):
    res, run, prep = tiny_run
    want = _brute_force(run, prep, k=10)
    got = res.metrics["catalog"]
    for t in ("click", "buy"):
        assert got[t]["users"] == want[t]["users"] > 0
        assert got[t]["sampled"] is False and got[t]["items"] == len(run.catalog)
        for name, block in (("model", got[t]), ("popularity", got[t]["baselines"]["popularity"])):
            values = [block["recall@10"], block["ndcg@10"], block["hit@10"]]
            np.testing.assert_allclose(values, want[t][name], rtol=1e-9, err_msg=f"{t} {name}")
    # the model is not the popularity ranking
    assert got["click"]["recall@10"] != got["click"]["baselines"]["popularity"]["recall@10"] or \
        got["click"]["ndcg@10"] != got["click"]["baselines"]["popularity"]["ndcg@10"]


def test_popularity_baseline_by_hand():
    """Two items, popularity from training positives: the popular item is recommended first."""
    from mtl_core.types import EncodedSplit, TaskInfo

    df = pd.DataFrame({"u": ["a", "b", "c", "a", "b", "c"], "i": ["x", "x", "y", "y", "z", "x"],
                       "y": [1, 1, 0, 1, 1, 1]})
    enc = {"train": EncodedSplit(np.zeros((3, 0), np.int64), np.zeros((3, 0), np.float32),
                                 {"y": np.array([1, 1, 0], np.float32)}, np.arange(3)),
           "test": EncodedSplit(np.zeros((3, 0), np.int64), np.zeros((3, 0), np.float32),
                                {"y": np.array([1, 1, 1], np.float32)}, np.arange(3, 6))}
    catalog = pd.DataFrame({"i": ["x", "y", "z"]})

    class Constant:
        """A 'model' scoring every pair 0.5 through the real pair scorer."""
        def __init__(self):
            self.is_sklearn = True

        def predict(self, split):
            return {"y": np.full(len(split), 0.5)}

    class Pre:
        cat_cols, num_cols = [], []

        def transform(self, frame):
            return EncodedSplit(np.zeros((len(frame), 0), np.int64), np.zeros((len(frame), 0), np.float32),
                                {}, np.arange(len(frame)))

    meta = {"user_col": "u", "item_col": "i", "item_cols": [], "user_cols": [], "context_cols": []}
    out = catalog_ranking(Constant(), Pre(), [TaskInfo("y", "binary")], df, enc, catalog,
                          pd.DataFrame({"u": ["a", "b", "c"]}), meta, k=1)["y"]
    # training positives: x twice, y 0 -> popularity order x, y|z (tie -> catalogue order y)
    # a (seen x) gets y: target y -> hit; b (seen x) gets y: target z -> miss; c (seen y) gets x: target x -> hit
    assert out["users"] == 3
    assert out["baselines"]["popularity"]["hit@1"] == pytest.approx(2 / 3)
    assert out["baselines"]["popularity"]["recall@1"] == pytest.approx(2 / 3)
    # the constant model ties everywhere: catalogue order, a -> y, b -> y, c -> x
    assert out["hit@1"] == pytest.approx(2 / 3)


def test_users_are_sampled_beyond_the_pair_budget(tiny_run):
    from mtl_core.runs.save import _item_user_tables

    res, run, prep = tiny_run
    catalog, users, _, layout = _item_user_tables(prep, prep.encoded["train"].index)
    meta = {"user_col": "user", "item_col": "item", **layout}
    args = (run.model(), prep.preprocessor, prep.task_infos, prep.df, prep.encoded, catalog, users, meta)
    a = catalog_ranking(*args, max_pairs=len(catalog) * 5, seed=3)
    b = catalog_ranking(*args, max_pairs=len(catalog) * 5, seed=3)
    assert a == b and a["click"]["sampled"] is True and a["click"]["users"] <= 5
    assert a["click"]["test_users"] == res.metrics["catalog"]["click"]["test_users"] > 5


def test_hide_bought_hides_every_known_positive(tiny_run):
    from mtl_core.recommend import known_positive_items, recommend

    _, run, prep = tiny_run
    inter = run.interactions
    user = next(u for u, g in inter.groupby("user") if g["click"].sum() > g["buy"].sum() > 0)
    mine = inter[inter["user"] == user]
    positives = set(mine.loc[(mine["click"] == 1) | (mine["buy"] == 1), "item"])
    assert known_positive_items(run, user) == positives
    shown = set(recommend(run, user, k=1000)["item"])
    assert positives.isdisjoint(shown)
    assert set(recommend(run, user, k=1000, exclude_bought=False)["item"]) == shown | positives


def test_catalog_ranking_of_the_sklearn_baseline_reads_item_text_like_recommend(tmp_path):
    """The scikit-learn baseline reads a text column as sparse TF-IDF: the vectorised
    catalogue ranking must give it each candidate item's text, as the recommend path does."""
    from mtl_core.pipeline import prepare, run_experiment
    from mtl_core.runs import load_run

    df = _tiny_log(1)
    words = {"g0": "quiet slow drama", "g1": "loud fast action", "g2": "funny light comedy"}
    df["blurb"] = df["genre"].map(words) + " " + df["item"]  # item-level free text
    cfg = RunConfig()
    cfg.data.tasks = ["click", "buy"]
    cfg.data.user_col, cfg.data.item_col = "user", "item"
    cfg.data.roles = {"blurb": "text"}
    cfg.data.drop = ["genre"]
    cfg.model.arch = "sklearn"
    cfg.split.train, cfg.split.val, cfg.split.test = 0.6, 0.1, 0.3
    res = run_experiment(cfg, df, runs_root=tmp_path)
    run = load_run(res.run_dir)
    prep = prepare(RunConfig.from_dict(cfg.to_dict()), df)
    assert run.model().reads_text and res.metrics["columns"]["blurb"]["used"]
    want = _brute_force(run, prep, k=10)
    got = res.metrics["catalog"]
    for t in ("click", "buy"):
        assert got[t]["users"] == want[t]["users"] > 0
        values = [got[t]["recall@10"], got[t]["ndcg@10"], got[t]["hit@10"]]
        np.testing.assert_allclose(values, want[t]["model"], rtol=1e-9, err_msg=t)
