"""Per-rank memory of data-parallel training: one process vs ``torchrun`` with 2 ranks.

    python bench/ddp_memory.py --data bench/out/aliccp_1000000_s0.csv            # whole file
    python bench/ddp_memory.py --data bench/out/aliccp_1000000_s0.csv --rows 200000

Runs ``mtl_core train`` (MMoE, click + purchase, one epoch, CPU, ``--no-gbm``) once in one process and once
under ``torchrun --nproc_per_node 2`` (``--worlds``). Each rank records, right after
preparing, how many training rows it encoded, the bytes of its encoded arrays and its RSS, and
at the end its peak RSS; rank 0's run gives the test AUCs. Prints a Markdown table and writes
``bench/out/ddp-memory-<time>.json``. ``--rows`` trains on the file's first N rows (a copy in a
temporary folder). Timings depend on the machine's load: the load average is printed.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker(out: Path, argv: list[str]) -> int:
    """One rank: the CLI's train command, recording what this rank prepared."""
    sys.path.insert(0, str(ROOT))
    import mtl_core.pipeline as pipeline
    from mtl_core.cli.main import main as cli_main

    prepare, facts = pipeline.prepare, {}

    def recording(config, df=None):
        prep = prepare(config, df)
        encoded = prep.encoded.values()
        facts.update({k: v for k, v in prep.shard.items() if k != "train_index"},
                     val_rows=len(prep.encoded["val"]), test_rows=len(prep.encoded["test"]), df_rows=len(prep.df),
                     encoded_mb=sum(e.cat.nbytes + e.num.nbytes + sum(v.nbytes for v in e.labels.values())
                                    for e in encoded) / 2**20,
                     rss_after_prepare_mb=_rss_mb())
        return prep

    pipeline.prepare = recording
    t0 = time.perf_counter()
    rc = cli_main(argv)
    facts.update(seconds=time.perf_counter() - t0, rss_end_mb=_rss_mb(),
                 peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    (out / f"rank{facts.get('rank', 0)}.json").write_text(json.dumps(facts))
    return rc


def run(world: int, data: Path, out: Path, a) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    args = ["train", "--data", str(data), "--task", "click", "--task", "purchase", "--arch", "mmoe",
            "--epochs", str(a.epochs), "--batch-size", str(a.batch), "--device", "cpu", "--seed", "0",
            "--no-gbm", "--quiet", "--out", str(out)]
    me = [str(Path(__file__).resolve()), "--worker", str(out)]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS=str(max(1, a.threads // world)))
    env.pop("WORLD_SIZE", None)
    launch = [sys.executable] if world == 1 else [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(world)]
    t0 = time.perf_counter()
    p = subprocess.run([*launch, *me, "--", *args], env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"world {world} failed:\n{p.stderr[-3000:]}")
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in range(world)]
    (run_dir,) = [d for d in out.iterdir() if d.is_dir()]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {"world": world, "wall_s": time.perf_counter() - t0, "ranks": ranks,
            "auc": {t: metrics["tasks"][t]["auc"] for t in ("click", "purchase")}}


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        sys.exit(worker(Path(sys.argv[2]), sys.argv[4:]))
    ap = argparse.ArgumentParser(description="per-rank memory: one process vs torchrun")
    ap.add_argument("--data", required=True)
    ap.add_argument("--rows", type=int, default=0, help="the file's first N rows (0: all)")
    ap.add_argument("--worlds", default="1,2")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=2, help="CPU threads in all (split between the ranks)")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ddp-memory-"))
    data = Path(a.data)
    if a.rows:
        sub = tmp / f"{data.stem}_head{a.rows}.csv"
        with open(data, "rb") as src, open(sub, "wb") as dst:
            for i, line in enumerate(src):
                if i > a.rows:
                    break
                dst.write(line)
        data = sub
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"data {data} ({data.stat().st_size / 2**20:,.0f} MiB) | load {load}", flush=True)
    results = [run(int(w), data, tmp / f"world{w}", a) for w in a.worlds.split(",")]
    print("\n| processes | rank | training rows encoded | encoded arrays MiB | RSS after prepare MiB "
          "| RSS at end MiB | peak RSS MiB | test AUC click | test AUC purchase | wall s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        for k in r["ranks"]:
            auc = r["auc"] if k.get("rank", 0) == 0 else {"click": float("nan"), "purchase": float("nan")}
            print(f"| {r['world']} | {k.get('rank', 0)} | {k['train_rows']:,} of {k['train_rows_all']:,} "
                  f"| {k['encoded_mb']:,.0f} | {k['rss_after_prepare_mb']:,.0f} | {k['rss_end_mb']:,.0f} "
                  f"| {k['peak_rss_mb']:,.0f} | {auc['click']:.4f} | {auc['purchase']:.4f} | {r['wall_s']:.0f} |")
    load_after = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"\nload before {load}, after {load_after}")
    out = HERE / "out" / f"ddp-memory-{time.strftime('%Y%m%d-%H%M%S')}.json"
    try:
        out.write_text(json.dumps({"data": str(a.data), "rows": a.rows, "load_before": load,
                                   "load_after": load_after, "results": results}, indent=1))
        print(f"wrote {out}")
    except OSError as exc:
        print(f"could not write {out}: {exc}")


if __name__ == "__main__":
    main()
