"""Data-parallel training under ``torchrun`` (2 CPU processes, gloo).

1. Trainer level: 2 ranks with batch_size B (each rank B/2 rows per step, rows interleaved
   from the same seeded permutation) end with the same weights as one process with
   batch B (DDP averages the ranks' gradients).
2. CLI level: ``torchrun --nproc_per_node 2 -m mtl_core train ...``: only rank 0 reads the
   file; each rank prepares only its half of the training rows (``training.shards``), ONE run
   directory is written, with test metrics close to a single-process run's; an error of rank 0
   (a label with one class) ends both ranks with its one sentence.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                                reason="torch.distributed with gloo is not available")

TRAIN_SCRIPT = textwrap.dedent('''
    import json, os, sys
    import numpy as np, torch
    sys.path.insert(0, {root!r})
    from mtl_core.config import ModelConfig, TrainConfig
    from mtl_core.models import build_model
    from mtl_core.training.trainer import Trainer
    from mtl_core.types import EncodedSplit, FeatureSpec, TaskInfo

    FEATURES = FeatureSpec(["u", "i"], [21, 31], ["x0", "x1"])
    TASKS = [TaskInfo("click", "binary"), TaskInfo("amount", "regression")]

    def split(n, seed):
        rng = np.random.default_rng(seed)
        cat = np.stack([rng.integers(0, 21, n), rng.integers(0, 31, n)], 1)
        num = rng.normal(size=(n, 2)).astype(np.float32)
        s = np.linspace(-2, 2, 21)[cat[:, 0]] + 1.5 * num[:, 0]
        click = (rng.random(n) < 1 / (1 + np.exp(-s))).astype(np.float32)
        amount = (2 * num[:, 1] + rng.normal(scale=0.1, size=n)).astype(np.float32)
        return EncodedSplit(cat, num, {{"click": click, "amount": amount}}, np.arange(n))

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = build_model("mmoe", FEATURES, TASKS, ModelConfig(arch="mmoe", embed_dim=4, hidden=[8], tower_hidden=[4], n_experts=2))
    cfg = TrainConfig(epochs=2, batch_size=64, lr=0.01, device="cpu", seed=0, patience=0, diagnostics=False)
    trainer = Trainer(model, TASKS, cfg)
    res = trainer.fit(split(512, 1), split(128, 2))
    if trainer.rank == 0:
        torch.save(model.state_dict(), sys.argv[1])
        json.dump({{"world": trainer.world_size, "history": res.history}}, open(sys.argv[1] + ".json", "w"))
''')


def _torchrun(args: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    env.pop("WORLD_SIZE", None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *args]
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return p


def test_two_ranks_match_one_process_with_the_same_effective_batch(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(TRAIN_SCRIPT.format(root=str(ROOT)))
    _torchrun([str(script), str(tmp_path / "ddp.pt")], tmp_path)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("WORLD_SIZE", None)
    p = subprocess.run([sys.executable, str(script), str(tmp_path / "single.pt")], env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    ddp, single = torch.load(tmp_path / "ddp.pt"), torch.load(tmp_path / "single.pt")
    meta_ddp = json.loads((tmp_path / "ddp.pt.json").read_text())
    meta_single = json.loads((tmp_path / "single.pt.json").read_text())
    assert meta_ddp["world"] == 2 and meta_single["world"] == 1
    for k in single:
        assert torch.allclose(ddp[k], single[k], atol=2e-4, rtol=1e-3), k
    # the epoch losses are all-reduced over the ranks: the same as one process's
    for a, b in zip(meta_ddp["history"], meta_single["history"]):
        assert (a["epoch"], a["split"], a["task"]) == (b["epoch"], b["split"], b["task"])
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-3, abs=1e-4)


CLI_SCRIPT = textwrap.dedent('''
    # the CLI's train command, each rank recording what it prepared (rows, RSS) in rank<R>.json
    import json, resource, sys
    sys.path.insert(0, {root!r})
    import mtl_core.pipeline as pipeline
    from mtl_core.cli.main import main

    prepare = pipeline.prepare

    def recording(config, df=None):
        prep = prepare(config, df)
        facts = {{k: v for k, v in prep.shard.items() if k != "train_index"}}
        facts.update(val_rows=len(prep.encoded["val"]), test_rows=len(prep.encoded["test"]), df_rows=len(prep.df),
                     train_index=prep.encoded["train"].index.tolist(), preprocessor=prep.preprocessor.to_dict(),
                     max_rss_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        with open(f"{{sys.argv[1]}}/rank{{facts['rank']}}.json", "w") as f:
            json.dump(facts, f)
        return prep

    pipeline.prepare = recording
    sys.exit(main(sys.argv[2:]))
''')


def test_torchrun_cli_ranks_hold_their_shard_and_match_a_single_process(tmp_path):
    """``torchrun --nproc_per_node 2 -m mtl_core train``: each rank encodes half the training
    rows (disjoint shards, one preprocessing), only rank 0 keeps the validation and test rows
    and the raw table, ONE run directory is written, and its test AUCs are those of a
    single-process run within noise."""
    from mtl_core.data.synth import make_synthetic

    data = tmp_path / "shop.csv"
    make_synthetic(rows=4000, seed=0).to_csv(data, index=False)
    script = tmp_path / "cli.py"
    script.write_text(CLI_SCRIPT.format(root=str(ROOT)))
    args = ["train", "--data", str(data), "--task", "click", "--task", "purchase", "--arch", "mmoe", "--epochs", "3",
            "--batch-size", "256", "--lr", "0.01", "--device", "cpu", "--seed", "0", "--quiet"]
    (tmp_path / "ddp").mkdir()
    (tmp_path / "single").mkdir()
    _torchrun([str(script), str(tmp_path / "ddp"), *args, "--out", str(tmp_path / "ddp")], tmp_path)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("WORLD_SIZE", None)
    p = subprocess.run([sys.executable, str(script), str(tmp_path / "single"), *args, "--out", str(tmp_path / "single")],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path / "ddp" / f"rank{r}.json").read_text()) for r in (0, 1))
    one = json.loads((tmp_path / "single" / "rank0.json").read_text())
    assert (r0["world"], r1["world"], one["world"]) == (2, 2, 1)
    # each rank holds about half of the training rows, the two halves are disjoint and together
    # are the single process's training rows; the preprocessing was fitted once (rank 0's)
    total = one["train_rows"]
    assert r0["train_rows_all"] == r1["train_rows_all"] == total
    assert r0["train_rows"] + r1["train_rows"] == total and abs(r0["train_rows"] - r1["train_rows"]) <= 1
    assert sorted(r0["train_index"] + r1["train_index"]) == sorted(one["train_index"])
    # the file limits are sized from the free memory each process sees: not preprocessing
    pre0, pre1, pre_one = ({k: v for k, v in r["preprocessor"].items() if k != "limits"} for r in (r0, r1, one))
    assert pre0 == pre1 == pre_one
    # validation, test and the raw table live on rank 0 only
    assert (r0["val_rows"], r0["test_rows"]) == (one["val_rows"], one["test_rows"]) and r0["test_rows"] > 0
    assert (r1["val_rows"], r1["test_rows"], r1["df_rows"]) == (0, 0, 0) and r0["df_rows"] == 4000
    # only rank 0 read the file: rank 1 received its own training rows, never the whole table
    assert r0["raw_rows"] == one["raw_rows"] == 4000
    assert r1["train_rows"] <= r1["raw_rows"] <= 4000 * 0.8 / 2  # half of the 80% training split
    runs = [d for d in (tmp_path / "ddp").iterdir() if d.is_dir()]
    assert len(runs) == 1, [d.name for d in (tmp_path / "ddp").iterdir()]  # written once, by rank 0
    (single_run,) = [d for d in (tmp_path / "single").iterdir() if d.is_dir()]
    m_ddp = json.loads((runs[0] / "metrics.json").read_text())
    m_single = json.loads((single_run / "metrics.json").read_text())
    assert m_ddp["split"]["train"] == m_single["split"]["train"] == total
    # the same data seen in another order: AUCs within noise (purchase has ~20 test positives)
    for task, tol in (("click", 0.02), ("purchase", 0.05)):
        a, b = m_ddp["tasks"][task]["auc"], m_single["tasks"][task]["auc"]
        assert np.isfinite(a) and abs(a - b) < tol, (task, a, b)


def test_torchrun_rank0_error_reaches_the_other_rank(tmp_path):
    """Rank 0 alone reads the file: when it refuses the data, the command ends (rank 1, which
    waits for its rows, gets the same error; torchrun stops it if rank 0 exits first) with
    the one-sentence error, no traceback of ours (torchrun prints its own report), no run."""
    from mtl_core.data.synth import make_synthetic

    df = make_synthetic(rows=600, seed=0)
    df["purchase"] = 0  # a label with one class
    data = tmp_path / "one_class.csv"
    df.to_csv(data, index=False)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    env.pop("WORLD_SIZE", None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "mtl_core",
           "train", "--data", str(data), "--task", "purchase", "--epochs", "1", "--device", "cpu", "--no-gbm",
           "--out", str(tmp_path / "runs")]
    p = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode != 0
    out = p.stdout + p.stderr
    assert "holds a single value ('0'); a label needs two classes" in out, out[-3000:]
    assert "mtl_core/" not in out.split("torch.distributed.elastic")[0], out[-3000:]  # no traceback of ours
    assert not any((tmp_path / "runs").glob("*/metrics.json"))
