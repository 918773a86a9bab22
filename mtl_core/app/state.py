"""Plain-Python helpers behind the app's pages (no Streamlit here, so they test on their own).

The pages keep per-user choices in ``st.session_state`` under the keys of ``DEFAULTS``; this
module turns those choices into a validated ``RunConfig``, builds the column-roles table the
Data page edits, and manages the per-session runs folder.
"""
from __future__ import annotations

import copy
import re
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import (DataConfig, ModelConfig, PreprocessConfig, RunConfig, SplitConfig,
                     TrainConfig, setting_value)
from ..data.schema import suggest_tasks as schema_suggest_tasks
from ..errors import ConfigError
from ..models import MODELS
from ..weighting import WEIGHTINGS

ROOT = Path(__file__).resolve().parents[2]  # the repository: mtl_core/app/state.py
SAMPLE_PATH = ROOT / "data" / "sample.csv"
ROLES = ("user_id", "item_id", "session_id", "timestamp", "categorical", "numeric", "text",
         "label", "ignore")
TASK_KIND_CHOICES = ("auto", "binary", "regression", "multiclass")
SAMPLE_TASKS = ["click", "purchase"]

_SID_RE = re.compile(r"[0-9a-f]{32}")

#: the cleaning settings the Data page sets (their defaults are PreprocessConfig's, as on the command line)
APP_PREPROCESS_KEYS = ("missing", "outliers", "scaling", "numeric_encoding", "time_features", "collab")

#: session-state keys the pages share, with their initial values
DEFAULTS: dict[str, Any] = {
    "df": None,  # the working table (pandas DataFrame)
    "data_name": "",  # where it came from, for display
    "data_source": {},  # its provenance (mtl_core.data.provenance), written to config.json as data.source
    "data_version": 0,  # bumped whenever df changes: resets widgets bound to the old data
    "schema": None,  # schema.Schema inferred for df
    "roles": {},  # column -> role overrides
    "drop": [],  # columns not used as features
    "tasks": [],  # label columns chosen as tasks
    "task_kinds": {},  # column -> auto|binary|regression|multiclass
    "task_positive": {},  # column -> positive value (binary from a categorical)
    "preprocess": {k: getattr(PreprocessConfig(), k) for k in APP_PREPROCESS_KEYS if k != "collab"},
    "train_settings": {},  # the Train page's widget values (see default_train_settings)
    "job_ids": [],  # jobs submitted from this session, newest last
    "selected_run": None,  # run directory (str) shown on Results / Recommend
    "upload_token": None,  # id of the last uploaded file that was read
    "upload_error": None,
    "last_loaded": None,  # "sample" | "upload" | "synthetic" | "funnel"
}


def fresh_state() -> dict[str, Any]:
    return copy.deepcopy(DEFAULTS)


# --------------------------------------------------------------------------- sessions
def new_session_id() -> str:
    return uuid.uuid4().hex


def valid_session_id(value: Any) -> bool:
    """A session id is exactly 32 lowercase hex characters (safe as a path component)."""
    return isinstance(value, str) and bool(_SID_RE.fullmatch(value))  # "$" would accept a final newline


def session_runs_root(root: str | Path, session_id: str) -> Path:
    if not valid_session_id(session_id):
        raise ValueError("invalid session id")
    path = Path(root) / session_id
    path.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------- uploads
UPLOAD_MAX_ROWS = 2_000_000


def upload_limits(max_upload_mb: int, environ: dict | None = None):
    """Limits for a browser upload: the decompressed size at most the upload size (a 1.6 MB
    gzip cannot expand to 472 MiB in the server's memory) and at most 2,000,000 rows, both
    checked before a DataFrame is built. ``MTL_LAB_LIMIT_MAX_BYTES`` / ``_MAX_ROWS``, when
    set, win."""
    import os

    from ..config import Limits

    env = os.environ if environ is None else environ
    lim = Limits.from_env(env)
    if not str(env.get("MTL_LAB_LIMIT_MAX_BYTES", "")).strip():
        lim.max_bytes = min(lim.max_bytes, max(1, int(max_upload_mb)) * 2**20)
    if not str(env.get("MTL_LAB_LIMIT_MAX_ROWS", "")).strip():
        lim.max_rows = min(lim.max_rows, UPLOAD_MAX_ROWS)
    return lim


