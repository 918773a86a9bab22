"""A short plain-text summary of a run's test metrics for the command line: every score beside
its baseline, the threshold each binary task used, catalogue ranking, and the warnings."""
from __future__ import annotations

from .thresholds import describe_threshold

__all__ = ["text_summary"]

_SHOWN = {
    "binary": (("auc", "AUC", "prior"), ("f1", "F1", "prior"), ("logloss", "log loss", "prior")),
    "regression": (("rmse", "RMSE", "mean"), ("mae", "MAE", "median"), ("r2", "R²", "mean")),
    "multiclass": (("accuracy", "accuracy", "majority"), ("macro_f1", "macro-F1", "majority")),
}


def _fmt(v) -> str:
    return "–" if not isinstance(v, (int, float)) or isinstance(v, bool) else f"{float(v):.3f}"


def _task_line(name: str, m: dict) -> str:
    kind = m.get("kind", "")
    base = m.get("baselines") or {}
    parts = []
    for key, label, bname in _SHOWN.get(kind, ()):
        ref = (base.get(bname) or {}).get(key)
        parts.append(f"{label} {_fmt(m.get(key))} ({bname} {_fmt(ref)})")
    line = f"  {name} [{kind}]: " + ", ".join(parts)
    line += _gbm_part(m, _SHOWN.get(kind, ((None, "", ""),))[0][:2])
    if kind == "binary":
        line += f"; threshold {describe_threshold(m)}"
    return line


def _gbm_part(m: dict, shown: tuple) -> str:
    """The gradient-boosting reference on the kind's first metric with the model's margin,
    e.g. ``; gradient boosting AUC 0.950 (model − gbm -0.0040)``, or why it was skipped."""
    key, label = shown
    gbm = (m.get("baselines") or {}).get("gbm")
    if not isinstance(gbm, dict) or key is None:
        return ""
    if gbm.get("skipped"):
        return f"; gradient boosting {gbm['skipped']}"
    mine, ref = m.get(key), gbm.get(key)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (mine, ref)):
        return f"; gradient boosting {label} {_fmt(ref)}"
    return f"; gradient boosting {label} {_fmt(ref)} (model − gbm {float(mine) - float(ref):+.4f})"


def text_summary(metrics: dict) -> str:
    tasks = metrics.get("tasks") or {}
    lines = ["Test scores, each beside its baseline in brackets:"]
    lines += [_task_line(n, m) for n, m in tasks.items() if isinstance(m, dict)]
    catalog = metrics.get("catalog") or {}
    if catalog:
        lines.append("Catalogue ranking (every item the user did not interact with in training is a candidate):")
        for name, c in catalog.items():
            k = c.get("k", 10)
            pop = (c.get("baselines") or {}).get("popularity") or {}
            sampled = f", users sampled from {c.get('test_users')}" if c.get("sampled") else ""
            lines.append(f"  {name}: Recall@{k} {_fmt(c.get(f'recall@{k}'))} (popularity {_fmt(pop.get(f'recall@{k}'))}), "
                         f"NDCG@{k} {_fmt(c.get(f'ndcg@{k}'))} (popularity {_fmt(pop.get(f'ndcg@{k}'))}), "
                         f"Hit@{k} {_fmt(c.get(f'hit@{k}'))} (popularity {_fmt(pop.get(f'hit@{k}'))}); "
                         f"{c.get('users', 0)} users{sampled}")
    warns = [w.get("message", "") for m in tasks.values() if isinstance(m, dict) for w in m.get("warnings") or []]
    warns += [w.get("message", "") for c in catalog.values() for w in c.get("warnings") or []]
    if warns:
        lines.append("Warnings:")
        lines += [f"  - {w}" for w in warns]
    return "\n".join(line.replace("{", "(").replace("}", ")") for line in lines)
