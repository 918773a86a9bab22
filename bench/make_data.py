"""Seeded, vectorised generator of an Ali-CCP-shaped multi-task dataset.

Shape (after Ali-CCP, Ma et al. 2018 "Entire Space Multi-Task Model"): 23 sparse id fields
named after Ali-CCP's field codes (user 101/121-129, item 205/206/207/210/216, combination
508/509/702/853, user-behaviour 109_14/110_14/127_14/150_14, context 301), several with
vocabularies of 5,000-100,000 drawn from a Zipf-like law, 8 dense fields, and two labels,
``click`` and ``purchase`` with purchase => click.

Planted signal, so that AUC means something: every field value has a random effect on the
click logit and a correlated effect on the purchase-given-click logit; the dense fields add
a linear part and a non-linear (tanh / interaction) part. Rates: click ~ 8 %, purchase
~ 1.3 % of rows (~ 16 % of clicks).

    python bench/make_data.py --rows 1000000 --seed 0            # -> bench/out/aliccp_1000000_s0.npz
    python bench/make_data.py --rows 1000000 --seed 0 --csv      # also the same rows as CSV

The ``.npz`` holds ``cat`` [N, 23] int64 (ids in ``[0, vocab)``), ``num`` [N, 8] float32
(standardised), ``y`` [N, 2] float32 (click, purchase), ``cat_names``, ``vocab``,
``num_names`` and the 80/20 ``train_idx`` / ``test_idx`` split (seeded permutation).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "out"

# field name -> vocabulary size (Ali-CCP field codes; names end in "_id" so that
# mtl_core.data.schema.infer_schema reads the integer columns of the CSV as categorical)
FIELDS: dict[str, int] = {
    "user_id": 100_000,   # 101
    "f121_id": 98, "f122_id": 14, "f124_id": 3, "f125_id": 8, "f126_id": 4, "f127_id": 4,
    "f128_id": 3, "f129_id": 5,
    "item_id": 60_000,    # 205
    "f206_id": 5_000,     # category
    "f207_id": 30_000,    # shop
    "f210_id": 20_000,    # intention
    "f216_id": 15_000,    # brand
    "f508_id": 8_000, "f509_id": 10_000, "f702_id": 1_000, "f853_id": 20_000,
    "f109_14_id": 2_000, "f110_14_id": 3_000, "f127_14_id": 1_000, "f150_14_id": 500,
    "f301_id": 4,
}
N_DENSE = 8
LABELS = ("click", "purchase")


def _zipf_ids(rng: np.random.Generator, n: int, vocab: int, s: float = 1.05) -> np.ndarray:
    """``n`` ids in ``[0, vocab)`` with Zipf-like popularity (a random id is the most popular)."""
    if vocab <= 16:
        p = rng.dirichlet(np.full(vocab, 2.0))
    else:
        p = 1.0 / (np.arange(vocab) + 10.0) ** s
        p /= p.sum()
    ranks = np.searchsorted(np.cumsum(p), rng.random(n), side="right").clip(0, vocab - 1)
    return rng.permutation(vocab)[ranks].astype(np.int64)


def make(rows: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    names = list(FIELDS)
    vocab = np.array([FIELDS[k] for k in names], dtype=np.int64)
    cat = np.empty((rows, len(names)), dtype=np.int64)
    click_logit = np.full(rows, -3.2)
    buy_logit = np.full(rows, -2.2)
    rho = 0.6  # correlation of a value's click effect and its purchase effect
    for j, (name, v) in enumerate(zip(names, vocab)):
        ids = _zipf_ids(rng, rows, int(v))
        cat[:, j] = ids
        sd = 0.45 if v >= 1000 else 0.30
        e_click = rng.normal(0.0, sd, int(v))
        e_buy = rho * e_click + np.sqrt(1 - rho ** 2) * rng.normal(0.0, sd, int(v))
        click_logit += e_click[ids]
        buy_logit += e_buy[ids]
    num = rng.normal(size=(rows, N_DENSE))
    num[:, 6] = np.log1p(rng.lognormal(2.0, 1.0, rows))  # price-like
    num[:, 7] = rng.poisson(3.0, rows)  # count-like
    num = ((num - num.mean(0)) / num.std(0)).astype(np.float32)
    w = rng.normal(0.0, 0.25, N_DENSE)
    click_logit += num @ w + 0.5 * np.tanh(2 * num[:, 0] * num[:, 1]) - 0.3 * num[:, 2] ** 2
    buy_logit += 0.5 * num @ w - 0.4 * num[:, 6] + 0.4 * np.tanh(num[:, 3] * num[:, 7])
    click = rng.random(rows) < 1.0 / (1.0 + np.exp(-click_logit))
    buy = click & (rng.random(rows) < 1.0 / (1.0 + np.exp(-buy_logit)))
    y = np.stack([click, buy], 1).astype(np.float32)
    perm = np.random.default_rng(seed + 1).permutation(rows)
    n_train = int(round(rows * 0.8))
    return {"cat": cat, "num": num, "y": y, "cat_names": np.array(names), "vocab": vocab,
            "num_names": np.array([f"dense_{i}" for i in range(N_DENSE)]), "labels": np.array(LABELS),
            "train_idx": np.sort(perm[:n_train]), "test_idx": np.sort(perm[n_train:])}


def npz_path(rows: int, seed: int) -> Path:
    return OUT / f"aliccp_{rows}_s{seed}.npz"


def csv_path(rows: int, seed: int) -> Path:
    return OUT / f"aliccp_{rows}_s{seed}.csv"


def ensure(rows: int, seed: int = 0, csv: bool = False) -> Path:
    """Generate (once) and return the ``.npz`` path; with ``csv`` also write the CSV."""
    OUT.mkdir(parents=True, exist_ok=True)
    p = npz_path(rows, seed)
    if not p.exists():
        d = make(rows, seed)
        tmp = p.with_suffix(".tmp.npz")
        np.savez(tmp, **d)
        tmp.rename(p)
    if csv and not csv_path(rows, seed).exists():
        write_csv(dict(np.load(p)), csv_path(rows, seed))
    return p


def write_csv(d: dict, path: Path) -> None:
    import pandas as pd

    df = pd.DataFrame(d["cat"], columns=[str(c) for c in d["cat_names"]])
    for i, c in enumerate(d["num_names"]):
        df[str(c)] = np.round(d["num"][:, i], 5)
    for i, c in enumerate(d["labels"]):
        df[str(c)] = d["y"][:, i].astype(np.int8)
    tmp = path.with_suffix(".tmp.csv")
    df.to_csv(tmp, index=False)
    tmp.rename(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--csv", action="store_true", help="also write the rows as CSV")
    a = ap.parse_args()
    t0 = time.perf_counter()
    p = ensure(a.rows, a.seed, a.csv)
    d = np.load(p)
    y = d["y"]
    print(f"{p} ({time.perf_counter() - t0:.1f}s): rows={len(y):,} fields={d['cat'].shape[1]} dense={d['num'].shape[1]} "
          f"click={y[:, 0].mean():.4f} purchase={y[:, 1].mean():.4f}")


if __name__ == "__main__":
    main()
