"""Render progress as a log shows it, the order render branches start in, and a CLI that loads
Ray only for a Ray render."""

from __future__ import annotations

import subprocess
import sys

from microdrama.pipeline.core.results import CueRender, LineRender, ShotRender
from microdrama.pipeline.graph.schedule import longest_first
from microdrama.pipeline.progress import PlainProgress

TOTALS = {"total": 13, "shots": 10, "voices": 4, "cues": 3}


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def shot(shot_id: str, lines: int = 0, error: str | None = None) -> dict:
    return {"renders": [ShotRender(id=shot_id, video="cache/x.mp4",
                                   lines=[LineRender(id=f"{shot_id}l{n}", seconds=1) for n in range(lines)],
                                   error=error)]}


def test_a_piped_render_prints_a_line_at_most_every_few_seconds():
    lines, clock = [], Clock()
    progress = PlainProgress(lines.append, every_s=5, clock=clock)
    progress.start(TOTALS)
    for number in range(6):  # six shots in three seconds: no line until five seconds have passed
        clock.now += 0.5
        progress.add(shot(f"k{number}", lines=1 if number < 3 else 0))
    assert len(lines) == 1
    clock.now += 3  # 6 shots in 6 s: 60 a minute, 4 to go
    progress.add({"cues": [CueRender(id="s1", path="cache/m.wav")]})
    progress.add(shot("k6", error="animatic failed: boom"))
    clock.now += 1
    progress.stop()
    assert lines[0] == "shots 0/10 (0.0/min), voices 0/4, cues 0/3, failed 0"
    assert lines[1] == "shots 6/10 (60/min, ETA 4 s), voices 3/4, cues 1/3, failed 0"
    assert lines[2] == "shots 7/10 (60/min, ETA 3 s), voices 3/4, cues 1/3, failed 1"
    assert len(lines) == 3


def test_the_longest_shots_start_first_with_the_cues_among_them():
    order = longest_first([(24, "short"), (96, "long"), (48, "middle"), (96, "long too")], ["cue 1", "cue 2"])
    assert order == ["cue 1", "long", "long too", "cue 2", "middle", "short"]
    assert longest_first([], ["cue"]) == ["cue"]


def test_the_cli_does_not_import_ray_for_help_or_a_local_render():
    probe = ("import sys; sys.argv = ['microdrama', '--help']\n"
             "from microdrama.pipeline import cli, app\n"
             "try:\n    cli.app()\nexcept SystemExit:\n    pass\n"
             "print('ray' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "False"
