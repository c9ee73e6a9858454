"""What rendering an approved plan will cost before it is rendered: the work not in the cache,
priced at the throughput measured by earlier renders (the ledger) and the rates of `[cost]`.

Throughput is backend seconds per frame of media, learnt per (kind, backend, model, device) from
the ledger's latest rendered entries (RECENT of them: the machine's load changes, and the latest
renders saw the conditions now); where that exact key was never measured, the same backend on any
device or model is used, and the assumption is said. Work with no measurement at all is listed
as unmeasured: it is not guessed at. The render graph's dispatch uses the same figures for the
budget (`[cost] budget_usd`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from ..core.config import Settings
from ..core.ledger import LedgerEntry, device_of, model_of, read_ledger
from ..core.models import Episode, Scene, Series, Shot
from ..core.rates import CostOptions
from .backends import SfxRequest
from .renderer import Loaded, Renderer, video_backend
from .requests import ambience_requests, effect_requests, sound_place

Key = tuple[str, str, str, str]  # kind, backend, model, device
RECENT = 48  # entries per key the throughput is learnt from, the latest first


@dataclass(frozen=True)
class Work:
    """One artifact a render would make (it is not in the cache)."""

    kind: str
    target: str
    shot: str
    backend: str
    model: str
    device: str
    frames: int
    fps: int

    @property
    def key(self) -> Key:
        return self.kind, self.backend, self.model, self.device


@dataclass(frozen=True)
class Throughput:
    """Backend seconds per frame, learnt from the ledger."""

    per_frame: dict[Key, float]

    @classmethod
    def measured(cls, entries: list[LedgerEntry]) -> Throughput:
        recent: dict[Key, list[LedgerEntry]] = defaultdict(list)
        for entry in reversed(entries):
            key = entry.kind, entry.backend, entry.model, entry.device
            if not entry.cached and entry.error is None and entry.frames > 0 and len(recent[key]) < RECENT:
                recent[key].append(entry)
        return cls({key: sum(e.wall_s for e in kept) / sum(e.frames for e in kept) for key, kept in recent.items()})

    def seconds_per_frame(self, work: Work, rates: CostOptions) -> tuple[float | None, str]:
        """The figure for the work, and where it comes from: measured here, else [cost]
        throughput, else the same backend measured on another device or model."""
        if work.key in self.per_frame:
            return self.per_frame[work.key], "measured"
        given = next((f for f in rates.throughput if f.backend == work.backend and f.device == work.device), None)
        if given is not None:
            return given.seconds_per_frame, "assumed: [cost] throughput in microdrama.toml"
        similar = [v for (kind, backend, _, _), v in self.per_frame.items()
                   if kind == work.kind and backend == work.backend]
        if similar:
            return sum(similar) / len(similar), f"assumed from {work.backend} on another device or model"
        return None, (f"unmeasured: no earlier render of {work.backend} {work.kind} here "
                      "(render a shot, or give [cost] throughput)")


@dataclass
class Line:
    """The estimate for one backend (or the total)."""

    items: int = 0
    frames: int = 0
    seconds: float = 0.0
    usd: float = 0.0
    unmeasured: int = 0
    basis: set[str] = field(default_factory=set)

    def add(self, work: Work, seconds: float | None, usd: float, basis: str) -> None:
        self.items += 1
        self.frames += work.frames
        self.basis.add(basis)
        if seconds is None:
            self.unmeasured += 1
        else:
            self.seconds += seconds
        self.usd += usd


@dataclass(frozen=True)
class Estimate:
    by_backend: dict[str, Line]
    total: Line


def _described(kind: str, loaded: Loaded) -> tuple[str, str, str, str]:
    instance = loaded.instance
    return kind, instance.name, model_of(instance), device_of(instance)


def shot_work(renderer: Renderer, shot: Shot, scene: Scene, series: Series, forced: bool = False) -> list[Work]:
    """What rendering the shot would make: its uncached voice takes and, when anything is
    missing, its picture (its mouths and burned-in subtitles follow the voice takes); all of it when
    `forced` (render --force drops the cache first)."""
    voiced, work = {}, []
    for line in shot.dialogue:
        take = None if forced else renderer.voice(shot, line, series, render=False)
        if take is None:
            kind, backend, model, device = _described("voice", renderer.voice_backend(line, series))
            work.append(Work(kind, line.id, shot.id, backend, model, device, line.duration_frames, series.fps))
        else:
            voiced[line.id] = (take.path, take.seconds)  # what the picture hears (mouths, subtitles)
    if forced or work or renderer.picture(shot, scene, series, voiced, render=False) is None:
        kind, backend, model, device = _described("video", video_backend(shot, renderer.settings)[0])
        work.append(Work(kind, shot.id, shot.id, backend, model, device, shot.duration_frames, series.fps))
    return work


def cue_work(renderer: Renderer, scene: Scene, series: Series, forced: bool = False) -> list[Work]:
    if not forced and renderer.music(scene, series, render=False) is not None:
        return []
    kind, backend, model, device = _described("music", renderer.music_backend())
    return [Work(kind, scene.id, scene.id, backend, model, device, scene.duration_frames, series.fps)]


def sound_work(renderer: Renderer, requests: list[SfxRequest], forced: bool = False) -> list[Work]:
    """The sound effects and ambience beds among `requests` not in the cache (all when `forced`)."""
    missing = [r for r in requests if forced or renderer.sound(r, render=False) is None]
    if not missing:
        return []
    kind, backend, model, device = _described("sfx", renderer.sfx_backend())
    return [Work(kind, r.target, sound_place(r), backend, model, device, r.num_frames, r.fps) for r in missing]


def planned_work(series: Series, episodes: list[Episode], settings: Settings,
                 forced: Callable[[str], bool] = lambda shot_id: False) -> list[Work]:
    """Every artifact of the episodes not in the cache (or whose shot is `forced`)."""
    renderer, work = Renderer(settings), []
    for episode in episodes:
        for scene in episode.scenes:
            scene_forced = any(forced(shot.id) for shot in scene.shots)
            work += cue_work(renderer, scene, series, scene_forced)
            work += sound_work(renderer, ambience_requests(scene, series), scene_forced)
            for shot in scene.shots:
                work += shot_work(renderer, shot, scene, series, forced(shot.id))
                work += sound_work(renderer, effect_requests(shot, scene, series), forced(shot.id))
    return work


def price(work: Work, throughput: Throughput, rates: CostOptions) -> tuple[float | None, float, str]:
    """Projected backend seconds (None: unmeasured), money, and the basis of the figure."""
    per_frame, basis = throughput.seconds_per_frame(work, rates)
    seconds = per_frame * work.frames if per_frame is not None else None
    return seconds, rates.price(work.backend, work.device, seconds or 0.0, work.frames / work.fps), basis


def estimate(work: list[Work], settings: Settings) -> Estimate:
    throughput = Throughput.measured(read_ledger(Renderer(settings).folder.state_dir))
    by_backend: dict[str, Line] = defaultdict(Line)
    total = Line()
    for item in work:
        seconds, usd, basis = price(item, throughput, settings.cost)
        by_backend[f"{item.kind}: {item.backend} ({item.model}, {item.device})"].add(item, seconds, usd, basis)
        total.add(item, seconds, usd, basis)
    return Estimate(dict(by_backend), total)
