"""A render's progress as people read it: a bar per kind (shots, voices, music cues) on a
terminal; in a log (stdout not a terminal), a plain line at most every few seconds:

    shots 120/1728 (52/min, ETA 31 min), voices 40/797, cues 12/190, failed 0

Both are fed the render graph's updates (Project.render's `on_update`), whatever the executor.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

PLAIN_EVERY_S = 5.0  # at most one plain line this often


@dataclass
class RenderCounts:
    """Work done against the work the render has (totals from the "start" update)."""

    shots: int = 0
    voices: int = 0
    cues: int = 0
    done: dict[str, int] = field(default_factory=lambda: {"shots": 0, "voices": 0, "cues": 0})
    failed: int = 0
    started: float = field(default_factory=time.monotonic)

    def start(self, totals: dict, now: float) -> None:
        self.shots, self.voices, self.cues = totals["shots"], totals["voices"], totals["cues"]
        self.started = now

    def add(self, update: dict | None) -> None:
        for shot in (update or {}).get("renders", []):
            self.done["shots"] += 1
            self.done["voices"] += sum(1 for line in shot.lines if not line.error)
            self.failed += shot.failed
        for cue in (update or {}).get("cues", []):
            self.done["cues"] += 1
            self.failed += cue.failed

    def rate(self, now: float) -> float:
        """Shots a minute so far."""
        minutes = (now - self.started) / 60
        return self.done["shots"] / minutes if minutes > 0 else 0.0

    def line(self, now: float) -> str:
        done, rate = self.done["shots"], self.rate(now)
        pace = f"{rate:.0f}/min" if rate >= 1 else f"{rate:.1f}/min"
        eta = f", ETA {_minutes((self.shots - done) / rate)}" if rate > 0 and done < self.shots else ""
        return (f"shots {done}/{self.shots} ({pace}{eta}), voices {self.done['voices']}/{self.voices}, "
                f"cues {self.done['cues']}/{self.cues}, failed {self.failed}")


def _minutes(minutes: float) -> str:
    return f"{minutes * 60:.0f} s" if minutes < 1 else f"{minutes:.0f} min"


class PlainProgress:
    """One line at most every `every_s` seconds, and a last one when the rendering is done."""

    def __init__(self, write: Callable[[str], None], every_s: float = PLAIN_EVERY_S,
                 clock: Callable[[], float] = time.monotonic):
        self.counts, self.write, self.every_s, self.clock = RenderCounts(), write, every_s, clock
        self._last: float | None = None

    def start(self, totals: dict) -> None:
        self._last = self.clock()
        self.counts.start(totals, self._last)
        self.write(self.counts.line(self._last))

    def add(self, update: dict | None) -> None:
        self.counts.add(update)
        now = self.clock()
        if self._last is None or now - self._last >= self.every_s:
            self._last = now
            self.write(self.counts.line(now))

    def stop(self) -> None:
        if self._last is not None:
            self.write(self.counts.line(self.clock()))
            self._last = None


class RichProgress:
    """A bar per kind, redrawn in place."""

    def __init__(self, console: Console):
        self.counts = RenderCounts()
        self.bars = Progress(TextColumn("{task.description:>7}"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[note]}"), TimeElapsedColumn(), console=console)
        self._tasks: dict[str, int] = {}

    @property
    def console(self) -> Console:
        return self.bars.console

    def start(self, totals: dict) -> None:
        self.counts.start(totals, time.monotonic())
        for kind in ("shots", "voices", "cues"):
            self._tasks[kind] = self.bars.add_task(kind, total=getattr(self.counts, kind), note="")
        self.bars.start()

    def add(self, update: dict | None) -> None:
        self.counts.add(update)
        now = time.monotonic()
        rate = self.counts.rate(now)
        notes = {"shots": f"{rate:.1f}/min, failed {self.counts.failed}"}
        for kind, task in self._tasks.items():
            self.bars.update(task, completed=self.counts.done[kind], note=notes.get(kind, ""))

    def stop(self) -> None:
        if self.bars.live.is_started:
            self.bars.stop()
