"""Numeric features done right: piecewise-linear (quantile bins fitted on the training split)
and periodic embeddings in the shared input layer of every torch architecture, and the
quantile-transform scaling; saved with the run and reloaded."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from mtl_core.config import NUMERIC_ENCODINGS, ModelConfig, PreprocessConfig, RunConfig
from mtl_core.data.preprocessing import Preprocessor
from mtl_core.data.preprocessing.numeric import fit_bins
from mtl_core.errors import ConfigError
from mtl_core.models import MODELS, build_model
from mtl_core.models.numeric import PiecewiseLinear
from mtl_core.pipeline import prepare, run_experiment
from mtl_core.runs import load_run
from mtl_core.training.trainer import Trainer, predict
from mtl_core.types import EncodedSplit, FeatureSpec, TaskInfo, TaskSpec

torch.set_num_threads(1)
TORCH_ARCHS = [n for n in MODELS.names() if not getattr(MODELS.get(n), "is_sklearn", False)]


def _frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """``x`` grows with the row order (a temporal split puts the largest values in test);
    ``amount`` is skewed with a mass of zeros."""
    rng = np.random.default_rng(seed)
    x = np.arange(n, dtype=float) + rng.normal(0, 0.1, n)
    amount = np.where(rng.random(n) < 0.7, 0.0, rng.lognormal(3, 1.5, n))
    score = (x % 50) / 25 - 1 + (amount > 0)
    return pd.DataFrame({"t": pd.date_range("2024-01-01", periods=n, freq="h").astype(str),
                         "cat": rng.choice(["a", "b", "c"], n), "x": x, "amount": amount,
                         "click": (rng.random(n) < 1 / (1 + np.exp(-score))).astype(int)})


def _config(encoding: str, scaling: str = "none") -> RunConfig:
    cfg = RunConfig()
    cfg.data.tasks, cfg.data.time_col = ["click"], "t"
    cfg.split.method = "temporal"
    cfg.preprocess.numeric_encoding, cfg.preprocess.scaling = encoding, scaling
    cfg.preprocess.time_features = False
    cfg.model.hidden, cfg.model.tower_hidden, cfg.model.embed_dim = [8], [4], 4
    cfg.train.epochs, cfg.train.batch_size = 1, 64
    cfg.evaluation.gbm = False
    return cfg


def test_bins_are_fitted_on_the_training_split_only():
    df = _frame()
    prep = prepare(_config("ple"), df)
    names = prep.features.num_names
    bins = dict(zip(names, prep.features.num_bins))
    train_x = df["x"].to_numpy()[prep.encoded["train"].index]
    assert prep.features.num_encoding == "ple"
    assert bins["x"][0] == pytest.approx(train_x.min(), abs=1e-3)
    assert bins["x"][-1] == pytest.approx(train_x.max(), abs=1e-3)
    # the quantiles of all rows differ: the test rows (the latest, largest x) are not in them
    everything = fit_bins(df[["x"]].to_numpy())[0]
    assert everything[-1] > bins["x"][-1] + 10 and bins["x"] != everything
    # ties (70 % zeros) merge bins: increasing, distinct edges only
    assert len(bins["amount"]) < 49 and all(a < b for a, b in zip(bins["amount"], bins["amount"][1:]))


def test_ple_encoding_by_hand():
    enc = PiecewiseLinear([[0.0, 1.0, 3.0], [5.0, 6.0]], dim=2)
    x = torch.tensor([[0.5, 5.5], [2.0, 7.0], [-1.0, 4.0], [9.0, 5.0]])
    z = (x.unsqueeze(-1) - enc.left) / enc.width
    z = torch.where(enc.first, z, z.clamp_min(0.0))
    z = torch.where(enc.last, z, z.clamp_max(1.0)) * enc.valid
    # feature 0: bins [0, 1), [1, 3]; feature 1: one bin [5, 6] and a padded bin (always 0)
    want = torch.tensor([[[0.5, 0.0], [0.5, 0.0]], [[1.0, 0.5], [2.0, 0.0]],
                         [[-1.0, 0.0], [-1.0, 0.0]], [[1.0, 4.0], [0.0, 0.0]]])
    torch.testing.assert_close(z, want)
    assert enc(x).shape == (4, 4)


@pytest.mark.parametrize("encoding", ["ple", "periodic"])
def test_saved_with_the_run_and_reloaded(encoding, tmp_path):
    df = _frame()
    res = run_experiment(_config(encoding, "zscore"), df, runs_root=tmp_path)
    meta = json.loads((res.run_dir / "model_meta.json").read_text())
    assert meta["features"]["num_encoding"] == encoding
    run = load_run(res.run_dir)  # weights read with weights_only=True; bins from the JSON
    prep = prepare(_config(encoding, "zscore"), df)
    assert run.preprocessor().feature_spec_ == prep.features
    emb = run.model().embedding
    assert emb.numeric is not None and emb.output_dim == (1 + 2) * 4  # cat + 2 numeric fields, 4 each
    got = predict(run.model(), prep.encoded["test"], prep.task_infos, "cpu")["click"]
    np.testing.assert_allclose(got, run.predictions["pred:click"].to_numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("encoding", ["ple", "periodic"])
def test_onnx_export_keeps_parity(encoding, tmp_path):
    pytest.importorskip("onnxruntime")
    from mtl_core.export import export_onnx

    df = _frame()
    res = run_experiment(_config(encoding, "quantile"), df, runs_root=tmp_path)
    report = export_onnx(load_run(res.run_dir), tmp_path / "m.onnx", df=df)
    assert report["ok"] and report["rows_checked"] == res.metrics["split"]["test"]


def test_a_damaged_bin_list_is_refused(tmp_path):
    from mtl_core.errors import DataError

    res = run_experiment(_config("ple"), _frame(), runs_root=tmp_path)
    path = res.run_dir / "model_meta.json"
    meta = json.loads(path.read_text())
    meta["features"]["num_bins"][0] = [3.0, 1.0]
    path.write_text(json.dumps(meta))
    with pytest.raises(DataError, match="num_bins"):
        load_run(res.run_dir).model()


def test_quantile_scaling_is_normal_and_round_trips():
    df = _frame(600)
    p = Preprocessor(PreprocessConfig(scaling="quantile"), ["cat"], ["x", "amount"], [TaskSpec("click")])
    enc = p.fit_transform(df)
    x = enc.num[:, 0]
    assert abs(float(np.median(x))) < 0.05 and 0.8 < float(x.std()) < 1.3  # uniform x -> bell-shaped
    q = Preprocessor.from_dict(json.loads(json.dumps(p.to_dict())))
    other = _frame(100, seed=3)
    np.testing.assert_allclose(q.transform(other).num, p.transform(other).num, rtol=1e-6)


def test_unknown_encoding_is_a_config_error():
    with pytest.raises(ConfigError, match="preprocess.numeric_encoding"):
        PreprocessConfig(numeric_encoding="fourier").validate()


def _data(n: int = 96) -> EncodedSplit:
    rng = np.random.default_rng(0)
    num = rng.normal(size=(n, 2)).astype(np.float32)
    click = (num[:, 0] > 0).astype(np.float32)
    return EncodedSplit(cat=rng.integers(0, 5, (n, 1)), num=num,
                        labels={"click": click, "buy": click * (num[:, 1] > 0)}, index=np.arange(n))


@pytest.mark.parametrize("arch", TORCH_ARCHS)
@pytest.mark.parametrize("encoding", NUMERIC_ENCODINGS)
def test_every_architecture_trains_with_every_encoding(arch, encoding):
    from mtl_core.config import TrainConfig

    data = _data()
    bins = fit_bins(data.num) if encoding == "ple" else []
    feats = FeatureSpec(["u"], [5], ["p", "q"], num_encoding=encoding, num_bins=bins)
    tasks = [TaskInfo("click", "binary", 1, ["0", "1"]), TaskInfo("buy", "binary", 1, ["0", "1"])]
    torch.manual_seed(0)
    model = build_model(arch, feats, tasks, ModelConfig(arch=arch, embed_dim=4, hidden=[16], tower_hidden=[8],
                                                        esmm_parent="click"))
    before = {n: p.detach().clone() for n, p in model.named_parameters() if "embedding.numeric." in n}
    assert bool(before) == (encoding != "scalar")
    result = Trainer(model, tasks, TrainConfig(epochs=1, batch_size=32, device="cpu")).fit(data, data)
    assert result.epochs_run == 1
    for n, p in model.named_parameters():  # the input layer's numeric encoder learned
        if n in before:
            assert not torch.equal(p, before[n]), n
    out = predict(model, data, tasks, "cpu")
    assert all(np.isfinite(v).all() and v.shape == (len(data),) for v in out.values())


def test_cli_flags_set_the_encoding_and_scaling(tmp_path):
    from mtl_core.cli.main import build_parser
    from mtl_core.cli.options import config_from_args

    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,0\n2,1\n", encoding="utf-8")
    a = build_parser().parse_args(["train", "--data", str(data), "--task", "y", "--numeric-encoding", "ple",
                                   "--scaling", "quantile"])
    cfg = config_from_args(a)
    assert (cfg.preprocess.numeric_encoding, cfg.preprocess.scaling) == ("ple", "quantile")
    a = build_parser().parse_args(["train", "--data", str(data), "--task", "y", "--numeric-encoding", "spline"])
    with pytest.raises(ConfigError, match="numeric_encoding"):
        config_from_args(a)


def test_app_choices_reach_the_run_config():
    from mtl_core.app import state as app_state
    from mtl_core.data.schema import infer_schema

    df = _frame(20)
    state = {**app_state.fresh_state(), "df": df, "schema": infer_schema(df), "tasks": ["click"]}
    # the app starts from the library's defaults (the same as the command line)
    assert state["preprocess"]["numeric_encoding"] == PreprocessConfig().numeric_encoding
    assert state["preprocess"]["scaling"] == PreprocessConfig().scaling
    other = next(e for e in NUMERIC_ENCODINGS if e != PreprocessConfig().numeric_encoding)
    state["preprocess"] = {**state["preprocess"], "numeric_encoding": other, "scaling": "quantile"}
    cfg = app_state.build_config(state, app_state.default_train_settings(["click"]), num_threads=1)
    assert (cfg.preprocess.numeric_encoding, cfg.preprocess.scaling) == (other, "quantile")
