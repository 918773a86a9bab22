"""Run directories: the only code that writes and reads them (runs of the pipeline and the
saved results of the trade-off lab).

A run directory holds::

    config.json          complete RunConfig (``python -m mtl_core train --config`` reproduces it)
                         plus ``columns``: what each column became, or why it is not used
    metrics.json         test metrics + train summary + split sizes
    curves.json          ROC / PR / calibration points per binary task (for plots)
    history.csv          epoch, split, task, loss and per-epoch validation metrics
    weights.csv          task weights per epoch (weighting methods)
    diagnostics.json     per-epoch gradient norms, cosines and gate utilisation
    preprocessor.json    the fitted preprocessor (JSON, applied unchanged to new rows)
    model.pt             model state dict (loaded with ``torch.load(weights_only=True)``)
    optimizer.pt         optimizer and learning-rate schedule state at the end (torch runs; for ``--resume``)
    model.json           sklearn baseline coefficients (instead of model.pt)
    model_meta.json      architecture, features, tasks, model config
    predictions.parquet  test split: ids + ``true:<task>`` / ``pred:<task>``
    catalog.parquet      items seen in training with their latest attributes
    users.parquet        user-level features (latest row per user)
    interactions.parquet training-period user–item rows with their labels
    status.json          complete | cancelled | diverged, with a message

It is written under ``<root>/.tmp-<id>`` and renamed into place at the end, so a crash or a
restart never leaves a half-written run where ``list_runs`` looks; leftovers of interrupted
runs are reported by ``list_interrupted``. While it trains, that folder also holds what
resuming it needs (``resume``: ``resume.json``, ``data.parquet`` for an in-memory table and
``checkpoint.pt`` after each epoch; ``pipeline.resume_run`` finishes the run under its id).

The lab's results (``transfer``, ``sweeps``, ``corrlab``) are written the same way by
``save_result`` to ``<root>/<kind>/<id>`` (a JSON description plus CSV tables), listed by
``list_results`` and read by ``read_result``.

Modules: ``store`` (root, JSON, ids, the atomic ``RunWriter``, lab results), ``save``
(``save_run``: what a run directory holds), ``load`` (listing and ``LoadedRun``), ``check``
(every file a loaded run reads, checked before use), ``tidy`` (deleting runs, cleaning orphans),
``resume`` (an interrupted run's checkpoint and settings, reopening its folder).
"""
from .load import LoadedRun, RunInfo, list_interrupted, list_runs, load_run, run_info
from .save import save_run
from .store import (RunWriter, default_runs_root, list_results, new_run_id, read_json, read_result,
                    resolve_root, save_result, write_json)
from .tidy import clean_orphans, delete_run

__all__ = [
    "LoadedRun", "RunInfo", "RunWriter", "clean_orphans", "default_runs_root", "delete_run", "list_interrupted", "list_results", "list_runs",
    "load_run", "new_run_id", "read_json", "read_result", "resolve_root", "run_info", "save_result", "save_run",
    "write_json",
]