def limits_note(max_upload_mb: int, environ: dict | None = None) -> str:
    """What the Data page says about limits: those of an upload and of files read from disk
    (command line, training), each with where it came from (:func:`mtl_core.data.limits.describe`)."""
    from ..config import Limits
    from ..data.limits import HOW, describe

    return " ".join([describe(upload_limits(max_upload_mb, environ), environ, capped="upload cap", what="Uploads"),
                     describe(Limits.from_env(environ), environ, what="Files read from disk"), HOW])


# --------------------------------------------------------------------------- tasks
def suggest_tasks(df: pd.DataFrame, schema: Any = None) -> list[str]:
    """Default tasks: click + purchase when present (the sample), else
    :func:`mtl_core.data.schema.suggest_tasks` (outcome-like columns first)."""
    cols = list(df.columns)
    if all(c in cols for c in SAMPLE_TASKS):
        return list(SAMPLE_TASKS)
    if schema is None:
        return []
    return [c for c in schema_suggest_tasks(schema) if c in cols]


def task_spec(column: str, kind: str | None = "auto", positive: Any = None) -> str:
    """The ``COL[:kind][=POSITIVE]`` string DataConfig.tasks expects (the column quoted when
    its name holds ``:``, ``=`` or a quote, or starts or ends with a space)."""
    spec = str(column)
    if re.search(r'[:="]', spec) or spec != spec.strip():
        spec = '"' + spec.replace('"', '""') + '"'
    if kind and kind != "auto":
        spec += f":{kind}"
    if positive not in (None, "") and kind in (None, "auto", "binary"):
        test = str(positive).strip()
        spec += test if test[:1] in "<>" else f"={positive}"  # a threshold: rating>=4
    return spec


def task_specs(tasks: list[str], kinds: dict, positives: dict) -> list[str]:
    return [task_spec(t, kinds.get(t, "auto"), positives.get(t)) for t in tasks]


# --------------------------------------------------------------------------- roles
def _role_value(role: Any) -> str:
    return str(getattr(role, "value", role))


def roles_table(schema: Any, roles: dict | None = None, drop: list | None = None,
                tasks: list | None = None) -> pd.DataFrame:
    """One row per column for the roles editor: name, role, dtype, missing %, distinct
    values, and whether it is used as a model input."""
    roles = roles or {}
    drop = set(drop or [])
    tasks = set(tasks or [])
    rows = []
    for c in schema.columns:
        role = roles.get(c.name, _role_value(c.role))
        rows.append({
            "column": c.name,
            "role": role,
            "dtype": str(c.dtype),
            "missing %": round(100.0 * float(c.missing_share or 0.0), 1),
            "distinct": int(c.cardinality or 0),
            "use as feature": (c.name not in drop and c.name not in tasks
                               and role not in ("ignore", "label", "timestamp")),
        })
    return pd.DataFrame(rows, columns=["column", "role", "dtype", "missing %", "distinct",
                                       "use as feature"])


def roles_from_table(table: pd.DataFrame, schema: Any,
                     tasks: list | None = None) -> tuple[dict[str, str], list[str]]:
    """(role overrides that differ from the inferred schema, columns dropped as features).
    Task columns are never features, so they are not listed as dropped."""
    tasks = set(tasks or [])
    inferred = {c.name: _role_value(c.role) for c in schema.columns}
    overrides: dict[str, str] = {}
    drop: list[str] = []
    for _, row in table.iterrows():
        name = row["column"]
        role = row["role"] if row["role"] in ROLES else inferred.get(name)
        if role != inferred.get(name):
            overrides[name] = role
        if (not bool(row["use as feature"]) and name not in tasks
                and role not in ("ignore", "label", "timestamp")):
            drop.append(name)
    return overrides, drop


def id_columns(schema: Any, roles: dict) -> dict[str, str | None]:
    """user/item/time/session columns after the user's role overrides."""
    out = {"user_col": None, "item_col": None, "time_col": None, "session_col": None}
    key = {"user_id": "user_col", "item_id": "item_col", "timestamp": "time_col",
           "session_id": "session_col"}
    for c in schema.columns:
        role = roles.get(c.name, _role_value(c.role))
        k = key.get(role)
        if k and out[k] is None:
            out[k] = c.name
    return out


# --------------------------------------------------------------------------- training settings
def widget_value(setting, value):
    """A config value as the Train page's widget holds it (layer sizes as "64,32")."""
    if setting.kind == "layers" and isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return value


def arch_settings() -> dict:
    """field -> Setting for every registered architecture's settings (registry order)."""
    return {st.field: st for e in MODELS.entries() for st in e.settings}


