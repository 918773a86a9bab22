"""Typed, validated configuration.

Every knob of a run lives in one of these dataclasses, and ``RunConfig`` holds them all, so
``config.json`` in a run directory is complete: ``python -m mtl_core train --config
DIR/config.json`` reproduces the run. Validation happens in one place (``validate()``) and
raises ``ConfigError`` naming the parameter, what it accepts and the value it got.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import ConfigError
from .registry import setting_value  # noqa: F401 - typed values of registry settings, imported from here
from .validate import choice as _choice, flag as _flag, from_dict as _from_dict, number as _number
from .validate import subset as _subset


# --------------------------------------------------------------------------- data input
@dataclass
class Limits:
    """Input limits; every one is enforced with a message that names it."""

    max_bytes: int = 500 * 1024 * 1024
    max_rows: int = 5_000_000
    max_columns: int = 1_000
    max_categories: int = 2_000_000  # per categorical/id column vocabulary
    max_cell_chars: int = 100_000
    max_model_params: int = 100_000_000  # trainable parameters of a torch model (embeddings included)

    def validate(self) -> "Limits":
        for f in dataclasses.fields(self):
            _number(f"limits.{f.name}", getattr(self, f.name), lo=1, integer=True)
        return self

    @classmethod
    def from_env(cls, environ: dict | None = None) -> "Limits":
        """Defaults overridden by ``MTL_LAB_LIMIT_<FIELD>`` environment variables (e.g.
        ``MTL_LAB_LIMIT_MAX_BYTES=10485760``): how a server operator configures limits for
        the app and the CLI without code."""
        import os

        env = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for f in dataclasses.fields(cls):
            var = f"MTL_LAB_LIMIT_{f.name.upper()}"
            raw = env.get(var)
            if raw is None or not str(raw).strip():
                continue
            try:
                values[f.name] = int(str(raw).strip().replace("_", ""))
            except ValueError:
                raise ConfigError(f"{var} must be a whole number; got {raw!r}.") from None
        lim = cls(**values)
        for f in dataclasses.fields(cls):
            _number(f"MTL_LAB_LIMIT_{f.name.upper()}" if f.name in values else f"limits.{f.name}",
                    getattr(lim, f.name), lo=1, integer=True)
        return lim


@dataclass
class ReadOptions:
    """How to read a table. ``None`` means sniff / infer."""

    sep: str | None = None
    header: bool | None = None  # None: detect (a first line of data is read as data, columns col_0...)
    names: list[str] | None = None
    encoding: str | None = None
    format: str | None = None  # csv | tsv | parquet; None = from extension / content

    def validate(self) -> "ReadOptions":
        if self.format is not None:
            _choice("read.format", self.format, ("csv", "tsv", "parquet"))
        if self.sep is not None and (not isinstance(self.sep, str) or len(self.sep) == 0):
            raise ConfigError(f"read.sep must be a non-empty string; got {self.sep!r}.")
        if self.header is not None and not isinstance(self.header, bool):
            raise ConfigError(f"read.header must be true, false or null (detect); got {self.header!r}.")
        return self


@dataclass
class DataConfig:
    """Where the data comes from and which columns play which role.

    ``tasks`` are task specs as strings: ``COLUMN[:binary|regression|multiclass][=POSITIVE]``.
    ``roles`` overrides inferred roles (column -> role name, see ``schema.Role``).
    ``drop`` lists columns never used as features.
    ``source``: the data's provenance (``data.provenance``), set when the data is read.
    """

    path: str | None = None
    read: ReadOptions = field(default_factory=ReadOptions)
    tasks: list[str] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)
    drop: list[str] = field(default_factory=list)
    user_col: str | None = None
    item_col: str | None = None
    time_col: str | None = None
    session_col: str | None = None
    source: dict = field(default_factory=dict)

    def validate(self) -> "DataConfig":
        self.read.validate()
        if not isinstance(self.source, dict):  # the data's provenance
            raise ConfigError("data.source must be a JSON object (the data's provenance), e.g. {}.")
        if not isinstance(self.tasks, list) or not self.tasks:
            raise ConfigError("data.tasks must list at least one task, e.g. ['click', 'rating:regression'].")
        from .data.schema import parse_task_spec

        labels = {parse_task_spec(t).column for t in self.tasks if isinstance(t, str)}
        for attr in ("user_col", "item_col", "time_col", "session_col"):
            col = getattr(self, attr)
            if col is not None and col in labels:
                flag = "--" + attr.replace("_", "-")
                raise ConfigError(f"{flag} (data.{attr}) names {col!r}, which is also a task label; a label "
                                  "column cannot be an id or time column, so choose another column.")
        return self


# --------------------------------------------------------------------------- preprocessing
MISSING_STRATEGIES = ("drop", "mean", "median", "most_frequent", "constant", "interpolate")
OUTLIER_STRATEGIES = ("none", "iqr", "zscore", "drop")
SCALERS = ("none", "minmax", "zscore", "robust", "quantile")  # quantile: QuantileTransformer, normal output
NUMERIC_ENCODINGS = ("scalar", "ple", "periodic")  # models.numeric


@dataclass
class PreprocessConfig:
    """Cleaning and encoding, fitted on the training split only.

    - ``missing``: default strategy for numeric columns; ``missing_per_column`` overrides it.
      Categorical missing values always become the reserved "unknown" index (0) unless the
      strategy is ``drop``.
    - ``outliers``: ``iqr`` clips to [Q1 - f*IQR, Q3 + f*IQR] (f = ``iqr_factor``), ``zscore``
      clips to mean +- z*std (z = ``z_threshold``), ``drop`` removes training rows outside the
      IQR fences (rows of other splits are clipped, never dropped).
    - ``scaling``: numeric feature scaling. ``scale_targets``: scale regression targets for
      training (metrics are always reported in original units). ``numeric_encoding``: how the
      models read numeric features (``models.numeric``; ``ple`` bins fitted on train).
    - ``min_frequency``: rarer training categories become unknown. ``text_dims``: TF-IDF -> SVD columns
      per text column (0: none). ``time_features``: calendar, recency. ``collab``: see preprocessing/collab.py.
    """

    missing: str = "median"
    missing_per_column: dict[str, str] = field(default_factory=dict)
    fill_value: float = 0.0
    outliers: str = "none"
    outliers_per_column: dict[str, str] = field(default_factory=dict)
    iqr_factor: float = 1.5
    z_threshold: float = 3.0
    scaling: str = "zscore"
    numeric_encoding: str = "periodic"  # default chosen on Census validation AUC (bench/issue16_search.py)
    scale_targets: bool = True
    min_frequency: int = 1
    log_target: str = "auto"  # regression targets: log1p when strongly skewed (auto), always (on), never (off)
    text_dims: int = 16
    time_features: bool = True
    collab: list[str] = field(default_factory=list)

    # settings that no longer exist but may be in a saved config.json: read and ignored
    LEGACY_KEYS = ("onehot_max_categories",)  # never implemented; removed

    @classmethod
    def from_dict(cls, d: dict | None) -> "PreprocessConfig":
        if isinstance(d, dict):
            d = {k: v for k, v in d.items() if k not in cls.LEGACY_KEYS}
        return _from_dict(cls, d)

    def validate(self) -> "PreprocessConfig":
        _choice("preprocess.missing", self.missing, MISSING_STRATEGIES)
        for col, s in self.missing_per_column.items():
            _choice(f"preprocess.missing_per_column[{col!r}]", s, MISSING_STRATEGIES)
        _choice("preprocess.outliers", self.outliers, OUTLIER_STRATEGIES)
        for col, s in self.outliers_per_column.items():
            _choice(f"preprocess.outliers_per_column[{col!r}]", s, OUTLIER_STRATEGIES)
        _number("preprocess.iqr_factor", self.iqr_factor, lo=0, lo_open=True)
        _number("preprocess.z_threshold", self.z_threshold, lo=0, lo_open=True)
        _number("preprocess.fill_value", self.fill_value)
        _choice("preprocess.scaling", self.scaling, SCALERS)
        _choice("preprocess.numeric_encoding", self.numeric_encoding, NUMERIC_ENCODINGS)
        _number("preprocess.min_frequency", self.min_frequency, lo=1, integer=True)
        _choice("preprocess.log_target", self.log_target, ("auto", "on", "off"))
        _number("preprocess.text_dims", self.text_dims, lo=0, hi=256, integer=True)
        _flag("preprocess.time_features", self.time_features)
        _subset("preprocess.collab", self.collab, ("mf", "graph"))
        return self


# --------------------------------------------------------------------------- split
SPLIT_METHODS = ("random", "stratified", "temporal", "user")


@dataclass
class SplitConfig:
    """Train/validation/test split. ``stratify_task`` defaults to the first binary task;
    ``temporal`` needs a time column and ``user`` a user column (from ``DataConfig``)."""

    method: str = "random"
    train: float = 0.8
    val: float = 0.1
    test: float = 0.1
    seed: int = 0
    stratify_task: str | None = None

    def validate(self) -> "SplitConfig":
        _choice("split.method", self.method, SPLIT_METHODS)
        for name in ("train", "val", "test"):
            _number(f"split.{name}", getattr(self, name), lo=0, hi=1)
        _number("split.train", self.train, lo=0, lo_open=True, hi=1)
        _number("split.test", self.test, lo=0, lo_open=True, hi=1)
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-6:
            raise ConfigError(
                f"split.train + split.val + split.test must add up to 1; got {total:.4g}."
            )
        _number("split.seed", self.seed, lo=0, hi=2**32 - 1, integer=True)
        return self


# --------------------------------------------------------------------------- model
INITS = ("default", "xavier", "kaiming")


@dataclass
class ModelConfig:
    """Architecture and sizes. Unused fields are ignored by architectures that don't need
    them (e.g. ``n_experts`` by shared_bottom)."""

    arch: str = "mmoe"
    embed_dim: int = 8
    hidden: list[int] = field(default_factory=lambda: [64])  # bottom / expert MLP layers
    tower_hidden: list[int] = field(default_factory=lambda: [32])
    n_experts: int = 4  # mmoe
    n_shared_experts: int = 2  # ple
    n_task_experts: int = 1  # ple
    levels: int = 1  # ple (1 = CGC)
    dropout: float = 0.0
    init: str = "default"
    embed_init_std: float = 0.01  # small normal init of embedding tables (N(0,1) hurts AUC)
    esmm_parent: str | None = None  # esmm: the parent (e.g. click) task; others are children
    aitm_calibrator: float = 0.6  # aitm: weight of the behavioural expectation calibrator
    sk_alpha: float = 1e-3  # sklearn baseline regularisation
    sk_max_iter: int = 200

    def validate(self) -> "ModelConfig":
        from .models import MODELS  # registry; imports torch lazily only when used

        MODELS.get(self.arch)
        _number("model.embed_dim", self.embed_dim, lo=1, hi=1024, integer=True)
        for name in ("hidden", "tower_hidden"):
            v = getattr(self, name)
            if not isinstance(v, list) or not all(isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= 8192 for x in v):
                raise ConfigError(f"model.{name} must be a list of layer sizes between 1 and 8192; got {v!r}.")
        _number("model.n_experts", self.n_experts, lo=1, hi=64, integer=True)
        _number("model.n_shared_experts", self.n_shared_experts, lo=1, hi=64, integer=True)
        _number("model.n_task_experts", self.n_task_experts, lo=1, hi=64, integer=True)
        _number("model.levels", self.levels, lo=1, hi=8, integer=True)
        _number("model.dropout", self.dropout, lo=0, hi=0.95)
        _choice("model.init", self.init, INITS)
        _number("model.embed_init_std", self.embed_init_std, lo=0, lo_open=True, hi=10)
        _number("model.aitm_calibrator", self.aitm_calibrator, lo=0, hi=10)
        _number("model.sk_alpha", self.sk_alpha, lo=0)
        _number("model.sk_max_iter", self.sk_max_iter, lo=1, integer=True)
        return self


# --------------------------------------------------------------------------- training
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
FULL_BATCH = 10_000_000  # largest train.batch_size; one at least the training rows = full-batch gradient descent
LR_SCHEDULES = ("constant", "cosine", "onecycle")  # training/schedule.py
DEVICES = ("auto", "cpu", "cuda", "mps")
REGRESSION_LOSSES = ("mse", "huber")


@dataclass
class TrainConfig:
    """Optimisation. ``task_weights`` maps task name -> weight (missing tasks get 1.0); used
    by the ``fixed`` weighting and as initial/prior weights by others.

    ``early_stopping_metric``: ``loss`` (mean validation loss) or ``METRIC`` (mean over tasks
    that have it) or ``METRIC:TASK`` / ``loss:TASK``, e.g. ``auc:click``; ``METRIC`` is a
    per-epoch metric: ``auc`` (binary), ``rmse`` (regression), ``accuracy`` (multiclass).
    The name is checked here, the task as soon as the tasks are known (``Trainer``).
    ``patience`` 0 disables early stopping; the best epoch's weights are restored either way.
    """

    # app and CLI defaults alike, chosen by experiment (bench/defaults_search.py, issue16_search.py; docs/PERFORMANCE.md)
    epochs: int = 10
    batch_size: int = 256
    lr: float = 2e-3
    lr_schedule: str = "cosine"  # constant | cosine (warm-up, then cosine to 0) | onecycle
    warmup_epochs: float = 1.0  # cosine's linear warm-up, in epochs (fractions allowed)
    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0
    grad_clip: float = 0.0  # 0 = off (max global grad norm otherwise)
    weighting: str = "fixed"
    task_weights: dict[str, float] = field(default_factory=dict)
    weighting_params: dict[str, float] = field(default_factory=dict)  # e.g. gradnorm alpha
    regression_loss: str = "mse"
    huber_delta: float = 1.0
    patience: int = 3
    early_stopping_metric: str = "loss"
    device: str = "auto"
    seed: int = 0
    num_threads: int = 0  # 0 = choose for this machine
    eval_batch_size: int = 65536
    diagnostics: bool = True  # record grad norms / cosines / gates per epoch
    diagnostic_batches: int = 4
    max_epochs_limit: int = 1000
    amp: bool = False  # bf16 autocast of the forward pass on CPU/CUDA (losses stay float32)

    def validate(self) -> "TrainConfig":
        from .weighting import WEIGHTINGS

        _number("train.epochs", self.epochs, lo=1, hi=self.max_epochs_limit, integer=True)
        _number("train.batch_size", self.batch_size, lo=1, hi=FULL_BATCH, integer=True)
        _number("train.lr", self.lr, lo=0, lo_open=True, hi=10)
        _choice("train.lr_schedule", self.lr_schedule, LR_SCHEDULES)
        _number("train.warmup_epochs", self.warmup_epochs, lo=0, hi=self.max_epochs_limit)
        _choice("train.optimizer", self.optimizer, OPTIMIZERS)
        _number("train.momentum", self.momentum, lo=0, hi=1)
        _number("train.weight_decay", self.weight_decay, lo=0, hi=10)
        _number("train.grad_clip", self.grad_clip, lo=0)
        WEIGHTINGS.get(self.weighting)
        for t, w in self.task_weights.items():
            _number(f"train.task_weights[{t!r}]", w, lo=0)
        for k, v in self.weighting_params.items():
            _number(f"train.weighting_params[{k!r}]", v)
        _choice("train.regression_loss", self.regression_loss, REGRESSION_LOSSES)
        _number("train.huber_delta", self.huber_delta, lo=0, lo_open=True)
        _number("train.patience", self.patience, lo=0, integer=True)
        from .training.early_stopping import check_metric_name  # the task part: once tasks are known

        check_metric_name(self.early_stopping_metric)
        _choice("train.device", self.device, DEVICES)
        _number("train.seed", self.seed, lo=0, hi=2**32 - 1, integer=True)
        _number("train.num_threads", self.num_threads, lo=0, hi=1024, integer=True)
        _number("train.eval_batch_size", self.eval_batch_size, lo=1, integer=True)
        _number("train.diagnostic_batches", self.diagnostic_batches, lo=1, hi=1000, integer=True)
        if not isinstance(self.amp, bool):
            raise ConfigError(f"train.amp must be true or false; got {self.amp!r}.")
        return self


# --------------------------------------------------------------------------- evaluation
@dataclass
class EvalConfig:
    """How test scores are computed.

    - ``threshold``: where a binary row counts as positive, for the scores table, bar chart, CLI
      summary and sliders: ``"f1"`` (F1-best on the validation split, default) or a number in [0, 1].
    - ``k``: cut-off of the ranking metrics (Recall@k, NDCG@k, Hit@k).
    - ``catalog_max_pairs``: at most this many (user, item) pairs are scored for the catalogue
      ranking; past it users are sampled with ``catalog_seed`` (and the metrics say so).
    - ``gbm``: gradient-boosting reference per task (``evaluation.gbm``), skipped past ``gbm_max_rows``.
    """

    threshold: float | str = "f1"
    k: int = 10
    catalog_max_pairs: int = 1_000_000
    catalog_seed: int = 0
    gbm: bool = True
    gbm_max_rows: int = 2_000_000

    def validate(self) -> "EvalConfig":
        if isinstance(self.threshold, str):
            _choice("evaluation.threshold", self.threshold, ("f1",))
        else:
            _number("evaluation.threshold", self.threshold, lo=0, hi=1)
        _number("evaluation.k", self.k, lo=1, hi=1000, integer=True)
        _number("evaluation.catalog_max_pairs", self.catalog_max_pairs, lo=1, integer=True)
        _number("evaluation.catalog_seed", self.catalog_seed, lo=0, integer=True)
        _flag("evaluation.gbm", self.gbm)
        _number("evaluation.gbm_max_rows", self.gbm_max_rows, lo=1, integer=True)
        return self


# --------------------------------------------------------------------------- run
#: keys a run's saved ``config.json`` holds as a report, not as settings (``columns``: what each
#: column became, or why it is not used); ``RunConfig.from_dict`` reads past them
REPORT_KEYS = ("columns",)


@dataclass
class RunConfig:
    """Everything needed to reproduce a run."""

    data: DataConfig = field(default_factory=DataConfig)
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    evaluation: EvalConfig = field(default_factory=EvalConfig)
    limits: Limits = field(default_factory=Limits.from_env)
    name: str | None = None
    parent: str | None = None  # a run directory this run continues (train --resume): its preprocessing and weights

    def validate(self) -> "RunConfig":
        for part in (self.data, self.preprocess, self.split, self.model, self.train, self.evaluation, self.limits):
            part.validate()
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        if not isinstance(d, dict):
            raise ConfigError("A run configuration must be a JSON object.")
        d = dict(d)
        data = dict(d.pop("data", {}) or {})
        read = _from_dict(ReadOptions, data.pop("read", None))
        unknown = set(d) - {"preprocess", "split", "model", "train", "evaluation", "limits", "name", "parent"} - set(REPORT_KEYS)
        if unknown:
            raise ConfigError(f"Unknown configuration section(s): {', '.join(sorted(unknown))}.")
        return cls(
            data=_from_dict(DataConfig, {**data, "read": read}), preprocess=PreprocessConfig.from_dict(d.get("preprocess")),
            split=_from_dict(SplitConfig, d.get("split")), model=_from_dict(ModelConfig, d.get("model")),
            train=_from_dict(TrainConfig, d.get("train")), evaluation=_from_dict(EvalConfig, d.get("evaluation")),
            limits=_from_dict(Limits, d.get("limits")), name=d.get("name"), parent=d.get("parent"),
        )

    @classmethod
    def load(cls, path: str | Path) -> "RunConfig":
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"Cannot read the configuration file {path}: {exc.strerror or exc}.") from None
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"The configuration file {path} is not valid JSON (line {exc.lineno}: {exc.msg}).") from None
        return cls.from_dict(d)
