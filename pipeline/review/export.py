"""The editor hand-off: an episode's cut as an OpenTimelineIO timeline, so that a person can refine
it in DaVinci Resolve (which imports `.otio`), or in Premiere Pro through FCP 7 XML.

    out/eNN.otio      V1 the shot segments; A1.. dialogue (a second lane where lines overlap,
                      as dual dialogue does); a music track with one cue per scene; markers for
                      the audit's checks that did not pass
    out/eNN.xml       the same timeline as FCP 7 XML (adapter package `otio-fcp-adapter`)
    out/eNN.srt       written by assembly, handed on
    out/<screenplay>  the Fountain screenplay the cut came from

Times are whole frames at the series' fps, as in the Timeline. A marker about a shot or a line is
attached to that clip, so it moves with the material when the editor recuts; scene and episode
markers sit on the timeline itself.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import opentimelineio as otio

from ..core.models import Episode, Series
from ..core.store import atomic_write_bytes, atomic_write_text
from ..edit.timeline import LineClip, Timeline, VideoClip

if TYPE_CHECKING:
    from .audit import AuditReport, Check

log = logging.getLogger(__name__)

FCP_XML = "fcp_xml"
MARKER_COLORS = {"error": otio.schema.MarkerColor.RED, "warning": otio.schema.MarkerColor.YELLOW,
                 "skipped": otio.schema.MarkerColor.BLUE}


def export_timeline(timeline: Timeline, episode: Episode, series: Series, audit: AuditReport | None,
                    out_dir: Path, screenplay: Path | None) -> list[Path]:
    """Write the episode's editor files into `out_dir`; returns the paths written or handed on."""
    out_dir = Path(out_dir)
    cut = build_otio(timeline, episode, series, audit)
    otio_path = out_dir / f"{timeline.episode_id}.otio"
    atomic_write_text(otio_path, otio.adapters.write_to_string(cut, "otio_json"))
    written = [otio_path]
    xml_path = write_fcp_xml(cut, timeline.fps, out_dir / f"{timeline.episode_id}.xml")
    srt_path = out_dir / f"{timeline.episode_id}.srt"
    written += [path for path in (xml_path, srt_path) if path and path.is_file()]
    if screenplay is not None:
        written.append(copy_screenplay(Path(screenplay), out_dir))
    return written


def write_fcp_xml(cut: otio.schema.Timeline, fps: int, path: Path) -> Path | None:
    """FCP 7 XML, when the adapter is installed and the rate is one it can write: it stamps SMPTE
    timecode on every file, which exists only at 24, 25, 30, 48, 50 and 60 fps. Otherwise the
    .otio alone carries the cut, and the log says why there is no XML."""
    if FCP_XML not in otio.adapters.available_adapter_names():
        log.warning("no FCP XML for %s: the fcp_xml adapter is missing (pip install otio-fcp-adapter)", cut.name)
        return None
    if not otio.opentime.RationalTime.is_valid_timecode_rate(fps):
        log.warning("no FCP XML for %s: FCP 7 XML needs a timecode rate (24, 25, 30, 48, 50 or 60 fps), "
                    "the series is %s fps; import the .otio instead", cut.name, fps)
        return None
    atomic_write_text(path, otio.adapters.write_to_string(cut, FCP_XML))
    return path


def copy_screenplay(screenplay: Path, out_dir: Path) -> Path:
    target = out_dir / screenplay.name
    if target.resolve() != screenplay.resolve():
        atomic_write_bytes(target, screenplay.read_bytes())
    return target


# --- the OTIO timeline -------------------------------------------------------------------------


def build_otio(timeline: Timeline, episode: Episode, series: Series,
               audit: AuditReport | None) -> otio.schema.Timeline:
    fps = timeline.fps
    cut = otio.schema.Timeline(name=f"{series.title} {episode.id} {episode.title}".strip(),
                               global_start_time=_time(0, fps))
    cut.metadata["microdrama"] = {"series": series.slug, "episode": episode.id, "fps": fps,
                                  "width": timeline.width, "height": timeline.height}
    shots = {shot.id: shot for shot in episode.shots}
    video = otio.schema.Track(name="V1 shots", kind=otio.schema.TrackKind.Video)
    video.extend(video_clip(clip, shots[clip.shot_id].type, shots[clip.shot_id].move, fps)
                 for clip in timeline.video)
    cut.tracks.append(video)
    for number, lane in enumerate(dialogue_lanes(timeline.dialogue), start=1):
        name = "A1 dialogue" if number == 1 else f"A{number} dialogue (overlaps)"
        cut.tracks.append(audio_track(name, [(c.start_frame, line_clip(c, fps)) for c in lane],
                                      timeline.duration_frames, fps))
    music = [(c.start_frame, media_clip(c.scene_id, c.path, c.duration_frames, fps)) for c in timeline.music]
    cut.tracks.append(audio_track(f"A{len(cut.tracks)} music", music, timeline.duration_frames, fps))
    if audit is not None:
        add_markers(cut, timeline, episode, [c for c in audit.checks if str(c.verdict) != "pass"])
    return cut


def _time(frames: int, fps: int) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, fps)


def _range(start: int, frames: int, fps: int) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(_time(start, fps), _time(frames, fps))


