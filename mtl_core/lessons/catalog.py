"""The lessons: six small experiments, each a few seconds per seed on generated data.

Data: the MMoE paper's synthetic data (``synth.make_mmoe_paper_data``: two regression tasks
whose relatedness ρ is set exactly, no ids to learn) for the relatedness lessons, and the
generated shop table (``synth.make_synthetic``: click → purchase funnel) for the lessons
about funnel tasks. Models are the correlation lab's small ones (``lab.correlation_config``).
Which lessons held on which seeds is measured by ``bench/lessons_check.py`` (docs/LAB.md).
"""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from ..lab import PAPER_ALPHA_STD, PAPER_TASKS, correlation_config
from .core import Lesson, Verdict, fit, mean_se

ROWS = 3000
EPOCHS = 8
_TASKS = ("task_a", "task_b")
#: seed sets of bench/lessons_check.py, and on how many of them each lesson's check passed there
SEED_SETS = ((0, 1, 2), (3, 4, 5), (6, 7, 8))
HELD = {"relatedness": 3, "seesaw": 3, "learned_weighting": 3, "gradient_conflict": 3, "gate_specialisation": 1,
        "esmm": 0}


def _held(lesson_id: str, caveat: str = "") -> str:
    """What the lesson's text says about its robustness, from ``HELD``."""
    n, sets = HELD[lesson_id], " ".join("{" + ",".join(map(str, s)) + "}" for s in SEED_SETS)
    text = f"Held on {n} of {len(SEED_SETS)} seed sets ({sets}) in bench/lessons_check.py."
    if n < len(SEED_SETS):
        text += " Not robust: " + caveat
    return text


def _paper(rho: float, seed: int, rows: int = ROWS) -> pd.DataFrame:
    from ..data.synth import make_mmoe_paper_data

    return make_mmoe_paper_data(rows=rows, task_correlation=rho, seed=seed, alpha_std=PAPER_ALPHA_STD)


def _shop(seed: int, rows: int = ROWS) -> pd.DataFrame:
    from ..data.synth import make_synthetic

    return make_synthetic(rows=rows, task_correlation=0.5, seed=seed, engagement_targets=True)


def _cfg(arch: str, seed: int, epochs: int = EPOCHS, tasks=None, dataset: str = "paper", **train):
    """The lab's small model for ``arch`` with training changes (weighting, task weights,
    diagnostics...)."""
    cfg = copy.deepcopy(correlation_config(arch, epochs, seed, list(tasks or PAPER_TASKS), dataset))
    cfg.train.diagnostics = bool(train.pop("diagnostics", False))
    for key, value in train.items():
        setattr(cfg.train, key, value)
    return cfg


