"""The tuner: seeded trials (same seed, same trials and same best), selection on the
validation split only, cancel between trials keeping the finished ones, the time budget and
the cost bound of a trial's model, every trial a run tagged with its session, the CLI's
--tune / --tune-time and the job progress it reports."""
from __future__ import annotations

import dataclasses
import json
import threading

import pytest

from mtl_core.cli import main
from mtl_core.config import RunConfig
from mtl_core.data.synth import make_synthetic
from mtl_core.errors import ConfigError
from mtl_core.models import MODELS
from mtl_core.pipeline import prepare
from mtl_core.runs import list_results, list_runs, load_run
from mtl_core.tuning import Trial, TuneEvent, best_trial, sample_trials, tune
from mtl_core.tuning.space import MAX_COST, apply, model_cost

TORCH_ARCHS = [a for a in MODELS.names() if not getattr(MODELS.get(a), "is_sklearn", False)]


def _config(arch: str = "mmoe", metric: str = "loss", epochs: int = 1) -> RunConfig:
    cfg = RunConfig()
    cfg.data.tasks = ["click", "purchase"]
    cfg.model.arch = arch
    cfg.train.epochs, cfg.train.batch_size, cfg.train.patience = epochs, 128, 0
    cfg.train.early_stopping_metric = metric
    cfg.train.diagnostics = False
    return cfg.validate()


@pytest.fixture(scope="module")
def df():
    return make_synthetic(rows=400, seed=4)


@pytest.mark.parametrize("arch", MODELS.names())
def test_trials_are_seeded_within_the_registry_ranges(arch):
    cfg = _config(arch)
    a, b = sample_trials(cfg, 6, seed=1), sample_trials(cfg, 6, seed=1)
    assert a == b and a[0] == {}  # trial 1 is the base settings
    assert sample_trials(cfg, 6, seed=2) != a
    settings = {s.field: s for s in MODELS.info(arch).settings}
    for t in a[1:]:
        apply(cfg, t)  # every trial is a valid configuration
        for key, v in t.items():
            field = key.split(".", 1)[1]
            s = settings.get(field)
            if s is not None and s.kind in ("int", "float"):
                assert s.lo <= v <= s.hi, (key, v)


def test_best_trial_uses_the_validation_score_only():
    trials = [Trial(1, {}, "finished", 0.50), Trial(2, {}, "finished", 0.40), Trial(3, {}, "cancelled", 0.10),
              Trial(4, {}, "failed", None), Trial(5, {}, "finished", 0.40)]
    assert best_trial(trials, higher_is_better=False).number == 2  # lowest loss; a tie goes to the earlier
    assert best_trial(trials, higher_is_better=True).number == 1
    assert best_trial([Trial(1, {}, "failed")], True) is None


def test_same_seed_gives_the_same_trials_and_best(df, tmp_path):
    first = tune(_config(), 3, df, runs_root=tmp_path / "a")
    second = tune(_config(), 3, df, runs_root=tmp_path / "b")
    assert [t.params for t in first.trials] == [t.params for t in second.trials]
    assert [t.val_score for t in first.trials] == pytest.approx([t.val_score for t in second.trials])
    assert first.best.number == second.best.number
    assert first.status == "completed" and all(t.status == "finished" for t in first.trials)
    # the best is the lowest validation loss; its test metrics are its run's
    assert first.best.val_score == min(t.val_score for t in first.trials)
    assert first.metrics == load_run(first.best.run_dir).metrics
    runs = list_runs(tmp_path / "a")
    assert len(runs) == 3
    tags = sorted((load_run(r.path).metrics["tags"]["trial"], load_run(r.path).metrics["tags"]["tuning"]) for r in runs)
    assert tags == [(k, first.session_id) for k in (1, 2, 3)]
    saved = list_results(tmp_path / "a", "tuning", "tuning.json")
    assert saved and saved[0]["session"] == first.session_id and saved[0]["best"]["number"] == first.best.number
    assert all("test" not in str(k) for t in saved[0]["trials"] for k in t)  # trials carry validation only
    assert f"trial {first.best.number}" in first.report() and "test metrics" in first.report()


