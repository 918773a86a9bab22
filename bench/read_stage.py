"""The read stage alone (``mtl_core.data.io.read_table`` on a CSV path), one fresh process per
measurement: wall time, CPU time, MB/s and peak RSS, for this checkout's reader or another
source tree's (``--src``, e.g. main's exported with ``git archive``) to compare before/after:

    python bench/read_stage.py bench/out/aliccp_1000000_s0.csv
    git archive main mtl_core | tar -x -C /tmp/main_src
    python bench/read_stage.py bench/out/aliccp_1000000_s0.csv --src /tmp/main_src

Prints one JSON line. Limits are raised so the file is never refused; timings on a shared
machine vary with its load (``os.getloadavg`` is printed with them).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--src", default=str(Path(__file__).resolve().parent.parent), help="source tree holding mtl_core")
    args = ap.parse_args()
    sys.path.insert(0, args.src)
    from mtl_core.config import Limits
    from mtl_core.data.io import read_table

    size = os.path.getsize(args.csv)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    load = os.getloadavg()[0]
    cpu0, t0 = time.process_time(), time.perf_counter()
    df = read_table(args.csv, limits=Limits(max_bytes=size + 1, max_rows=10 ** 9))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"src": args.src, "csv": Path(args.csv).name, "rows": len(df), "mb": round(size / 1e6, 1),
                      "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "mb_per_s": round(size / 1e6 / wall, 1),
                      "peak_rss_mb": round(peak), "rss_before_mb": round(base_rss),
                      "frame_mb": round(df.memory_usage(deep=False).sum() / 1e6), "load_1min": round(load, 2)}))


if __name__ == "__main__":
    main()
