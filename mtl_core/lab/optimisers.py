"""Optimisers and initialisations side by side: the same data, split, architecture and seed
trained with several optimisers (full-batch gradient descent, minibatch SGD, SGD with
momentum, Adam, AdamW) and initialisations (PyTorch's default, Xavier, Kaiming), with the
loss curves overlaid and a short computed explanation.

Every combination runs the configured number of epochs without early stopping (the curves
have the same length). A minibatch optimiser uses the configured batch size; ``gd`` one batch
of all training rows (one step per epoch). Each optimiser has its own learning rate
(``OPTIMISER_LR``, overridable): one rate cannot suit both plain SGD and Adam.
"""
from __future__ import annotations

import copy
from typing import Callable, Iterable

import pandas as pd

from ..config import FULL_BATCH, INITS, RunConfig
from ..errors import ConfigError
from ..runs import list_results, read_result, save_result
from ..validate import number
from ..values import finite
from .common import CANCELLED, COMPLETE, Reporter, created, load_df, train_eval

#: recipe -> (``train.optimizer``, full batch?)
OPTIMISER_RECIPES = {"gd": ("sgd", True), "sgd": ("sgd", False), "momentum": ("momentum", False),
                     "adam": ("adam", False), "adamw": ("adamw", False)}
OPTIMISER_LABELS = {"gd": "Full-batch GD", "sgd": "SGD", "momentum": "SGD + momentum", "adam": "Adam",
                    "adamw": "AdamW"}
#: default learning rate per recipe (plain gradient steps need a larger rate than Adam's)
OPTIMISER_LR = {"gd": 0.5, "sgd": 0.05, "momentum": 0.02, "adam": 3e-3, "adamw": 3e-3}
INIT_LABELS = {"default": "default init", "xavier": "Xavier", "kaiming": "Kaiming"}
SUMMARY_COLUMNS = ["label", "optimiser", "init", "lr", "batch_size", "steps", "first_train_loss",
                   "final_train_loss", "best_val_loss", "best_epoch", "final_val_loss", "stopped", "seconds"]
CURVE_COLUMNS = ["label", "optimiser", "init", "epoch", "split", "loss"]


def _check(optimisers, inits, lrs) -> tuple[list[str], list[str], dict[str, float]]:
    opts, ins = [str(o) for o in optimisers], [str(i) for i in inits]
    for name, got, known in (("optimisers", opts, OPTIMISER_RECIPES), ("inits", ins, INITS)):
        bad = [g for g in got if g not in known]
        if bad or not got or len(set(got)) != len(got):
            raise ConfigError(f"{name} must list distinct names among {', '.join(known)}; got {', '.join(got) or 'none'}.")
    rates = {**OPTIMISER_LR, **{str(k): v for k, v in (lrs or {}).items()}}
    for k in rates:
        if k not in OPTIMISER_RECIPES:
            raise ConfigError(f"lrs names an unknown optimiser {k!r}; choose among {', '.join(OPTIMISER_RECIPES)}.")
        rates[k] = float(number(f"lrs[{k!r}]", rates[k], lo=0, lo_open=True, hi=10))
    return opts, ins, rates


def combination_configs(config: RunConfig, optimiser: str, init: str, lr: float):
    """(model config, train config) of one combination: ``config``'s with this optimiser,
    learning rate, batch size and initialisation, no early stopping and no diagnostics."""
    optimizer, full = OPTIMISER_RECIPES[optimiser]
    model, train = copy.deepcopy(config.model), copy.deepcopy(config.train)
    model.init = init
    train.optimizer, train.lr, train.patience, train.diagnostics = optimizer, float(lr), 0, False
    if full:
        train.batch_size = FULL_BATCH
    return model, train


def _mean_loss(history: list[dict]) -> pd.DataFrame:
    """History rows -> mean loss over tasks per (epoch, split)."""
    h = pd.DataFrame(history)
    if h.empty:
        return pd.DataFrame(columns=["epoch", "split", "loss"])
    return h.groupby(["epoch", "split"], as_index=False)["loss"].mean()


