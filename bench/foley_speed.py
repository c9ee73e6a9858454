"""How fast the foley backend makes sound: seconds of audio per second of compute, per kind.

Each kind of the vocabulary is rendered at the length it has in an episode: a bed as long as a
scene (--bed-seconds, 30 by default), an effect as long as its kind lasts. Figures are the best of
--repeat runs, in wall and in CPU time (this process); on a shared machine the wall figure swings
with other load, the CPU one much less. The last line sums every kind: its real-time factor is
how many seconds of sound one second of CPU makes (1x: as fast as it plays).

    python bench/foley_speed.py
    python bench/foley_speed.py --bed-seconds 120 --repeat 5
"""

from __future__ import annotations

import argparse
import time

from microdrama.pipeline.plan.sfx import effect_seconds
from microdrama.pipeline.render.backends import SfxRequest, load_backend
from microdrama.pipeline.render.backends.foley import RECIPES

BEDS = ("rain", "wind", "city", "room", "sea", "market")
FPS = 24


def measure(kind: str, seconds: float, repeat: int) -> tuple[float, float]:
    foley = load_backend("foley", "sfx")
    request = SfxRequest(target="bench", prompt=kind, kind=kind, bed=kind in BEDS, setting="EXT",
                         time_of_day="night", num_frames=round(seconds * FPS), fps=FPS, seed=7)
    wall, cpu = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        foley.render(request)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bed-seconds", type=float, default=30.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'kind':<10} {'audio s':>8} {'wall s':>8} {'cpu s':>8} {'audio/wall':>11} {'audio/cpu':>10}")
    total_audio = total_cpu = 0.0
    for kind in sorted(RECIPES):
        seconds = args.bed_seconds if kind in BEDS else effect_seconds(kind)
        wall, cpu = measure(kind, seconds, args.repeat)
        total_audio, total_cpu = total_audio + seconds, total_cpu + cpu
        print(f"{kind:<10} {seconds:>8.1f} {wall:>8.3f} {cpu:>8.3f} {seconds / wall:>10.0f}x {seconds / max(cpu, 1e-9):>9.0f}x")
    print(f"all kinds: {total_audio:.0f} s of audio in {total_cpu:.2f} CPU s = {total_audio / total_cpu:.0f}x real time")


if __name__ == "__main__":
    main()
