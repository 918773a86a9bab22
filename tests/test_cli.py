"""The command-line contract: subcommands, output formats, and `error:` lines with exit 2."""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from mtl_core.cli import main
from mtl_core.data.synth import make_synthetic
from mtl_core.config import TrainConfig
from mtl_core.errors import ConfigError
from mtl_core.models import MODELS
from mtl_core.weighting import WEIGHTINGS


@pytest.fixture(scope="module")
def sample_csv(tmp_path_factory):
    p = tmp_path_factory.mktemp("cli") / "sample.csv"
    make_synthetic(rows=2000, seed=1).to_csv(p, index=False)
    return p


def run_cli(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_clean_error(code, err, *needles):
    assert code == 2
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], (n, lines[0])


def test_inspect_prints_schema_json(sample_csv, capsys):
    code, out, _ = run_cli(["inspect", "--data", sample_csv], capsys)
    assert code == 0
    doc = json.loads(out)
    cols = {c["name"]: c for c in doc["columns"]}
    assert cols["user_id"]["role"] == "user_id" and cols["item_id"]["role"] == "item_id"
    assert cols["timestamp"]["role"] == "timestamp"
    for c in cols.values():
        assert {"name", "role", "dtype", "missing_share", "cardinality"} <= set(c)
    assert 0 < cols["rating"]["missing_share"] < 1


def test_inspect_headerless_with_names(tmp_path, capsys):
    p = tmp_path / "nohead.csv"
    p.write_text("1;a;0.5\n2;b;0.7\n3;a;0.1\n", encoding="utf-8")
    code, out, _ = run_cli(["inspect", "--data", p, "--no-header", "--names", "user_id,colour,score", "--sep", ";"], capsys)
    assert code == 0
    assert [c["name"] for c in json.loads(out)["columns"]] == ["user_id", "colour", "score"]


def test_synth_and_events(tmp_path, capsys):
    out_csv = tmp_path / "s.csv"
    code, out, _ = run_cli(["synth", "--rows", 500, "--task-correlation", 0.3, "--seed", 2, "--out", out_csv], capsys)
    assert code == 0 and len(pd.read_csv(out_csv)) == 500
    log = tmp_path / "log.csv"
    log.write_text("u1,i1,pv\nu1,i1,cart\nu1,i2,pv\nu2,i1,pv\nu2,i1,cart\nu2,i1,buy\n", encoding="utf-8")
    funnel_out = tmp_path / "funnel.csv"
    code, out, _ = run_cli(["events", "--data", log, "--no-header", "--names", "u,i,ev", "--user-col", "u",
                            "--item-col", "i", "--event-col", "ev", "--funnel", "pv,cart,buy", "--out", funnel_out], capsys)
    assert code == 0
    t = pd.read_csv(funnel_out).set_index(["u", "i"]).sort_index()
    assert t.loc[("u1", "i1"), "cart"] == 1 and t.loc[("u1", "i1"), "buy"] == 0
    assert t.loc[("u1", "i2"), "cart"] == 0
    assert t.loc[("u2", "i1"), "buy"] == 1


def test_train_then_recommend(sample_csv, tmp_path, capsys):
    runs = tmp_path / "runs"
    code, out, _ = run_cli(["train", "--data", sample_csv, "--task", "click", "--task", "purchase",
                            "--task", "rating:regression", "--arch", "mmoe", "--epochs", 2, "--batch-size", 256,
                            "--weights", "1,2,0.5", "--seed", 3, "--out", runs], capsys)
    assert code == 0
    assert out.count("epoch 1/2") == 1 and "samples/s" in out
    summary = json.loads(out[out.index("{"):])
    assert summary["tasks"]["click"]["kind"] == "binary" and "rmse" in summary["tasks"]["rating"]
    run_dir = summary["run_dir"]
    cfg = json.loads(open(f"{run_dir}/config.json").read())
    assert cfg["train"]["task_weights"] == {"click": 1.0, "purchase": 2.0, "rating": 0.5}
    assert cfg["train"]["seed"] == 3 and cfg["split"]["seed"] == 3
    # the saved config reproduces the run
    code, out2, _ = run_cli(["train", "--config", f"{run_dir}/config.json", "--out", runs, "--quiet"], capsys)
    assert code == 0
    again = json.loads(out2[out2.index("{"):])
    assert again["tasks"] == summary["tasks"]
    user = pd.read_csv(sample_csv)["user_id"].iloc[0]
    code, out, _ = run_cli(["recommend", "--run", run_dir, "--user", user, "--k", 4], capsys)
    assert code == 0
    recs = json.loads(out)
    assert len(recs) == 4 and recs[0]["rank"] == 1 and "fused_score" in recs[0]


