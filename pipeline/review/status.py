"""Where each shot stands (`microdrama status`): planned, rendered, stale or failed, and what the
next render would redo. Computed from the plan files as they are now and the cache, the same way
a render decides, so the answer is what a render would actually do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..core.config import Settings
from ..core.models import Episode, Series
from ..render.renderer import Renderer
from ..graph.state import ProductionState

State = Literal["planned", "rendered", "stale", "failed"]


@dataclass(frozen=True)
class ShotStatus:
    shot_id: str
    episode_id: str
    state: State
    detail: str = ""


@dataclass(frozen=True)
class SeriesStatus:
    shots: list[ShotStatus]
    missing_cues: list[str]  # scenes whose music would be rendered
    stale_episodes: list[str]  # episodes a render would (re)assemble

    def count(self, state: State) -> int:
        return sum(1 for s in self.shots if s.state == state)

    @property
    def to_render(self) -> list[str]:
        return [s.shot_id for s in self.shots if s.state != "rendered"]


def series_status(settings: Settings, series: Series, episodes: list[Episode], run: ProductionState | None) -> SeriesStatus:
    """planned: never rendered; rendered: every artifact of the current plan is cached; stale:
    rendered before, but the plan or bible changed since (a new key); failed: the last render of
    it failed and nothing valid is cached."""
    renderer = Renderer(settings)
    last = {r.id: r for r in (run.renders if run else [])}
    outputs = {o.id: o for o in (run.outputs if run else [])}
    shots, cues, stale_episodes = [], [], []
    for episode in episodes:
        episode_changed = False
        for scene in episode.scenes:
            if not renderer.cue_artifact(scene, series).is_file():
                cues.append(scene.id)
                episode_changed = True
            for shot in scene.shots:
                missing = [p for p in renderer.shot_artifacts(shot, scene, series) if not p.is_file()]
                record = last.get(shot.id)
                if not missing:
                    state, detail = "rendered", record.backend if record else ""
                elif record and record.failed:
                    state, detail = "failed", record.error or "a line failed"
                elif record:
                    state, detail = "stale", f"{len(missing)} artifact(s) changed since the last render"
                else:
                    state, detail = "planned", ""
                episode_changed |= state != "rendered"
                shots.append(ShotStatus(shot.id, episode.id, state, detail))
        output = outputs.get(episode.id)
        if episode_changed or not (output and output.video and (settings.series_dir / output.video).is_file()):
            stale_episodes.append(episode.id)
    return SeriesStatus(shots, cues, stale_episodes)
