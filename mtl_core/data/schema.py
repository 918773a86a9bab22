"""Column roles, schema inference and task specs (``COL[:kind][=POSITIVE]``)."""
from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from ..types import TASK_KINDS, TaskSpec
from . import targets
from .column_counts import SAMPLE_ROWS, column_counts as _counts
from .keys import DATE_RE


class Role(str, Enum):
    """What a column is used for."""

    user_id = "user_id"
    item_id = "item_id"
    session_id = "session_id"
    timestamp = "timestamp"
    categorical = "categorical"
    numeric = "numeric"
    text = "text"
    label = "label"
    ignore = "ignore"


@dataclass
class ColumnInfo:
    """One column: its role, dtype, share of missing values, distinct count, suggested task kind."""

    name: str
    role: Role
    dtype: str
    missing_share: float = 0.0
    cardinality: int = 0
    label_kind: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["role"] = self.role.value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ColumnInfo":
        return cls(**{**d, "role": _role(d["role"])})


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


_USER = {_norm(n) for n in ("user_id", "userid", "user", "customer_id", "customerid", "Customer ID", "customer",
                            "visitorid", "visitor_id", "uid", "member_id", "client_id", "clientid", "memberid", "buyer_id")}
_ITEM = {_norm(n) for n in ("item_id", "itemid", "item", "product_id", "productid", "product", "sku", "StockCode",
                            "asin", "article_id", "goods_id", "goodsid", "movie_id", "movieid", "iid", "pid")}
_SESSION = {_norm(n) for n in ("session", "session_id", "user_session", "sessionid", "visit_id", "visitid")}
_TIME = {_norm(n) for n in ("time", "timestamp", "event_time", "date", "datetime", "InvoiceDate", "ts", "event_date",
                            "order_date", "created_at", "time_stamp", "unix_time", "eventtime", "order_time")}
_LABEL_WORDS = ("click", "cart", "purchase", "buy", "bought", "label", "target", "rating", "sales", "quantity",
                "income", "convert", "conversion", "churn", "like", "finish", "revenue", "order", "fav")
# aggregate words mark a label-like name as a feature: item_rating_avg, user_click_count...
_FEATURE_HINTS = {"avg", "mean", "count", "cnt", "num", "n", "total", "rate", "ratio", "prev", "hist", "last",
                  "past", "sum", "std", "min", "max", "median", "share", "pct"}
_REGRESSION_WORDS = ("rating", "sales", "quantity", "revenue", "amount", "price", "score", "duration")


def _role(value: Role | str) -> Role:
    if isinstance(value, Role):
        return value
    try:
        return Role(str(value).strip().lower())
    except ValueError:
        raise ConfigError(
            f"Unknown role {value!r}; choose one of {', '.join(r.value for r in Role)}."
        ) from None