@pytest.mark.parametrize("args,needles", [
    (["inspect", "--data", "/no/such/file.csv"], ["file.csv"]),
    (["train", "--data", "{sample}", "--task", "nope"], ["nope"]),
    (["train", "--data", "{sample}", "--task", "click", "--arch", "gpt"], ["gpt"]),
    (["train", "--data", "{sample}", "--task", "click", "--epochs", "0"], ["epochs"]),
    (["train", "--data", "{sample}", "--task", "click", "--weights", "1,2"], ["--weights"]),
    (["train", "--data", "{sample}", "--task", "item_category:regression"], ["item_category"]),
    (["train", "--data", "{sample}", "--task", "click", "--device", "cuda"], ["cuda"]),
    (["recommend", "--run", "/no/such/run", "--user", "u1"], ["run"]),
    (["synth", "--rows", "10", "--task-correlation", "3", "--out", "/tmp/x.csv"], ["correlation"]),
    (["train", "--task", "click"], ["data"]),
    (["frobnicate"], []),
    (["train", "--data", "{sample}", "--task", "click", "--epochs", "two"], []),
])
def test_errors_are_one_line_exit_2(args, needles, sample_csv, capsys):
    args = [str(sample_csv) if a == "{sample}" else a for a in args]
    code, _, err = run_cli(args, capsys)
    assert_clean_error(code, err, *needles)


def test_empty_and_binary_files(tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    code, _, err = run_cli(["inspect", "--data", empty], capsys)
    assert_clean_error(code, err, "empty")
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(256)) * 40)
    code, _, err = run_cli(["inspect", "--data", junk], capsys)
    assert_clean_error(code, err)