def _combination(prep, config, optimiser, init, lr, rep, cancel) -> tuple[dict, pd.DataFrame] | None:
    label = f"{OPTIMISER_LABELS[optimiser]} · {INIT_LABELS[init]}"
    model_cfg, train_cfg = combination_configs(config, optimiser, init, lr)
    rep.start(label)
    res = train_eval(prep, prep.task_infos, model_cfg, train_cfg, config.model.arch, rep, cancel)
    if res is None:
        return None
    _, test, result = res
    curves = _mean_loss(result.history).assign(label=label, optimiser=optimiser, init=init)
    tr, va = curves[curves["split"] == "train"], curves[curves["split"] == "val"]
    n_train = len(prep.encoded["train"])
    batch = min(train_cfg.batch_size, n_train)
    best = va.loc[va["loss"].idxmin()] if len(va) and va["loss"].notna().any() else None
    row = {"label": label, "optimiser": optimiser, "init": init, "lr": lr, "batch_size": batch,
           "steps": result.epochs_run * -(-n_train // max(batch, 1)),
           "first_train_loss": finite(tr["loss"].iloc[0]) if len(tr) else None,
           "final_train_loss": finite(tr["loss"].iloc[-1]) if len(tr) else None,
           "best_val_loss": finite(best["loss"]) if best is not None else None,
           "best_epoch": int(best["epoch"]) if best is not None else None,
           "final_val_loss": finite(va["loss"].iloc[-1]) if len(va) else None,
           "stopped": result.stopped, "seconds": round(result.seconds, 2),
           **{f"test_{k}": v for k, v in test.items()}}
    rep.finish()
    return row, curves[CURVE_COLUMNS]


def optimiser_lab(config: RunConfig, df: pd.DataFrame | None = None,
                  optimisers: Iterable[str] = ("gd", "sgd", "momentum", "adam"),
                  inits: Iterable[str] = ("default", "xavier", "kaiming"), lrs: dict | None = None,
                  callback: Callable | None = None, cancel=None, runs_root=None, save: bool = True,
                  background: bool = False) -> pd.DataFrame:
    """Train ``config``'s architecture on ``df`` (the config's data when None) once per
    optimiser × initialisation, same split and seed. Returns the summary, one row per
    combination (``SUMMARY_COLUMNS`` plus ``test_<task>``: the test headline metric), with
    ``attrs``: ``curves`` (mean loss over tasks per label, epoch and split), ``explanation``
    (sentences), ``status`` and ``path`` (where it was saved)."""
    from ..pipeline import prepare
    from ..training.device import set_threads

    opts, ins, rates = _check(optimisers, inits, lrs)
    config.validate()
    set_threads(config.train.num_threads, background=background)
    prep = prepare(config, load_df(config, df))
    rep = Reporter("optimiser_lab", len(opts) * len(ins), callback)
    rows, curves, status = [], [], COMPLETE
    for optimiser in opts:
        for init in ins:
            done = _combination(prep, config, optimiser, init, rates[optimiser], rep, cancel)
            if done is None:
                status = CANCELLED
                break
            rows.append(done[0])
            curves.append(done[1])
        if status == CANCELLED:
            break
    summary = pd.DataFrame(rows, columns=list(dict.fromkeys(SUMMARY_COLUMNS + [c for r in rows for c in r])))
    curve_frame = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=CURVE_COLUMNS)
    explanation = explain_optimisers(summary, config.train.epochs)
    summary.attrs.update(curves=curve_frame, explanation=explanation, status=status)
    if save and len(summary):
        meta = {"created": created(), "status": status, "arch": config.model.arch, "epochs": config.train.epochs,
                "seed": config.train.seed, "optimisers": opts, "inits": ins, "lrs": {o: rates[o] for o in opts},
                "tasks": [t.name for t in prep.task_infos], "explanation": explanation, "seconds": rep.seconds()}
        summary.attrs["path"] = str(save_result(runs_root, "optlab", {
            "optlab.json": meta, "summary.csv": summary, "curves.csv": curve_frame}))
    rep.close(status)
    return summary


def _val(summary: pd.DataFrame, optimiser: str) -> float | None:
    """Best final validation loss of ``optimiser`` over its initialisations."""
    v = pd.to_numeric(summary.loc[summary["optimiser"] == optimiser, "final_val_loss"], errors="coerce").dropna()
    return float(v.min()) if len(v) else None


