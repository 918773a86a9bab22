"""Option builders shared by the command groups: how to read a table, and the training
options (declared once here, used by ``train``, ``baseline`` and ``sweep``).

Architecture and weighting-method options come from the registries: every ``Setting`` of a
registered architecture is a flag (``--n-experts``, ``--hidden``...), every setting of a
weighting method is ``--METHOD-FIELD`` (``--gradnorm-alpha``, ``--dwa-temperature``...). A
new architecture or method gets its flags without touching this file.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..config import FULL_BATCH, RunConfig, ReadOptions, setting_value
from ..errors import ConfigError
from ..models import MODELS
from ..validate import split_list
from ..weighting import WEIGHTINGS

TYPES = {"int": int, "float": float}
METAVARS = {"int": "N", "float": "X", "layers": "SIZES", "task": "TASK"}


class UsageError(Exception):
    """A command line argparse rejects (printed as one ``error:`` line, exit status 2)."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, no usage dump
        raise UsageError(message)


def add_verbose(p: argparse.ArgumentParser, top: bool = False) -> None:
    """``--verbose``: print the traceback of an unexpected error. Accepted before and after
    the command (the command's default does not hide the top level's)."""
    p.add_argument("--verbose", action="store_true", default=False if top else argparse.SUPPRESS,
                   help="print the traceback of an unexpected error")


def add_read_options(p: argparse.ArgumentParser, data_required: bool = True) -> None:
    p.add_argument("--data", required=data_required, help="CSV, TSV or Parquet file")
    p.add_argument("--sep", default=None, help="field separator (default: sniffed)")
    p.add_argument("--no-header", action="store_true", help="the file has no header row (default: detected)")
    p.add_argument("--names", default=None, help="comma-separated column names (with --no-header)")
    p.add_argument("--encoding", default=None, help="text encoding (default: sniffed)")


def read_options(a) -> ReadOptions:
    sep = a.sep
    if sep is not None:
        sep = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(sep, sep)
    names = [n.strip() for n in a.names.split(",")] if a.names else None
    return ReadOptions(sep=sep, header=False if a.no_header else None, names=names, encoding=a.encoding)


def write_table(df, out: str) -> None:
    """Write ``df`` as CSV, TSV or Parquet (by ``out``'s extension), creating its folder."""
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


# --------------------------------------------------------------------------- registry flags
def _arch_settings() -> dict:
    """field -> (setting, [architectures that have it]), in registry order."""
    out: dict = {}
    for e in MODELS.entries():
        for s in e.settings:
            out.setdefault(s.field, (s, []))[1].append(e.name)
    return out


def _weighting_settings() -> list:
    """(method, setting, flag, dest) for every weighting method's settings."""
    return [(e.name, s, f"--{e.name}-{s.field}".replace("_", "-"), f"weighting__{e.name}__{s.field}")
            for e in WEIGHTINGS.entries() for s in e.settings]


def _help(s, extra: str) -> str:
    text = s.label + (f": {s.help}" if s.help else "")
    return f"{text} [{extra}]".replace("%", "%%")


def _add_registry_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("architecture settings (each for the architectures named)")
    for field, (s, archs) in _arch_settings().items():
        g.add_argument(s.flag, dest=f"arch__{field}", type=TYPES.get(s.kind, str), metavar=METAVARS.get(s.kind),
                       help=_help(s, ", ".join(archs)))
    g = p.add_argument_group("weighting-method settings (each for its --weighting method)")
    for method, s, flag, dest in _weighting_settings():
        g.add_argument(flag, dest=dest, type=TYPES.get(s.kind, str), metavar=METAVARS.get(s.kind),
                       help=_help(s, f"default {s.default}"))


def add_train_options(p: argparse.ArgumentParser) -> None:
    """The options ``config_from_args`` reads: data, tasks, model, weighting, training."""
    p.add_argument("--config", help="a run's config.json (other options override it)")
    add_read_options(p, data_required=False)
    p.add_argument("--task", action="append", default=None,
                   help="COLUMN[:binary|regression|multiclass][=POSITIVE]; repeat for several tasks")
    p.add_argument("--user-col")
    p.add_argument("--item-col")
    p.add_argument("--time-col")
    p.add_argument("--drop", help="comma-separated columns never used as features")
    p.add_argument("--arch", help=f"architecture: {', '.join(MODELS.names())}")
    p.add_argument("--weighting", help=f"task weighting: {', '.join(WEIGHTINGS.names())}")
    p.add_argument("--weights", help="comma-separated task weights in task order, e.g. 1,0.5")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--lr-schedule", help="constant, cosine (warm-up then cosine decay), onecycle; per batch")
    p.add_argument("--warmup-epochs", type=float, help="cosine's linear warm-up in epochs (default 1; 0.5 allowed)")
    p.add_argument("--optimizer", help="sgd, momentum (SGD with momentum), adam, adamw")
    p.add_argument("--momentum", type=float, help="momentum of --optimizer momentum (default 0.9)")
    p.add_argument("--full-batch", action="store_true",
                   help="one batch of all training rows per step (full-batch gradient descent; overrides --batch-size)")
    p.add_argument("--init", help="initialisation of the Linear layers: default (PyTorch's), xavier, kaiming")
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--split", help="random, stratified, temporal, user")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help="auto, cpu, cuda, mps")
    p.add_argument("--embed-dim", type=int)
    p.add_argument("--patience", type=int)
    p.add_argument("--early-stopping-metric", help="loss, auc, rmse or accuracy, optionally :TASK (e.g. auc:click)")
    p.add_argument("--threshold", help="decision threshold of the binary tasks: f1 (F1-best on validation, "
                                       "the default) or a number between 0 and 1, e.g. 0.5")
    p.add_argument("--numeric-encoding", help="scalar, ple (piecewise-linear on train quantile bins) or periodic")
    p.add_argument("--scaling", help="numeric scaling: none, minmax, zscore, robust, quantile")
    p.add_argument("--no-gbm", action="store_true", default=None,
                   help="skip the per-task gradient-boosting reference (evaluation.gbm = false)")
    p.add_argument("--no-time-features", action="store_true", default=None,
                   help="do not turn the timestamp column into calendar and recency features "
                        "(preprocess.time_features = false; it still orders a temporal split)")
    p.add_argument("--collab", help="collaborative features of the user-item pair from the training "
                                    "interactions: mf, graph or mf,graph (needs user and item columns); "
                                    "'none' turns them off")
    p.add_argument("--name", help="a name for the run")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    _add_registry_options(p)