def test_real_subprocess_exit_status(tmp_path):
    """The module entry point itself: exit 2 and a single error line, no traceback."""
    p = subprocess.run([sys.executable, "-m", "mtl_core", "inspect", "--data", str(tmp_path / "missing.csv")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert p.stderr.strip().startswith("error:") and len(p.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------- --verbose
@pytest.mark.parametrize("where", ["after", "before"])
def test_verbose_prints_the_traceback_of_an_unexpected_error(sample_csv, monkeypatch, capsys, where):
    import mtl_core.data.schema as schema

    def broken(*a, **k):
        raise RuntimeError("boom in infer_schema")

    monkeypatch.setattr(schema, "infer_schema", broken)
    args = ["inspect", "--data", sample_csv]
    code, _, err = run_cli(args + ["--verbose"] if where == "after" else ["--verbose"] + args, capsys)
    assert code == 2
    assert "Traceback (most recent call last)" in err and "broken" in err  # the frame that raised
    assert err.strip().splitlines()[-1].startswith("error: unexpected RuntimeError: boom in infer_schema")
    # without --verbose: one line, exit 2, no traceback, and a pointer to --verbose
    code, _, err = run_cli(args, capsys)
    assert_clean_error(code, err, "boom in infer_schema", "--verbose")


# --------------------------------------------------------------------------- options from the registries
def _config(*args):
    from mtl_core.cli import build_parser, config_from_args

    return config_from_args(build_parser().parse_args(["train", "--data", "x.csv", "--task", "click", *args]))


def _example(setting):
    return {"int": "3", "float": "0.25", "layers": "24,12", "task": "click"}[setting.kind]


def _typed(setting):
    return {"int": 3, "float": 0.25, "layers": [24, 12], "task": "click"}[setting.kind]


@pytest.mark.parametrize("arch", MODELS.names())
def test_every_architecture_setting_is_a_flag(arch):
    """Each registered architecture's settings are command-line flags setting its
    ModelConfig field (a new architecture gets its flags from the registry)."""
    settings = MODELS.info(arch).settings
    args = [a for s in settings for a in (s.flag, _example(s))]
    cfg = _config("--arch", arch, *args)
    for s in settings:
        assert getattr(cfg.model, s.field) == _typed(s), s.flag


def test_initialisation_optimiser_and_full_batch_flags():
    from mtl_core.config import FULL_BATCH

    cfg = _config("--init", "kaiming", "--optimizer", "momentum", "--momentum", "0.5", "--full-batch",
                  "--batch-size", "64")
    assert (cfg.model.init, cfg.train.optimizer, cfg.train.momentum) == ("kaiming", "momentum", 0.5)
    assert cfg.train.batch_size == FULL_BATCH  # --full-batch wins over --batch-size
    assert _config().model.init == "default" and _config().train.batch_size == TrainConfig().batch_size
    with pytest.raises(ConfigError, match="model.init"):
        _config("--init", "orthogonal")


@pytest.mark.parametrize("method", WEIGHTINGS.names())
def test_every_weighting_setting_is_a_flag(method):
    settings = WEIGHTINGS.info(method).settings
    args = [a for s in settings for a in (f"--{method}-{s.field}".replace("_", "-"), _example(s))]
    cfg = _config("--weighting", method, *args)
    assert cfg.train.weighting_params == {s.field: _typed(s) for s in settings}


@pytest.mark.parametrize("args,needles", [
    (["--arch", "shared_bottom", "--n-experts", "3"], ["--n-experts", "mmoe", "shared_bottom"]),
    (["--arch", "linear", "--hidden", "8"], ["--hidden", "linear"]),
    (["--weighting", "fixed", "--gradnorm-alpha", "0.5"], ["--gradnorm-alpha", "gradnorm", "fixed"]),
    (["--arch", "mmoe", "--hidden", "8,x"], ["--hidden", "8,x"]),
])
def test_a_setting_of_another_architecture_or_method_is_an_error(args, needles):
    with pytest.raises(ConfigError) as exc:
        _config(*args)
    for n in needles:
        assert n in str(exc.value)


def test_training_options_are_the_same_for_train_baseline_and_sweep():
    from mtl_core.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command").choices

    def options(cmd):
        return {s for a in sub[cmd]._actions for s in a.option_strings}

    train = options("train")
    assert {"--gradnorm-alpha", "--n-experts", "--early-stopping-metric", "--config", "--resume"} <= train
    train -= {"--resume", "--tune", "--tune-time"}  # continuing a saved run and tuning are train's alone
    assert options("baseline") - {"--seeds"} == train
    assert options("sweep") - {"--points", "--learned", "--no-single", "--seeds"} == train


# --------------------------------------------------------------------------- early-stopping metric
@pytest.mark.parametrize("metric,needles", [
    ("aucc", ["aucc", "loss, auc, rmse, accuracy"]),
    ("auc:nope", ["nope", "click, purchase"]),
    ("loss:nope", ["nope", "click, purchase"]),
])
def test_a_bad_early_stopping_metric_stops_before_training(sample_csv, tmp_path, capsys, metric, needles):
    runs = tmp_path / "runs"
    code, out, err = run_cli(["train", "--data", sample_csv, "--task", "click", "--task", "purchase",
                              "--epochs", 2, "--early-stopping-metric", metric, "--out", runs], capsys)
    assert_clean_error(code, err, *needles)
    assert "epoch 1/2" not in out  # nothing was trained
    assert not runs.exists() or not any(runs.iterdir())


def test_headerless_log_detected_and_event_labels(tmp_path, capsys):
    log = tmp_path / "log.csv"
    log.write_text("1,10,pv,1511544070\n1,10,buy,1511544080\n2,10,pv,1511544090\n2,10,cart,1511544095\n",
                   encoding="utf-8")
    code, out, _ = run_cli(["inspect", "--data", log], capsys)  # no --no-header: the first line is data
    cols = {c["name"]: c for c in json.loads(out)["columns"]}
    assert code == 0 and list(cols) == ["col_0", "col_1", "col_2", "col_3"] and cols["col_3"]["role"] == "timestamp"
    funnel_out = tmp_path / "funnel.csv"
    code, out, _ = run_cli(["events", "--data", log, "--user-col", "col_0", "--item-col", "col_1", "--event-col", "col_2",
                            "--time-col", "col_3", "--funnel", "pv,cart,buy", "--labels", "event", "--out", funnel_out], capsys)
    assert code == 0
    t = pd.read_csv(funnel_out).set_index(["col_0", "col_1"])
    assert t.loc[(1, 10), ["cart", "buy"]].tolist() == [0, 1]  # bought without a cart event
    assert t.loc[(2, 10), ["cart", "buy"]].tolist() == [1, 0]
