"""A season-sized benchmark: what planning, rendering, a no-change render, a one-line edit and
`status` cost as a season grows, against their floors.

    python bench/season.py [--episodes 1 3 12] [--resolution 720x1280] [--fps 24]

For each size, a synthetic season (bench/synthetic_season.py: 3-6 scenes an episode, 2-4 of a
recurring cast of 8 per scene, 44 minutes for 12 episodes, pro rata) is planned, approved and
rendered in a fresh folder with the `microdrama` command a user runs, then rendered again with
nothing changed, then one dialogue line of episode 1 is edited in the screenplay and the season
planned and rendered again (the re-plan, the render and the audit), then that line is edited
again and made by `produce --yes`, the same work in one process. CPU figures include every
child process (FFmpeg, espeak-ng). Floors, measured in the same run:

    render     x264 encoding the same number of frames of a test pattern at the same settings,
               plus one audio pass per episode (mix, duck, loudnorm, AAC over its tracks)
    edit       x264 encoding the edited shot's frames, plus a stream-copy concat of its episode

Printed per size: plan, render CPU and wall (ratio to the floor), no-change render wall,
one-line edit CPU (its re-plan apart; ratio to its floor; and by `produce`), `status` wall, peak memory, checkpoint and cache size;
then `microdrama --help` (best of three). The 12-episode season at 720x1280 took 39 minutes of
CPU (25 wall on 2 cores), nearly all of it x264 and the voices; --resolution 144x256 --fps 12
runs in minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from microdrama.pipeline.core.store import SeriesFolder
from microdrama.pipeline.edit import ffmpeg
from microdrama.pipeline.edit.timeline import read_timeline, timeline_path
from floors import one_audio_pass
from synthetic_season import SeasonShape, season_screenplay

MICRODRAMA = str(Path(sys.executable).with_name("microdrama"))
SEASON_MINUTES = 44.0  # the 12-episode season; smaller runs get their share
SEASON_EPISODES = 12


@dataclass(frozen=True)
class Cost:
    wall: float
    cpu: float  # user + system of the process and every child it waited for (FFmpeg, espeak-ng)
    peak_mib: float  # the largest resident set among them


def run(argv: list[str]) -> Cost:
    """Run a command to completion: its wall time, CPU time and peak memory."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        child = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        if child.returncode != 0:
            log.seek(0)
            raise SystemExit(f"{' '.join(argv)} failed ({child.returncode}):\n{log.read()[-4000:].decode(errors='replace')}")
    return Cost(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def microdrama(*args: str | Path) -> Cost:
    return run([MICRODRAMA, *map(str, args)])


def x264(frames: int, width: int, height: int, fps: int, out: Path) -> Cost:
    """x264 alone on a test pattern: the same frame count, size and settings as a segment."""
    return run([ffmpeg.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                f"testsrc2=size={width}x{height}:rate={fps}", "-frames:v", str(frames), *ffmpeg.H264,
                "-g", str(fps * 2), "-an", "-y", str(out)])


def audio_pass(folder: Path, episode_id: str, work: Path) -> Cost:
    """One pass over an episode's sound (bench/floors.py): its dialogue, its bed ducked under the
    dialogue and its sound effects, mixed, normalised (single-pass loudnorm) and encoded once."""
    timeline = read_timeline(timeline_path(folder / "out", episode_id), folder)
    return run([ffmpeg.ffmpeg_exe(), *one_audio_pass(timeline, work)])


def concat(folder: Path, episode_id: str, work: Path) -> Cost:
    timeline = read_timeline(timeline_path(folder / "out", episode_id), folder)
    return run([ffmpeg.ffmpeg_exe(), "-loglevel", "error",
                *ffmpeg.concat_copy([clip.path for clip in timeline.video], work / "segments.txt"),
                "-c", "copy", "-y", str(work / "v.mp4")])


def size_mb(*paths: Path) -> float:
    files = [p for path in paths for p in ([path] if path.is_file() else path.rglob("*")) if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6


def edit_one_line(screenplay: Path, words_reversed: bool = False) -> str:
    """Change the first dialogue line of episode 1 (same length: the shot keeps its timing) and
    return its new text: its letters reversed, or (`words_reversed`) its words, so that a second
    edit is another line again and not the first one undone."""
    text = screenplay.read_text(encoding="utf-8")
    match = re.search(r"\n[A-Z]{2,}\n(?P<line>[^\n]+)\n", text)
    line = match["line"]
    edited = " ".join(line.split()[::-1]) if words_reversed else line[::-1].capitalize()
    screenplay.write_text(text[: match.start("line")] + edited + text[match.end("line"):], encoding="utf-8")
    return edited


def edited_shot_frames(folder: Path, text: str) -> int:
    _, episodes = SeriesFolder(folder).load_plan()
    return next(shot.duration_frames for episode in episodes for shot in episode.shots
                if any(line.text == text for line in shot.dialogue))


def measure(episodes: int, resolution: str, fps: int, work: Path) -> dict[str, float]:
    shape = SeasonShape(episodes=episodes, minutes=SEASON_MINUTES * episodes / SEASON_EPISODES,
                        resolution=resolution, fps=fps)
    folder = work / f"season-{episodes}"
    folder.mkdir()
    screenplay = folder / "screenplay.fountain"
    screenplay.write_text(season_screenplay(shape), encoding="utf-8")
    width, height = map(int, resolution.split("x"))

    plan = microdrama("plan", folder, "--yes")
    render = microdrama("render", folder)
    series, planned = SeriesFolder(folder).load_plan()
    shots, frames = sum(len(e.shots) for e in planned), sum(e.duration_frames for e in planned)
    floor_work = work / f"floor-{episodes}"
    floor_work.mkdir()
    encode = x264(frames, width, height, fps, floor_work / "pattern.mp4")
    sound = [audio_pass(folder, e.id, floor_work) for e in planned]
    render_floor = encode.cpu + sum(s.cpu for s in sound)

    unchanged = microdrama("render", folder)
    status = microdrama("status", folder)
    text = edit_one_line(screenplay)
    edit = [microdrama("plan", folder, "--yes"), microdrama("render", folder)]
    edit_floor = x264(edited_shot_frames(folder, text), width, height, fps, floor_work / "shot.mp4").cpu \
        + concat(folder, planned[0].id, floor_work).cpu
    edit_one_line(screenplay, words_reversed=True)  # the same line edited again, made in one command
    produce = microdrama("produce", folder, "--yes")
    state = folder / "state"
    return {
        "episodes": episodes, "shots": shots, "minutes": frames / fps / 60,
        "plan_wall": plan.wall, "plan_cpu": plan.cpu,
        "render_wall": render.wall, "render_cpu": render.cpu, "render_floor": render_floor,
        "unchanged_wall": unchanged.wall, "status_wall": status.wall,
        "edit_cpu": sum(c.cpu for c in edit), "edit_plan_cpu": edit[0].cpu, "edit_wall": sum(c.wall for c in edit),
        "edit_floor": edit_floor,
        "produce_cpu": produce.cpu,
        "peak_mib": max(c.peak_mib for c in (plan, render, unchanged, status, *edit, produce)),
        "checkpoint_mb": size_mb(*state.glob("checkpoints.sqlite*")), "cache_mb": size_mb(folder / "cache"),
    }


def startup() -> float:
    """`microdrama --help`, best of three (the first may read cold files)."""
    return min(microdrama("--help").wall for _ in range(3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, nargs="+", default=[1, 3, 12])
    parser.add_argument("--resolution", default="720x1280", help="WIDTHxHEIGHT of the season")
    parser.add_argument("--fps", type=int, default=24)
    args = parser.parse_args()
    print(f"season bench: {args.resolution} at {args.fps} fps, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    header = (f"{'ep':>3} {'shots':>5} {'min':>5} | {'plan s':>6} | {'render cpu':>10} {'wall':>7} {'/floor':>6} | "
              f"{'no-change':>9} | {'edit cpu':>8} {'(plan)':>6} {'/floor':>6} {'produce':>7} | {'status':>6} | {'peak MiB':>8} {'ckpt MB':>7} {'cache MB':>8}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="season-bench-") as work:
        for episodes in args.episodes:
            r = measure(episodes, args.resolution, args.fps, Path(work))
            rows.append(f"{r['episodes']:>3} {r['shots']:>5} {r['minutes']:>5.1f} | {r['plan_wall']:>6.1f} | "
                        f"{r['render_cpu']:>10.1f} {r['render_wall']:>7.1f} {r['render_cpu'] / r['render_floor']:>6.2f} | "
                        f"{r['unchanged_wall']:>9.2f} | {r['edit_cpu']:>8.2f} {r['edit_plan_cpu']:>6.2f} "
                        f"{r['edit_cpu'] / r['edit_floor']:>6.1f} "
                        f"{r['produce_cpu']:>7.2f} | "
                        f"{r['status_wall']:>6.2f} | {r['peak_mib']:>8.0f} {r['checkpoint_mb']:>7.1f} {r['cache_mb']:>8.1f}")
            print(rows[-1] if len(rows) > 1 else header + "\n" + rows[-1], flush=True)
    print(f"microdrama --help: {startup():.2f} s (best of 3)")
    print("seconds; cpu includes child processes; /floor: render CPU over x264 encode-only of the same frames "
          "+ one audio pass per episode; edit CPU (`plan --yes` then `render`: re-plan, render, audit; (plan): its "
          "`plan --yes`) over one "
          "shot's encode + a stream-copy concat of its episode; produce: the same line edited again and made "
          "by `produce --yes` (one process)")


if __name__ == "__main__":
    main()