def test_cancel_between_trials_keeps_the_finished_ones(df, tmp_path):
    cancel = threading.Event()
    events = []

    def callback(ev):
        if isinstance(ev, TuneEvent):
            events.append(ev.tuning)
            if ev.tuning["trial"] == 2:
                cancel.set()

    res = tune(_config(), 4, df, runs_root=tmp_path, callback=callback, cancel=cancel)
    assert res.status == "cancelled"
    assert [t.number for t in res.trials] == [1] and res.best.number == 1
    assert len(list_runs(tmp_path)) == 1
    assert events[1]["best_trial"] == 1 and events[1]["trials"] == 4  # "trial 2/4, best so far: trial 1"


def test_cancel_inside_a_trial_never_chooses_it(df, tmp_path):
    cancel = threading.Event()
    seen = {"trial": 0}

    def callback(ev):
        if isinstance(ev, TuneEvent):
            seen["trial"] = ev.tuning["trial"]
        elif ev.kind == "epoch" and seen["trial"] == 2:
            cancel.set()  # after trial 2's first epoch

    res = tune(_config(epochs=2), 3, df, runs_root=tmp_path, callback=callback, cancel=cancel)
    assert [t.status for t in res.trials] == ["finished", "cancelled"]
    assert res.best.number == 1
    assert len(list_runs(tmp_path)) == 2  # the stopped trial is kept as a (cancelled) run


def test_a_spent_time_budget_starts_no_further_trial(df, tmp_path):
    events = []
    res = tune(_config(), 4, df, runs_root=tmp_path, time_budget_s=1e-6,
               callback=lambda ev: events.append(ev.tuning) if isinstance(ev, TuneEvent) else None)
    # trial 1 always runs (it is the base settings); the budget is spent before trial 2 starts
    assert res.status == "budget" and res.requested == 4
    assert [(t.number, t.status) for t in res.trials] == [(1, "finished")] and res.best.number == 1
    assert [e["trial"] for e in events] == [1] and events[0]["time_budget_s"] == 1e-6
    assert len(list_runs(tmp_path)) == 1
    assert "1 of 4 trial(s)" in res.report() and "time budget" in res.report()
    saved = list_results(tmp_path, "tuning", "tuning.json")[0]
    assert (saved["status"], saved["requested"], len(saved["trials"])) == ("budget", 4, 1)
    with pytest.raises(ConfigError, match="--tune-time"):
        tune(_config(), 2, df, time_budget_s=-1)


@pytest.mark.parametrize("arch", TORCH_ARCHS)
def test_every_drawn_trial_respects_the_cost_bound(arch, df):
    cfg = _config(arch)
    prep = prepare(cfg, df)
    cost = model_cost(prep.features, prep.task_infos)
    base = cost(cfg)
    assert base > 0
    bounded = sample_trials(cfg, 12, seed=1, cost=cost)
    assert bounded == sample_trials(cfg, 12, seed=1, cost=cost)  # still seeded
    assert all(cost(apply(cfg, t)) <= MAX_COST * base for t in bounded)
    tight = sample_trials(cfg, 6, seed=1, cost=cost, max_cost=1.0)  # shrunk when no redraw fits
    assert all(cost(apply(cfg, t)) <= base for t in tight) and all("train.lr" in t for t in tight[1:])


def test_the_cost_bound_changes_what_an_unbounded_search_draws(df):
    cfg = _config("ple")
    prep = prepare(cfg, df)
    cost = model_cost(prep.features, prep.task_infos)
    free = sample_trials(cfg, 8, seed=1)
    assert max(cost(apply(cfg, t)) for t in free) > MAX_COST * cost(cfg)  # the bound has work to do
    # the cost counts the layers a row goes through, not the embedding tables' vocabulary
    assert cost(apply(cfg, {"model.hidden": [256, 128]})) > cost(cfg)
    big = dataclasses.replace(prep.features, cat_cardinalities=[100 * c for c in prep.features.cat_cardinalities])
    assert model_cost(big, prep.task_infos)(cfg) == cost(cfg)
    with pytest.raises(ConfigError, match="max_cost"):
        sample_trials(cfg, 2, seed=1, cost=cost, max_cost=0.5)


