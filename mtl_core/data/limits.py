"""Default input limits sized for this machine: the largest table (``max_bytes``, ``max_rows``)
whose documented peak memory fits in about half of the memory available when the process
starts, so a larger table is refused at the door with a clear message instead of failing
halfway through training.

Reading and preparing a CSV peaks at about 2.5 times its size, and a row costs about 800
bytes at the peak with training (measured on the Ali-CCP-shaped benchmark,
``bench/e2e_csv.py``). Available memory is ``MemAvailable`` of ``/proc/meminfo`` (else
``os.sysconf``); when it is unknown, the fixed defaults of :class:`mtl_core.config.Limits`
stay. Operators still set any limit with ``MTL_LAB_LIMIT_<FIELD>``, which wins.
"""
from __future__ import annotations

import functools
import os
from typing import Mapping

SHARE = 0.5  # of the available memory, for one table's peak
PEAK_PER_CSV_BYTE = 2.5
PEAK_PER_ROW = 800
FLOOR = {"max_bytes": 64 * 2**20, "max_rows": 200_000}  # even a small machine reads a sample
SIZED = ("max_bytes", "max_rows")


def available_memory(meminfo: str = "/proc/meminfo") -> int | None:
    """Bytes of memory available to new work, or ``None`` when the system does not say."""
    try:
        with open(meminfo, encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    parts = line.split()
                    return int(parts[1]) * (1024 if parts[2:3] == ["kB"] else 1)
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def sized_for(available: int | None) -> dict[str, int]:
    """``max_bytes`` and ``max_rows`` whose peak fits in ``SHARE`` of ``available`` bytes
    (``{}`` when unknown: the fixed defaults stay)."""
    if not available or available <= 0:
        return {}
    budget = SHARE * available
    return {"max_bytes": max(FLOOR["max_bytes"], int(budget / PEAK_PER_CSV_BYTE)),
            "max_rows": max(FLOOR["max_rows"], int(budget / PEAK_PER_ROW) // 1000 * 1000)}


@functools.lru_cache(maxsize=1)
def _measured() -> tuple[int | None, tuple[tuple[str, int], ...]]:
    available = available_memory()
    return available, tuple(sized_for(available).items())


def defaults() -> dict[str, int]:
    """The sized ``max_bytes`` / ``max_rows`` of this machine (``{}`` when its memory is unknown),
    measured once per process so every run in it gets the same."""
    return dict(_measured()[1])


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


HOW = "Operators change them with MTL_LAB_LIMIT_MAX_ROWS and MTL_LAB_LIMIT_MAX_BYTES."


def describe(limits, environ: Mapping[str, str] | None = None, capped: str = "", what: str = "Limits") -> str:
    """One sentence: the effective row and size limits of ``limits`` and where each came from
    (an ``MTL_LAB_LIMIT_*`` variable, the available memory, the fixed default, or ``capped``,
    a reason the caller lowered it)."""
    env = os.environ if environ is None else environ
    available, sized = _measured()
    sized = dict(sized)
    parts = []
    for field, shown in (("max_rows", f"{limits.max_rows:,} rows"), ("max_bytes", _gib(limits.max_bytes))):
        var = f"MTL_LAB_LIMIT_{field.upper()}"
        if str(env.get(var, "")).strip():
            why = f"set by {var}"
        elif field in sized and sized[field] == getattr(limits, field):
            why = f"from {_gib(available)} available memory"
        elif capped:
            why = capped
        else:
            why = "fixed default" + ("" if sized else ": available memory unknown")
        parts.append(f"{shown} ({why})")
    return f"{what}: {parts[0]}, {parts[1]} per file."
