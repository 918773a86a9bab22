"""Parameter validation in one place: every check raises ``ConfigError`` naming the
parameter, what it accepts and the value it got. Configs, the CLI, the lab, the synthetic
generators and the weighting methods all call these instead of writing their own."""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Iterable

import numpy as np

from .errors import ConfigError


def choice(name: str, value: Any, allowed: Iterable) -> Any:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}.")
    return value


def flag(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"{name} must be true or false; got {value!r}.")
    return bool(value)


def number(name: str, value: Any, lo: float | None = None, hi: float | None = None,
           integer: bool = False, lo_open: bool = False) -> Any:
    """``value`` is a (whole, when ``integer``) finite number in [lo, hi] (``lo_open``: > lo)."""
    int_types = (int, np.integer)
    ok_type = isinstance(value, int_types) if integer else isinstance(value, (int, float, np.integer, np.floating))
    if isinstance(value, (bool, np.bool_)) or not ok_type or (not integer and not math.isfinite(value)):
        kind = "a whole number" if integer else "a finite number"
        raise ConfigError(f"{name} must be {kind}; got {value!r}.")
    if lo is not None and (value <= lo if lo_open else value < lo):
        raise ConfigError(f"{name} must be {'>' if lo_open else '>='} {lo}; got {value!r}.")
    if hi is not None and value > hi:
        raise ConfigError(f"{name} must be <= {hi}; got {value!r}.")
    return value


def split_list(s: str | None) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``."""
    return [x.strip() for x in (s or "").split(",") if x.strip()]


def number_list(value: Any, name: str, kind=float, example: str = "0,0.5,1", lo: float | None = None,
                hi: float | None = None, distinct: bool = False) -> list:
    """A list of numbers from a comma-separated string or an iterable, or a ConfigError
    naming ``name``. ``kind`` is int or float; bounds and distinctness are checked."""
    words = "whole numbers" if kind is int else "numbers"
    items = split_list(value) if isinstance(value, str) else value
    try:
        out = []
        for x in items:
            if isinstance(x, (bool, np.bool_)):
                raise ValueError
            v = kind(x)
            if kind is int and isinstance(x, (float, np.floating)) and v != x:
                raise ValueError
            if kind is float and not math.isfinite(v):
                raise ValueError
            out.append(v)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{name} must be comma-separated {words}, e.g. {example}; got {value!r}.") from None
    if not out:
        raise ConfigError(f"{name} must list at least one value, e.g. {example}; got {value!r}.")
    bad = [v for v in out if (lo is not None and v < lo) or (hi is not None and v > hi)]
    if bad:
        rng = f"between {lo} and {hi}" if lo is not None and hi is not None else (f">= {lo}" if lo is not None else f"<= {hi}")
        raise ConfigError(f"{name} must be {words} {rng}; got {bad[0]!r}.")
    if distinct and len(set(out)) != len(out):
        raise ConfigError(f"{name} must not repeat a value; got {value!r}.")
    return out


def from_dict(cls, d: dict | None):
    """Build a dataclass from a dict, rejecting unknown keys with a clear message."""
    if d is None:
        return cls()
    if isinstance(d, cls):
        return d
    if not isinstance(d, dict):
        raise ConfigError(f"{cls.__name__} must be a JSON object; got {type(d).__name__}.")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - names
    if unknown:
        raise ConfigError(
            f"Unknown {cls.__name__} setting(s): {', '.join(sorted(unknown))}; "
            f"known settings are {', '.join(sorted(names))}."
        )
    return cls(**d)
