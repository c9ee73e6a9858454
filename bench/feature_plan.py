"""Plan time and peak memory of `microdrama plan` on a feature-length screenplay.

Runs the real command, `microdrama plan FILE --yes --episode-minutes N`, into a temporary folder
and prints its wall seconds, the CPU seconds it used, and its peak resident memory (the child's
ru_maxrss). The goal for a 4,600-line feature (Big Fish, 191 scenes, about 130 minutes) is under
20 s and under 300 MB. On a shared machine the wall time swings with other load; the CPU seconds
are what a dedicated core would take.

    python bench/feature_plan.py Big-Fish.fountain
    python bench/feature_plan.py Big-Fish.fountain --episode-minutes 3 --repeat 2
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def run_once(path: Path, minutes: float) -> tuple[float, float, float, bool]:
    """(wall s, CPU s, peak MB, approved) of one plan run in a fresh process."""
    command = Path(sys.executable).with_name("microdrama")
    with tempfile.TemporaryDirectory() as root:
        argv = [str(command), "plan", str(path), "--yes", "--root", root, "--episode-minutes", f"{minutes:g}"]
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # the child: the command alone, so its rusage is its own
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 1)
            os.execv(argv[0], argv)
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
    approved = os.waitstatus_to_exitcode(status) == 0
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, approved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path)
    parser.add_argument("--episode-minutes", type=float, default=3)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    lines = args.path.read_text(encoding="utf-8", errors="replace").count("\n")
    print(f"{args.path.name}: {lines} lines, --episode-minutes {args.episode_minutes:g}")
    results = []
    for _ in range(args.repeat):
        wall, cpu, peak, approved = run_once(args.path, args.episode_minutes)
        results.append((wall, cpu, peak))
        print(f"  plan --yes: {wall:.1f} s wall, {cpu:.1f} s CPU, peak {peak:.0f} MB, "
              f"{'approved' if approved else 'NOT approved'}")
    wall, cpu, peak = (min(r[i] for r in results) for i in range(3))
    print(f"best: {wall:.1f} s wall ({wall / 20:.2f} x the 20 s goal), {cpu:.1f} s CPU ({cpu / 20:.2f} x), "
          f"peak {peak:.0f} MB ({peak / 300:.2f} x the 300 MB goal)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
