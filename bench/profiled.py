"""One stage of a benchmark, optionally under cProfile (shared by ``e2e_csv.py`` and ``eval_stage.py``)."""
from __future__ import annotations

import cProfile
import pstats
import sys


def call(fn, profile: bool, top: int = 25):
    """``fn()``; with ``profile``, run under cProfile and print its ``top`` functions by
    cumulative time on stderr."""
    if not profile:
        return fn()
    prof = cProfile.Profile()
    out = prof.runcall(fn)
    pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(top)
    return out
