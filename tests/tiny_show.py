"""The tiny fixture series (144x256, 12 fps, two short episodes), planned, approved and rendered
through the application layer the CLI uses: the shared starting point of the render, status,
audit, storyboard and export tests.

Planning and rendering happen once per test process and fps; each test gets its own copy of the
folder (a copy is also a moved series folder: nothing in it may depend on where it lies).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from conftest import FIXTURES
from microdrama.pipeline.app import Project
from microdrama.pipeline.core.config import Settings
from microdrama.pipeline.core.models import Episode, Series
from microdrama.pipeline.core.store import SeriesFolder
from microdrama.pipeline.edit.timeline import Timeline, read_timeline, timeline_path
from microdrama.pipeline.graph.state import RenderRequest, RenderState

SOURCES = ["screenplay.fountain"]
_TEMPLATES: dict[tuple[int, bool], Path] = {}


def _template(fps: int, rendered: bool) -> Path:
    if (fps, rendered) not in _TEMPLATES:
        folder = Path(tempfile.mkdtemp(prefix="tiny-show-")) / "tiny-show"
        if rendered:
            shutil.copytree(_template(fps, False), folder)
            render(folder)
        else:
            folder.mkdir(parents=True)
            text = (FIXTURES / "tiny_show.fountain").read_text(encoding="utf-8")
            (folder / "screenplay.fountain").write_text(text.replace("FPS: 12", f"FPS: {fps}"), encoding="utf-8")
            with Project(Settings(series_dir=folder)) as project:
                project.plan(SOURCES)
                project.approve()
        _TEMPLATES[fps, rendered] = folder
    return _TEMPLATES[fps, rendered]


def approved_show(folder: Path, fps: int = 12) -> Path:
    """A series folder holding the tiny fixture (at `fps`), planned and approved."""
    shutil.copytree(_template(fps, False), folder)
    return folder


def rendered_show(folder: Path, fps: int = 12) -> Path:
    """The same, rendered and assembled."""
    shutil.copytree(_template(fps, True), folder)
    return folder


def routed(folder: Path, checkpoint: Path | str, shot_types: str = '"MCU"') -> Path:
    """The folder with a route that gives its `shot_types` (the animatic's) the Wav2Lip pass."""
    (folder / "microdrama.toml").write_text(
        f'[[backends.routes]]\nshot_types = [{shot_types}]\nvideo = "animatic"\nlipsync = "wav2lip"\n'
        f'lipsync_options = {{ checkpoint = "{checkpoint}" }}\n', encoding="utf-8")
    return folder


def render(folder: Path, request: RenderRequest | None = None, yes: bool = False, **settings) -> RenderState:
    """Render the approved plan, with the folder's microdrama.toml and `settings`."""
    with Project(Settings.load(folder, **settings)) as project:
        return project.render(request or RenderRequest(), yes=yes).state


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
    """The rendered tiny fixture and each episode's timeline, as assembly wrote it."""
    rendered_show(folder, fps)
    series, episodes = SeriesFolder(folder).load_plan()
    timelines = {e.id: read_timeline(timeline_path(folder / "out", e.id), folder) for e in episodes}
    return RenderedShow(folder, series, episodes, timelines)


def changed(model, **changes):
    """A copy of a frozen timeline model with fields replaced (planting defects in tests)."""
    return model.model_copy(update=changes)