@dataclass
class Schema:
    """The roles of a table's columns."""

    columns: list[ColumnInfo] = field(default_factory=list)

    def _get(self, name: str) -> ColumnInfo:
        for c in self.columns:
            if c.name == name:
                return c
        raise DataError(f"There is no column {name!r}{_suggest(name, self.names)}.")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def role_of(self, name: str) -> Role:
        return self._get(name).role

    def columns_with(self, role: Role | str) -> list[str]:
        r = _role(role)
        return [c.name for c in self.columns if c.role == r]

    def with_roles(self, overrides: dict[str, Role | str] | None) -> "Schema":
        """A copy with the given column -> role overrides applied."""
        cols = [ColumnInfo(**asdict(c)) for c in self.columns]
        by_name = {c.name: c for c in cols}
        for name, role in (overrides or {}).items():
            if name not in by_name:
                raise DataError(f"Cannot set the role of {name!r}: there is no such column{_suggest(name, self.names)}.")
            by_name[name].role = _role(role)
        return Schema(cols)

    def _first(self, role: Role) -> str | None:
        found = self.columns_with(role)
        return found[0] if found else None

    @property
    def user_col(self) -> str | None:
        return self._first(Role.user_id)

    @property
    def item_col(self) -> str | None:
        return self._first(Role.item_id)

    @property
    def time_col(self) -> str | None:
        return self._first(Role.timestamp)

    @property
    def session_col(self) -> str | None:
        return self._first(Role.session_id)

    def to_dict(self) -> dict[str, Any]:
        return {"columns": [c.to_dict() for c in self.columns]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Schema":
        return cls([ColumnInfo.from_dict(c) for c in d.get("columns", [])])


def _suggest(name: str, candidates: Iterable[str]) -> str:
    cands = [str(c) for c in candidates]
    close = difflib.get_close_matches(str(name), cands, n=3, cutoff=0.5)
    if not close:
        low = {c.lower().strip(): c for c in cands}
        close = [low[k] for k in difflib.get_close_matches(str(name).lower().strip(), list(low), n=3, cutoff=0.5)]
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


# --------------------------------------------------------------------------- inference
_DATE_RE = DATE_RE


def _is_text(s: pd.Series) -> bool:
    return s.dtype == object or isinstance(s.dtype, pd.StringDtype)


def _looks_datetime(s: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return True
    if not _is_text(s):
        return False
    sample = s.dropna().astype(str).iloc[:200]
    return bool(len(sample)) and bool(sample.str.match(_DATE_RE).mean() >= 0.9)


_UNIX_RANGES = ((946_684_800, 4_102_444_800), (946_684_800_000, 4_102_444_800_000))  # 2000..2100, s and ms


def _looks_unix_time(s: pd.Series, full: pd.Series | None = None) -> bool:
    """Numbers that are all Unix seconds or milliseconds between 2000 and 2100, with many
    distinct values (a timestamp, not a constant or a code); the range is checked on
    ``full`` (all rows) when ``s`` is a sample of it."""
    if not pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return False
    x = s.to_numpy(dtype=np.float64, na_value=np.nan)
    x = x[np.isfinite(x)]
    if len(x) < 2 or len(np.unique(x[:5000])) < min(10, len(x)):
        return False
    in_range = _in_unix_range(x)
    if in_range and full is not None:  # a sample out of range already answers for all rows
        x = full.to_numpy(dtype=np.float64, na_value=np.nan)
        in_range = _in_unix_range(x[np.isfinite(x)])
    return in_range


def _in_unix_range(x: np.ndarray) -> bool:
    lo, hi = float(x.min()), float(x.max())
    return any(a <= lo and hi <= b for a, b in _UNIX_RANGES)


def _infer_one(name: str, full: pd.Series, sample: pd.Series | None = None) -> ColumnInfo:
    """The role of one column. Counts (rows, missing, distinct) are the whole column's;
    rules that read values (dates, Unix times, text length) read ``sample`` when given."""
    s = full if sample is None else sample
    n = len(full)
    nunique, n_missing = _counts(full, sample)
    missing = n_missing / n if n else 0.0
    dtype = str(s.dtype)
    key = _norm(name)
    words = re.findall(r"[a-z]+", str(name).lower())
    numeric = pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)
    label_kind: str | None = None
    if key in _USER:
        role = Role.user_id
    elif key in _ITEM:
        role = Role.item_id
    elif key in _SESSION:
        role = Role.session_id
    elif key in _TIME or (_looks_datetime(s) and not numeric) \
            or (numeric and not key.endswith(("id", "key", "code")) and _looks_unix_time(s, None if sample is None else full)):
        role = Role.timestamp
    elif key.endswith(("id", "code", "key")) and not numeric or (key.endswith(("id", "key")) and numeric):
        role = Role.categorical
    elif (any(w.startswith(lw) for w in words for lw in _LABEL_WORDS) and not _FEATURE_HINTS.intersection(words)) \
            or key in ("y", "istarget"):
        role = Role.label
        label_kind = targets.suggest_kind(full)
        if label_kind is None and numeric and nunique > 1:
            label_kind = "regression"
        if label_kind == "multiclass" and numeric and any(w.startswith(r) for w in words for r in _REGRESSION_WORDS):
            label_kind = "regression"
    elif nunique <= 1 and n > 1:
        role = Role.ignore
    elif pd.api.types.is_bool_dtype(full.dtype):
        role = Role.categorical
        label_kind = "binary"
    elif numeric:
        few = nunique <= 2 or (nunique <= 20 and pd.api.types.is_integer_dtype(s.dtype) and n >= 10 * nunique)
        role = Role.categorical if few else Role.numeric
        if nunique == 2:
            label_kind = "binary"
    elif _is_text(s):
        sample = s.dropna().astype(str).iloc[:1000]
        avg_len = float(sample.str.len().mean()) if len(sample) else 0.0
        high_card = nunique > 0.5 * max(1, n - n_missing)
        role = Role.text if (avg_len >= 30 and high_card) or avg_len >= 80 else Role.categorical
        if role == Role.categorical and nunique == 2:
            label_kind = "binary"
    else:
        role = Role.categorical
    return ColumnInfo(str(name), role, dtype, round(missing, 6), nunique, label_kind)


def infer_schema(df: pd.DataFrame, overrides: dict[str, Role | str] | None = None) -> Schema:
    """Guess each column's role from its name and values; then apply the roles the table
    carries in ``df.attrs["roles"]`` (the funnel builder's user/item/time/session choices),
    and ``overrides`` last."""
    # Performance: past SAMPLE_ROWS rows the value-based rules read a seeded sample of rows
    # (counts stay exact where a rule needs them; tables up to SAMPLE_ROWS are read whole)
    rows = None
    if len(df) > SAMPLE_ROWS:
        rows = np.sort(np.random.default_rng(0).choice(len(df), SAMPLE_ROWS, replace=False))
    cols = [_infer_one(str(c), df[c], None if rows is None else df[c].iloc[rows]) for c in df.columns]
    carried = {c: r for c, r in (df.attrs.get("roles") or {}).items() if c in set(map(str, df.columns))}
    for c in cols:
        if c.name in carried:
            c.role = _role(carried[c.name])
    # an id-like name used twice (e.g. "user" and "user_id"): keep the first as the id
    for role in (Role.user_id, Role.item_id, Role.session_id):
        found = sorted((c for c in cols if c.role == role), key=lambda c: c.name not in carried)
        for extra in found[1:]:
            extra.role = Role.categorical
    return Schema(cols).with_roles(overrides)


def id_like_columns(schema: "Schema") -> list[str]:
    """Columns holding identifiers: user, item and session ids, and categoricals named ``...id``."""
    roles = (Role.user_id, Role.item_id, Role.session_id)
    return [c.name for c in schema.columns
            if c.role in roles or c.role == Role.categorical and _norm(c.name).endswith("id")]


# --------------------------------------------------------------------------- suggestions
_OUTCOME_WORDS = ("click", "cart", "purchase", "buy", "bought", "like", "rating", "rated", "recommend", "churn",
                  "label", "target", "convert", "conversion", "fav", "order", "finish", "watch", "play", "subscribe",
                  "outcome", "success", "response", "income", "sales", "revenue", "quantity")
_ATTRIBUTE_WORDS = ("gender", "sex", "age", "occupation", "job", "country", "city", "state", "zip", "region",
                    "education", "marital", "race", "language", "nationality", "birth", "year", "month", "weekday")


def _task_score(c: ColumnInfo) -> int:
    words = re.findall(r"[a-z]+", c.name.lower())
    if c.name.lower() in ("y", "istarget") or any(w.startswith(o) for w in words for o in _OUTCOME_WORDS) \
            and not _FEATURE_HINTS.intersection(words):
        return 3
    if any(w in _ATTRIBUTE_WORDS for w in words):
        return 0
    return 2 if c.role == Role.label else 1


def suggest_tasks(schema: "Schema", k: int = 2) -> list[str]:
    """Up to ``k`` columns to predict: outcome-like names (click, cart, purchase, like, rating,
    churn, label, target...) before other plausible labels, attributes of a user (gender, age,
    occupation, country...) only when nothing else is; binary before other kinds on a tie."""
    cands = [c for c in schema.columns if c.label_kind and c.role not in (Role.user_id, Role.item_id, Role.session_id,
                                                                          Role.timestamp, Role.ignore)]
    ranked = sorted(cands, key=lambda c: (-_task_score(c), c.label_kind != "binary"))
    good = [c.name for c in ranked if _task_score(c) > 0]
    return (good or [c.name for c in ranked])[:k]


# --------------------------------------------------------------------------- tasks
_THRESHOLD_SPEC = re.compile(r"^(?P<col>.*?)(?::(?P<kind>[A-Za-z_]+))?\s*(?P<op>>=|<=|>|<)\s*(?P<num>[-+]?[\d.]+(?:[eE][-+]?\d+)?)\s*$")


def parse_task_spec(text: str) -> TaskSpec:
    """Parse ``COLUMN[:binary|regression|multiclass][=POSITIVE]`` or a threshold label
    ``COLUMN[:binary]>=NUMBER`` (also ``>``, ``<=``, ``<``); the column may contain spaces, and a
    column whose name holds ``:``, ``=``, ``<`` or ``>`` is quoted: ``"a=b":binary``, ``""`` for a quote."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"A task must be written COLUMN[:kind][=POSITIVE], e.g. 'purchase' or 'income:binary=50000+.'; got {text!r}.")
    if text.lstrip().startswith('"'):
        m = re.fullmatch(r'\s*"((?:[^"]|"")*)"(.*)', text, re.S)
        if m is None or (m.group(2) and m.group(2).lstrip()[:1] not in (":", "=", "<", ">")):
            raise ConfigError(f"Task {text!r} opens a quoted column name but does not close it before ':kind' "
                              'or \'=POSITIVE\'; write e.g. \'"a=b":binary\' (a quote inside is written "").')
        rest = parse_task_spec("c" + m.group(2))
        return TaskSpec(column=m.group(1).replace('""', '"'), kind=rest.kind, positive=rest.positive)
    m = _THRESHOLD_SPEC.match(text)
    if m and m.group("col").strip():
        kind = (m.group("kind") or "binary").lower()
        if kind != "binary" or targets.threshold(m.group("op") + m.group("num")) is None:
            raise ConfigError(f"Task {text!r} compares with a number, which makes a binary task; write e.g. 'rating:binary>=4'.")
        return TaskSpec(column=m.group("col").strip(), kind="binary", positive=m.group("op") + m.group("num"))
    body, positive = text, None
    if "=" in text:
        body, positive = text.split("=", 1)
        positive = positive.strip()
        if not positive:
            raise ConfigError(f"Task {text!r} has '=' but no positive value after it; write e.g. 'status=active'.")
    column, kind = body, None
    m = re.match(r"^(.*):([^:]*)$", body)
    if m and m.group(2).strip().lower() in TASK_KINDS:
        column, kind = m.group(1), m.group(2).strip().lower()
    elif m and m.group(2).strip() and re.fullmatch(r"[A-Za-z_]+", m.group(2).strip()):
        raise ConfigError(
            f"Unknown task kind {m.group(2).strip()!r} in {text!r}; use binary, regression or multiclass."
        )
    column = column.strip()
    if not column:
        raise ConfigError(f"Task {text!r} names no column; write COLUMN[:kind][=POSITIVE].")
    if positive is not None and kind is None:
        kind = "binary"
    if positive is not None and kind != "binary":
        raise ConfigError(f"Task {text!r} gives a positive value, which only a binary task can have; use ':binary' or drop '={positive}'.")
    return TaskSpec(column=column, kind=kind, positive=positive)  # type: ignore[arg-type]


def resolve_tasks(df: pd.DataFrame, specs: list[TaskSpec]) -> list[TaskSpec]:
    """Fill in each task's kind and, for a binary task, its positive value (rules in
    :mod:`mtl_core.data.targets`, decided on the whole table so that every later step uses
    the same positive); bad tasks raise ``DataError``."""
    if not specs:
        raise DataError("No task was given; choose at least one label column.")
    out: list[TaskSpec] = []
    seen: set[str] = set()
    for spec in specs:
        if isinstance(spec, str):
            spec = parse_task_spec(spec)
        if spec.column not in df.columns:
            raise DataError(f"Task column {spec.column!r} is not in the table{_suggest(spec.column, map(str, df.columns))}.")
        if spec.key in seen:
            raise DataError(f"Task {spec.key!r} is listed twice; give each task once or give them different names.")
        seen.add(spec.key)
        s = df[spec.column]
        kind = targets.resolve_kind(s, spec.kind, spec.positive, spec.key, spec.column)
        if kind == "regression":
            _check_target_size(s, spec)
        if "." in spec.key:  # torch module names: a task's tower is registered under its name
            raise DataError(f"Task name {spec.key!r} contains '.', which a task name cannot hold; rename the "
                            "column (e.g. replace '.' with '_').")
        positive = targets.resolve_positive(s, spec.positive) if kind == "binary" else None
        out.append(TaskSpec(column=spec.column, kind=kind, positive=positive, name=spec.name))  # type: ignore[arg-type]
    return out


TARGET_LIMIT = 1e150  # squares of larger values overflow float64 when the target is scaled


def _check_target_size(s: pd.Series, spec: TaskSpec) -> None:
    values = pd.to_numeric(s, errors="coerce").astype("float64").abs()
    big = float(values[np.isfinite(values)].max()) if np.isfinite(values).any() else 0.0
    if big > TARGET_LIMIT:
        raise DataError(f"Regression task {spec.key!r} has values as large as {big:.3g}, too large to learn from "
                        f"(the limit is {TARGET_LIMIT:.0e}); rescale the column (divide it, or take its logarithm) "
                        "or remove those rows.")


def check_features_vs_tasks(feature_cols: Iterable[str], tasks: Iterable[TaskSpec]) -> None:
    """Raise ``DataError`` when a label column is also used as a feature (target leak)."""
    feats = set(feature_cols)
    leaks = [t.column for t in tasks if t.column in feats]
    if leaks:
        raise DataError(
            f"Column(s) {', '.join(repr(c) for c in leaks)} are both a task label and a feature; "
            "remove them from the features (or set their role to label)."
        )


# --------------------------------------------------------------------------- targets
def task_target(series: pd.Series, spec: TaskSpec) -> np.ndarray:
    """Raw target per kind: binary float32 1/0/NaN, regression float64 (NaN), multiclass class keys (NaN)."""
    kind = spec.kind
    if kind is None:
        spec = resolve_tasks(series.to_frame(spec.column), [spec])[0]
        kind = spec.kind
    if kind == "binary":
        return targets.binary_labels(series, spec.positive)
    if kind == "regression":
        return targets.numbers(series, spec.column)
    if kind == "multiclass":
        return targets.class_keys(series)
    raise ConfigError(f"Unknown task kind {kind!r}; use binary, regression or multiclass.")
