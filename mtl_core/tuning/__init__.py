"""Tuning: a budgeted, seeded random search over a run's settings on the validation split
(``search.tune``; the search space in ``space``). The CLI (``train --tune N``) and the Train
page's Tune button call ``tune``."""
from .search import DEFAULT_TRIALS, Trial, TuneEvent, TuneResult, best_trial, progress_text, report_text, tune
from .space import apply, describe, sample_trials

__all__ = ["DEFAULT_TRIALS", "Trial", "TuneEvent", "TuneResult", "apply", "best_trial", "describe", "progress_text", "report_text",
           "sample_trials", "tune"]