def default_train_settings(tasks: list[str] | None = None) -> dict[str, Any]:
    """The Train page's initial values: the defaults of ``ModelConfig``, ``TrainConfig`` and
    ``SplitConfig`` (the same the command line starts from), and for a weighting method's
    own settings the registry's defaults (``weighting_params``: method -> field -> value,
    filled in by the page)."""
    m, t, s = ModelConfig(), TrainConfig(), SplitConfig()
    return {
        "arch": m.arch, "embed_dim": m.embed_dim, "init": m.init,
        **{f: widget_value(st, getattr(m, f)) for f, st in arch_settings().items()},
        "weighting": t.weighting, "weighting_params": {}, "task_weights": {k: 1.0 for k in (tasks or [])},
        "optimizer": t.optimizer, "lr": t.lr, "batch_size": t.batch_size, "epochs": t.epochs,
        "lr_schedule": t.lr_schedule, "warmup_epochs": t.warmup_epochs,
        "patience": t.patience, "split_method": s.method, "train_frac": s.train,
        "val_frac": s.val, "seed": t.seed, "device": t.device, "name": "",
    }


def carry_train_settings(settings: dict | None, tasks: list[str]) -> dict[str, Any]:
    """The Train settings kept across a change of data: everything except what names a task
    the new data does not have (a task's weight, a task-valued architecture setting such as
    ESMM's parent task), which then starts from its default."""
    out = copy.deepcopy(dict(settings or {}))
    keep = set(tasks or [])
    if isinstance(out.get("task_weights"), dict):
        out["task_weights"] = {t: w for t, w in out["task_weights"].items() if t in keep}
    for field, setting in arch_settings().items():
        if setting.kind == "task" and field in out and out[field] not in keep:
            del out[field]
    return out


def _model_config(settings: dict) -> ModelConfig:
    """The architecture's own settings (from its registry entry) typed into a ModelConfig."""
    arch = settings["arch"]
    base = ModelConfig()
    own = {st.field: setting_value(st, settings.get(st.field, getattr(base, st.field)))
           for st in MODELS.info(arch).settings}
    return ModelConfig(arch=arch, embed_dim=int(settings["embed_dim"]), init=settings.get("init", base.init), **own)


def _weighting_params(settings: dict) -> dict:
    method = settings["weighting"]
    chosen = (settings.get("weighting_params") or {}).get(method) or {}
    return {st.field: setting_value(st, chosen.get(st.field, st.default)) for st in WEIGHTINGS.info(method).settings}


def build_config(state: dict, settings: dict, num_threads: int = 0) -> RunConfig:
    """A validated RunConfig from the session's data choices and the Train page settings."""
    tasks = list(state.get("tasks") or [])
    if not tasks:
        raise ConfigError("Choose at least one task on the Data page (for example click and purchase).")
    schema = state.get("schema")
    roles = dict(state.get("roles") or {})
    ids = id_columns(schema, roles) if schema is not None else {}
    train_frac = float(settings["train_frac"])
    val_frac = float(settings["val_frac"])
    test_frac = round(1.0 - train_frac - val_frac, 6)
    if test_frac <= 0:
        raise ConfigError(f"The train and validation fractions leave no test data "
                          f"(train {train_frac:.2f} + validation {val_frac:.2f} >= 1); lower one of them.")
    weights = {t: float(w) for t, w in (settings.get("task_weights") or {}).items() if t in tasks}
    pre = dict(state.get("preprocess") or {})
    cfg = RunConfig(
        data=DataConfig(
            tasks=task_specs(tasks, state.get("task_kinds") or {}, state.get("task_positive") or {}),
            roles=roles,
            drop=[c for c in (state.get("drop") or []) if c not in tasks],
            source=dict(state.get("data_source") or {}),
            **ids,
        ),
        preprocess=PreprocessConfig(**{k: v for k, v in pre.items() if k in APP_PREPROCESS_KEYS}),
        split=SplitConfig(method=settings["split_method"], train=train_frac, val=val_frac,
                          test=test_frac, seed=int(settings["seed"])),
        model=_model_config(settings),
        train=TrainConfig(
            epochs=int(settings["epochs"]), batch_size=int(settings["batch_size"]),
            lr=float(settings["lr"]), optimizer=settings["optimizer"], lr_schedule=settings["lr_schedule"],
            warmup_epochs=float(settings["warmup_epochs"]),
            weighting=settings["weighting"], task_weights=weights,
            weighting_params=_weighting_params(settings),
            patience=int(settings["patience"]), device=settings["device"],
            seed=int(settings["seed"]), num_threads=int(num_threads),
        ),
        name=(settings.get("name") or "").strip() or None,
    )
    if cfg.split.method == "temporal" and not cfg.data.time_col:
        raise ConfigError("The temporal split needs a timestamp column; set one on the Data page or choose another split.")
    if cfg.split.method == "user" and not cfg.data.user_col:
        raise ConfigError("The per-user split needs a user id column; set one on the Data page or choose another split.")
    return cfg.validate()


