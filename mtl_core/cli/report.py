"""``report``: one self-contained HTML file (Plotly embedded, no network needed to open it)
for a saved run (``--run``) or a saved lab experiment (``--lab``)."""
from __future__ import annotations

from ..errors import ConfigError


def add_commands(sub) -> None:
    s = sub.add_parser("report", help="one self-contained HTML report of a run or a lab experiment")
    what = s.add_mutually_exclusive_group()
    what.add_argument("--run", help="a run folder (RUNS/<run id>)")
    what.add_argument("--lab", help="a saved lab result folder (RUNS/transfer|sweeps|corrlab/<id>)")
    s.add_argument("--out", required=True, help="the HTML file to write, e.g. report.html")
    s.add_argument("--users", type=int, default=3, help="users in the sample of recommendations (run reports)")
    s.set_defaults(func=cmd_report)


def cmd_report(a) -> int:
    from ..report import lab_report, run_report, write_report

    if not a.run and not a.lab:
        raise ConfigError("report needs --run RUN_DIR or --lab LAB_DIR.")
    if a.users < 0:
        raise ConfigError(f"--users must be 0 or more; got {a.users}.")
    text = run_report(a.run, users=a.users) if a.run else lab_report(a.lab)
    size = write_report(text, a.out)
    print(f"wrote {a.out} ({size:,} bytes)")
    return 0
