"""Data commands: ``inspect`` (the inferred schema), ``events`` (event log -> funnel table)
and ``synth`` (a synthetic e-commerce table)."""
from __future__ import annotations

import json

from ..errors import ConfigError
from ..validate import split_list
from .options import add_read_options, read_options, write_table


def add_commands(sub) -> None:
    s = sub.add_parser("inspect", help="print the inferred schema as JSON")
    add_read_options(s)
    s.set_defaults(func=cmd_inspect)

    s = sub.add_parser("events", help="event log -> one row per (user, item) with funnel labels")
    add_read_options(s)
    s.add_argument("--user-col", required=True)
    s.add_argument("--item-col", required=True)
    s.add_argument("--event-col", required=True)
    s.add_argument("--time-col")
    s.add_argument("--session-col")
    s.add_argument("--by", choices=["user", "session"], default="user")
    s.add_argument("--funnel", required=True, help="ordered event values, e.g. view,cart,purchase")
    s.add_argument("--labels", choices=["reached", "event"], default="reached",
                   help="reached: 1 for a stage or any later one (a strict funnel); event: 1 when that event happened")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_events)

    s = sub.add_parser("synth", help="generate a synthetic e-commerce table")
    s.add_argument("--rows", type=int, required=True)
    s.add_argument("--task-correlation", type=float, default=0.5)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_synth)


def cmd_inspect(a) -> int:
    from ..data.io import read_table
    from ..data.schema import infer_schema

    df = read_table(a.data, read_options(a))
    schema = infer_schema(df)
    cols = []
    for c in schema.columns:
        cols.append({"name": c.name, "role": getattr(c.role, "value", c.role), "dtype": c.dtype,
                     "missing_share": round(float(c.missing_share), 6), "cardinality": int(c.cardinality),
                     "label_kind": c.label_kind})
    print(json.dumps({"rows": int(len(df)), "columns": cols}, indent=2))
    return 0


def cmd_events(a) -> int:
    from ..data.events import build_funnel_table
    from ..data.io import read_table

    df = read_table(a.data, read_options(a))
    funnel = split_list(a.funnel)
    table = build_funnel_table(df, user_col=a.user_col, item_col=a.item_col, event_col=a.event_col,
                               funnel=funnel, time_col=a.time_col, session_col=a.session_col, by=a.by, labels=a.labels)
    write_table(table, a.out)
    stages = funnel[1:]
    rates = ", ".join(f"{s} {table[s].mean():.4f}" for s in stages if s in table)
    print(f"wrote {len(table):,} rows to {a.out} (label rates: {rates})")
    return 0


def cmd_synth(a) -> int:
    from ..data.synth import make_synthetic

    if a.rows < 1:
        raise ConfigError(f"--rows must be at least 1; got {a.rows}.")
    df = make_synthetic(rows=a.rows, task_correlation=a.task_correlation, seed=a.seed)
    write_table(df, a.out)
    print(f"wrote {len(df):,} rows to {a.out}")
    return 0
