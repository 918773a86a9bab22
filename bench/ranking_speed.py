"""Time the vectorised per-user ranking metrics (GAUC, NDCG@10, Hit@10) on many users.

    python bench/ranking_speed.py [--rows 300000] [--users 100000] [--reps 3]

Prints the median seconds of ``mtl_core.evaluation.ranking.ranking_metrics`` over ``--reps``
runs on random labels and scores (the test suite checks the values, never the time).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mtl_core.evaluation.ranking import ranking_metrics  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=300_000)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    rng = np.random.default_rng(3)
    u = rng.integers(0, a.users, a.rows)
    y = (rng.random(a.rows) < 0.2).astype(int)
    p = rng.random(a.rows)
    times = []
    for _ in range(max(1, a.reps)):
        t0 = time.perf_counter()
        out = ranking_metrics(u, y, p, k=10)
        times.append(time.perf_counter() - t0)
    print(f"ranking_metrics: {a.rows:,} rows, {out['users']:,} users with a positive: "
          f"median {statistics.median(times):.3f} s over {len(times)} runs (GAUC {out['gauc']:.3f})")


if __name__ == "__main__":
    main()
