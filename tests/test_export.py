"""The editor export: the rendered tiny show as OpenTimelineIO and FCP 7 XML, read back with
opentimelineio and compared with the plan frame by frame."""

from __future__ import annotations

import logging
from pathlib import Path

import opentimelineio as otio
import pytest

from microdrama.pipeline.review.export import export_timeline
from microdrama.pipeline.core.models import Episode
from microdrama.pipeline.review.audit import AuditReport, Check
from tiny_show import RenderedShow, render_tiny_show, changed


@pytest.fixture(scope="module")
def show(tmp_path_factory) -> RenderedShow:
    """The tiny show at 24 fps: FCP 7 XML can only be written at a timecode rate."""
    return render_tiny_show(tmp_path_factory.mktemp("export") / "tiny-show", fps=24)


def audit_for(episode: Episode) -> AuditReport:
    """A non-passing check at every kind of place, and one that passes (no marker)."""
    voiced = next(shot for shot in episode.shots if shot.dialogue)
    return AuditReport(episode_id=episode.id, checks=[
        Check(name="frame-count", where=episode.shots[1].id, threshold=0, measured=2, verdict="error",
              message="2 frames short"),
        Check(name="clip-score", where=episode.shots[1].id, threshold=0.2, measured=0.3, verdict="pass", message="ok"),
        Check(name="lip-sync", where=voiced.dialogue[-1].id, threshold=None, measured=None, verdict="skipped",
              message="no SyncNet weights"),
        Check(name="colour", where=episode.scenes[-1].id, threshold=10.0, measured=14.2, verdict="warning",
              message="colour jumps between shots"),
        Check(name="loudness", where=episode.id, threshold=-16.0, measured=-19.5, verdict="warning", message="quiet"),
    ])


def shot_starts(episode: Episode) -> dict[str, int]:
    starts, frame = {}, 0
    for shot in episode.shots:
        starts[shot.id] = frame
        frame += shot.duration_frames
    return starts


def export(show: RenderedShow, episode: Episode, out_dir: Path) -> list[Path]:
    return export_timeline(show.timelines[episode.id], episode, show.series, audit_for(episode), out_dir,
                           show.folder / "screenplay.fountain")


def timeline_position(item: otio.core.Item) -> int:
    return item.range_in_parent().start_time.to_frames()


@pytest.mark.parametrize("index", [0, 1])
def test_the_otio_timeline_has_the_planned_cut(show, tmp_path, index):
    episode = show.episodes[index]
    paths = export(show, episode, tmp_path)
    assert paths == [tmp_path / f"{episode.id}.otio", tmp_path / f"{episode.id}.xml", tmp_path / "screenplay.fountain"]
    cut = otio.adapters.read_from_file(str(paths[0]))
    starts = shot_starts(episode)
    [video] = cut.video_tracks()
    clips = video.find_clips()
    assert [c.name for c in clips] == [s.id for s in episode.shots]
    for clip, shot in zip(clips, episode.shots, strict=True):
        assert clip.duration().to_frames() == shot.duration_frames and clip.duration().rate == 24
        assert timeline_position(clip) == starts[shot.id]
        assert clip.media_reference.available_range.duration.to_frames() == shot.duration_frames
        source = Path(otio.url_utils.filepath_from_url(clip.media_reference.target_url))
        assert source.is_absolute() and source.is_file()
    assert cut.duration().to_frames() == episode.duration_frames


@pytest.mark.parametrize("index", [0, 1])
def test_dialogue_and_music_tracks_place_every_line_and_cue(show, tmp_path, index):
    episode = show.episodes[index]
    cut = otio.adapters.read_from_file(str(export(show, episode, tmp_path)[0]))
    *dialogue, music = cut.audio_tracks()
    for track in cut.audio_tracks():
        assert sum(item.duration().to_frames() for item in track) == episode.duration_frames
    starts = shot_starts(episode)
    placed = {clip.name: (timeline_position(clip), clip) for track in dialogue for clip in track.find_clips()}
    lines = [(shot, line) for shot in episode.shots for line in shot.dialogue]
    assert sorted(placed) == sorted(line.id for _, line in lines)
    for shot, line in lines:
        start, clip = placed[line.id]
        assert start == starts[shot.id] + line.offset_frames
        assert start + clip.duration().to_frames() <= starts[shot.id] + shot.duration_frames
        assert Path(otio.url_utils.filepath_from_url(clip.media_reference.target_url)).is_file()
    scene_starts = [starts[scene.shots[0].id] for scene in episode.scenes]
    cues = music.find_clips()
    assert [c.name for c in cues] == [s.id for s in episode.scenes]
    assert [timeline_position(c) for c in cues] == scene_starts
    assert [c.duration().to_frames() for c in cues] == [s.duration_frames for s in episode.scenes]


def test_dual_dialogue_goes_on_a_second_dialogue_track(show, tmp_path):
    episode = show.episodes[1]  # BEN and ANNA speak at once
    cut = otio.adapters.read_from_file(str(export(show, episode, tmp_path)[0]))
    assert [t.name for t in cut.audio_tracks()] == ["A1 dialogue", "A2 dialogue (overlaps)", "A3 music"]
    assert [[c.name for c in t.find_clips()] for t in cut.audio_tracks()[:2]] == [["e02s01l01"], ["e02s01l02"]]


