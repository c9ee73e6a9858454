"""Storyboard thumbnails come from the cache by segment: an unchanged shot's is not decoded again,
and gc keeps the thumbnails of the segments a cut uses."""

from __future__ import annotations

import shutil

from microdrama.pipeline.app import Project
from microdrama.pipeline.core.config import Settings
from microdrama.pipeline.core.store import SeriesFolder
from microdrama.pipeline.edit import ffmpeg
from microdrama.pipeline.edit.timeline import read_timeline, timeline_path
from microdrama.pipeline.review.publish import publish_episode


def test_an_unchanged_shot_thumbnail_is_read_from_the_cache(rendered, monkeypatch):
    thumbnails = sorted((rendered / "cache").glob("thumb-*.jpg"))
    assert thumbnails  # the render's storyboards made them
    decoded = []
    real = ffmpeg.read_frame
    monkeypatch.setattr(ffmpeg, "read_frame", lambda path, *args: decoded.append(path) or real(path, *args))
    page = publish_episode(SeriesFolder(rendered), "e01", Settings.load(rendered)).files[1]
    assert page.name == "e01.storyboard.html" and "data:image/jpeg;base64," in page.read_text(encoding="utf-8")
    assert not [path for path in decoded if path.name.startswith("video-")]


def test_the_audit_writes_the_thumbnails_of_the_segments_it_decodes(rendered, monkeypatch):
    for made in [*(rendered / "cache").glob("thumb-*.jpg"), *(rendered / "state" / "audit").glob("e01.*")]:
        shutil.rmtree(made) if made.is_dir() else made.unlink()
    seeks = []
    monkeypatch.setattr(ffmpeg, "read_frame", lambda path, *args: seeks.append(path))
    page = publish_episode(SeriesFolder(rendered), "e01", Settings.load(rendered)).files[1]
    assert seeks == [] and page.read_text(encoding="utf-8").count("data:image/jpeg;base64,") == len(
        read_timeline(timeline_path(rendered / "out", "e01"), rendered).video)


def test_gc_keeps_the_thumbnails_of_the_cut(rendered):
    with Project(Settings(series_dir=rendered)) as project:
        garbage = project.gc().files
    assert not [path for path in garbage if path.name.startswith("thumb-")]
