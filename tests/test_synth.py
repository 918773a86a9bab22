import numpy as np
import pandas as pd
import pytest

from mtl_core.errors import ConfigError
from mtl_core.data.synth import make_synthetic

COLUMNS = ["user_id", "item_id", "timestamp", "user_age", "user_gender", "user_segment",
           "user_tenure_days", "item_category", "item_brand", "item_price", "item_rating_avg",
           "device", "hour", "click", "cart", "purchase", "rating", "sales", "segment_label"]


def test_columns_and_rates():
    df = make_synthetic(rows=5000, seed=1)
    assert list(df.columns) == COLUMNS
    assert len(df) == 5000
    assert 0.18 < df["click"].mean() < 0.32
    assert 0.04 < df["cart"].mean() < 0.12
    assert 0.01 < df["purchase"].mean() < 0.06
    assert (df["item_price"] > 0).all()
    assert df["sales"].min() >= 0
    assert df["segment_label"].nunique() in (3, 4)
    r = df["rating"].dropna()
    assert r.between(1, 5).all()
    # partial labels: rating only where clicked
    assert df.loc[df["click"] == 0, "rating"].isna().all()
    assert df.loc[df["click"] == 1, "rating"].notna().all()
    t = pd.to_datetime(df["timestamp"])
    assert (t.max() - t.min()).days >= 28
    assert not t.is_monotonic_increasing  # random order
    assert (t.dt.hour.to_numpy() == df["hour"].to_numpy()).all()


def test_deterministic_per_seed():
    a = make_synthetic(rows=3000, seed=7)
    b = make_synthetic(rows=3000, seed=7)
    pd.testing.assert_frame_equal(a, b)
    c = make_synthetic(rows=3000, seed=8)
    assert not a.equals(c)


def test_funnel_implication():
    df = make_synthetic(rows=8000, task_correlation=-0.3, seed=2)
    assert ((df["cart"] == 1) <= (df["click"] == 1)).all()
    assert ((df["purchase"] == 1) <= (df["cart"] == 1)).all()
    assert ((df["sales"] > 0) == (df["purchase"] == 1)).all()


def test_correlation_knob_monotone():
    rhos = [-0.9, -0.5, 0.0, 0.5, 0.9, 1.0]
    corr = []
    for rho in rhos:
        _, truth = make_synthetic(rows=6000, task_correlation=rho, seed=3, return_truth=True)
        corr.append(np.corrcoef(truth["click_score"], truth["purchase_score"])[0, 1])
    assert all(b > a for a, b in zip(corr, corr[1:])), corr
    assert corr[-1] == pytest.approx(1.0)
    assert abs(corr[2]) < 0.15


def test_same_structure_across_rho():
    # the click task does not depend on rho: only w_b changes
    _, t1 = make_synthetic(rows=2000, task_correlation=0.1, seed=4, return_truth=True)
    _, t2 = make_synthetic(rows=2000, task_correlation=0.8, seed=4, return_truth=True)
    np.testing.assert_array_equal(t1["click_score"], t2["click_score"])
    assert np.linalg.norm(t1["w_purchase"]) == pytest.approx(1.0)


def test_latent_is_function_of_observed_columns():
    df, truth = make_synthetic(rows=4000, seed=5, return_truth=True)
    x = truth["x"]
    key = df["user_id"] + "|" + df["item_id"] + "|" + df["hour"].astype(str) + "|" + df["device"]
    # rows with identical observed (user, item, hour, device) have identical latent vectors
    g = pd.DataFrame(x).groupby(key.to_numpy()).std().fillna(0).to_numpy()
    assert np.nanmax(g) < 1e-9


@pytest.mark.parametrize("bad", [1.5, -1.01, float("nan"), "0.5"])
def test_rho_validated(bad):
    with pytest.raises(ConfigError):
        make_synthetic(rows=100, task_correlation=bad)


def test_rows_validated():
    with pytest.raises(ConfigError):
        make_synthetic(rows=0)


def test_engagement_targets_follow_the_scores():
    plain = make_synthetic(rows=3000, task_correlation=0.0, seed=6)
    df, truth = make_synthetic(rows=3000, task_correlation=0.0, seed=6, engagement_targets=True, return_truth=True)
    assert list(df.columns) == COLUMNS + ["dwell_time", "basket_value"]
    pd.testing.assert_frame_equal(df[COLUMNS], plain)  # every other column unchanged
    assert df[["dwell_time", "basket_value"]].notna().all().all() and (df[["dwell_time", "basket_value"]] >= 0).all().all()
    assert np.corrcoef(df["dwell_time"], truth["click_score"])[0, 1] > 0.99
    assert np.corrcoef(df["basket_value"], truth["purchase_score"])[0, 1] > 0.99
    assert abs(np.corrcoef(df["dwell_time"], df["basket_value"])[0, 1]) < 0.3


# ---------------------------------------------------------------------- the MMoE paper's data
def test_paper_data_deterministic_and_shaped():
    from mtl_core.data.synth import make_mmoe_paper_data

    a = make_mmoe_paper_data(rows=500, task_correlation=0.3, seed=4)
    pd.testing.assert_frame_equal(a, make_mmoe_paper_data(rows=500, task_correlation=0.3, seed=4))
    assert not a.equals(make_mmoe_paper_data(rows=500, task_correlation=0.3, seed=5))
    assert list(a.columns) == [f"x{j:02d}" for j in range(100)] + ["task_a", "task_b"]
    x = a.filter(like="x").to_numpy()
    assert abs(x.mean()) < 0.05 and 0.95 < x.std() < 1.05  # i.i.d. N(0, 1) inputs
    # only w_b depends on rho: the inputs and task a are the same at another rho
    b = make_mmoe_paper_data(rows=500, task_correlation=0.9, seed=4)
    pd.testing.assert_frame_equal(a.drop(columns="task_b"), b.drop(columns="task_b"))
    with pytest.raises(ConfigError):
        make_mmoe_paper_data(rows=500, task_correlation=1.5)
    with pytest.raises(ConfigError):
        make_mmoe_paper_data(rows=500, dim=1)


def test_paper_data_score_correlation_follows_rho():
    from mtl_core.data.synth import make_mmoe_paper_data

    for rho in (0.0, 0.5, 0.9, 1.0):
        df, t = make_mmoe_paper_data(rows=20000, task_correlation=rho, seed=1, return_truth=True)
        assert np.dot(t["w_a"], t["w_b"]) == pytest.approx(rho)
        assert np.linalg.norm(t["w_b"]) == pytest.approx(1.0)
        r = np.corrcoef(t["score_a"], t["score_b"])[0, 1]
        assert r == pytest.approx(rho, abs=0.05), (rho, r)  # the paper's α (sd 0.1): nearly linear
        # the observed targets are the noise-free scores plus N(0, 0.1²) noise
        assert np.std(df["task_a"] - t["score_a"]) == pytest.approx(0.1, rel=0.05)
    # the lab's α (sd 0.5): the sinusoids can pull the score correlation below ρ (seed 1:
    # 0.26 at ρ = 0.5), but it still rises with ρ from ≈ 0 to exactly 1
    corr = [np.corrcoef(*(lambda t: (t["score_a"], t["score_b"]))(
        make_mmoe_paper_data(rows=20000, task_correlation=rho, seed=1, alpha_std=0.5, return_truth=True)[1]))[0, 1]
        for rho in (0.0, 0.5, 0.9, 1.0)]
    assert abs(corr[0]) < 0.05 and all(b > a for a, b in zip(corr, corr[1:])) and corr[-1] == pytest.approx(1.0)
