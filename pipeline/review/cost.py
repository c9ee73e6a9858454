"""What a series has cost: the ledger (state/ledger.jsonl) and the LLM call log
(state/llm-calls.jsonl) priced at the `[cost]` rates, per shot, scene, episode and series, and per
finished minute (the assembled episodes' length, from their timelines).

Each rendered entry counts once, under one heading:
    used       its artifact is in an episode's cut now (the latest render of that artifact)
    re-render  an artifact rendered again, or one the cut no longer uses (an edit, a sped-up voice)
    takes      a fix-loop take that is not the take in use
    failed     a backend call that failed
Cache hits cost nothing and are not counted.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..core import ids
from ..core.errors import InputError
from ..core.ledger import LedgerEntry, read_ledger
from ..core.rates import CostOptions
from ..core.store import SeriesFolder
from ..edit.timeline import Timeline, read_timeline, timeline_path
from .publish import assembled_episodes

HEADINGS = ("used", "re-render", "takes", "failed")


@dataclass
class Spend:
    """Backend seconds by heading, GPU seconds and money of some ledger entries."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(HEADINGS, 0.0))
    gpu_s: float = 0.0
    usd: float = 0.0
    finished_frames: int = 0

    def add(self, heading: str, entry: LedgerEntry, usd: float) -> None:
        self.seconds[heading] += entry.wall_s
        self.gpu_s += entry.gpu_s
        self.usd += usd

    def merge(self, other: Spend) -> None:
        for heading in HEADINGS:
            self.seconds[heading] += other.seconds[heading]
        self.gpu_s += other.gpu_s
        self.usd += other.usd
        self.finished_frames += other.finished_frames


@dataclass(frozen=True)
class Tokens:
    model: str
    calls: int
    prompt: int
    completion: int
    usd: float


@dataclass(frozen=True)
class CostReport:
    fps: int
    shots: dict[str, Spend]
    scenes: dict[str, Spend]
    episodes: dict[str, Spend]
    series: Spend
    tokens: list[Tokens]
    currency: str

    @property
    def llm_usd(self) -> float:
        return sum(t.usd for t in self.tokens)

    @property
    def total_usd(self) -> float:
        return self.series.usd + self.llm_usd

    def per_finished_minute(self, spend: Spend, extra_usd: float = 0.0) -> float | None:
        minutes = spend.finished_frames / self.fps / 60
        return (spend.usd + extra_usd) / minutes if minutes else None


def heading(entry: LedgerEntry, latest: dict[str, LedgerEntry], in_cut: set[str], seeds_in_use: dict[str, int]) -> str:
    if entry.error is not None:
        return "failed"
    if entry.artifact in in_cut and latest.get(entry.artifact) is entry:
        return "used"
    in_use = seeds_in_use.get(entry.shot)
    if entry.kind == "video" and in_use is not None and entry.seed != in_use and entry.artifact not in in_cut:
        return "takes"
    return "re-render"


def _timelines(folder: SeriesFolder) -> list[Timeline]:
    return [read_timeline(timeline_path(folder.out_dir, e), folder.root) for e in assembled_episodes(folder)]


def _seeds_in_use(folder: SeriesFolder) -> dict[str, int]:
    """Shots with recorded takes -> the seed of the take in use (plan files that do not load
    have none: their takes count as re-renders)."""
    try:
        _, episodes = folder.load_plan()
    except InputError:
        return {}
    return {shot.id: shot.picture_seed for e in episodes for shot in e.shots if shot.takes}


def read_tokens(state_dir: Path, rates: CostOptions) -> list[Tokens]:
    path = state_dir / "llm-calls.jsonl"
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            total = totals[str(record.get("model", "?"))]
            total[0] += 1
            total[1] += record.get("prompt_tokens") or 0
            total[2] += record.get("completion_tokens") or 0
    return [Tokens(model, calls, prompt, completion, rates.tokens_price(model, prompt, completion))
            for model, (calls, prompt, completion) in sorted(totals.items())]


@dataclass(frozen=True)
class Spent:
    seconds: float
    usd: float


def spent_since(folder: SeriesFolder, started: float, rates: CostOptions) -> Spent:
    """Backend seconds (summed over parallel branches) and money rendered since `started`."""
    entries = [e for e in read_ledger(folder.state_dir) if not e.cached and e.at >= started]
    return Spent(sum(e.wall_s for e in entries),
                 sum(rates.price(e.backend, e.device, e.wall_s, e.seconds) for e in entries))


def cost_report(folder: SeriesFolder, rates: CostOptions, fps: int) -> CostReport:
    timelines = _timelines(folder)
    in_cut = {str(clip.path.relative_to(folder.root)) for t in timelines
              for clip in (*t.video, *t.dialogue, *t.music)}
    rendered = [e for e in read_ledger(folder.state_dir) if not e.cached]
    latest = {e.artifact: e for e in rendered if e.error is None}
    seeds_in_use = _seeds_in_use(folder)
    shots: dict[str, Spend] = defaultdict(Spend)
    for entry in rendered:
        usd = rates.price(entry.backend, entry.device, entry.wall_s, entry.seconds)
        shots[entry.shot].add(heading(entry, latest, in_cut, seeds_in_use), entry, usd)
    for timeline in timelines:
        for clip in timeline.video:
            shots[clip.shot_id].finished_frames += clip.duration_frames
    scenes: dict[str, Spend] = defaultdict(Spend)
    episodes: dict[str, Spend] = defaultdict(Spend)
    series = Spend()
    for place, spend in sorted(shots.items()):
        scenes[ids.scene_of(place) or place].merge(spend)
        episodes[ids.episode_of(place)].merge(spend)
        series.merge(spend)
    shots = {place: spend for place, spend in shots.items() if ids.parse(place).kind == "shot"}  # not cues
    return CostReport(fps, dict(sorted(shots.items())), dict(sorted(scenes.items())), dict(sorted(episodes.items())),
                      series, read_tokens(folder.state_dir, rates), rates.currency)
