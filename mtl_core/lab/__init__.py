"""The multi-task trade-off lab: what sharing between tasks wins and costs.

Four experiments, plain Python (no Streamlit), each usable from the CLI and the app, one
module each:

- ``transfer``: ``negative_transfer``, the multi-task model against one single-task model per
  task over seeds, with a verdict that only calls a difference a transfer beyond the noise.
- ``pareto``: ``pareto_sweep``, fixed loss weights ``(w_a, 1 - w_a)`` for two tasks plus
  learned weightings and the single-task reference, with the Pareto front (``front``).
- ``correlation``: ``correlation_lab``, the MMoE paper's synthetic experiment over the task
  correlation ρ.
- ``compare``: ``compare_runs``, metrics, differing settings and histories of saved runs.

``seeds`` aggregates over seeds (mean ± standard error) and states a conclusion only when
the ±2 SE intervals do not overlap; ``captions`` turns each experiment's numbers into those
sentences. ``common`` holds what they share (progress, seeds, train-and-score one model). Long
operations take ``callback(progress: dict)`` and ``cancel: threading.Event``. Progress dicts
have ``stage``, ``done``, ``total``, ``fraction`` (0..1) and ``message``. On cancel an
operation stops after (or inside) the current training, drops the unfinished point and
returns what was finished, with status ``cancelled``. Results are saved by
``mtl_core.runs.save_result`` like runs (written to ``<runs_root>/<kind>/.tmp-<id>`` and
renamed into ``<runs_root>/<kind>/<id>``, kind ``transfer``, ``sweeps`` or ``corrlab``).
"""
from .captions import correlation_captions, diagnostics_captions, pareto_captions
from .common import Reporter, train_eval
from .compare import compare_runs, flatten_config
from .correlation import (CORRELATION_COLUMNS, CORRELATION_DATASETS, CORRELATION_EPOCHS, CORRELATION_TASKS,
                          ENGAGEMENT_TASKS, PAPER_ALPHA_STD, PAPER_TASKS, correlation_config, correlation_lab,
                          list_correlation_labs, load_correlation_lab, summarise_correlation)
from .front import pareto_front
from .pareto import POINT_COLUMNS, SweepResult, list_sweeps, load_sweep, mark_front, pareto_sweep, sweep_weights
from .seeds import NOT_SIGNIFICANT, aggregate, cells_mean_se, compare_caption, mean_se, overlap, versus_caption
from .transfer import (DEFAULT_TOLERANCE, MIN_TEST_POSITIVES, TRANSFER_COLUMNS, VERDICT_NEGATIVE, VERDICT_NOISE,
                       VERDICT_POSITIVE, few_positives, list_transfers, load_transfer, negative_transfer,
                       summarise_transfer, transfer_verdict)

__all__ = [
    "CORRELATION_COLUMNS", "CORRELATION_DATASETS", "CORRELATION_EPOCHS", "CORRELATION_TASKS", "DEFAULT_TOLERANCE",
    "ENGAGEMENT_TASKS", "PAPER_ALPHA_STD", "PAPER_TASKS", "POINT_COLUMNS", "Reporter", "SweepResult",
    "TRANSFER_COLUMNS", "VERDICT_NEGATIVE", "VERDICT_NOISE", "VERDICT_POSITIVE", "compare_runs",
    "correlation_config", "correlation_lab", "flatten_config", "list_correlation_labs", "list_sweeps",
    "list_transfers", "load_correlation_lab", "load_sweep", "load_transfer", "mark_front", "negative_transfer",
    "pareto_front", "pareto_sweep", "summarise_correlation", "summarise_transfer", "sweep_weights", "train_eval",
    "transfer_verdict", "NOT_SIGNIFICANT", "aggregate", "cells_mean_se", "compare_caption", "mean_se", "overlap",
    "versus_caption", "MIN_TEST_POSITIVES", "few_positives", "correlation_captions", "diagnostics_captions",
    "pareto_captions",
]
