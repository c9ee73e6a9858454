"""Render and assembly speed on the bundled example, against the physical limits, in one run.

    python bench/render_speed.py [--series episodes/rooftop-frequencies]

Prints, for a private copy of the series (fresh cache):
1. animatic: the time to render every shot's segment (frames generated and encoded) vs the time
   x264 takes to encode the same number of frames of a test pattern at the same settings
   (target ratio <= 1.5);
2. assembly: the time to master every episode vs an FFmpeg stream-copy concat of the same
   segments plus one audio pass over the same dialogue and music (target ratio <= 2);
3. a re-render with nothing changed (target < 2 s), in process;
4. peak memory of this process and of its children (FFmpeg).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from microdrama.pipeline.app import Project
from microdrama.pipeline.core.config import Settings
from microdrama.pipeline.core.store import SeriesFolder
from microdrama.pipeline.edit import ffmpeg
from microdrama.pipeline.edit.assemble import master
from microdrama.pipeline.edit.timeline import read_timeline, timeline_path
from microdrama.pipeline.graph.state import RenderRequest
from microdrama.pipeline.render.renderer import Renderer
from floors import one_audio_pass

REPO = Path(__file__).resolve().parent.parent


def planned_copy(series: Path, work: Path) -> Path:
    folder = work / series.name
    folder.mkdir()
    shutil.copy(series / "screenplay.fountain", folder / "screenplay.fountain")
    with Project(Settings(series_dir=folder)) as project:
        project.plan(["screenplay.fountain"])
        project.approve()
    return folder


def time_animatic(folder: Path) -> tuple[float, int]:
    """Every shot's segment through the real renderer (animatic frames -> x264), serially."""
    renderer = Renderer(Settings.load(folder))
    series, episodes = SeriesFolder(folder).load_plan()
    start = time.perf_counter()
    frames = 0
    for episode in episodes:
        for scene in episode.scenes:
            for shot in scene.shots:
                renderer.picture(shot, scene, series, {})
                frames += shot.duration_frames
    return time.perf_counter() - start, frames


def time_x264(frames: int, width: int, height: int, fps: int, out: Path) -> float:
    """x264 alone on a generated test pattern: the same frame count, size and settings."""
    argv = [ffmpeg.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
            f"testsrc2=size={width}x{height}:rate={fps}", "-frames:v", str(frames), *ffmpeg.H264,
            "-g", str(fps * 2), "-an", "-y", str(out)]
    start = time.perf_counter()
    subprocess.run(argv, check=True)
    return time.perf_counter() - start


def time_assembly(folder: Path) -> tuple[float, float]:
    """Our mastering of every episode vs the floor: concat with stream copy + one audio pass
    (duck, mix, loudnorm single pass, AAC) over the same tracks."""
    _, episodes = SeriesFolder(folder).load_plan()
    ours = floor = 0.0
    for episode in episodes:
        timeline = read_timeline(timeline_path(folder / "out", episode.id), folder)
        (folder / "state" / "assembled" / f"{episode.id}.json").unlink(missing_ok=True)  # force a real master:
        for chunk in [*(folder / "cache").glob("sound-*"), *(folder / "cache").glob("loudness-*")]:
            chunk.unlink()  # no chunk of its sound kept either
        start = time.perf_counter()
        master(timeline, SeriesFolder(folder))  # forced: its record was removed above
        ours += time.perf_counter() - start

        with tempfile.TemporaryDirectory() as work:
            work_dir = Path(work)
            sound = one_audio_pass(timeline, work_dir)
            start = time.perf_counter()
            ffmpeg.run(["-loglevel", "error", *ffmpeg.concat_copy([c.path for c in timeline.video], work_dir / "l.txt"),
                        "-c", "copy", "-y", str(work_dir / "v.mp4")])
            ffmpeg.run(sound)
            floor += time.perf_counter() - start
    return ours, floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=Path, default=REPO / "episodes" / "rooftop-frequencies")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        folder = planned_copy(args.series, Path(work))
        series = SeriesFolder(folder).load_series()

        animatic_s, frames = time_animatic(folder)
        x264_s = time_x264(frames, series.width, series.height, series.fps, Path(work) / "pattern.mp4")
        print(f"animatic: {frames} frames at {series.resolution}, {series.fps} fps: {animatic_s:.2f} s "
              f"({frames / animatic_s:.0f} fps); x264 alone on a test pattern: {x264_s:.2f} s; "
              f"ratio {animatic_s / x264_s:.2f} (target <= 1.5)")

        with Project(Settings.load(folder)) as project:
            start = time.perf_counter()
            project.render(RenderRequest())
            print(f"full render (voices, music, segments with measured subtitles, assembly, audit): "
                  f"{time.perf_counter() - start:.2f} s")
            ours, floor = time_assembly(folder)
            print(f"assembly: {ours:.2f} s; stream-copy concat + one audio pass: {floor:.2f} s; "
                  f"ratio {ours / floor:.2f} (target <= 2)")
            start = time.perf_counter()
            again = project.render(RenderRequest()).state
            unchanged = time.perf_counter() - start
            fresh = sum(1 for r in again.renders if not r.cached)
            print(f"re-render with nothing changed: {unchanged:.2f} s, {fresh} shots rendered (target < 2 s)")

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: this process {own:.0f} MiB; largest child (FFmpeg) {children:.0f} MiB")


if __name__ == "__main__":
    main()