def history_frame(rows: list[dict]) -> pd.DataFrame:
    """Progress history rows -> the DataFrame figures.loss_curves expects."""
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=["epoch", "split", "task", "loss"])
    return df


def run_label(info: Any) -> str:
    """'name · mmoe · click, purchase · data · 2026-11-27 21:30' for a RunInfo (data: its
    provenance in one line, when recorded)."""
    created = str(getattr(info, "created", "") or "").replace("T", " ")[:16]
    name = getattr(info, "name", None) or getattr(info, "run_id", "run")
    tasks = ", ".join(map(str, getattr(info, "tasks", []) or []))
    parts = [str(name), str(getattr(info, "arch", "") or ""), tasks, str(getattr(info, "data", "") or ""), created]
    status = getattr(info, "status", "")
    if status and status not in ("completed", "done", "ok"):
        parts.append(str(status))
    return " · ".join(p for p in parts if p)


def optimisation_label(train: Any) -> str:
    """'adam, lr 0.003, cosine schedule (1 warm-up epoch), batch 1024' for a TrainConfig."""
    schedule = {"constant": "constant learning rate", "onecycle": "one-cycle schedule",
                "cosine": f"cosine schedule ({train.warmup_epochs:g} warm-up epoch{'s' * (train.warmup_epochs != 1)})"}
    return (f"{train.optimizer}, lr {train.lr:g}, {schedule.get(train.lr_schedule, train.lr_schedule)}, "
            f"batch {train.batch_size:,}")


#: training rows from which the Train page suggests a larger batch (``batch_hint``)
LARGE_TRAINING_ROWS = 1_000_000


def batch_hint(n_train: int, batch_size: int) -> str:
    """A suggestion for large training sets trained with small batches ('' otherwise): a step
    costs about the same up to a few thousand rows on a CPU, so a larger batch trains an epoch
    in fewer, hardly slower steps. The figures are bench/e2e_csv.py's at 10 M rows
    (README, "Scale")."""
    if n_train < LARGE_TRAINING_ROWS or batch_size >= 2048:
        return ""
    return (f"{n_train:,} training rows: batches of 2,048-4,096 rows (with the learning rate raised about in "
            "proportion) train an epoch in far fewer steps. Measured on 8 M training rows (2 CPU cores, one epoch): "
            "batch 2,048 at learning rate 3e-3 trained in 50 s instead of batch 1,024's 71 s, with test AUC within "
            "0.001 of it (README, \"Scale\").")


def warmup_hint(schedule: str, warmup_epochs: float, epochs: int) -> str:
    """A warning when the cosine schedule's warm-up lasts the whole run ('' otherwise): the
    learning rate then only rises and the run ends at its largest steps. Measured at 10 M rows,
    one epoch (docs/PERFORMANCE.md section 4c): 0.010-0.016 lower test AUC than a short
    warm-up followed by the decay."""
    if schedule != "cosine" or float(warmup_epochs) < int(epochs):
        return ""
    w = float(warmup_epochs)
    return (f"The warm-up ({w:g} epoch{'s' * (w != 1)}) lasts the whole run of {int(epochs)} "
            f"epoch{'s' * (int(epochs) != 1)}: the learning rate only rises and never decays. A warm-up of a small "
            "share of the run (e.g. 0.05 epochs for one epoch) usually ends better: on 8 M training rows, "
            "one epoch, by 0.01 AUC or more.")


def progress_fraction(snap: dict) -> float:
    """0..1 progress of a job snapshot (epochs done plus the current epoch's steps)."""
    epochs = max(1, int(snap.get("epochs") or 0))
    epoch = int(snap.get("epoch") or 0)
    step, steps = int(snap.get("step") or 0), int(snap.get("steps") or 0)
    phase = snap.get("phase")
    if snap.get("status") == "done" or phase == "end":
        return 1.0
    if phase == "batch" and steps:
        done = (epoch - 1) + min(step, steps) / steps
    else:
        done = epoch
    return float(min(1.0, max(0.0, done / epochs)))
