"""Cold start: how long one `yiqiban kb ask` takes from an empty process to a printed answer.

A command-line or freshly spawned worker pays for interpreter start-up, imports, loading and
validating the knowledge base, building the index and jieba's dictionary, every time. The peer
reference is a bare `import jieba; jieba.initialize()`: the floor that any jieba-based matcher
pays before it has looked at a single question.

Each command runs once untimed (to warm the OS file cache and jieba's on-disk cache), then
`--runs` times; the median and the maximum wall-clock seconds are reported. Target: ours ≤ 2 s.

Usage: python bench/coldstart.py [--runs 5] [--question 营业执照怎么办理] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TARGET_S = 2.0
YIQIBAN = Path(sys.executable).parent / "yiqiban"  # the console script of the active environment


def time_command(cmd: Sequence[str], runs: int) -> dict[str, Any]:
    """Median and max seconds of `runs` executions after one warm-up; fail loudly on errors."""
    warm = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if warm.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {warm.returncode}:\n{warm.stderr[-2000:]}")
    seconds = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        seconds.append(time.perf_counter() - t0)
    return {
        "command": list(cmd),
        "runs": runs,
        "median_s": statistics.median(seconds),
        "max_s": max(seconds),
        "all_s": seconds,
        "first_output_line": next((ln for ln in warm.stdout.splitlines() if ln.strip()), ""),
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="timed runs per command (after one warm-up)")
    ap.add_argument("--question", default="营业执照怎么办理")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of markdown")
    args = ap.parse_args(argv)
    if not YIQIBAN.exists():
        raise SystemExit(f"{YIQIBAN} not found: install the project first (pip install -e '.[bench]')")

    rows = {
        "yiqiban kb ask": time_command([str(YIQIBAN), "kb", "ask", args.question], args.runs),
        "python -c 'import jieba; jieba.initialize()'": time_command(
            [sys.executable, "-c", "import jieba; jieba.initialize()"], args.runs
        ),
    }
    ours = rows["yiqiban kb ask"]
    report = {"target_s": TARGET_S, "question": args.question, "commands": rows}
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    print(f"Cold start, {args.runs} runs after one warm-up\n")
    print("| command | median s | max s |\n|---|---:|---:|")
    for name, r in rows.items():
        print(f"| `{name}` | {r['median_s']:.2f} | {r['max_s']:.2f} |")
    print()
    for stat in ("median_s", "max_s"):
        verdict = "ok" if ours[stat] <= TARGET_S else "MISSED"
        print(f"ours {stat[:-2]}: {ours[stat]:.2f} s (target ≤ {TARGET_S:.1f} s: {verdict})")
    print(f"ours' output begins: {ours['first_output_line'][:80]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