# --------------------------------------------------------------------------- arguments -> config
def _apply_data(cfg: RunConfig, a) -> None:
    d = cfg.data
    if a.data:
        d.path = a.data
    if a.sep or a.no_header or a.names or a.encoding:
        d.read = read_options(a)
    if a.task:
        d.tasks = list(a.task)
    for attr in ("user_col", "item_col", "time_col"):
        if getattr(a, attr):
            setattr(d, attr, getattr(a, attr))
    if a.drop:
        d.drop = split_list(a.drop)
    if not d.path:
        raise ConfigError("No data: give --data FILE (or --config with data.path).")
    if not d.tasks:
        raise ConfigError("No task: give at least one --task COLUMN[:kind][=POSITIVE].")


def _apply_registry_settings(cfg: RunConfig, a) -> None:
    m, t = cfg.model, cfg.train
    for field, (s, archs) in _arch_settings().items():
        value = getattr(a, f"arch__{field}", None)
        if value is None:
            continue
        if m.arch not in archs:
            raise ConfigError(f"{s.flag} is a setting of {', '.join(archs)}; this run's architecture is {m.arch}.")
        setattr(m, field, setting_value(s, value, s.flag))
    params = dict(t.weighting_params)
    for method, s, flag, dest in _weighting_settings():
        value = getattr(a, dest, None)
        if value is None:
            continue
        if method != t.weighting:
            raise ConfigError(f"{flag} is a setting of --weighting {method}; this run's weighting is {t.weighting}.")
        params[s.field] = setting_value(s, value, flag)
    t.weighting_params = params


def _apply_weights(cfg: RunConfig, text: str) -> None:
    from ..data.schema import parse_task_spec

    try:
        ws = [float(x) for x in split_list(text)]
    except ValueError:
        raise ConfigError(f"--weights must be comma-separated numbers; got {text!r}.") from None
    keys = [parse_task_spec(s).key for s in cfg.data.tasks]
    if len(ws) != len(keys):
        raise ConfigError(f"--weights has {len(ws)} values but there are {len(keys)} tasks ({', '.join(keys)}).")
    cfg.train.task_weights = dict(zip(keys, ws))


def _threshold_arg(text: str):
    text = str(text).strip().lower()
    if text == "f1":
        return "f1"
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"--threshold must be f1 or a number between 0 and 1; got {text!r}.") from None


def config_from_args(a) -> RunConfig:
    """The validated ``RunConfig`` of ``--config`` (or the defaults) with the options given."""
    cfg = RunConfig.load(a.config) if a.config else RunConfig()
    _apply_data(cfg, a)
    if a.arch:
        cfg.model.arch = a.arch
    if a.embed_dim is not None:
        cfg.model.embed_dim = a.embed_dim
    for attr in ("weighting", "epochs", "batch_size", "lr", "lr_schedule", "warmup_epochs", "optimizer", "momentum",
                 "weight_decay", "device", "patience", "early_stopping_metric"):
        if getattr(a, attr) is not None:
            setattr(cfg.train, attr, getattr(a, attr))
    if a.full_batch:
        cfg.train.batch_size = FULL_BATCH
    if a.init:
        cfg.model.init = a.init
    if a.seed is not None:
        cfg.train.seed = cfg.split.seed = a.seed
    if a.split:
        cfg.split.method = a.split
    if a.name:
        cfg.name = a.name
    for attr in ("numeric_encoding", "scaling"):
        if getattr(a, attr, None) is not None:
            setattr(cfg.preprocess, attr, getattr(a, attr))
    if getattr(a, "no_gbm", None):
        cfg.evaluation.gbm = False
    if getattr(a, "no_time_features", None):
        cfg.preprocess.time_features = False
    if getattr(a, "collab", None) is not None:
        methods = [m.lower() for m in split_list(a.collab)]
        cfg.preprocess.collab = [] if methods in ([], ["none"]) else methods
    if getattr(a, "threshold", None) is not None:
        cfg.evaluation.threshold = _threshold_arg(a.threshold)
    MODELS.info(cfg.model.arch), WEIGHTINGS.info(cfg.train.weighting)  # a clear error for an unknown name
    _apply_registry_settings(cfg, a)
    if a.weights:
        _apply_weights(cfg, a.weights)
    return cfg.validate()
