"""Run every lesson on three seed sets and say whether its check passed each time: the
table of docs/LAB.md ("Lessons: do they hold?").

    python bench/lessons_check.py [--sets 0,1,2:3,4,5:6,7,8] [--lessons relatedness,seesaw] [--out table.md]

Prints a Markdown table (one row per lesson, one column per seed set: ✓ / ✗ and the evidence)
and the seconds each lesson took (a shared machine: timings are indicative only)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    from mtl_core.lessons import LESSONS, run_lesson
    from mtl_core.validate import number_list, split_list

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", default="0,1,2:3,4,5:6,7,8", help="seed sets separated by ':'")
    p.add_argument("--lessons", default=",".join(LESSONS))
    p.add_argument("--out", help="also write the Markdown table here")
    a = p.parse_args(argv)
    sets = [number_list(s, "--sets", int, "0,1,2", lo=0) for s in a.sets.split(":")]
    head = "| lesson | " + " | ".join(f"seeds {','.join(map(str, s))}" for s in sets) + " | held |"
    lines = [head, "|" + "---|" * (len(sets) + 2)]
    evidence = []
    for lid in split_list(a.lessons):
        lesson, cells, passed = LESSONS[lid], [], 0
        t0 = time.perf_counter()
        for seeds in sets:
            res = run_lesson(lesson, seeds)
            ok = bool(res.verdict and res.verdict.passed)
            passed += ok
            cells.append("✓" if ok else "✗")
            evidence.append(f"- `{lid}` seeds {','.join(map(str, seeds))}: {'✓' if ok else '✗'} "
                            f"{res.verdict.evidence if res.verdict else res.status}")
            print(evidence[-1], file=sys.stderr, flush=True)
        lines.append(f"| {lesson.title} (`{lid}`) | " + " | ".join(cells) + f" | {passed}/{len(sets)} |")
        print(f"{lid}: {time.perf_counter() - t0:.0f} s for {len(sets)} seed sets", file=sys.stderr, flush=True)
    text = "\n".join(lines) + "\n\n" + "\n".join(evidence) + "\n"
    print(text)
    if a.out:
        Path(a.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
