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

from ..validate import number as _number
from .provenance import generated_source, tag

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


def _check_common(rows, task_correlation, seed) -> None:
    _number("rows", rows, lo=10, integer=True)
    _number("task_correlation", task_correlation, lo=-1.0, hi=1.0)
    _number("seed", seed, lo=0, integer=True)


def _users(r: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    age = np.clip(np.round(r.normal(36, 11, n)), 18, 75).astype(np.int64)
    gender = r.choice(np.array(["F", "M", "U"], dtype=object), n, p=[0.52, 0.45, 0.03])
    tenure = np.round(r.exponential(400, n)).astype(np.int64)
    emb = r.normal(0, 1, (n, EMBED_DIM))
    seg_score = emb[:, 0] + 0.01 * (age - 36) + r.normal(0, 0.5, n)
    segment = np.array(SEGMENTS, dtype=object)[np.digitize(seg_score, [-0.8, 0.4, 1.3])]
    activity = r.lognormal(0, 0.8, n)  # how often the user appears
    return {"age": age, "gender": gender, "tenure": tenure, "emb": emb, "segment": segment, "activity": activity}


def _items(r: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    cat_idx = r.integers(0, len(CATEGORIES), n)
    n_brands = 40
    brand_idx = (cat_idx * 5 + r.integers(0, 5, n)) % n_brands
    med = np.array([_CAT_PRICE[c][0] for c in CATEGORIES])[cat_idx]
    spread = np.array([_CAT_PRICE[c][1] for c in CATEGORIES])[cat_idx]
    return {
        "category": np.array(CATEGORIES, dtype=object)[cat_idx],
        "brand": np.array([f"brand_{b:02d}" for b in range(n_brands)], dtype=object)[brand_idx],
        "price": np.round(med * np.exp(spread * r.normal(0, 1, n)), 2),
        "rating": np.round(np.clip(r.normal(4.0, 0.5, n), 1.0, 5.0), 1),
        "emb": r.normal(0, 1, (n, EMBED_DIM)),
        "pop": r.lognormal(0, 1.0, n),
    }


def _latent(u: dict, it: dict, uid: np.ndarray, iid: np.ndarray, hour: np.ndarray, dev_idx: np.ndarray) -> np.ndarray:
    """The latent vector x of every row: a deterministic function of the observed columns."""
    dev_effect = np.array([0.5, -0.3, -1.0])[dev_idx]
    return np.column_stack([
        u["emb"][uid],
        it["emb"][iid],
        u["emb"][uid] * it["emb"][iid],
        _standardise(u["age"][uid]),
        _standardise(np.log1p(u["tenure"][uid])),
        _standardise(np.log(it["price"][iid])),
        _standardise(it["rating"][iid]),
        math.sqrt(2) * np.sin(2 * np.pi * hour / 24),
        math.sqrt(2) * np.cos(2 * np.pi * hour / 24),
        _standardise(dev_effect),
    ])


def _task_vectors(r: np.random.Generator, d: int, rho: float):
    """w_a = u1, w_b = rho·u1 + sqrt(1-rho²)·u2 (u1 ⊥ u2), the sinusoid α, β, and the segment weights."""
    q, _ = np.linalg.qr(r.normal(0, 1, (d, 2)))
    u1, u2 = q[:, 0], q[:, 1]
    w_a = u1
    w_b = rho * u1 + math.sqrt(max(0.0, 1.0 - rho * rho)) * u2
    alpha = r.normal(0, 1, N_SINUSOIDS)
    beta = r.normal(0, 1, N_SINUSOIDS)
    return w_a, w_b, alpha, beta, r.normal(0, 1, (d, len(SEGMENT_LABELS)))


def _funnel(r: np.random.Generator, za: np.ndarray, zb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """click / cart / purchase with purchase ⇒ cart ⇒ click. Intercepts are calibrated on the
    rows that reached the previous stage, so the marginal rates stay near 25% / 8% / 3%
    whatever the task correlation."""
    rows = len(za)
    u_click, u_cart, u_buy = r.random(rows), r.random(rows), r.random(rows)
    click = (u_click < _sigmoid(za + _calibrate_intercept(za, TARGET_CLICK))).astype(np.int64)
    on = click == 1
    b_cart = _calibrate_intercept(zb[on], TARGET_CART_GIVEN_CLICK) if on.any() else 0.0
    cart = click * (u_cart < _sigmoid(zb + b_cart)).astype(np.int64)
    on = cart == 1
    b_buy = _calibrate_intercept(zb[on], TARGET_PURCHASE_GIVEN_CART) if on.any() else 0.0
    purchase = cart * (u_buy < _sigmoid(zb + b_buy)).astype(np.int64)
    return click, cart, purchase


def _ids(prefix: str, n: int) -> np.ndarray:
    width = max(5, len(str(n - 1)))
    return np.char.add(prefix, np.char.zfill(np.arange(n).astype(str), width)).astype(object)


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
    _check_common(rows, task_correlation, seed)
    for name, v in (("n_users", n_users), ("n_items", n_items)):
        if v is not None:
            _number(name, v, lo=2, integer=True)
    rho, rows = float(task_correlation), int(rows)
    n_users = int(n_users) if n_users is not None else max(20, rows // 20)
    n_items = int(n_items) if n_items is not None else max(10, rows // 50)

    # independent streams so that one part's consumption never shifts another's
    r_user, r_item, r_ctx, r_task, r_lab = (np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(5))
    u, it = _users(r_user, n_users), _items(r_item, n_items)
    uid = r_ctx.choice(n_users, rows, p=u["activity"] / u["activity"].sum())
    iid = r_ctx.choice(n_items, rows, p=it["pop"] / it["pop"].sum())
    secs = r_ctx.integers(0, DAYS * 86400, rows)
    hour = ((secs // 3600) % 24).astype(np.int64)
    dev_idx = r_ctx.choice(3, rows, p=[0.6, 0.3, 0.1])
    x = _latent(u, it, uid, iid, hour, dev_idx)
    d = x.shape[1]
    w_a, w_b, alpha, beta, w_seg = _task_vectors(r_task, d, rho)

    def score(w: np.ndarray) -> np.ndarray:
        z = x @ w
        return z + np.sin(np.outer(z, alpha) + beta).sum(axis=1)

    s_a, s_b = score(w_a), score(w_b)
    noise_a, noise_b = r_lab.normal(0, 0.1, rows), r_lab.normal(0, 0.1, rows)
    za = SIGNAL_SCALE * (s_a + noise_a - s_a.mean()) / (s_a.std() or 1.0)
    zb = SIGNAL_SCALE * (s_b + noise_b - s_b.mean()) / (s_b.std() or 1.0)
    click, cart, purchase = _funnel(r_lab, za, zb)
    # rating: observed only after a click (partial labels), 1..5
    rating_raw = 3.4 + 0.6 * zb + 0.5 * (it["rating"][iid] - 4.0) + r_lab.normal(0, 0.6, rows)
    rating = np.where(click == 1, np.round(np.clip(rating_raw, 1.0, 5.0), 1), np.nan)
    # sales: units bought (0 without a purchase)
    lam = np.exp(0.3 * zb - 0.2 * _standardise(np.log(it["price"][iid])))
    sales = (purchase * (1 + r_lab.poisson(lam))).astype(np.int64)
    # segment label: multiclass from the latent vector + Gumbel noise
    logits = x @ w_seg / math.sqrt(d) * 1.5 + r_lab.gumbel(0, 1, (rows, len(SEGMENT_LABELS)))

    ts = START + secs.astype("timedelta64[s]")
    df = pd.DataFrame({
        "user_id": _ids("u", n_users)[uid],
        "item_id": _ids("i", n_items)[iid],
        "timestamp": np.char.replace(np.datetime_as_string(ts, unit="s"), "T", " ").astype(object),
        "user_age": u["age"][uid], "user_gender": u["gender"][uid], "user_segment": u["segment"][uid],
        "user_tenure_days": u["tenure"][uid],
        "item_category": it["category"][iid], "item_brand": it["brand"][iid], "item_price": it["price"][iid],
        "item_rating_avg": it["rating"][iid],
        "device": np.array(DEVICES, dtype=object)[dev_idx],
        "hour": hour,
        "click": click, "cart": cart, "purchase": purchase, "rating": rating, "sales": sales,
        "segment_label": np.array(SEGMENT_LABELS, dtype=object)[logits.argmax(axis=1)],
    })
    if engagement_targets:
        ea, eb = za / SIGNAL_SCALE, zb / SIGNAL_SCALE  # standardised noisy scores a and b
        df["dwell_time"] = np.round(np.maximum(DWELL_TIME[0] + DWELL_TIME[1] * ea, 0.0), 1)
        df["basket_value"] = np.round(np.maximum(BASKET_VALUE[0] + BASKET_VALUE[1] * eb, 0.0), 2)
    tag(df, generated_source("make_synthetic", rows=rows, task_correlation=rho, seed=int(seed), n_users=n_users,
                             n_items=n_items, engagement_targets=bool(engagement_targets) or None))
    if not return_truth:
        return df
    return df, {"click_score": s_a, "purchase_score": s_b, "x": x, "w_click": w_a, "w_purchase": w_b}


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
    _check_common(rows, task_correlation, seed)
    _number("dim", dim, lo=2, hi=10_000, integer=True)
    _number("n_sinusoids", n_sinusoids, lo=0, integer=True)
    for name, v in (("alpha_std", alpha_std), ("beta_std", beta_std), ("noise_std", noise_std), ("scale", scale)):
        _number(name, v, lo=0)
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
    tag(df, generated_source("make_mmoe_paper_data", rows=rows, task_correlation=rho, seed=int(seed), dim=dim,
                             n_sinusoids=int(n_sinusoids), alpha_std=alpha_std, beta_std=beta_std,
                             noise_std=noise_std, scale=scale))
    if not return_truth:
        return df
    return df, {"score_a": s_a, "score_b": s_b, "x": x, "w_a": w_a, "w_b": w_b, "alpha": alpha, "beta": beta}


# ---------------------------------------------------------------------- which pairs follow ρ
#: the latent score (a or b) that drives each label of ``make_synthetic``
DRIVING_SCORE = {"click": "a", "dwell_time": "a", "cart": "b", "purchase": "b", "rating": "b", "sales": "b",
                 "basket_value": "b"}
#: labels that exist only after another one: purchase ⇒ cart ⇒ click, a rating needs a click,
#: sales need a purchase
_NEEDS = {"cart": "click", "purchase": "cart", "rating": "click", "sales": "purchase"}
#: task pairs whose correlation follows ρ and nothing else (no funnel, every row labelled)
UNTIED_PAIRS = [("dwell_time", "basket_value")]
#: the columns ``engagement_targets=True`` adds (affine in the scores: never features of other tasks)
ENGAGEMENT_COLUMNS = ("dwell_time", "basket_value")


def _ancestors(col: str) -> list[str]:
    out = []
    while col in _NEEDS:
        col = _NEEDS[col]
        out.append(col)
    return out


def coupling(task_a: str, task_b: str) -> str | None:
    """Why the labels of two ``make_synthetic`` tasks are tied whatever ρ, or None when their
    relation comes from ρ only (e.g. ``dwell_time`` and ``basket_value``)."""
    for x, y in ((task_a, task_b), (task_b, task_a)):
        if x in _ancestors(y):
            return (f"{y} can only happen after {x} (the funnel), so the two labels are coupled by "
                    "construction at every task correlation")
    if DRIVING_SCORE.get(task_a) == DRIVING_SCORE.get(task_b) and task_a in DRIVING_SCORE and task_a != task_b:
        return f"{task_a} and {task_b} are driven by the same score, so they are related at every task correlation"
    return None


def realised_correlations(df: pd.DataFrame, truth: dict, task_a: str, task_b: str) -> dict[str, float | None]:
    """Realised correlations of a generated table (``make_synthetic(..., return_truth=True)``):
    ``label`` (Pearson correlation of the two label columns on rows where both are present) and
    ``score`` (of the two noise-free scores driving them; 1 when the same score drives both)."""
    out: dict[str, float | None] = {"label": None, "score": None}
    if task_a in df.columns and task_b in df.columns:
        both = df[[task_a, task_b]].apply(pd.to_numeric, errors="coerce").dropna()
        if len(both) > 2 and both[task_a].std() > 0 and both[task_b].std() > 0:
            out["label"] = float(np.corrcoef(both[task_a], both[task_b])[0, 1])
    sa, sb = DRIVING_SCORE.get(task_a), DRIVING_SCORE.get(task_b)
    if sa and sb:
        out["score"] = 1.0 if sa == sb else float(np.corrcoef(truth["click_score"], truth["purchase_score"])[0, 1])
    return out
