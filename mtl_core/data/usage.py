"""What each column becomes in a run, and why a column is not used: one rule for the Data and
Train pages and the run's ``metrics.json`` (``columns``)."""
from __future__ import annotations

from typing import Any, Iterable

_USED = {"user_id": "feature: user id, embedded", "item_id": "feature: item id, embedded",
         "categorical": "feature: categories, embedded", "numeric": "feature: number, scaled"}


def _role(schema, col: str) -> str:
    r = schema.role_of(col)
    return str(getattr(r, "value", r))


def column_usage(schema, tasks: Iterable[Any], drop: Iterable[str] = (), text_dims: int = 16,
                 time_features: bool = True, ticked: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """``{column: {"role", "used", "as"}}``: ``as`` says what the column becomes, or why it is
    not used. ``tasks``: task specs or column names; ``ticked``: columns the user marked as
    features (a task column among them is reported as such)."""
    task_cols = {getattr(t, "column", t) for t in tasks}
    drop, ticked = set(drop), set(ticked)
    time_col = schema.time_col
    out: dict[str, dict[str, Any]] = {}
    for c in schema.columns:
        role = _role(schema, c.name)
        used, what = False, ""
        if c.name in task_cols:
            what = "task label" + ("; ticked as a feature, but a label never becomes a feature (it would leak the "
                                   "answer)" if c.name in ticked else " (never a feature)")
        elif role == "ignore":
            what = "not used: role 'ignore'" + (" (a single value)" if c.cardinality <= 1 else "")
        elif role == "label":
            what = "not used: a label column that is not a task (kept out of the features so no label leaks in)"
        elif role == "session_id":
            what = "not used as a feature: a session id groups rows (funnel builder, splits)"
        elif c.name in drop:
            what = "not used: 'use as feature' is unticked"
        elif role == "text":
            used = text_dims > 0
            what = (f"feature: free text, TF-IDF -> {text_dims} dense columns" if used
                    else "not used: free text, and text features are off (preprocess.text_dims = 0)")
        elif role == "timestamp":
            if c.name != time_col:
                what = f"not used: a second time column (only {time_col!r} gives time features)"
            elif time_features:
                used, what = True, "time features: hour, weekday, month, days since user/item first seen; orders the temporal split"
            else:
                what = "orders the temporal split; time features are off (preprocess.time_features = false)"
        else:
            used, what = True, _USED.get(role, f"feature ({role})")
        out[c.name] = {"role": role, "used": used, "as": what}
    return out