def _compare(summary, a: str, b: str, lower: str, higher: str) -> str | None:
    """``a`` vs ``b`` by final validation loss, with the reason ``lower`` or ``higher``."""
    va, vb = _val(summary, a), _val(summary, b)
    if va is None or vb is None:
        return None
    verdict, why = ("lower", lower) if va < vb else ("higher", higher)
    return (f"{OPTIMISER_LABELS[a]} ended at a validation loss of {va:.4f}, {verdict} than "
            f"{OPTIMISER_LABELS[b]}'s {vb:.4f}: {why}")


def explain_optimisers(summary: pd.DataFrame, epochs: int) -> list[str]:
    """Short sentences computed from the summary: the best combination, full-batch vs
    minibatch steps, momentum, adaptive steps, the effect of the initialisation, divergence."""
    if summary is None or summary.empty:
        return ["No combination finished."]
    s = summary.assign(final_val_loss=pd.to_numeric(summary["final_val_loss"], errors="coerce"))
    out = []
    ok = s.dropna(subset=["final_val_loss"])
    if len(ok):
        best = ok.loc[ok["final_val_loss"].idxmin()]
        out.append(f"Lowest validation loss after {epochs} epochs: {best['label']} ({best['final_val_loss']:.4f}).")
    gd, mini = s[s["optimiser"] == "gd"], s[s["optimiser"] != "gd"]
    if len(gd) and len(mini):
        other = mini.iloc[0]
        out.append(f"Full-batch gradient descent made {int(gd['steps'].iloc[0]):,} updates in {epochs} epochs (one per "
                   f"pass over the data), {OPTIMISER_LABELS[other['optimiser']]} {int(other['steps']):,}: exact "
                   "gradients, but far fewer steps for the same computation.")
    for a, b, lower, higher in (
            ("momentum", "sgd", "momentum keeps part of the previous steps, so it moves further along directions "
                                "the gradients agree on.", "averaging past steps did not pay off at this rate."),
            ("adam", "sgd", "Adam scales each parameter's step by its own gradient history, which suits sparse "
                            "embedding rows.", "Adam's per-parameter steps fit the training rows faster, so it "
                                               "reaches its best epoch sooner and can overfit after it.")):
        text = _compare(s, a, b, lower, higher)
        if text:
            out.append(text)
    spread = {o: g["final_val_loss"].max() - g["final_val_loss"].min()
              for o, g in ok.groupby("optimiser") if g["init"].nunique() > 1}
    if spread:
        most = max(spread, key=spread.get)
        least = min(spread, key=spread.get)
        out.append(f"The initialisation moved the final validation loss by up to {spread[most]:.4f} with "
                   f"{OPTIMISER_LABELS[most]} and {spread[least]:.4f} with {OPTIMISER_LABELS[least]}"
                   + (": adaptive steps forgive a poor starting scale." if least in ("adam", "adamw") else "."))
    best_val = pd.to_numeric(s["best_val_loss"], errors="coerce")
    rose = s[s["final_val_loss"] > 1.05 * best_val]
    if len(rose):
        r = rose.loc[(rose["final_val_loss"] - best_val[rose.index]).idxmax()]
        out.append(f"Overfitting: {r['label']}'s validation loss was lowest at epoch {int(r['best_epoch'])} "
                   f"({r['best_val_loss']:.4f}) and rose to {r['final_val_loss']:.4f} while its training loss kept "
                   f"falling (to {r['final_train_loss']:.4f}); early stopping would keep epoch {int(r['best_epoch'])}"
                   + (f" ({len(rose)} combinations rose by over 5 %)." if len(rose) > 1 else "."))
    bad = s[s["stopped"] == "diverged"]["label"].tolist()
    if bad:
        out.append(f"Diverged (the loss became NaN or infinite): {', '.join(bad)}; lower its learning rate.")
    return out


def list_optimiser_labs(root=None) -> list[dict]:
    """Saved optimiser labs under ``<root>/optlab``, newest first."""
    return list_results(root, "optlab", "optlab.json")


def load_optimiser_lab(path) -> pd.DataFrame:
    """A saved lab's summary with ``attrs`` ``curves``, ``explanation`` and ``meta``."""
    files = read_result(path, ["optlab.json", "summary.csv", "curves.csv"], "optimiser lab")
    summary = files["summary.csv"]
    meta = files["optlab.json"]
    summary.attrs.update(curves=files["curves.csv"], explanation=list(meta.get("explanation") or []), meta=meta)
    return summary
