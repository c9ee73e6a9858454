"""Speed of the `synth` music backend: seconds per minute of music, for every mood.

Run: python bench/synth_speed.py [SECONDS]   (default: 60-second cues)
The backend must stay well under 2 s per minute so a whole episode's score renders in seconds.
Both wall-clock and CPU time are printed, each the best of a few runs: the backend is
single-threaded, so on a shared machine the CPU figure is the steadier one.
"""

from __future__ import annotations

import sys
import time

from microdrama.pipeline.render.backends import MusicRequest
from microdrama.pipeline.render.backends.synth import SynthMusic
from microdrama.pipeline.core.models import Mood
from microdrama.pipeline.plan.rules import MOOD_INTENSITY, MOOD_TEMPO

FPS = 24
REPEATS = 3


def seconds_to_render(backend: SynthMusic, request: MusicRequest) -> tuple[float, float]:
    """Wall-clock and CPU seconds, each the best of a few runs."""
    wall, cpu = float("inf"), float("inf")
    for _ in range(REPEATS):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        backend.render(request)
        wall = min(wall, time.perf_counter() - wall_start)
        cpu = min(cpu, time.process_time() - cpu_start)
    return wall, cpu


def main(cue_seconds: float = 60.0) -> None:
    backend = SynthMusic(SynthMusic.Options())
    backend.render(MusicRequest(cue_id="warm-up", mood=Mood.NEUTRAL, tempo_bpm=90, intensity=0.5,
                                num_frames=FPS, fps=FPS, seed=0))
    print(f"synth {SynthMusic.version}: {cue_seconds:g} s cues at 48 kHz, best of {REPEATS}")
    wall_per_minute, cpu_per_minute = [], []
    for mood in Mood:
        for intensity in (MOOD_INTENSITY[mood], 1.0):
            request = MusicRequest(cue_id="bench", mood=mood, tempo_bpm=MOOD_TEMPO[mood],
                                   intensity=intensity, num_frames=round(cue_seconds * FPS),
                                   fps=FPS, seed=1)
            wall, cpu = seconds_to_render(backend, request)
            wall_per_minute.append(wall * 60 / cue_seconds)
            cpu_per_minute.append(cpu * 60 / cue_seconds)
            print(f"  {mood:<11} intensity {intensity:.2f}  wall {wall_per_minute[-1]:.3f} s"
                  f"  cpu {cpu_per_minute[-1]:.3f} s  per minute of music")
    for label, figures in (("wall", wall_per_minute), ("cpu", cpu_per_minute)):
        print(f"{label}: mean {sum(figures) / len(figures):.3f} s, worst {max(figures):.3f} s "
              "per minute of music")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 60.0)