def media_clip(name: str, path: Path, frames: int, fps: int) -> otio.schema.Clip:
    """A clip that plays `frames` of a file from its start. The reference carries the file's
    range (the FCP XML writers fail without one) and an absolute file URL, percent-encoded
    (RFC 8089) so that spaces and CJK names survive the XML's pathurl."""
    whole = _range(0, frames, fps)
    if path.is_file():
        reference = otio.schema.ExternalReference(target_url=path.resolve().as_uri(), available_range=whole)
    else:  # a failed shot without a slate: the editor sees a named hole, not a broken link
        reference = otio.schema.MissingReference(name=name, available_range=whole)
    return otio.schema.Clip(name=name, media_reference=reference, source_range=whole)


def video_clip(clip: VideoClip, shot_type: str, move: str, fps: int) -> otio.schema.Clip:
    item = media_clip(clip.shot_id, clip.path, clip.duration_frames, fps)
    item.metadata["microdrama"] = {"scene": clip.scene_id, "type": str(shot_type), "move": str(move),
                                   "failed": clip.failed}
    return item


def line_clip(clip: LineClip, fps: int) -> otio.schema.Clip:
    item = media_clip(clip.line_id, clip.path, clip.duration_frames, fps)
    item.metadata["microdrama"] = {"shot": clip.shot_id, "speaker": clip.speaker, "text": clip.text}
    return item


def dialogue_lanes(lines: tuple[LineClip, ...]) -> list[list[LineClip]]:
    """Lines spread over as few tracks as possible with no overlap in any: a track holds one
    clip at a time, and dual dialogue (or a long line running into the next) overlaps."""
    lanes: list[list[LineClip]] = []
    for line in sorted(lines, key=lambda clip: (clip.start_frame, clip.line_id)):
        lane = next((lane for lane in lanes if _end(lane[-1]) <= line.start_frame), None)
        if lane is None:
            lanes.append(lane := [])
        lane.append(line)
    return lanes or [[]]


def _end(clip: LineClip) -> int:
    return clip.start_frame + clip.duration_frames


def audio_track(name: str, placed: list[tuple[int, otio.schema.Clip]], total: int,
                fps: int) -> otio.schema.Track:
    """Clips at their start frames with gaps between, the whole track as long as the episode;
    a clip running past the end is trimmed there (the master's mix cuts it the same way)."""
    track = otio.schema.Track(name=name, kind=otio.schema.TrackKind.Audio)
    frame = 0
    for start, clip in placed:
        if start > frame:
            track.append(otio.schema.Gap(source_range=_range(0, start - frame, fps)))
        length = min(clip.source_range.duration.to_frames(), total - start)
        clip.source_range = _range(0, length, fps)
        track.append(clip)
        frame = start + length
    if total > frame:
        track.append(otio.schema.Gap(source_range=_range(0, total - frame, fps)))
    return track


# --- markers -----------------------------------------------------------------------------------


def add_markers(cut: otio.schema.Timeline, timeline: Timeline, episode: Episode, checks: list[Check]) -> None:
    """One marker per check: on the line's or the shot's clip (in the clip's own time), else over
    the scene or the whole episode on the timeline."""
    fps = timeline.fps
    video = {item.name: item for item in cut.video_tracks()[0].find_clips()}
    voiced = {clip.line_id for clip in timeline.dialogue}
    lines = {item.name: item for track in cut.audio_tracks() for item in track.find_clips() if item.name in voiced}
    planned = {line.id: (shot.id, line) for shot in episode.shots for line in shot.dialogue}
    scenes = scene_ranges(timeline)
    for check in checks:
        if check.where in video:
            item, marked = video[check.where], video[check.where].source_range
        elif check.where in lines:
            item, marked = lines[check.where], lines[check.where].source_range
        elif check.where in planned:  # a line with no audio clip: mark its planned place in the shot
            shot_id, line = planned[check.where]
            item, marked = video[shot_id], _range(line.offset_frames, line.duration_frames, fps)
        else:
            start, frames = scenes.get(check.where, (0, timeline.duration_frames))
            item, marked = cut.tracks, _range(start, frames, fps)
        item.markers.append(marker(check, marked))


def scene_ranges(timeline: Timeline) -> dict[str, tuple[int, int]]:
    """Scene id -> (start frame, frames) in the episode."""
    ranges: dict[str, tuple[int, int]] = {}
    for clip in timeline.video:
        start, frames = ranges.get(clip.scene_id, (clip.start_frame, 0))
        ranges[clip.scene_id] = (start, frames + clip.duration_frames)
    return ranges


def marker(check: Check, marked: otio.opentime.TimeRange) -> otio.schema.Marker:
    """The verdict, check and message in the name, because FCP 7 XML keeps only a marker's name;
    the figures in the comment and metadata for the OTIO readers."""
    verdict = str(check.verdict)
    figures = f"measured {check.measured}, threshold {check.threshold}"
    return otio.schema.Marker(
        name=f"{verdict.upper()} {check.name}: {check.message}",
        marked_range=marked,
        color=MARKER_COLORS[verdict],
        comment=f"{check.where}: {figures}",
        metadata={"microdrama": {"check": check.name, "where": check.where, "verdict": verdict,
                                 "measured": str(check.measured), "threshold": str(check.threshold)}},
    )
