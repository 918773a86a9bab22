"""Synthetic e-commerce interaction table with a task-relatedness knob.

The ground truth follows the synthetic experiment of the MMoE paper (Ma et al., KDD 2018):
two orthonormal vectors ``u1 ⊥ u2`` in R^d, ``w_a = c·u1`` and
``w_b = c·(ρ·u1 + sqrt(1-ρ²)·u2)``, and task scores

    y_k = w_k^T x + Σ_i sin(α_i w_k^T x + β_i) + ε

where ``x`` is a latent vector that is a *deterministic function of the observed columns*:
per-user and per-item embeddings (noise-free functions of ``user_id`` / ``item_id``), their
element-wise product, and standardised numeric/context features. So a model that learns id
embeddings and uses the numeric features can recover the signal.

Score a drives ``click``; score b drives ``cart`` and ``purchase`` (conditional on click /
cart), giving the funnel ``purchase ⇒ cart ⇒ click``. At ρ = 1 the two scoring functions
coincide; at ρ = 0 they are unrelated.

With ``engagement_targets=True`` two more columns carry the task scores directly as dense
regression targets, as in the paper (both tasks regression, every row labelled):
``dwell_time`` (seconds on the product page, affine in score a) and ``basket_value`` (value
of the basket after the impression, affine in score b). They are off by default so the
standard table (and ``data/sample.csv``) keeps its columns; the correlation lab uses them.

Everything is vectorised numpy; the same ``seed`` gives the same frame bit-for-bit, and the
random structure (embeddings, u1, u2, α, β, noise) does not depend on ``task_correlation``,
so frames generated at several ρ with one seed differ only through w_b.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import ConfigError

EMBED_DIM = 4
N_SINUSOIDS = 10
SIGNAL_SCALE = 3.0  # logit scale of the task scores: how predictable the labels are
CATEGORIES = ["electronics", "fashion", "home", "beauty", "sports", "books", "toys", "grocery"]
# median price (lognormal location) and spread per category
_CAT_PRICE = {
    "electronics": (180.0, 0.8), "fashion": (45.0, 0.6), "home": (60.0, 0.7),
    "beauty": (22.0, 0.5), "sports": (55.0, 0.7), "books": (15.0, 0.4),
    "toys": (28.0, 0.6), "grocery": (8.0, 0.5),
}
SEGMENTS = ["budget", "regular", "premium", "vip"]
SEGMENT_LABELS = ["bargain_hunter", "loyalist", "explorer", "impulse"]
DEVICES = ["mobile", "desktop", "tablet"]
START = np.datetime64("2024-03-01T00:00:00", "s")
DAYS = 30

# engagement targets: (mean, sd) of the affine maps of the standardised noisy scores a / b
DWELL_TIME = (180.0, 15.0)  # seconds
BASKET_VALUE = (250.0, 20.0)  # currency units

TARGET_CLICK = 0.25
TARGET_CART_GIVEN_CLICK = 0.08 / 0.25
TARGET_PURCHASE_GIVEN_CART = 0.03 / 0.08


def _standardise(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    sd = a.std()
    return (a - a.mean()) / (sd if sd > 0 else 1.0)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _calibrate_intercept(z: np.ndarray, target: float, iters: int = 40) -> float:
    """Intercept b such that mean(sigmoid(z + b)) ≈ target (bisection; deterministic)."""
    lo, hi = -30.0, 30.0
    for _ in range(iters):
        mid = (lo + hi) / 2
        if _sigmoid(z + mid).mean() < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _check(rows, task_correlation, n_users, n_items) -> None:
    if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or rows < 10:
        raise ConfigError(f"rows must be a whole number >= 10; got {rows!r}.")
    if (isinstance(task_correlation, bool) or not isinstance(task_correlation, (int, float, np.floating))
            or not math.isfinite(task_correlation) or not -1.0 <= task_correlation <= 1.0):
        raise ConfigError(f"task_correlation must be a number between -1 and 1; got {task_correlation!r}.")
    for name, v in (("n_users", n_users), ("n_items", n_items)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 2):
            raise ConfigError(f"{name} must be a whole number >= 2; got {v!r}.")


def make_synthetic(rows: int = 20000, task_correlation: float = 0.5, seed: int = 0,
                   n_users: int | None = None, n_items: int | None = None,
                   return_truth: bool = False, engagement_targets: bool = False):
    """Generate a synthetic multi-task e-commerce table (see the module docstring).

    Returns the DataFrame, or ``(df, truth)`` when ``return_truth``; ``truth`` holds the
    noise-free task scores ``click_score`` and ``purchase_score`` (float64 ``[rows]``), the
    latent matrix ``x`` and the vectors ``w_click`` / ``w_purchase``.

    ``engagement_targets=True`` appends the regression columns ``dwell_time`` (score a) and
    ``basket_value`` (score b): ``mean + sd · (s_k + ε_k − mean(s_k)) / std(s_k)`` with the same
    noise ``ε_k ~ N(0, 0.1²)`` as the binary labels, rounded to 0.1 (0.01 for money) and
    floored at 0 (12 standard deviations below the mean, so practically never: the scores'
    left tail reaches about −10 standard deviations).
    Every other column is identical with and without them.
    """
    _check(rows, task_correlation, n_users, n_items)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"seed must be a whole number >= 0; got {seed!r}.")
    rho = float(task_correlation)
    rows = int(rows)
    n_users = int(n_users) if n_users is not None else max(20, rows // 20)
    n_items = int(n_items) if n_items is not None else max(10, rows // 50)

    # independent streams so that one part's consumption never shifts another's
    ss = np.random.SeedSequence(int(seed))
    r_user, r_item, r_ctx, r_task, r_lab = (np.random.default_rng(s) for s in ss.spawn(5))

    # ------------------------------------------------------------------ users
    u_age = np.clip(np.round(r_user.normal(36, 11, n_users)), 18, 75).astype(np.int64)
    u_gender = r_user.choice(np.array(["F", "M", "U"], dtype=object), n_users, p=[0.52, 0.45, 0.03])
    u_tenure = np.round(r_user.exponential(400, n_users)).astype(np.int64)
    u_emb = r_user.normal(0, 1, (n_users, EMBED_DIM))
    seg_score = u_emb[:, 0] + 0.01 * (u_age - 36) + r_user.normal(0, 0.5, n_users)
    u_segment = np.array(SEGMENTS, dtype=object)[np.digitize(seg_score, [-0.8, 0.4, 1.3])]
    u_activity = r_user.lognormal(0, 0.8, n_users)  # how often the user appears

    # ------------------------------------------------------------------ items
    i_cat_idx = r_item.integers(0, len(CATEGORIES), n_items)
    i_cat = np.array(CATEGORIES, dtype=object)[i_cat_idx]
    n_brands = 40
    i_brand_idx = (i_cat_idx * 5 + r_item.integers(0, 5, n_items)) % n_brands
    i_brand = np.array([f"brand_{b:02d}" for b in range(n_brands)], dtype=object)[i_brand_idx]
    med = np.array([_CAT_PRICE[c][0] for c in CATEGORIES])[i_cat_idx]
    spread = np.array([_CAT_PRICE[c][1] for c in CATEGORIES])[i_cat_idx]
    i_price = np.round(med * np.exp(spread * r_item.normal(0, 1, n_items)), 2)
    i_rating = np.round(np.clip(r_item.normal(4.0, 0.5, n_items), 1.0, 5.0), 1)
    i_emb = r_item.normal(0, 1, (n_items, EMBED_DIM))
    i_pop = r_item.lognormal(0, 1.0, n_items)

    # ------------------------------------------------------------------ interactions
    uid = r_ctx.choice(n_users, rows, p=u_activity / u_activity.sum())
    iid = r_ctx.choice(n_items, rows, p=i_pop / i_pop.sum())
    secs = r_ctx.integers(0, DAYS * 86400, rows)
    ts = START + secs.astype("timedelta64[s]")
    hour = ((secs // 3600) % 24).astype(np.int64)
    dev_idx = r_ctx.choice(3, rows, p=[0.6, 0.3, 0.1])

    # ------------------------------------------------------------------ latent x
    dev_effect = np.array([0.5, -0.3, -1.0])[dev_idx]
    x = np.column_stack([
        u_emb[uid],
        i_emb[iid],
        u_emb[uid] * i_emb[iid],
        _standardise(u_age[uid]),
        _standardise(np.log1p(u_tenure[uid])),
        _standardise(np.log(i_price[iid])),
        _standardise(i_rating[iid]),
        math.sqrt(2) * np.sin(2 * np.pi * hour / 24),
        math.sqrt(2) * np.cos(2 * np.pi * hour / 24),
        _standardise(dev_effect),
    ])
    d = x.shape[1]

    # ------------------------------------------------------------------ MMoE-style tasks
    q, _ = np.linalg.qr(r_task.normal(0, 1, (d, 2)))
    u1, u2 = q[:, 0], q[:, 1]
    c = 1.0
    w_a = c * u1
    w_b = c * (rho * u1 + math.sqrt(max(0.0, 1.0 - rho * rho)) * u2)
    alpha = r_task.normal(0, 1, N_SINUSOIDS)
    beta = r_task.normal(0, 1, N_SINUSOIDS)
    w_seg = r_task.normal(0, 1, (d, len(SEGMENT_LABELS)))

    def score(w: np.ndarray) -> np.ndarray:
        z = x @ w
        return z + np.sin(np.outer(z, alpha) + beta).sum(axis=1)

    s_a = score(w_a)
    s_b = score(w_b)
    noise_a = r_lab.normal(0, 0.1, rows)
    noise_b = r_lab.normal(0, 0.1, rows)
    za = SIGNAL_SCALE * (s_a + noise_a - s_a.mean()) / (s_a.std() or 1.0)
    zb = SIGNAL_SCALE * (s_b + noise_b - s_b.mean()) / (s_b.std() or 1.0)

    u_click = r_lab.random(rows)
    u_cart = r_lab.random(rows)
    u_buy = r_lab.random(rows)
    # intercepts calibrated on the rows that reached the previous stage, so that the
    # marginal rates stay near 25% / 8% / 3% whatever the task correlation
    p_click = _sigmoid(za + _calibrate_intercept(za, TARGET_CLICK))
    click = (u_click < p_click).astype(np.int64)
    on = click == 1
    b_cart = _calibrate_intercept(zb[on], TARGET_CART_GIVEN_CLICK) if on.any() else 0.0
    cart = click * (u_cart < _sigmoid(zb + b_cart)).astype(np.int64)
    on = cart == 1
    b_buy = _calibrate_intercept(zb[on], TARGET_PURCHASE_GIVEN_CART) if on.any() else 0.0
    purchase = cart * (u_buy < _sigmoid(zb + b_buy)).astype(np.int64)

    # rating: observed only after a click (partial labels), 1..5
    rating_raw = 3.4 + 0.6 * zb + 0.5 * (i_rating[iid] - 4.0) + r_lab.normal(0, 0.6, rows)
    rating = np.round(np.clip(rating_raw, 1.0, 5.0), 1)
    rating = np.where(click == 1, rating, np.nan)
    # sales: units bought (0 without a purchase)
    lam = np.exp(0.3 * zb - 0.2 * _standardise(np.log(i_price[iid])))
    sales = (purchase * (1 + r_lab.poisson(lam))).astype(np.int64)
    # segment label: multiclass from the latent vector + Gumbel noise
    logits = x @ w_seg / math.sqrt(d) * 1.5 + r_lab.gumbel(0, 1, (rows, len(SEGMENT_LABELS)))
    seg_label = np.array(SEGMENT_LABELS, dtype=object)[logits.argmax(axis=1)]

    width = max(5, len(str(n_users - 1)))
    iwidth = max(5, len(str(n_items - 1)))
    user_ids = np.char.add("u", np.char.zfill(np.arange(n_users).astype(str), width)).astype(object)
    item_ids = np.char.add("i", np.char.zfill(np.arange(n_items).astype(str), iwidth)).astype(object)

    df = pd.DataFrame({
        "user_id": user_ids[uid],
        "item_id": item_ids[iid],
        "timestamp": np.char.replace(np.datetime_as_string(ts, unit="s"), "T", " ").astype(object),
        "user_age": u_age[uid],
        "user_gender": u_gender[uid],
        "user_segment": u_segment[uid],
        "user_tenure_days": u_tenure[uid],
        "item_category": i_cat[iid],
        "item_brand": i_brand[iid],
        "item_price": i_price[iid],
        "item_rating_avg": i_rating[iid],
        "device": np.array(DEVICES, dtype=object)[dev_idx],
        "hour": hour,
        "click": click,
        "cart": cart,
        "purchase": purchase,
        "rating": rating,
        "sales": sales,
        "segment_label": seg_label,
    })
    if engagement_targets:
        ea, eb = za / SIGNAL_SCALE, zb / SIGNAL_SCALE  # standardised noisy scores a and b
        df["dwell_time"] = np.round(np.maximum(DWELL_TIME[0] + DWELL_TIME[1] * ea, 0.0), 1)
        df["basket_value"] = np.round(np.maximum(BASKET_VALUE[0] + BASKET_VALUE[1] * eb, 0.0), 2)
    if not return_truth:
        return df
    truth = {
        "click_score": s_a,
        "purchase_score": s_b,
        "x": x,
        "w_click": w_a,
        "w_purchase": w_b,
    }
    return df, truth


# ---------------------------------------------------------------------- the paper's own data
PAPER_DIM = 100
PAPER_TASKS = ("task_a", "task_b")


def make_mmoe_paper_data(rows: int = 8000, task_correlation: float = 0.5, seed: int = 0, dim: int = PAPER_DIM,
                         n_sinusoids: int = N_SINUSOIDS, alpha_std: float = 0.1, beta_std: float = 0.1,
                         noise_std: float = 0.1, scale: float = 1.0, return_truth: bool = False):
    """The synthetic data of the MMoE paper (Ma et al., KDD 2018, Section 4.2), observed directly.

    ``x ∈ R^dim`` with i.i.d. N(0, 1) entries is the table itself (columns ``x00`` .. ``x99``
    for ``dim`` = 100; no ids to learn). Two orthonormal ``u1, u2``; ``w_a = c·u1`` and
    ``w_b = c·(ρ·u1 + sqrt(1 − ρ²)·u2)`` with ``c = scale``; the two regression targets are

        task_k = w_k^T x + Σ_{i=1..m} sin(α_i w_k^T x + β_i) + ε_k

    with ``m = n_sinusoids``, ``α_i ~ N(0, alpha_std²)``, ``β_i ~ N(0, beta_std²)`` shared by
    both tasks and ``ε_k ~ N(0, noise_std²)``. The paper's values are N(0, 0.01), i.e. standard
    deviation 0.1 for α, β and ε (the defaults); with them the sinusoids are nearly linear in
    ``w_k^T x``, so ``alpha_std = 1`` gives markedly non-linear tasks.

    The random structure (x, u1, u2, α, β, ε) does not depend on ``task_correlation``: frames of
    one seed at several ρ differ only through ``w_b``, and the same seed gives the same frame
    bit-for-bit. ``return_truth`` also returns ``{"score_a", "score_b"}`` (the noise-free
    targets), ``x``, ``w_a``, ``w_b``, ``alpha`` and ``beta``.
    """
    if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or rows < 10:
        raise ConfigError(f"rows must be a whole number >= 10; got {rows!r}.")
    if (isinstance(task_correlation, bool) or not isinstance(task_correlation, (int, float, np.floating))
            or not math.isfinite(task_correlation) or not -1.0 <= task_correlation <= 1.0):
        raise ConfigError(f"task_correlation must be a number between -1 and 1; got {task_correlation!r}.")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"seed must be a whole number >= 0; got {seed!r}.")
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not 2 <= dim <= 10_000:
        raise ConfigError(f"dim must be a whole number between 2 and 10,000; got {dim!r}.")
    if isinstance(n_sinusoids, bool) or not isinstance(n_sinusoids, (int, np.integer)) or n_sinusoids < 0:
        raise ConfigError(f"n_sinusoids must be a whole number >= 0; got {n_sinusoids!r}.")
    for name, v in (("alpha_std", alpha_std), ("beta_std", beta_std), ("noise_std", noise_std), ("scale", scale)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not math.isfinite(v) or v < 0:
            raise ConfigError(f"{name} must be a finite number >= 0; got {v!r}.")
    rows, dim, rho = int(rows), int(dim), float(task_correlation)
    r_x, r_task, r_noise = (np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(3))
    x = r_x.normal(0.0, 1.0, (rows, dim))
    q, _ = np.linalg.qr(r_task.normal(0.0, 1.0, (dim, 2)))
    u1, u2 = q[:, 0], q[:, 1]
    w_a = scale * u1
    w_b = scale * (rho * u1 + math.sqrt(max(0.0, 1.0 - rho * rho)) * u2)
    alpha = r_task.normal(0.0, alpha_std, int(n_sinusoids))
    beta = r_task.normal(0.0, beta_std, int(n_sinusoids))

    def score(w: np.ndarray) -> np.ndarray:
        z = x @ w
        return z + np.sin(np.outer(z, alpha) + beta).sum(axis=1)

    s_a, s_b = score(w_a), score(w_b)
    eps = r_noise.normal(0.0, noise_std, (rows, 2))
    width = max(2, len(str(dim - 1)))
    df = pd.DataFrame(x, columns=[f"x{j:0{width}d}" for j in range(dim)])
    df[PAPER_TASKS[0]] = s_a + eps[:, 0]
    df[PAPER_TASKS[1]] = s_b + eps[:, 1]
    if not return_truth:
        return df
    return df, {"score_a": s_a, "score_b": s_b, "x": x, "w_a": w_a, "w_b": w_b, "alpha": alpha, "beta": beta}
