"""How fast the animatic makes frames, against the x264 encode that every shot goes through anyway.

For a few framings and camera moves this renders one shot (240 frames at 720x1280, 24 fps by
default) and measures, on the same frames:

- generate: the animatic alone (painting the shot, with cold caches, plus every frame, each
  dropped once made, as the encoder pipe drops them);
- x264: encoding frames already in memory (rawvideo rgb24 on stdin, libx264 preset veryfast,
  yuv420p), which is the floor for any backend;
- together: the animatic streaming its frames into the same encoder, and its ratio to x264 alone.

The target is together <= 1.5 x x264 alone. Wall times are the best of --repeat runs; on a
shared machine they swing with other load, so the CPU seconds (this process plus ffmpeg) are
printed too: their ratio is what a dedicated machine whose cores x264 fills would see.

    python bench/animatic_speed.py
    python bench/animatic_speed.py --size 1280x720 --frames 120 --repeat 3
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from microdrama.pipeline.render.backends import CharacterRef, LocationRef, Subtitle, VideoRequest, animatic
from microdrama.pipeline.render.backends.animatic import AnimaticVideo

ROOFTOP = LocationRef(
    id="rooftop",
    name="APARTMENT ROOFTOP",
    description="Rain-slick gravel, a rusted antenna mast, the city glowing below.",
)
NORA = {
    "id": "nora",
    "name": "NORA",
    "description": "late 20s, cropped silver hair, oversized orange work jacket",
}
ELI = {
    "id": "eli",
    "name": "ELI",
    "description": "19, paint-stained grey hoodie, headphones around his neck",
}
CASES = [
    ("WS", "static"),
    ("MS", "pan-right"),
    ("CU", "handheld"),
    ("MCU", "push-in"),
    ("OTS", "tilt-up"),
]


def shot(shot_type: str, move: str, width: int, height: int, frames: int) -> VideoRequest:
    """A dialogue shot: two characters, three subtitle cues over the shot."""
    third = frames // 3
    lines = ["Who are you talking to?", "Nobody. The radio.", "That thing hasn't worked since Dad."]
    return VideoRequest(
        shot_id="e01s01k03",
        prompt="",
        width=width,
        height=height,
        fps=24,
        num_frames=frames,
        seed=11,
        shot_type=shot_type,
        move=move,
        setting="EXT",
        time_of_day="night",
        location=ROOFTOP,
        characters=[
            CharacterRef(**NORA, position="left", facing="right"),
            CharacterRef(**ELI, position="right", facing="left"),
        ],
        subtitles=[
            Subtitle(
                speaker=("ELI", "NORA", "ELI")[k],
                text=text,
                start_frame=k * third,
                end_frame=(k + 1) * third,
            )
            for k, text in enumerate(lines)
        ],
    )


def fresh_frames(request: VideoRequest) -> Iterable[np.ndarray]:
    """The shot's frames with the backdrop caches emptied, so painting is counted too."""
    animatic.paint_backdrop.cache_clear()
    animatic.shot_backdrop.cache_clear()
    return AnimaticVideo(AnimaticVideo.Options()).render(request).frames


@dataclass(frozen=True)
class Cost:
    wall: float
    cpu: float  # seconds of CPU, this process and its children (ffmpeg) together


def _cpu_seconds() -> float:
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measured(run) -> Cost:
    wall, cpu = time.perf_counter(), _cpu_seconds()
    run()
    return Cost(time.perf_counter() - wall, _cpu_seconds() - cpu)


def best(costs: list[Cost]) -> Cost:
    return Cost(min(c.wall for c in costs), min(c.cpu for c in costs))


def encode(frames: Iterable[np.ndarray], width: int, height: int, target: Path) -> None:
    argv = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", "24", "-i", "-",
        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(target),
    ]  # fmt: skip
    with subprocess.Popen(argv, stdin=subprocess.PIPE) as ffmpeg:
        assert ffmpeg.stdin is not None
        for frame in frames:
            ffmpeg.stdin.write(frame.tobytes())
        ffmpeg.stdin.close()
        if ffmpeg.wait():
            raise SystemExit(f"ffmpeg failed: {' '.join(argv)}")


def consume(frames: Iterable[np.ndarray]) -> None:
    """Take every frame and keep none, as a streaming encoder does (holding 240 frames would
    measure the kernel handing out 660 MB of fresh pages instead)."""
    for _ in frames:
        pass


def compare(request: VideoRequest, target: Path, repeat: int) -> tuple[Cost, Cost, Cost]:
    """Best of `repeat` runs of: generating, encoding ready frames, generating into the encoder.
    The runs are interleaved, so that a burst of other load hits all three alike."""
    width, height = request.width, request.height
    ready = list(fresh_frames(request))
    generated, alone, together = [], [], []
    for _ in range(repeat):
        generated.append(measured(lambda: consume(fresh_frames(request))))
        alone.append(measured(lambda: encode(ready, width, height, target)))
        together.append(measured(lambda: encode(fresh_frames(request), width, height, target)))
    return best(generated), best(alone), best(together)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="720x1280", help="WIDTHxHEIGHT (default 720x1280)")
    parser.add_argument("--frames", type=int, default=240, help="frames per shot (default 240)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the fastest counts")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    n = args.frames
    print(f"{n} frames at {width}x{height}, best of {args.repeat}; wall seconds (CPU seconds)")
    columns = ("generate", "x264 alone", "together")
    print(f"{'shot':<18}" + "".join(f"{c:>23}" for c in columns) + "  ratio: wall    cpu")
    worst = Cost(0.0, 0.0)
    with tempfile.TemporaryDirectory() as tmp:
        for shot_type, move in CASES:
            request = shot(shot_type, move, width, height, n)
            costs = compare(request, Path(tmp) / "shot.mp4", args.repeat)
            alone, together = costs[1], costs[2]
            ratio = Cost(together.wall / alone.wall, together.cpu / alone.cpu)
            worst = Cost(max(worst.wall, ratio.wall), max(worst.cpu, ratio.cpu))
            figures = "".join(
                f"{c.wall:>7.2f}s {n / c.wall:>5.0f}fps ({c.cpu:5.2f})" for c in costs
            )
            print(f"{shot_type + ' ' + move:<18}{figures}{ratio.wall:>13.2f}x{ratio.cpu:>6.2f}x")
    print(f"worst ratio: {worst.wall:.2f}x wall, {worst.cpu:.2f}x cpu (target <= 1.5x)")


if __name__ == "__main__":
    main()
