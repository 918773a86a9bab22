"""MTL Lab vs torch-rechub 0.9.0 vs a minimal plain-PyTorch loop, one command.

    bash bench/setup_rechub.sh            # once: bench/.venv-rechub with torch-rechub 0.9.0
    python bench/run_bench.py             # 1M rows, 3 repetitions, 2 threads, CPU
    python bench/run_bench.py --rows 50000 --reps 1          # smoke test
    python bench/run_bench.py --device cuda                  # GPU: batch 1024 and 8192, bf16 on and off
    python bench/run_bench.py --device cuda --batches 1024,8192 --bf16 both --skip-rechub

Every measurement is a fresh process (``mtl_worker.py`` for MTL Lab and the plain loop,
``rechub_worker.py`` under the rechub venv's python), run in turn (rechub, MTL Lab,
plain, ... then the next repetition) so that load from other processes hits every side
alike. Prints a Markdown table (median samples/s, median test AUC per task, max peak RSS)
and the ratios; writes everything to ``bench/out/bench-<time>.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import make_data  # noqa: E402


def load_avg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def run_one(kind: str, batch: int, a, data: Path, amp: bool = False, seed: int = 0) -> dict | None:
    if kind == "rechub":
        py = str(Path(a.rechub_venv) / "bin" / "python")
        cmd = [py, str(HERE / "rechub_worker.py"), "--data", str(data), "--batch", str(batch),
               "--threads", str(a.threads), "--device", a.device, "--seed", str(seed)]
    else:
        cmd = [sys.executable, str(HERE / "mtl_worker.py"), "--side", kind, "--data", str(data),
               "--batch", str(batch), "--threads", str(a.threads), "--device", a.device, "--seed", str(seed)]
        if amp:
            cmd.append("--amp")
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), MKL_NUM_THREADS=str(a.threads))
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=a.timeout)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        print(f"  {kind} batch {batch}: FAILED (rc {p.returncode})\n{p.stderr[-2000:]}", file=sys.stderr)
        return None
    r = json.loads(lines[-1])
    r["wall_s"] = time.perf_counter() - t0
    r["load_after"] = load_avg()
    return r


def summarise(rs: list[dict]) -> dict:
    return {"n": len(rs),
            "samples_per_s": statistics.median(r["samples_per_s"] for r in rs),
            "samples_per_s_max": max(r["samples_per_s"] for r in rs),
            "samples_per_s_all": [round(r["samples_per_s"]) for r in rs],
            "auc": {t: statistics.median(r["auc"][t] for r in rs) for t in rs[0]["auc"]},
            "peak_rss_mb": max(r["peak_rss_mb"] for r in rs)}


def plan(a, default_bs: int, have_rechub: bool) -> list[tuple[str, str, int, bool]]:
    """The measurements (label, kind, batch, amp) the options ask for. On CUDA by default:
    batch 1024 and 8192 (``--big-batch``), each with and without bf16 autocast."""
    if a.batches:
        batches = [int(b) for b in a.batches.split(",") if b.strip()]
    else:
        big = a.big_batch or (8192 if a.device == "cuda" else 0)
        batches = [1024] + ([default_bs] if default_bs != 1024 else []) + ([big] if big else [])
    modes = {"on": [True], "off": [False], "both": [False, True]}.get(a.bf16, [False, True] if a.device == "cuda" else [False])
    configs = [("torch-rechub 0.9.0 MTLTrainer", "rechub", 1024, False)] if have_rechub and False in modes else []
    for batch in dict.fromkeys(batches):
        for amp in modes:
            tag = ", bf16 autocast" if amp else ""
            configs += [(f"MTL Lab Trainer{tag}", "mtl", batch, amp), (f"plain PyTorch loop{tag}", "plain", batch, amp)]
    return configs


def main() -> None:
    ap = argparse.ArgumentParser(description="MTL Lab vs torch-rechub vs plain PyTorch (MMoE, Ali-CCP-shaped data)")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--skip-rechub", action="store_true")
    ap.add_argument("--rechub-venv", default=str(HERE / ".venv-rechub"))
    ap.add_argument("--big-batch", type=int, default=0,
                    help="also measure MTL Lab and the plain loop at this batch size (CUDA: 8192 by default)")
    ap.add_argument("--batches", default="",
                    help="comma-separated batch sizes for MTL Lab and the plain loop, e.g. 1024,8192 "
                         "(default: 1024 and the MTL Lab default, plus --big-batch)")
    ap.add_argument("--bf16", choices=("auto", "on", "off", "both"), default="auto",
                    help="bf16 autocast rows: auto = both on CUDA and off on CPU; on = only bf16; both = with and without")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per measurement")
    ap.add_argument("--fixed-seed", action="store_true",
                    help="seed 0 in every repetition (default: repetition i uses seed i on every side, so the "
                         "median AUC compares training runs, not one lucky initialisation)")
    a = ap.parse_args()

    from mtl_core.config import TrainConfig

    default_bs = TrainConfig().batch_size
    data = make_data.ensure(a.rows, a.seed)
    have_rechub = (Path(a.rechub_venv) / "bin" / "python").exists() and not a.skip_rechub
    if not have_rechub and not a.skip_rechub:
        print("bench/.venv-rechub is missing: run `bash bench/setup_rechub.sh` first (or --skip-rechub)", file=sys.stderr)
        sys.exit(2)
    configs = plan(a, default_bs, have_rechub)
    big = max(c[2] for c in configs) if a.batches or a.big_batch or a.device == "cuda" else 0
    info = {"command": " ".join(sys.argv), "rows": a.rows, "threads": a.threads, "device": a.device,
            "seeds": "0 in every repetition" if a.fixed_seed else "repetition i uses seed i",
            "cpu_count": os.cpu_count(), "load_before": load_avg(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "mtl_default_batch": default_bs}
    print(f"data {data} | {a.reps} reps | threads {a.threads} | device {a.device} | load {info['load_before']}", flush=True)
    results: dict[tuple, list[dict]] = {c: [] for c in configs}
    for rep in range(a.reps):
        for c in configs:
            r = run_one(c[1], c[2], a, data, c[3], seed=0 if a.fixed_seed else rep)
            if r:
                results[c].append(r)
                print(f"  rep {rep + 1} seed {r.get('seed', 0)} {c[0]:<34} batch {c[2]:>5}: {r['samples_per_s']:>9,.0f} samples/s "
                      f"AUC click {r['auc']['click']:.4f} purchase {r['auc']['purchase']:.4f} "
                      f"RSS {r['peak_rss_mb']:,.0f} MB (load {r['load_after']})", flush=True)
    info["load_after"] = load_avg()
    summary = {c: summarise(rs) for c, rs in results.items() if rs}

    def get(kind, batch, amp=False):
        return next((v for c, v in summary.items() if c[1] == kind and c[2] == batch and c[3] == amp), None)

    print(f"\n| side | batch | samples/s (median of {a.reps}) | best | test AUC click | test AUC purchase | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for c, v in summary.items():
        print(f"| {c[0]} | {c[2]} | {v['samples_per_s']:,.0f} | {v['samples_per_s_max']:,.0f} | {v['auc']['click']:.4f} "
              f"| {v['auc']['purchase']:.4f} | {v['peak_rss_mb']:,.0f} |")
    ratios = {}
    rh, m1, p1 = get("rechub", 1024), get("mtl", 1024), get("plain", 1024)
    if rh and m1:
        ratios["mtl_over_rechub_b1024"] = m1["samples_per_s"] / rh["samples_per_s"]
        # best run of each side: the least disturbed by other processes on a shared machine
        ratios["mtl_over_rechub_b1024_best"] = m1["samples_per_s_max"] / rh["samples_per_s_max"]
        ratios["auc_diff_mtl_minus_rechub"] = {t: m1["auc"][t] - rh["auc"][t] for t in m1["auc"]}
    md = get("mtl", default_bs)
    if rh and md:
        ratios["mtl_default_batch_over_rechub"] = md["samples_per_s"] / rh["samples_per_s"]
    if m1 and p1:
        ratios["mtl_share_of_plain_b1024"] = m1["samples_per_s"] / p1["samples_per_s"]
        ratios["mtl_share_of_plain_b1024_best"] = m1["samples_per_s_max"] / p1["samples_per_s_max"]
    mb, pb = (get("mtl", big), get("plain", big)) if big else (None, None)
    if mb and pb:
        ratios[f"mtl_share_of_plain_b{big}"] = mb["samples_per_s"] / pb["samples_per_s"]
    print()
    for k, v in ratios.items():
        print(f"{k}: " + (json.dumps({t: round(x, 4) for t, x in v.items()}) if isinstance(v, dict) else f"{v:.2f}"))
    print(f"load average before {info['load_before']} after {info['load_after']} ({os.cpu_count()} cores)")
    out = make_data.OUT / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"info": info, "ratios": ratios,
                               "summary": [{"label": c[0], "kind": c[1], "batch": c[2], "amp": c[3], **v} for c, v in summary.items()],
                               "runs": [{"label": c[0], **r} for c, rs in results.items() for r in rs]}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
