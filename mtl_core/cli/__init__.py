"""Command line: ``python -m mtl_core {inspect,events,synth,train,recommend} ...``.

Errors print one line starting with ``error:`` on stderr and exit with status 2.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from ..config import DataConfig, ModelConfig, ReadOptions, RunConfig, SplitConfig, TrainConfig
from ..errors import ConfigError, MTLError
from ..validate import number_list as _numbers
from ..validate import split_list as _split_list


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, no usage dump
        raise _UsageError(message)


class _UsageError(Exception):
    pass


def _add_read_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="CSV, TSV or Parquet file")
    p.add_argument("--sep", default=None, help="field separator (default: sniffed)")
    p.add_argument("--no-header", action="store_true", help="the file has no header row (default: detected)")
    p.add_argument("--names", default=None, help="comma-separated column names (with --no-header)")
    p.add_argument("--encoding", default=None, help="text encoding (default: sniffed)")


def _read_options(a) -> ReadOptions:
    sep = a.sep
    if sep is not None:
        sep = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(sep, sep)
    names = [n.strip() for n in a.names.split(",")] if a.names else None
    return ReadOptions(sep=sep, header=False if a.no_header else None, names=names, encoding=a.encoding)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m mtl_core", description="MTL Lab: multi-task recommendation models from the command line.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    s = sub.add_parser("inspect", help="print the inferred schema as JSON")
    _add_read_options(s)

    s = sub.add_parser("events", help="event log -> one row per (user, item) with funnel labels")
    _add_read_options(s)
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

    s = sub.add_parser("synth", help="generate a synthetic e-commerce table")
    s.add_argument("--rows", type=int, required=True)
    s.add_argument("--task-correlation", type=float, default=0.5)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", required=True)

    s = sub.add_parser("train", help="train a multi-task model and save a run directory")
    s.add_argument("--config", help="a run's config.json (other options override it)")
    s.add_argument("--data", help="CSV, TSV or Parquet file")
    s.add_argument("--sep")
    s.add_argument("--no-header", action="store_true")
    s.add_argument("--names")
    s.add_argument("--encoding")
    s.add_argument("--task", action="append", default=None,
                   help="COLUMN[:binary|regression|multiclass][=POSITIVE]; repeat for several tasks")
    s.add_argument("--user-col")
    s.add_argument("--item-col")
    s.add_argument("--time-col")
    s.add_argument("--drop", help="comma-separated columns never used as features")
    s.add_argument("--arch", help="architecture: linear, single, shared_bottom, mmoe, ple, esmm, sklearn")
    s.add_argument("--weighting", help="task weighting: fixed, uncertainty, gradnorm, dwa, pcgrad, cagrad, mgda")
    s.add_argument("--weights", help="comma-separated task weights in task order, e.g. 1,0.5")
    s.add_argument("--epochs", type=int)
    s.add_argument("--batch-size", type=int)
    s.add_argument("--lr", type=float)
    s.add_argument("--optimizer", help="sgd, momentum, adam, adamw")
    s.add_argument("--weight-decay", type=float)
    s.add_argument("--split", help="random, stratified, temporal, user")
    s.add_argument("--seed", type=int)
    s.add_argument("--device", help="auto, cpu, cuda, mps")
    s.add_argument("--embed-dim", type=int)
    s.add_argument("--hidden", help="comma-separated layer sizes of the bottom/experts, e.g. 64,32")
    s.add_argument("--tower-hidden", help="comma-separated tower layer sizes")
    s.add_argument("--experts", type=int, help="number of experts (mmoe)")
    s.add_argument("--esmm-parent", help="parent task of ESMM (e.g. click)")
    s.add_argument("--patience", type=int)
    s.add_argument("--name", help="a name for the run")
    s.add_argument("--out", help="runs folder (default: ./runs or $MTL_LAB_RUNS)")
    s.add_argument("--quiet", action="store_true")

    s = sub.add_parser("recommend", help="top-K items for a user from a saved run (JSON)")
    s.add_argument("--run", required=True)
    s.add_argument("--user", required=True)
    s.add_argument("--k", type=int, default=10)
    s.add_argument("--include-bought", action="store_true")
    # LAB COMMANDS (each sets its handler with set_defaults(func=...))
    from .lab import add_commands

    add_commands(sub)  # trade-off lab: baseline, sweep, corrlab
    return p


# --------------------------------------------------------------------------- commands
def cmd_inspect(a) -> int:
    from ..data.io import read_table
    from ..data.schema import infer_schema

    df = read_table(a.data, _read_options(a))
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

    df = read_table(a.data, _read_options(a))
    funnel = _split_list(a.funnel)
    table = build_funnel_table(df, user_col=a.user_col, item_col=a.item_col, event_col=a.event_col,
                               funnel=funnel, time_col=a.time_col, session_col=a.session_col, by=a.by, labels=a.labels)
    _write_table(table, a.out)
    stages = funnel[1:]
    rates = ", ".join(f"{s} {table[s].mean():.4f}" for s in stages if s in table)
    print(f"wrote {len(table):,} rows to {a.out} (label rates: {rates})")
    return 0


def _write_table(df, out: str) -> None:
    path = Path(out)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.suffix.lower() == ".parquet":
            df.to_parquet(path, index=False)
        else:
            df.to_csv(path, index=False, sep="\t" if path.suffix.lower() == ".tsv" else ",")
    except OSError as exc:
        raise ConfigError(f"Cannot write {out}: {exc.strerror or exc}.") from None


def cmd_synth(a) -> int:
    from ..data.synth import make_synthetic

    if a.rows < 1:
        raise ConfigError(f"--rows must be at least 1; got {a.rows}.")
    df = make_synthetic(rows=a.rows, task_correlation=a.task_correlation, seed=a.seed)
    _write_table(df, a.out)
    print(f"wrote {len(df):,} rows to {a.out}")
    return 0


def config_from_args(a) -> RunConfig:
    cfg = RunConfig.load(a.config) if a.config else RunConfig()
    d: DataConfig = cfg.data
    if a.data:
        d.path = a.data
    if a.sep or a.no_header or a.names or a.encoding:
        d.read = _read_options(argparse.Namespace(sep=a.sep, no_header=a.no_header, names=a.names, encoding=a.encoding))
    if a.task:
        d.tasks = list(a.task)
    for attr in ("user_col", "item_col", "time_col"):
        if getattr(a, attr):
            setattr(d, attr, getattr(a, attr))
    if a.drop:
        d.drop = _split_list(a.drop)
    m: ModelConfig = cfg.model
    t: TrainConfig = cfg.train
    sp: SplitConfig = cfg.split
    if a.arch:
        m.arch = a.arch
    if a.embed_dim is not None:
        m.embed_dim = a.embed_dim
    if a.hidden:
        m.hidden = _numbers(a.hidden, "--hidden", int, "64,32")
    if a.tower_hidden:
        m.tower_hidden = _numbers(a.tower_hidden, "--tower-hidden", int, "32")
    if a.experts is not None:
        m.n_experts = a.experts
    if a.esmm_parent:
        m.esmm_parent = a.esmm_parent
    for src, dst in (("weighting", "weighting"), ("epochs", "epochs"), ("batch_size", "batch_size"), ("lr", "lr"),
                     ("optimizer", "optimizer"), ("weight_decay", "weight_decay"), ("device", "device"),
                     ("patience", "patience")):
        v = getattr(a, src)
        if v is not None:
            setattr(t, dst, v)
    if a.seed is not None:
        t.seed = a.seed
        sp.seed = a.seed
    if a.split:
        sp.method = a.split
    if a.name:
        cfg.name = a.name
    if not d.path:
        raise ConfigError("No data: give --data FILE (or --config with data.path).")
    if not d.tasks:
        raise ConfigError("No task: give at least one --task COLUMN[:kind][=POSITIVE].")
    if a.weights:
        try:
            ws = [float(x) for x in _split_list(a.weights)]
        except ValueError:
            raise ConfigError(f"--weights must be comma-separated numbers; got {a.weights!r}.") from None
        from ..data.schema import parse_task_spec

        keys = [parse_task_spec(s).key for s in d.tasks]
        if len(ws) != len(keys):
            raise ConfigError(f"--weights has {len(ws)} values but there are {len(keys)} tasks ({', '.join(keys)}).")
        t.task_weights = dict(zip(keys, ws))
    return cfg.validate()


def cmd_train(a) -> int:
    from ..pipeline import run_experiment

    cfg = config_from_args(a)

    import os

    # under torchrun every rank runs this command: only rank 0 talks
    quiet = a.quiet or os.environ.get("RANK", "0") != "0"

    def progress(ev) -> None:
        if quiet or ev.kind != "epoch":
            return
        parts = [f"epoch {ev.epoch}/{ev.epochs}"]
        parts.append("train loss " + " ".join(f"{k}={v:.4f}" for k, v in ev.train_loss.items()))
        if ev.val_loss:
            parts.append("val loss " + " ".join(f"{k}={v:.4f}" for k, v in ev.val_loss.items()))
        ms = [f"{k} {m}={v:.4f}" for k, d in ev.val_metrics.items() for m, v in d.items()]
        if ms:
            parts.append("val " + " ".join(ms))
        parts.append(f"{ev.samples_per_s:,.0f} samples/s")
        print(" | ".join(parts), flush=True)

    res = run_experiment(cfg, callback=progress, runs_root=a.out)
    if os.environ.get("RANK", "0") != "0":
        return 0
    summary = {"run_dir": str(res.run_dir), "status": res.status, **res.metrics}
    print(json.dumps(summary, indent=2, default=str))
    return 0


def cmd_recommend(a) -> int:
    from ..recommend import recommend
    from ..runs import load_run

    run = load_run(a.run)
    if a.k < 1:
        raise ConfigError(f"--k must be at least 1; got {a.k}.")
    recs = recommend(run, a.user, k=a.k, exclude_bought=not a.include_bought)
    print(recs.to_json(orient="records", indent=2, default_handler=str))
    return 0


COMMANDS = {"inspect": cmd_inspect, "events": cmd_events, "synth": cmd_synth, "train": cmd_train,
            "recommend": cmd_recommend}


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    try:
        a = parser.parse_args(argv)
        if not a.command:
            parser.print_help()
            return 2
        handler = getattr(a, "func", None) or COMMANDS[a.command]  # lab commands set func
        return handler(a)
    except _UsageError as exc:
        print(f"error: {exc} (see --help)", file=sys.stderr)
        return 2
    except MTLError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: out of memory; use a smaller file, fewer rows or a smaller batch size", file=sys.stderr)
        return 2
    except Exception as exc:  # never a traceback for the user
        logging.getLogger("mtl_core").debug("unexpected error", exc_info=True)
        print(f"error: unexpected {type(exc).__name__}: {' '.join(str(exc).split())[:300]}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
