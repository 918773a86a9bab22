"""Export a torch run to ONNX.

The graph takes the *encoded* inputs — ``cat``: int64 ``[n, n_categorical]`` (vocabulary
indices, 0 = unknown) and ``num``: float32 ``[n, n_numeric]`` (cleaned and scaled) — as the
run's preprocessor produces them (``preprocessor.json`` holds the vocabularies and scaler),
and has one output per task, named after it: a probability (binary), a value in original
units (regression: the target scaling and log1p are folded into the graph) or class
probabilities (multiclass). ``export_onnx`` checks the file with onnxruntime on the run's
test split and reports the largest absolute difference to the torch model.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import ConfigError, DataError

TOLERANCE = 1e-5


def _scored_module(model, tasks, target_state: dict):
    import torch

    from .training.prediction import output_to_prediction

    class Scored(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, cat, num):
            out = self.model(cat, num)
            res = []
            for t in tasks:
                p = output_to_prediction(out[t.name], t.kind)
                if t.kind == "regression":
                    st = target_state[t.name]
                    p = p * float(st["scale"]) + float(st["mean"])
                    if st.get("log1p"):
                        p = torch.exp(torch.clamp(p, max=float(st.get("log_max") or 80.0))) - 1.0  # no expm1 in ONNX
                res.append(p)
            return tuple(res)

    return Scored().eval()


def test_inputs(run, df=None) -> tuple[np.ndarray, np.ndarray]:
    """The run's test split, encoded by its saved preprocessor (the data file must still exist,
    unless ``df``, the run's data, is given)."""
    from .data.split import split_indices
    from .pipeline import load_data

    cfg = run.config
    df = load_data(cfg) if df is None else df
    from .data.sales import adapt_for_training

    df, _ = adapt_for_training(df, cfg)
    meta = run.meta
    test = split_indices(df, cfg.split, time_col=meta.get("time_col"), user_col=meta.get("user_col"))["test"]
    enc = run.preprocessor().transform(df.iloc[test])
    return enc.cat.astype(np.int64), enc.num.astype(np.float32)


def export_onnx(run, out: str | Path, check: bool = True, df=None, keep_values: bool = False) -> dict:
    """Write ``out``; with ``check``, score the test split (of ``df`` when given, else of the
    run's data file) with torch and onnxruntime. ``keep_values`` adds both models' outputs
    per task under ``values`` (numpy arrays, for the parity figure; not JSON)."""
    import torch

    model = run.model()
    if getattr(model, "is_sklearn", False):
        raise ConfigError("Only torch runs can be exported to ONNX; this run is the scikit-learn baseline.")
    tasks = run.task_infos
    wrapped = _scored_module(model, tasks, run.preprocessor().target_state_)
    feats = run.preprocessor().feature_spec_
    n_cat, n_num = len(feats.cat_names), len(feats.num_names)
    cat = torch.zeros((2, n_cat), dtype=torch.int64)
    num = torch.zeros((2, n_num), dtype=torch.float32)
    names = [t.name for t in tasks]
    axes = {"cat": {0: "n"}, "num": {0: "n"}, **{n: {0: "n"} for n in names}}
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.onnx.export(wrapped, (cat, num), str(path), input_names=["cat", "num"], output_names=names,
                          dynamic_axes=axes, opset_version=17, dynamo=False)
    except Exception as exc:  # noqa: BLE001 - an operator ONNX lacks: one sentence, not a graph dump
        raise ConfigError(f"This model cannot be exported to ONNX ({str(exc).splitlines()[0][:200]}).") from None
    report = {"path": str(path), "inputs": {"cat": [None, n_cat], "num": [None, n_num]}, "outputs": names}
    if check:
        c, x = test_inputs(run, df)
        report.update(parity(wrapped, path, c, x, names, keep_values))
    return report


def parity(wrapped, path: Path, cat: np.ndarray, num: np.ndarray, names: list[str],
           keep_values: bool = False) -> dict:
    import onnxruntime as ort
    import torch

    with torch.inference_mode():
        ref = [t.numpy() for t in wrapped(torch.as_tensor(cat), torch.as_tensor(num))]
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(names, {"cat": cat, "num": num})
    diffs = {n: float(np.max(np.abs(a - b))) if a.size else 0.0 for n, a, b in zip(names, ref, got)}
    # values above 1 (regression in original units) are compared relative to their size
    rel = {n: float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(a)))) if a.size else 0.0
           for n, a, b in zip(names, ref, got)}
    worst = max(rel.values()) if rel else 0.0
    if not np.isfinite(worst):
        raise DataError("The ONNX model's outputs are not finite where the torch model's are.")
    report = {"rows_checked": int(len(cat)), "max_abs_diff": diffs, "max_diff_scaled": rel, "worst": worst,
              "ok": worst <= TOLERANCE}
    if keep_values:
        report["values"] = {n: {"torch": a, "onnx": b} for n, a, b in zip(names, ref, got)}
    return report
