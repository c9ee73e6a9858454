"""Where each shot stands (`microdrama status`): planned, rendered, stale or failed, and what the
next render would redo. Computed from the plan files as they are now and the cache, the same way
a render decides (render/renderer.py with render=False), so the answer is what a render would do.
Failures come from the latest render; an episode's cut from its timeline file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # imported by series_status: a receipt's status needs none of them
    from ..core.config import Settings
    from ..core.models import Episode, Series
    from ..graph.receipt import Receipt
    from ..graph.state import RenderState

State = Literal["planned", "rendered", "stale", "failed"]


@dataclass(frozen=True)
class ShotStatus:
    shot_id: str
    episode_id: str
    state: State
    detail: str = ""
    segment: Path | None = None  # the picture: the current take when rendered, else the one in the cut


@dataclass(frozen=True)
class SeriesStatus:
    episode_ids: list[str]
    shots: list[ShotStatus]
    missing_cues: list[str]  # scenes whose music would be rendered
    stale_episodes: list[str]  # episodes a render would (re)assemble
    edited_since_approval: bool
    damaged_episodes: list[str] = field(default_factory=list)  # out/eNN.mp4 is not the file assembly wrote

    def count(self, state: State) -> int:
        return sum(1 for s in self.shots if s.state == state)

    @property
    def to_render(self) -> list[str]:
        return [s.shot_id for s in self.shots if s.state != "rendered"]


def _made_by(backend: str, fallback: str | None) -> str:
    """A rendered shot's detail: its video backend, and why its route was not used."""
    return backend + (f" ({fallback})" if fallback else "")


def series_status(settings: Settings, series: Series, episodes: list[Episode], last: RenderState | None,
                  edited: bool = False) -> SeriesStatus:
    """planned: never rendered; rendered: every artifact of the current plan is cached; stale:
    rendered before (its episode has a cut), but the plan or bible changed since (a new key);
    failed: the latest render of it failed and nothing valid is cached."""
    from ..core.store import SeriesFolder
    from ..edit.assemble import episode_file_intact
    from ..edit.timeline import read_timeline, timeline_path
    from ..render.renderer import Renderer

    folder = SeriesFolder(settings.series_dir)
    renderer = Renderer(settings)
    failures = {r.id: r.error or "a dialogue line failed" for r in (last.renders if last else []) if r.failed}
    shots, cues, stale_episodes, damaged = [], [], [], []
    for episode in episodes:
        cut_file = timeline_path(folder.out_dir, episode.id)
        cut = read_timeline(cut_file, folder.root) if cut_file.is_file() else None
        in_cut = {clip.shot_id: clip for clip in cut.video} if cut else {}
        intact = episode_file_intact(folder, episode.id)
        if cut is not None and not intact:
            damaged.append(episode.id)
        changed = cut is None or not intact
        for scene in episode.scenes:
            if renderer.music(scene, series, render=False) is None:
                cues.append(scene.id)
                changed = True
            for shot in scene.shots:
                _, picture = renderer.cached_shot(shot, scene, series)
                clip = in_cut.get(shot.id)
                if picture is not None:
                    state, detail = "rendered", _made_by(picture.backend, picture.fallback)
                    changed |= clip is None or clip.path != picture.path
                elif shot.id in failures:
                    state, detail = "failed", failures[shot.id]
                elif clip is not None:
                    state, detail = "stale", "changed since the last render"
                else:
                    state, detail = "planned", ""
                changed |= state != "rendered"
                segment = picture.path if picture else clip.path if clip and not clip.failed else None
                shots.append(ShotStatus(shot.id, episode.id, state, detail, segment))
        if changed:
            stale_episodes.append(episode.id)
    return SeriesStatus([e.id for e in episodes], shots, cues, stale_episodes, edited, damaged)


def receipt_status(receipt: Receipt, root: Path) -> SeriesStatus:
    """Every shot rendered, as the last complete render left it: what `series_status` finds when
    the receipt stands (graph/receipt.py), without building a request or key."""
    renders = {r["id"]: r for r in receipt.state["renders"]}
    shots = []
    for episode_id, shot_ids in receipt.episodes.items():
        for shot_id in shot_ids:
            render = renders[shot_id]
            shots.append(ShotStatus(shot_id, episode_id, "rendered", _made_by(render["backend"], render.get("fallback")),
                                    Path(root) / render["video"]))
    return SeriesStatus(list(receipt.episodes), shots, [], [], False)