def test_tuning_needs_a_validation_split_and_a_metric_for_sklearn(df):
    cfg = _config()
    cfg.split.train, cfg.split.val, cfg.split.test = 0.8, 0.0, 0.2
    with pytest.raises(ConfigError, match="validation"):
        tune(cfg.validate(), 2, df)
    with pytest.raises(ConfigError, match="scikit-learn"):
        tune(_config("sklearn"), 2, df)
    with pytest.raises(ConfigError, match="--tune"):
        tune(_config(), 0, df)


def test_cli_tune(tmp_path, capsys, df):
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    code = main(["train", "--data", str(path), "--task", "click", "--task", "purchase", "--epochs", "1",
                 "--batch-size", "128", "--tune", "2", "--seed", "3", "--out", str(tmp_path / "runs"), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    summary = json.loads(out[out.index("\n{") + 1:])
    assert summary["best_trial"] in (1, 2) and len(summary["trials"]) == 2
    prep = prepare(_config(), df)
    cost = model_cost(prep.features, prep.task_infos)
    assert summary["trials"][1]["params"] == sample_trials(_config(), 2, seed=3, cost=cost)[1]
    assert out.count("Its test metrics") == 1


def test_cli_tune_time_ends_the_search_and_needs_tune(tmp_path, capsys, df):
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    args = ["train", "--data", str(path), "--task", "click", "--task", "purchase", "--epochs", "1",
            "--batch-size", "128", "--out", str(tmp_path / "runs"), "--quiet"]
    assert main([*args, "--tune", "3", "--tune-time", "0.000001"]) == 0
    out = capsys.readouterr().out
    summary = json.loads(out[out.index("\n{") + 1:])
    assert summary["status"] == "budget" and summary["requested"] == 3 and len(summary["trials"]) == 1
    assert "1 of 3 trial(s)" in out and "the time budget (1e-06 s) ended the search" in out
    assert main([*args, "--tune-time", "60"]) == 2
    assert "--tune-time is the time budget of --tune N" in capsys.readouterr().err


def test_job_progress_shows_the_trial_and_follows_its_curves():
    from mtl_core.app.jobs import Progress
    from mtl_core.tuning import progress_text

    p = Progress()
    p.add_history([{"epoch": 1, "split": "train", "task": "click", "loss": 0.5}])
    state = {"trial": 3, "trials": 10, "metric": "auc", "best_trial": 2, "best_score": 0.81234, "best_params": "lr 0.003"}
    p.on_event(TuneEvent("trial", state))
    snap = p.snapshot()
    assert snap["tuning"] == state and snap["history"] == []
    assert progress_text(snap["tuning"]) == "Trial 3/10 · best so far: trial 2, validation auc 0.8123 (lr 0.003)"


def test_trials_share_one_preparation_and_one_boosting_fit_with_the_same_results(df, tmp_path, monkeypatch):
    import mtl_core.evaluation.gbm as gbm
    import mtl_core.pipeline as pipeline
    from mtl_core.pipeline import run_experiment

    calls = {"prepare": 0, "gbm": 0}

    def counted(name, fn):
        def wrapper(*a, **k):
            calls[name] += 1
            return fn(*a, **k)
        return wrapper

    monkeypatch.setattr(pipeline, "prepare", counted("prepare", pipeline.prepare))
    monkeypatch.setattr(gbm, "fit_predict_gbm", counted("gbm", gbm.fit_predict_gbm))
    res = tune(_config(), 2, df, runs_root=tmp_path)
    assert [t.status for t in res.trials] == ["finished", "finished"]
    assert calls == {"prepare": 1, "gbm": 1}
    # a trial is the run its settings give on their own, boosting reference included
    alone = run_experiment(apply(_config(), res.trials[1].params), df, save=False)
    assert calls == {"prepare": 2, "gbm": 2}
    trial = load_run(res.trials[1].run_dir).metrics["tasks"]
    for task, m in alone.metrics["tasks"].items():
        assert trial[task]["auc"] == pytest.approx(m["auc"])
        assert trial[task]["baselines"]["gbm"] == pytest.approx(m["baselines"]["gbm"])


def test_a_trial_changing_the_preparation_prepares_again():
    from mtl_core.tuning.search import same_preparation

    base = _config()
    assert same_preparation(base, apply(base, {"model.embed_dim": 8, "train.lr": 0.003}))
    assert not same_preparation(base, apply(base, {"preprocess.numeric_encoding": "ple"}))
    assert not same_preparation(base, apply(base, {"split.seed": 5}))
