"""The tiny fixture series (144x256, 12 fps, two short episodes), planned, approved and rendered
through the real graph: the shared starting point of the render, status, audit, storyboard and
export tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from conftest import FIXTURES
from microdrama.pipeline.core.config import Settings
from microdrama.pipeline.graph.production import Production
from microdrama.pipeline.core.models import Episode, Series
from microdrama.pipeline.graph.state import ProductionState, RenderRequest, ReviewDecision
from microdrama.pipeline.core.store import SeriesFolder
from microdrama.pipeline.edit.timeline import Timeline, build_timeline

SOURCES = ["screenplay.fountain"]


def approved_show(folder: Path, fps: int = 12) -> Path:
    """A series folder holding the tiny fixture (at `fps`), planned and approved."""
    folder.mkdir(parents=True)
    text = (FIXTURES / "tiny_show.fountain").read_text(encoding="utf-8")
    (folder / "screenplay.fountain").write_text(text.replace("FPS: 12", f"FPS: {fps}"), encoding="utf-8")
    with Production(Settings(series_dir=folder)) as run:
        run.plan(SOURCES)
        run.decide(ReviewDecision(action="approve"))
    return folder


def render(folder: Path, request: RenderRequest | None = None, **settings) -> ProductionState:
    """Render the plan files as they are, with the folder's microdrama.toml and `settings`."""
    with Production(Settings.load(folder, **settings)) as run:
        return run.render(request or RenderRequest(), *SeriesFolder(folder).load_plan())


@dataclass(frozen=True)
class RenderedShow:
    folder: Path
    series: Series
    episodes: list[Episode]
    timelines: dict[str, Timeline]

    def episode(self, episode_id: str) -> Episode:
        return next(e for e in self.episodes if e.id == episode_id)

    def video(self, episode_id: str) -> Path:
        return self.folder / "out" / f"{episode_id}.mp4"

    def subtitles(self, episode_id: str) -> Path:
        return self.folder / "out" / f"{episode_id}.srt"


def render_tiny_show(folder: Path, fps: int = 12) -> RenderedShow:
    """Plan, approve and render the tiny fixture, and lay out each episode's timeline."""
    state = render(approved_show(folder, fps))
    series, episodes = SeriesFolder(folder).load_plan()
    shots, cues = {r.id: r for r in state.renders}, {c.id: c for c in state.cues}
    timelines = {e.id: build_timeline(e, series, folder, shots, cues) for e in episodes}
    return RenderedShow(folder, series, episodes, timelines)
