"""`microdrama status`: what each shot's state is, computed as a render would decide it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from microdrama.pipeline.core.config import Settings
from microdrama.pipeline.app import Project
from microdrama.pipeline.core.snapshot import edited_since_approval
from microdrama.pipeline.core.store import SeriesFolder
from microdrama.pipeline.review.status import series_status
from tiny_show import approved_show, render

MICRODRAMA = str(Path(sys.executable).with_name("microdrama"))


@pytest.fixture
def show(tmp_path) -> Path:
    return approved_show(tmp_path / "tiny-show")


def status(folder: Path):
    settings = Settings.load(folder)
    series, episodes = SeriesFolder(folder).load_plan()
    with Project(settings) as project:
        return series_status(settings, series, episodes, project.last_render(),
                             edited_since_approval(project.folder))


def test_states_move_from_planned_to_rendered_to_stale(show):
    before = status(show)
    assert {s.state for s in before.shots} == {"planned"} and before.stale_episodes == ["e01", "e02"]
    render(show)
    after = status(show)
    assert {s.state for s in after.shots} == {"rendered"}
    assert after.to_render == [] and after.missing_cues == [] and after.stale_episodes == []

    folder = SeriesFolder(show)
    series = folder.load_series()
    series.character("ben").description = "40s, yellow raincoat"
    folder.save_series(series)
    _, episodes = folder.load_plan()
    with_ben = {s.id for e in episodes for s in e.shots if any(c.character == "ben" for c in s.characters)}
    edited = status(show)
    assert edited.edited_since_approval
    assert {s.shot_id for s in edited.shots if s.state == "stale"} == with_ben
    assert edited.count("stale") == len(with_ben) and edited.count("rendered") == len(edited.shots) - len(with_ben)


def test_the_cli_prints_counts_and_the_next_render(show):
    render(show)
    plan = show / "plan" / "e02.yaml"
    plan.write_text(plan.read_text(encoding="utf-8").replace("move: pull-out", "move: tilt-up", 1), encoding="utf-8")
    done = subprocess.run([MICRODRAMA, "status", str(show)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "1 stale" in done.stdout and "next render: 1 shots, 0 music cues, re-assemble e02" in done.stdout