def markers_by_check(cut: otio.schema.Timeline) -> dict[str, tuple[int, int, str]]:
    """Check name -> (first frame on the timeline, frames, what the marker is attached to)."""
    found = {}
    for marker in cut.tracks.markers:
        found[marker.name.split()[1].rstrip(":")] = (marker.marked_range.start_time.to_frames(),
                                                     marker.marked_range.duration.to_frames(), "timeline")
    for clip in cut.find_clips():
        for marker in clip.markers:
            found[marker.name.split()[1].rstrip(":")] = (
                timeline_position(clip) + marker.marked_range.start_time.to_frames(),
                marker.marked_range.duration.to_frames(), clip.name)
    return found


def expected_markers(show: RenderedShow, episode: Episode) -> dict[str, tuple[int, int, str]]:
    starts = shot_starts(episode)
    voiced = next(shot for shot in episode.shots if shot.dialogue)
    line = next(c for c in show.timelines[episode.id].dialogue if c.line_id == voiced.dialogue[-1].id)
    scene = episode.scenes[-1]
    return {
        "frame-count": (starts[episode.shots[1].id], episode.shots[1].duration_frames, episode.shots[1].id),
        "lip-sync": (line.start_frame, line.duration_frames, line.line_id),
        "colour": (starts[scene.shots[0].id], scene.duration_frames, "timeline"),
        "loudness": (0, episode.duration_frames, "timeline"),
    }


def test_non_passing_checks_become_markers_at_their_shot_line_scene_or_episode(show, tmp_path):
    episode = show.episodes[0]
    cut = otio.adapters.read_from_file(str(export(show, episode, tmp_path)[0]))
    assert markers_by_check(cut) == expected_markers(show, episode)
    [error] = cut.video_tracks()[0].find_clips()[1].markers
    assert error.color == otio.schema.MarkerColor.RED and error.name == "ERROR frame-count: 2 frames short"


def test_the_fcp_xml_reads_back_with_the_same_cut_and_markers(show, tmp_path):
    episode = show.episodes[0]
    xml = export(show, episode, tmp_path)[1]
    cut = otio.adapters.read_from_file(str(xml), adapter_name="fcp_xml")
    [video] = cut.video_tracks()
    assert [c.name for c in video.find_clips()] == [s.id for s in episode.shots]
    assert [c.duration().to_frames() for c in video.find_clips()] == [s.duration_frames for s in episode.shots]
    for clip in cut.find_clips():
        assert Path(otio.url_utils.filepath_from_url(clip.media_reference.target_url)).is_file()
    assert markers_by_check(cut) == expected_markers(show, episode)


def test_the_subtitles_and_screenplay_travel_with_the_cut(show, tmp_path):
    episode = show.episodes[0]
    (tmp_path / f"{episode.id}.srt").write_text((show.folder / "out" / f"{episode.id}.srt").read_text())
    paths = export(show, episode, tmp_path)
    assert tmp_path / "e01.srt" in paths
    assert (tmp_path / "screenplay.fountain").read_bytes() == (show.folder / "screenplay.fountain").read_bytes()


def test_a_rate_without_timecode_gets_the_otio_only(show, tmp_path, caplog):
    episode = show.episodes[0]
    twelve = changed(show.timelines[episode.id], fps=12)
    with caplog.at_level(logging.WARNING):
        paths = export_timeline(twelve, episode, show.series, None, tmp_path, None)
    assert paths == [tmp_path / "e01.otio"] and not (tmp_path / "e01.xml").exists()
    assert "12 fps" in caplog.text
    assert otio.adapters.read_from_file(str(paths[0])).duration().rate == 12


def test_without_the_fcp_adapter_the_xml_is_skipped_with_a_note(show, tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(otio.adapters, "available_adapter_names", lambda: ["otio_json"])
    episode = show.episodes[0]
    with caplog.at_level(logging.WARNING):
        paths = export_timeline(show.timelines[episode.id], episode, show.series, None, tmp_path, None)
    assert paths == [tmp_path / "e01.otio"] and "pip install otio-fcp-adapter" in caplog.text


def test_a_shot_without_a_picture_is_an_offline_clip_of_its_length(show, tmp_path):
    episode = show.episodes[0]
    timeline = show.timelines[episode.id]
    lost = episode.shots[1]
    video = tuple(changed(c, path=Path(), slate="failed in a test") if c.shot_id == lost.id else c
                  for c in timeline.video)
    xml = export_timeline(changed(timeline, video=video), episode, show.series, None, tmp_path, None)[1]
    clip = otio.adapters.read_from_file(str(xml)).video_tracks()[0].find_clips()[1]
    assert (clip.name, clip.duration().to_frames()) == (lost.id, lost.duration_frames)
    assert isinstance(clip.media_reference, otio.schema.MissingReference)


def test_paths_with_spaces_and_cjk_survive_both_formats(show, tmp_path):
    episode = show.episodes[0]
    timeline = show.timelines[episode.id]
    odd = tmp_path / "片段 one" / "镜头 1.mp4"
    odd.parent.mkdir()
    odd.write_bytes(timeline.video[0].path.read_bytes())
    video = (changed(timeline.video[0], path=odd), *timeline.video[1:])
    otio_path, xml = export_timeline(changed(timeline, video=video), episode, show.series, None,
                                     tmp_path, None)
    for path in (otio_path, xml):
        first = otio.adapters.read_from_file(str(path)).video_tracks()[0].find_clips()[0]
        assert Path(otio.url_utils.filepath_from_url(first.media_reference.target_url)) == odd
