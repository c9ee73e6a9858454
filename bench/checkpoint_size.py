"""Checkpoint bytes per shot: a render's checkpoints must not grow with the size of the plan.

    python bench/checkpoint_size.py [--shots 50 1500]

For each size, a synthetic season (bench/synthetic_season.py: episodes of up to 40 scenes, scenes
of five action-only shots, one character, 16x32 px at 8 fps) is planned, approved and rendered in
full through the application layer the CLI uses; the bench prints the size of state/checkpoints.sqlite after planning and
after the render, bytes per shot, the largest checkpoint row, and the ratio of bytes per shot
between the largest and the smallest plan (target: about 1; the 1,500-shot plan under 10 MB).
"""

from __future__ import annotations

import argparse
import math
import sqlite3
import tempfile
import time
from pathlib import Path

from microdrama.pipeline.app import Project
from microdrama.pipeline.core.config import Settings
from microdrama.pipeline.graph.state import RenderRequest
from synthetic_season import SECONDS_PER_SHOT, SeasonShape, season_screenplay

SHOTS_PER_SCENE = 5
SCENES_PER_EPISODE = 40


def screenplay(shots: int) -> str:
    """Episodes of at most SCENES_PER_EPISODE scenes (a season's shape: many episodes, each
    within the plan's limits), every scene five action beats of one character."""
    episodes = math.ceil(shots / SHOTS_PER_SCENE / SCENES_PER_EPISODE)
    scenes = math.ceil(shots / SHOTS_PER_SCENE / episodes)
    return season_screenplay(SeasonShape(
        episodes=episodes, scenes=(scenes, scenes), scene_cast=(1, 1), cast=1,
        minutes=episodes * scenes * SHOTS_PER_SCENE * SECONDS_PER_SHOT / 60, resolution="16x32", fps=8,
        speech=False), title="Checkpoint Bench")


def database_bytes(database: Path) -> int:
    """The database and its write-ahead log (SQLite in WAL mode keeps recent pages there)."""
    return sum(p.stat().st_size for p in database.parent.glob(database.name + "*"))


def largest_row(database: Path) -> int:
    with sqlite3.connect(database) as conn:
        rows = [conn.execute("SELECT max(length(checkpoint)) FROM checkpoints").fetchone()[0] or 0,
                conn.execute("SELECT max(length(value)) FROM writes").fetchone()[0] or 0]
    return max(rows)


def measure(shots: int, work: Path) -> dict[str, float]:
    folder = work / f"bench-{shots}"
    folder.mkdir()
    (folder / "screenplay.fountain").write_text(screenplay(shots), encoding="utf-8")
    settings = Settings.load(folder)
    database = folder / "state" / "checkpoints.sqlite"
    with Project(settings) as project:
        project.plan(["screenplay.fountain"])
        project.approve()
    planned = database_bytes(database)
    with Project(settings) as project:
        start = time.perf_counter()
        state = project.render(RenderRequest()).state
        seconds = time.perf_counter() - start
    total = database_bytes(database)
    return {"shots": len(state.renders), "planned_bytes": planned, "render_bytes": total - planned,
            "largest_row": largest_row(database), "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, nargs="+", default=[50, 1500])
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as work:
        for shots in args.shots:
            result = measure(shots, Path(work))
            results.append(result)
            print(f"{result['shots']:5d} shots: checkpoints {result['planned_bytes'] / 1e6:.2f} MB after planning, "
                  f"+{result['render_bytes'] / 1e6:.2f} MB for the render "
                  f"({result['render_bytes'] / result['shots']:.0f} B/shot); largest row "
                  f"{result['largest_row'] / 1e3:.1f} KB; render {result['seconds']:.0f} s", flush=True)
    small, large = results[0], results[-1]
    ratio = (large["render_bytes"] / large["shots"]) / (small["render_bytes"] / small["shots"])
    print(f"bytes per shot, {large['shots']} vs {small['shots']} shots: ratio {ratio:.2f} (target about 1); "
          f"total at {large['shots']} shots {(large['planned_bytes'] + large['render_bytes']) / 1e6:.2f} MB "
          f"(target < 10 MB)")


if __name__ == "__main__":
    main()