def _over_epochs(result, measure) -> float:
    """``measure(diagnostics of one epoch)`` averaged over the epochs (one noisy epoch of four
    diagnostic batches decides less than the whole run)."""
    values = [measure(d) for d in (result.diagnostics or [])]
    values = [v for v in values if np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


def _mean_paired(table: pd.DataFrame, a: str, b: str) -> tuple[float, float, int]:
    """Mean and SE over seeds of ``a - b``, and in how many seeds it was positive."""
    d = (table[a] - table[b]).to_numpy(dtype=float)
    m, se = mean_se(d)
    return m, se, int((d > 0).sum())


def _paired_verdict(table: pd.DataFrame, a: str, b: str, what: str) -> Verdict:
    m, se, pos = _mean_paired(table, a, b)
    return Verdict(bool(m > 0 and pos == len(table)),
                   f"{what}: {m:+.4f} ± {se:.4f} (mean ± SE over {len(table)} seeds), positive in {pos} of {len(table)}.")


# --------------------------------------------------------------------------- 1. relatedness
def _relatedness_run(seed, rep, cancel):
    out = {}
    for rho in (0.0, 1.0):
        df = _paper(rho, seed)
        rmse = {}
        for arch in ("shared_bottom", "single"):
            res = fit(_cfg(arch, seed), df, rep, f"ρ={rho:g} · {arch} · seed {seed}", cancel)
            if res is None:
                return None
            rmse[arch] = np.mean([res["test"][t] for t in _TASKS])
        out[f"gain_rho{rho:g}"] = float(rmse["single"] - rmse["shared_bottom"])  # > 0: sharing helps
    return out


RELATEDNESS = Lesson(
    id="relatedness", title="Negative transfer and task relatedness",
    question="Does sharing one network between two tasks help or hurt, and does it depend on how related they are?",
    pinned={"data": f"MMoE paper synthetic data, {ROWS:,} rows, ρ = 0 and ρ = 1", "tasks": "task_a, task_b (regression)",
            "models": "shared bottom [113] vs single-task networks", "epochs": EPOCHS},
    notice="Compare the shared bottom's RMSE with the single-task networks' at ρ = 1 (the same task twice) and "
           "at ρ = 0 (unrelated tasks). The 'gain' is single-task RMSE minus shared RMSE: above 0, sharing helps.",
    expected="The gain is larger at ρ = 1 than at ρ = 0: sharing pays when tasks are related and costs "
             "(negative transfer) when they are not.",
    robustness=_held("relatedness"), units=lambda seeds: 4 * len(seeds), run=_relatedness_run,
    check=lambda t: _paired_verdict(t, "gain_rho1", "gain_rho0", "gain at ρ=1 minus gain at ρ=0"),
)


# --------------------------------------------------------------------------- 2. seesaw
def _seesaw_run(seed, rep, cancel):
    df, out = _paper(0.0, seed), {}
    for w in (0.1, 0.9):
        cfg = _cfg("shared_bottom", seed, task_weights={"task_a": w, "task_b": 1.0 - w})
        cfg.model.hidden = [8]  # a narrow shared layer: the tasks compete for it
        res = fit(cfg, df, rep, f"w_a={w:g} · seed {seed}", cancel)
        if res is None:
            return None
        out[f"a_w{w:g}"], out[f"b_w{w:g}"] = res["test"]["task_a"], res["test"]["task_b"]
    return out


def _seesaw_check(t: pd.DataFrame) -> Verdict:
    a_m, a_se, a_pos = _mean_paired(t, "a_w0.1", "a_w0.9")  # RMSE drop of A when A weighs 0.9
    b_m, b_se, b_pos = _mean_paired(t, "b_w0.9", "b_w0.1")  # RMSE drop of B when B weighs 0.9
    ok = a_m > 0 and b_m > 0 and a_pos == b_pos == len(t)
    return Verdict(bool(ok), f"RMSE of task_a falls by {a_m:+.4f} ± {a_se:.4f} when its weight goes 0.1 → 0.9 "
                             f"(in {a_pos} of {len(t)} seeds); task_b's rises by {b_m:+.4f} ± {b_se:.4f} "
                             f"(in {b_pos} of {len(t)}).")


SEESAW = Lesson(
    id="seesaw", title="The seesaw: task weights trade one task for another",
    question="With fixed loss weights, what does giving one task more weight do to the other?",
    pinned={"data": f"MMoE paper synthetic data, {ROWS:,} rows, ρ = 0 (unrelated tasks)",
            "model": "shared bottom with a narrow shared layer [8]", "weights": "(0.1, 0.9) and (0.9, 0.1)",
            "epochs": EPOCHS},
    notice="Task A's RMSE with weight 0.9 against weight 0.1, and task B's the other way round.",
    expected="Each task is better when it weighs more and the other task pays for it: a seesaw. "
             "The Trade-off lab's Pareto sweep draws the whole curve.",
    robustness=_held("seesaw"), units=lambda seeds: 2 * len(seeds), run=_seesaw_run, check=_seesaw_check,
)


# --------------------------------------------------------------------------- 3. learned weighting
_FUNNEL = ["click", "purchase"]


def _learned_run(seed, rep, cancel):
    cfg = _cfg("shared_bottom", seed, tasks=_FUNNEL, dataset="ecommerce", weighting="uncertainty")
    res = fit(cfg, _shop(seed), rep, f"uncertainty weighting · seed {seed}", cancel)
    if res is None:
        return None
    final = {r["task"]: r["weight"] for r in res["result"].weights_history}  # the last epoch wins
    losses = _train_losses(res["result"].history)
    return {"weight_click": float(final.get("click", np.nan)), "weight_purchase": float(final.get("purchase", np.nan)),
            "loss_click": float(losses.get("click", np.nan)), "loss_purchase": float(losses.get("purchase", np.nan))}


def _train_losses(history: list[dict]) -> dict:
    """The last epoch's training loss per task from TrainResult.history rows."""
    rows = [r for r in history if r.get("split") == "train" and "task" in r]
    if rows:
        return {r["task"]: r["loss"] for r in rows}
    last = history[-1] if history else {}
    return dict(last.get("train_loss") or {})


def _learned_check(t: pd.DataFrame) -> Verdict:
    ratio = (t["weight_purchase"] / t["weight_click"]).to_numpy(dtype=float)
    up = int((ratio > 1).sum())
    m, se = mean_se(ratio)
    return Verdict(bool(up == len(t)), f"purchase's weight / click's weight after training: {m:.3f} ± {se:.3f} "
                                       f"(above 1 in {up} of {len(t)} seeds); final training log loss click "
                                       f"{t['loss_click'].mean():.3f}, purchase {t['loss_purchase'].mean():.3f}.")


LEARNED = Lesson(
    id="learned_weighting", title="Learned weighting: uncertainty balances loss scales",
    question="What weights does uncertainty weighting (Kendall et al.) learn for a common and a rare task?",
    pinned={"data": f"generated shop table, {ROWS:,} rows", "tasks": "click (common), purchase (rare)",
            "model": "shared bottom", "weighting": "uncertainty", "epochs": EPOCHS},
    notice="The learned weights at the end of training next to each task's training loss. They move slowly "
           "(about 3% apart after 8 epochs) but always the same way; the Results page's Training tab draws them "
           "over the epochs of a longer run.",
    expected="Purchase, whose log loss is small because positives are rare, gets the larger weight: uncertainty "
             "weighting scales each loss by 1/its size, so it balances loss scales, not business importance.",
    robustness=_held("learned_weighting", ""), units=lambda seeds: len(seeds), run=_learned_run,
    check=_learned_check,
)


# --------------------------------------------------------------------------- 4. gradient conflict
def _diagnosed_per_rho(arch: str, name: str, measure):
    """A lesson run: ``arch`` with diagnostics on the paper data at ρ = 0 and ρ = 1;
    ``{name}_rho0`` and ``{name}_rho1`` are ``measure(TrainResult)``."""
    def run(seed, rep, cancel):
        out = {}
        for rho in (0.0, 1.0):
            res = fit(_cfg(arch, seed, diagnostics=True, diagnostic_batches=16), _paper(rho, seed), rep, f"ρ={rho:g} · {arch} · seed {seed}",
                      cancel)
            if res is None:
                return None
            out[f"{name}_rho{rho:g}"] = measure(res["result"])
        return out
    return run


CONFLICT = Lesson(
    id="gradient_conflict", title="Gradient conflict: do the tasks pull the shared layers the same way?",
    question="How aligned are the two tasks' gradients on the shared representation, for related and unrelated tasks?",
    pinned={"data": f"MMoE paper synthetic data, {ROWS:,} rows, ρ = 0 and ρ = 1", "model": "shared bottom [113]",
            "diagnostics": "gradient cosine on the shared layer, 16 batches per epoch, mean over epochs", "epochs": EPOCHS},
    notice="The cosine between task_a's and task_b's gradients on the shared layer (1: same direction, 0: "
           "unrelated, below 0: conflict).",
    expected="The cosine is higher at ρ = 1 than at ρ = 0: related tasks agree on how to change the shared "
             "layer, unrelated ones do not (methods such as PCGrad and CAGrad act on exactly this).",
    robustness=_held("gradient_conflict", ""), units=lambda seeds: 2 * len(seeds),
    run=_diagnosed_per_rho("shared_bottom", "cos",
                           lambda r: _over_epochs(r, lambda d: float((d.get("cosine") or {}).get("task_a|task_b",
                                                                                                  np.nan)))),
    check=lambda t: _paired_verdict(t, "cos_rho1", "cos_rho0", "gradient cosine at ρ=1 minus at ρ=0"),
)


# --------------------------------------------------------------------------- 5. gates
def _gate_gap(gates: dict) -> float:
    """Total-variation distance between the two tasks' mean gate distributions (0: same experts)."""
    a, b = (np.asarray(gates.get(t, []), dtype=float) for t in _TASKS)
    return float(0.5 * np.abs(a - b).sum()) if len(a) and len(a) == len(b) else float("nan")


GATES = Lesson(
    id="gate_specialisation", title="Expert and gate specialisation in MMoE",
    question="Do MMoE's task gates pick different experts when the tasks are unrelated?",
    pinned={"data": f"MMoE paper synthetic data, {ROWS:,} rows, ρ = 0 and ρ = 1", "model": "MMoE, 8 experts × [16]",
            "diagnostics": "mean gate weight per expert and task, mean over epochs", "epochs": EPOCHS},
    notice="How differently the two tasks' gates spread over the 8 experts (total-variation distance, 0: the same "
           "mix, 1: disjoint experts).",
    expected="The gates differ more at ρ = 0 than at ρ = 1: unrelated tasks use different experts.",
    robustness=_held("gate_specialisation", "the two tasks' gates differ by only 0.01-0.02 (total "
                     "variation) at either ρ, and which ρ gives the larger gap changes with the seed. On this "
                     "data MMoE's gates barely specialise within 8 epochs; read the gate heatmap, not a verdict."),
    units=lambda seeds: 2 * len(seeds),
    run=_diagnosed_per_rho("mmoe", "gate_gap", lambda r: _over_epochs(r, lambda d: _gate_gap(d.get("gates") or {}))),
    check=lambda t: _paired_verdict(t, "gate_gap_rho0", "gate_gap_rho1", "gate distance at ρ=0 minus at ρ=1"),
)


# --------------------------------------------------------------------------- 6. ESMM
def _esmm_run(seed, rep, cancel):
    df, out = _shop(seed), {}
    for arch in ("esmm", "shared_bottom"):
        cfg = _cfg(arch, seed, tasks=_FUNNEL, dataset="ecommerce")
        cfg.model.esmm_parent = "click" if arch == "esmm" else None
        res = fit(cfg, df, rep, f"{arch} · seed {seed}", cancel, predict=True)
        if res is None:
            return None
        p_click, p_buy = (np.asarray(res["pred"][t], dtype=float) for t in _FUNNEL)
        out[f"{arch}_violations"] = float(np.mean(p_buy > p_click + 1e-7))
        out[f"{arch}_purchase_auc"] = res["test"]["purchase"]
    return out


def _esmm_check(t: pd.DataFrame) -> Verdict:
    m, se, pos = _mean_paired(t, "esmm_purchase_auc", "shared_bottom_purchase_auc")
    esmm, sb = t["esmm_violations"].mean(), t["shared_bottom_violations"].mean()
    return Verdict(bool(m > 0 and pos == len(t)),
                   f"purchase AUC, ESMM minus shared bottom: {m:+.4f} ± {se:.4f} (mean ± SE over {len(t)} seeds), "
                   f"positive in {pos} of {len(t)}; rows where P(purchase) > P(click): ESMM {esmm:.2%}, "
                   f"shared bottom {sb:.2%}.")


ESMM = Lesson(
    id="esmm", title="ESMM's entire-space trick",
    question="What does modelling P(purchase) = P(click) × P(purchase | click) over all impressions buy?",
    pinned={"data": f"generated shop table, {ROWS:,} rows (purchase only after a click)", "tasks": "click, purchase",
            "models": "ESMM (parent: click) vs shared bottom", "epochs": EPOCHS},
    notice="The purchase AUC of both models over all test impressions, and on how many rows each says a "
           "purchase is more likely than a click (which the funnel makes impossible).",
    expected="ESMM ranks purchases better: its purchase head only learns the conditional P(purchase | click), "
             "helped by the plentiful click labels, and its purchase probability can never exceed its click "
             "probability.",
    robustness=_held("esmm", "on this generated data ESMM's purchase AUC is within noise of the shared "
                     "bottom's (+0.014, +0.002 and −0.020 on the three seed sets; at 20,000 rows −0.005 ± 0.004 and "
                     "−0.009 ± 0.004). What holds every time is the structure: ESMM's purchase probability never "
                     "exceeds its click probability (0 rows in every run)."),
    units=lambda seeds: 2 * len(seeds), run=_esmm_run, check=_esmm_check,
)

LESSONS: dict[str, Lesson] = {lesson.id: lesson for lesson in (RELATEDNESS, SEESAW, LEARNED, CONFLICT, GATES, ESMM)}
