"""The consistency audit: the rendered episode measured against its plan.

This is the product's promise that a series stays coherent, checked on the file a viewer gets:
every planned shot is there, in order and of its length; every line is heard, whole, inside its
shot and under its subtitle; sound and picture end together at the target loudness; no shot is
black, frozen or a repeat of the one before; colour holds across the cuts of a scene; each framed
character looks like themselves. Every check carries its threshold, the measured value, a verdict
and the id of the place it concerns, so a report reads as a list of things to fix.

Cost: each shot's segment is decoded once for all that is measured of it: five frames at a
small size (72 px on the short side), its first and last, the mouth boxes (mouth_audit.py) and
the storyboard thumbnail. Where the episode holds a segment's packets as they are (the master
copies them), the episode's frames of that shot are the segment's, so the episode's picture is
demuxed and not decoded; a shot whose packets differ is decoded from the episode. The audio is
decoded once, in a thread while the picture decodes. Given a folder to keep them in, each
shot's frames are kept under the digest of what they were read from (the episode's packets for
the shot and its segment file): a later audit decodes only the shots whose packets changed.
The sound's measurements (each line found, each effect and bed heard, the loudness of each
chunk of the master) are kept by the audio packets of the stretch each reads and the clips it
looks for (kept_sound.py): an edit measures again only the stretches it changed.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from ..edit import ffmpeg
from ..edit.audio import frames_to_samples, read_wav
from ..render.backends.animatic import character_signature
from ..render.backends import backend_class
from ..render.backends.torch_device import package_availability
from ..core.config import AuditOptions  # the [audit] table; configuration owns it, this name stays
from ..core.errors import BackendUnavailable, ConfigError, FFmpegError
from ..core.paths import check_write, series_file
from ..core.models import CameraMove, Episode, FramedCharacter, Scene, ScreenPosition, Series, Shot, ShotType
from ..core.store import atomic_write_bytes, atomic_write_text
from ..edit.timeline import LineClip, Timeline, VideoClip
from .thumbnails import thumbnail_path, thumbnail_size, write_thumbnail

SAMPLE_FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0)  # of a shot's length: the frames the audit keeps
KEPT_PICTURES_VERSION = "1"  # bump when what is kept of a shot's picture changes
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # BT.601, as FFmpeg's blackdetect
VOICED_FLOOR_DB = -20.0  # a part of a line this much quieter than its loudest is a pause or a breath
CLIP_SHORT_SIDE = 224  # CLIP's input size; frames are read at it and the processor crops
NO_CLIP_MODEL = "no CLIP model configured; set audit clip_model to a local folder"


# --- the report --------------------------------------------------------------------------------


class Verdict(StrEnum):
    PASS = "pass"
    WARNING = "warning"
    ERROR = "error"
    SKIPPED = "skipped"


class Check(BaseModel):
    """One measurement of the rendered episode against the plan."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="What was checked, e.g. 'shot-present' or 'subtitle-sync'.")
    where: str = Field(description="Most specific id concerned: shot, line, scene or episode.")
    threshold: float | str | None = Field(description="The limit held to; its unit is in the message.")
    measured: float | str | None = Field(description="What was measured; null when nothing could be.")
    verdict: Verdict = Field(description="pass, warning, error, or skipped (with the reason).")
    message: str = Field(description="What was found, in words, and what it means.")


class AuditReport(BaseModel):
    """Every check of one episode, passes included."""

    model_config = ConfigDict(extra="forbid")

    episode_id: str = Field(description="Episode id, e.g. 'e01'.")
    checks: list[Check] = Field(description="The checks, grouped by kind, in timeline order.")

    @property
    def errors(self) -> list[Check]:
        return [check for check in self.checks if check.verdict == Verdict.ERROR]

    @property
    def warnings(self) -> list[Check]:
        return [check for check in self.checks if check.verdict == Verdict.WARNING]

    @property
    def counts(self) -> dict[Verdict, int]:
        return {verdict: sum(check.verdict == verdict for check in self.checks) for verdict in Verdict}


def write_report(report: AuditReport, path: Path) -> None:
    atomic_write_text(path, report.model_dump_json(indent=2) + "\n")


def _check(name: str, where: str, threshold: float | str | None, measured: float | str | None,
           verdict: Verdict, message: str) -> Check:
    return Check(name=name, where=where, threshold=_json_number(threshold), measured=_json_number(measured),
                 verdict=verdict, message=message)


def _json_number(value: float | str | None) -> float | str | None:
    """Numbers rounded for reading; JSON has no infinity, so a non-finite one becomes null."""
    if isinstance(value, float | int):
        return round(float(value), 4) if math.isfinite(value) else None
    return value


# --- the audit ---------------------------------------------------------------------------------


def audit_episode(timeline: Timeline, episode: Episode, series: Series, video: Path, subtitles: Path,
                  options: AuditOptions = AuditOptions(), backend_by_shot: Mapping[str, str] | None = None,
                  series_dir: Path | None = None, kept: Path | None = None) -> AuditReport:
    """Measure an assembled episode (`video`, `subtitles`) against its timeline and plan.

    `backend_by_shot` names the video backend that drew each shot (`ShotRender.backend`); a shot
    not named, or every shot when it is None, counts as drawn by the animatic. `series_dir` is
    where the bible's keyframe paths start (default: the folder above `video`'s out/).
    `kept` is the folder where the audit keeps what it measured between audits (eNN.pictures/:
    each shot's frames, a file per shot; eNN.mouths.json, eNN.sync.json and eNN.sound.json: those checks); none: all is
    measured."""
    from .kept_sound import KeptSound, loudness  # they build their checks on this module's Check
    from .mouth_audit import boxes_to_read, check_mouths, mouth_measures
    from .sound_audit import check_sound
    from .sync_audit import check_sync

    size = analysis_size(timeline.width, timeline.height, options.analysis_short_side)
    root = series_dir or video.parent.parent
    kept_sound = kept / f"{timeline.episode_id}.sound.json" if kept else None
    kept_mouths = kept / f"{timeline.episode_id}.mouths.json" if kept else None
    mouths = mouth_measures(timeline, episode, series, root, options)
    mouths_kept = read_kept_checks(kept_mouths) if kept_mouths else {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        audio = pool.submit(_audio_packets, video) if kept else None
        # with measurements kept, perhaps only the stretches they do not cover are decoded (KeptSound)
        whole = None if kept_sound and kept_sound.exists() else pool.submit(ffmpeg.read_audio, video, channels=2)
        pictures, frame_count, crops = shot_pictures(  # meanwhile, in this thread
            video, timeline, episode, size, kept / f"{timeline.episode_id}.pictures" if kept else None,
            boxes_to_read(mouths, mouths_kept))
    measured = KeptSound(kept_sound, audio.result() if audio else None, video, whole.result() if whole else None)
    sound, mix = measured.sound.sound, measured.sound.mix
    heard = [kept_line(line, mix, timeline.fps, options, measured) for line in timeline.dialogue]
    by_animatic = [p for p in pictures if is_animatic(p.shot, backend_by_shot)]
    by_neural = [p for p in pictures if not is_animatic(p.shot, backend_by_shot)]
    checks = [
        *[check_shot_present(p, pictures, options) for p in pictures],
        *[check_black(p, options) for p in pictures],
        *[check_frozen(p, options) for p in pictures if moves(p)],
        *check_cuts(pictures, options),
        *check_palettes(by_animatic, series, options),
        *check_embeddings(by_neural, series, video, timeline, options, root),
        *check_lines(heard, timeline, read_srt(subtitles), options),
        *check_av(timeline, frame_count, len(mix) / ffmpeg.AUDIO_RATE, heard, options),
        *check_loudness(timeline.episode_id, *loudness(sound, measured), options),
        *check_sound(timeline, mix, options, measured),
        *check_mouths(mouths, mouths_kept, crops, options, kept_mouths),
        *check_sync(timeline, episode, series, root, options, kept / f"{timeline.episode_id}.sync.json" if kept else None),
    ]
    measured.save()
    return AuditReport(episode_id=timeline.episode_id, checks=checks)


def analysis_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """Width and height (even) of the analysis frames: the short side at `short_side`, never
    more than the picture's own."""
    scale = min(short_side, width, height) / min(width, height)
    return max(2, 2 * round(width * scale / 2)), max(2, 2 * round(height * scale / 2))


# --- the picture: one decode per segment -------------------------------------------------------


def shot_pictures(video: Path, timeline: Timeline, episode: Episode, size: tuple[int, int], kept_dir: Path | None,
                  boxes: Mapping[str, list[Box]] | None = None) -> tuple[list[ShotPicture], int, Crops]:
    """What the audit keeps of each shot's picture, the number of frames the file holds, and
    each of `boxes` (by shot id) cut from every frame of that shot's segment.

    Each segment read is decoded once for all of it (its sample frames, its ends and its boxes,
    and its storyboard thumbnail while it is at hand). Where the episode holds the segment's
    packets under the same decoder set-up, they are the episode's frames too; the shots whose
    packets differ are decoded from the episode, each alone (a seek to the shot) or, when they
    are most of it, in one pass. With `kept_dir`, a shot whose packets in the episode and whose
    segment file are the ones measured last time takes its frames from there, and its segment
    is decoded only for boxes asked of it."""
    shots, boxes = {shot.id: shot for shot in episode.shots}, boxes or {}
    try:
        stream = ffmpeg.stream_packets(video)
    except FFmpegError:  # an unreadable episode: the full decode below says what is wrong
        with ThreadPoolExecutor(max_workers=1) as pool:
            segments = pool.submit(segment_ends, timeline.video, timeline.fps, size)
            samples, frame_count = sample_episode(video, timeline, size)
        ends = segments.result()
        read = [read_own_segment(clip, timeline, None, None, boxes[clip.shot_id])
                for clip in timeline.video if clip.shot_id in boxes]
        return [ShotPicture(clip, shots[clip.shot_id], samples[clip.shot_id], *ends[clip.shot_id])
                for clip in timeline.video], frame_count, {key: c for own in read for key, c in own.crops.items()}
    packets = stream.digests()
    keys = {clip.shot_id: _picture_key(clip, packets, size) for clip in timeline.video}
    kept: dict[str, Kept] = {}
    if kept_dir is not None:
        kept_dir.with_suffix(".npz").unlink(missing_ok=True)  # the one file every shot was kept in before
        kept = {key: picture for key in set(keys.values()) if (picture := _read_kept(kept_dir / f"{key}.npz"))}
    missing = [clip for clip in timeline.video if keys[clip.shot_id] not in kept]
    read = {clip.shot_id: read_own_segment(clip, timeline, size if clip in missing else None, stream,
                                           boxes.get(clip.shot_id, []))
            for clip in timeline.video if clip in missing or clip.shot_id in boxes}
    elsewhere = [clip for clip in missing if read[clip.shot_id].samples is None]
    if 2 * sum(clip.duration_frames for clip in elsewhere) > len(packets):
        from_episode = chosen_samples(video, timeline, size)
    else:
        from_episode = {clip.shot_id: _shot_samples(video, clip, timeline.fps, size) for clip in elsewhere}
    for clip in missing:
        own = read[clip.shot_id]
        kept[keys[clip.shot_id]] = (from_episode[clip.shot_id] if own.samples is None else own.samples, *own.ends)
        if kept_dir is not None:
            _write_kept(kept_dir / f"{keys[clip.shot_id]}.npz", kept[keys[clip.shot_id]])
    for stale in kept_dir.glob("*.npz") if kept_dir is not None and missing else ():  # shots no longer there
        if stale.stem not in kept:
            stale.unlink(missing_ok=True)
    return ([ShotPicture(clip, shots[clip.shot_id], *kept[keys[clip.shot_id]]) for clip in timeline.video],
            len(packets), {key: c for own in read.values() for key, c in own.crops.items()})


Box = tuple[int, int, int, int]  # left, top, right, bottom, in the frame at the series' size
Crops = dict[tuple[str, Box], list[np.ndarray]]  # (shot id, box): the box of each of the segment's frames


@dataclass(frozen=True)
class OwnSegment:
    """A shot's segment as the audit read it."""

    ends: Ends
    samples: dict[int, np.ndarray] | None  # None: not asked for, or the episode lacks the segment's packets
    crops: Crops


def read_own_segment(clip: VideoClip, timeline: Timeline, size: tuple[int, int] | None,
                     episode: ffmpeg.StreamPackets | None, boxes: list[Box]) -> OwnSegment:
    """Decode a shot's segment once: with `size`, its ends and sample frames at that size; the
    boxes asked; and its storyboard thumbnail when the cache lacks it. The samples stand for the
    episode's when the episode holds the segment's packets, in the shot's place, under the same
    decoder set-up."""
    last = clip.duration_frames - 1
    thumb, thumb_size = thumbnail_path(clip, timeline), thumbnail_size(timeline.width, timeline.height)
    chosen = {size: sorted({0, last, *sample_offsets(clip.duration_frames)})} if size else {}
    if not thumb.is_file():
        chosen[thumb_size] = [*chosen.get(thumb_size, []), clip.duration_frames // 2]
    try:
        got = (ffmpeg.read_segment(clip.path, timeline.width, timeline.height, chosen, boxes)
               if clip.path.is_file() else None)
    except FFmpegError:
        got = None
    if got is None:
        return OwnSegment((None, None), None, {})
    if (middle := got.chosen.get(thumb_size, {}).get(clip.duration_frames // 2)) is not None:
        write_thumbnail(middle, thumb)
    crops = {(clip.shot_id, box): frames for box, frames in zip(boxes, got.crops)}
    if size is None:
        return OwnSegment((None, None), None, crops)
    frames, whole = got.chosen[size], len(got.stream.packets) == clip.duration_frames
    ends = (frames.get(0), frames.get(last)) if whole else readable_ends(clip.path, size, 2 / timeline.fps)
    same = (whole and episode is not None and got.stream.setup == episode.setup
            and got.stream.digests() == episode.digests(clip.start_frame, clip.duration_frames))
    samples = {offset: frames[offset] for offset in sample_offsets(clip.duration_frames)} if same else None
    return OwnSegment(ends, samples, crops)


Kept = tuple[dict[int, np.ndarray], np.ndarray | None, np.ndarray | None]  # frames by offset, segment ends


def _picture_key(clip: VideoClip, packets: list[str], size: tuple[int, int]) -> str:
    """The digest of what a shot's picture is measured from: its packets in the episode, its
    segment file and the analysis size."""
    own = packets[clip.start_frame: clip.start_frame + clip.duration_frames]
    return measured_digest(KEPT_PICTURES_VERSION, f"{size[0]}x{size[1]}", clip.duration_frames,
                           file_identity(clip.path), *own)


def file_identity(path: Path) -> str:
    """A file as a kept measurement knows it: name, size and time (a segment rendered again in
    place is another file)."""
    stat = path.stat() if path.is_file() else None
    return f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}" if stat else f"{path.name}:none"


def measured_digest(*parts: object) -> str:
    return hashlib.sha256("\n".join(map(str, parts)).encode()).hexdigest()[:32]


def spoken_lines(timeline: Timeline, episode: Episode) -> Iterator[tuple[LineClip, VideoClip, Scene, Shot]]:
    """Each line of the cut spoken on screen (not V.O. or O.S.) in a shot that rendered, with its
    shot's clip and its place in the plan: what the mouth and lip-sync checks look at."""
    places = {shot.id: (scene, shot) for scene in episode.scenes for shot in scene.shots}
    clips = {clip.shot_id: clip for clip in timeline.video}
    for line in timeline.dialogue:
        clip = clips.get(line.shot_id)
        if clip is None or clip.failed:
            continue
        scene, shot = places[line.shot_id]
        if not next(l for l in shot.dialogue if l.id == line.line_id).off_screen:
            yield line, clip, scene, shot


def read_kept_checks(path: Path) -> dict[str, list[Check]]:
    """Checks kept by the digest of what they measured; none when the file is missing or damaged
    (they are measured again)."""
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        return {key: [Check.model_validate(check) for check in checks] for key, checks in kept.items()}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def write_kept_checks(path: Path, kept: dict[str, list[Check]]) -> None:
    check_write(path)  # before the folder is made: state/ may not lead outside the series folder
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({key: [check.model_dump(mode="json") for check in checks]
                                        for key, checks in kept.items()}))


def _audio_packets(video: Path) -> list[ffmpeg.Packet] | None:
    try:
        return ffmpeg.packets(video, "a")
    except FFmpegError:  # an unreadable episode: what it lacks is reported by the checks that read it
        return None


def _shot_samples(video: Path, clip: VideoClip, fps: int, size: tuple[int, int]) -> dict[int, np.ndarray]:
    frames = ffmpeg.read_span(video, clip.start_frame, clip.duration_frames, fps, *size)
    return {offset: frames[offset] for offset in sample_offsets(clip.duration_frames) if offset < len(frames)}


def _read_kept(path: Path) -> Kept | None:
    """A shot's kept pictures; none when the file is missing or unreadable (they are measured
    again)."""
    try:
        with np.load(io.BytesIO(path.read_bytes()), allow_pickle=False) as arrays:
            frames = {int(name): arrays[name] for name in arrays.files if name.isdigit()}
            return (frames, *(arrays[label] if label in arrays.files else None for label in ("first", "last")))
    except (OSError, ValueError, zipfile.BadZipFile):
        return None


def _write_kept(path: Path, kept: Kept) -> None:
    frames, first, last = kept
    arrays = {str(offset): frame for offset, frame in frames.items()}
    arrays.update({label: frame for label, frame in (("first", first), ("last", last)) if frame is not None})
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    check_write(path)  # before the folder is made: state/ may not lead outside the series folder
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())


def sample_offsets(duration_frames: int) -> list[int]:
    """Frames kept of a shot (from its start): the first, the quarters and the last."""
    return [round(fraction * (duration_frames - 1)) for fraction in SAMPLE_FRACTIONS]


def sample_episode(video: Path, timeline: Timeline,
                   size: tuple[int, int]) -> tuple[dict[str, dict[int, np.ndarray]], int]:
    """Decode the episode once at analysis size, keeping only each shot's sample frames (by
    offset in the shot; an offset past the file's end is missing). Also returns the number of
    frames the file holds."""
    wanted = episode_samples(timeline)
    chosen: dict[int, np.ndarray] = {}
    count = 0
    for index, frame in enumerate(ffmpeg.read_frames(video, *size)):
        if index in wanted:
            chosen[index] = frame
        count = index + 1
    return samples_by_shot(timeline, wanted, chosen), count


def chosen_samples(video: Path, timeline: Timeline, size: tuple[int, int]) -> dict[str, dict[int, np.ndarray]]:
    """`sample_episode`'s frames where the frame count is known already: only they are scaled."""
    wanted = episode_samples(timeline)
    return samples_by_shot(timeline, wanted, ffmpeg.read_chosen_frames(video, *size, list(wanted)))


def samples_by_shot(timeline: Timeline, wanted: dict[int, tuple[str, int]],
                    frames: dict[int, np.ndarray]) -> dict[str, dict[int, np.ndarray]]:
    """Frames by episode frame number, as each shot's frames by offset in the shot."""
    samples: dict[str, dict[int, np.ndarray]] = {clip.shot_id: {} for clip in timeline.video}
    for index, frame in frames.items():
        shot_id, offset = wanted[index]
        samples[shot_id][offset] = frame
    return samples


def episode_samples(timeline: Timeline) -> dict[int, tuple[str, int]]:
    """Each shot's sample frames in the episode: (shot id, offset in the shot) by frame number."""
    return {clip.start_frame + offset: (clip.shot_id, offset)
            for clip in timeline.video for offset in sample_offsets(clip.duration_frames)}


Ends = tuple[np.ndarray | None, np.ndarray | None]


def segment_ends(clips: list[VideoClip], fps: int, size: tuple[int, int]) -> dict[str, Ends]:
    """The first and last frame of each shot's own segment, by shot id (None where it cannot be
    read). One unreadable segment fails the joint read; then each is read alone to find it."""
    tail_s = 2 / fps  # the last two frames
    readable = [clip for clip in clips if clip.path.is_file()]
    try:
        ends = ffmpeg.read_end_frames([clip.path for clip in readable], *size, tail_s)
    except FFmpegError:
        ends = [readable_ends(clip.path, size, tail_s) for clip in readable]
    found = {clip.shot_id: pair for clip, pair in zip(readable, ends, strict=True)}
    return {clip.shot_id: found.get(clip.shot_id, (None, None)) for clip in clips}


def readable_ends(path: Path, size: tuple[int, int], tail_s: float) -> Ends:
    try:
        return ffmpeg.read_end_frames([path], *size, tail_s)[0]
    except FFmpegError:
        return None, None


@dataclass(frozen=True)
class ShotPicture:
    """What the audit keeps of one shot's picture."""

    clip: VideoClip
    shot: Shot
    frames: dict[int, np.ndarray]  # the output's frames by offset in the shot, at analysis size
    segment_first: np.ndarray | None  # the shot's own segment, at the same size
    segment_last: np.ndarray | None

    @property
    def first(self) -> np.ndarray | None:
        return self.frames.get(0)

    @property
    def last(self) -> np.ndarray | None:
        return self.frames.get(self.clip.duration_frames - 1)

    @property
    def kept(self) -> list[np.ndarray]:
        return list(self.frames.values())

    @property
    def whole(self) -> bool:
        """Every sample frame was in the file."""
        return len(self.frames) == len(set(sample_offsets(self.clip.duration_frames)))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB; 100 for identical pictures."""
    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return 100.0 if mse == 0 else min(100.0, 10 * math.log10(255**2 / mse))


def check_shot_present(picture: ShotPicture, pictures: list[ShotPicture], options: AuditOptions) -> Check:
    """The output's frames at the shot's planned first and last frame are its own segment's first
    and last frame: the right shot, in the right place, of the right length."""
    name, clip, threshold = "shot-present", picture.clip, options.shot_match_min_psnr_db
    first_frame, last_frame = clip.start_frame, clip.start_frame + clip.duration_frames - 1
    if clip.failed:
        return _check(name, clip.shot_id, threshold, None, Verdict.ERROR,
                      "the shot failed to render" + (": a slate stands in" if clip.path.is_file() else ""))
    if picture.segment_first is None or picture.segment_last is None:
        return _check(name, clip.shot_id, threshold, None, Verdict.ERROR,
                      f"its segment {clip.path} cannot be read")
    if picture.first is None or picture.last is None:
        return _check(name, clip.shot_id, threshold, None, Verdict.ERROR,
                      f"the episode file ends before frame {last_frame}, where this shot should end")
    start, end = psnr(picture.first, picture.segment_first), psnr(picture.last, picture.segment_last)
    measured = min(start, end)
    if measured >= threshold:
        return _check(name, clip.shot_id, threshold, measured, Verdict.PASS,
                      f"frames {first_frame} and {last_frame} are its segment's first and last ({measured:.0f} dB)")
    if start < threshold:
        other = next((p.clip.shot_id for p in pictures if p is not picture and p.segment_first is not None
                      and psnr(picture.first, p.segment_first) >= threshold), None)
        shown = f"the first frame of {other}: shots out of order" if other else "another picture"
        message = f"frame {first_frame} should open this shot but shows {shown} ({start:.0f} dB)"
    else:
        message = (f"it opens right, but frame {last_frame} is not its segment's last frame ({end:.0f} dB): "
                   "the shot is cut short or too long")
    return _check(name, clip.shot_id, threshold, measured, Verdict.ERROR, message)


def dark_share(frame: np.ndarray, luma_threshold: float) -> float:
    return float(np.mean(frame.astype(np.float32) @ LUMA < luma_threshold * 255))


def check_black(picture: ShotPicture, options: AuditOptions) -> Check:
    """A shot every kept frame of which is (near) black: a failed or empty render."""
    name, where, threshold = "shot-black", picture.clip.shot_id, options.black_share
    if not picture.frames:
        return _check(name, where, threshold, None, Verdict.SKIPPED, "the episode file ends before this shot")
    measured = min(dark_share(frame, options.black_luma) for frame in picture.kept)
    if measured >= threshold:
        return _check(name, where, threshold, measured, Verdict.ERROR,
                      f"the shot is black: {measured:.1%} of its pixels or more are darker than luma "
                      f"{options.black_luma:g}")
    return _check(name, where, threshold, measured, Verdict.PASS,
                  f"at most {measured:.1%} of its pixels are black")


def moves(picture: ShotPicture) -> bool:
    """The plan gives the shot a camera move (a title card is drawn still whatever the plan says)."""
    return picture.shot.move != CameraMove.STATIC and picture.shot.title_card is None and not picture.clip.failed


def check_frozen(picture: ShotPicture, options: AuditOptions) -> Check:
    """A shot with a camera move whose picture never changes: a frozen render."""
    name, where, threshold = "shot-frozen", picture.clip.shot_id, options.frozen_max_change
    if not picture.whole:
        return _check(name, where, threshold, None, Verdict.SKIPPED, "the episode file ends inside this shot")
    first = picture.first.astype(np.float32)
    measured = max(float(np.mean(np.abs(frame.astype(np.float32) - first))) for frame in picture.kept)
    move = picture.shot.move.value
    if measured < threshold:
        return _check(name, where, threshold, measured, Verdict.ERROR,
                      f"the picture never changes ({measured:.2f} of 255 at most) though the plan moves the camera "
                      f"({move}): a frozen render")
    return _check(name, where, threshold, measured, Verdict.PASS,
                  f"the picture changes ({move}, {measured:.1f} of 255)")


def check_cuts(pictures: list[ShotPicture], options: AuditOptions) -> list[Check]:
    """At each cut: is the next shot a repeat of the one before; within a scene, does colour hold."""
    checks = []
    for before, after in pairwise(pictures):
        if before.clip.failed or after.clip.failed:
            continue
        checks.append(check_duplicate(before, after, options))
        if same_take(before, after):
            checks.append(check_colour(before, after, options))
    return checks


def strip(picture: ShotPicture) -> np.ndarray | None:
    """The kept frames in order of their place in the shot, side by side (None if any is missing)."""
    frames = [picture.frames.get(offset) for offset in sample_offsets(picture.clip.duration_frames)]
    return None if any(frame is None for frame in frames) else np.concatenate(frames, axis=1)


def check_duplicate(before: ShotPicture, after: ShotPicture, options: AuditOptions) -> Check:
    """Two consecutive shots showing the same picture at the same points of their length: a
    duplicated segment (a warning: a plan may repeat a framing, and a wrong segment in the file
    is the shot-present check's error)."""
    name, where, threshold = "shot-duplicate", after.clip.shot_id, options.duplicate_min_psnr_db
    a, b = strip(before), strip(after)
    if a is None or b is None:
        return _check(name, where, threshold, None, Verdict.SKIPPED,
                      "the episode file ends inside these shots")
    measured = psnr(a, b)
    if measured >= threshold:
        return _check(name, where, threshold, measured, Verdict.WARNING,
                      f"looks the same as {before.clip.shot_id} before it ({measured:.0f} dB): "
                      "a duplicated segment?")
    return _check(name, where, threshold, measured, Verdict.PASS,
                  f"differs from {before.clip.shot_id} ({measured:.0f} dB)")


def same_take(before: ShotPicture, after: ShotPicture) -> bool:
    """A cut within a scene between two camera shots (a title card is none)."""
    return (before.clip.scene_id == after.clip.scene_id
            and before.shot.title_card is None and after.shot.title_card is None)


_BYTE = np.arange(256) / 255
LINEAR_BY_BYTE = np.where(_BYTE <= 0.04045, _BYTE / 12.92, ((_BYTE + 0.055) / 1.055) ** 2.4)  # sRGB's curve undone


def mean_lab(frame: np.ndarray) -> np.ndarray:
    """Mean CIELAB colour (D65) of an sRGB frame."""
    linear = LINEAR_BY_BYTE[frame.reshape(-1, 3)]
    xyz = linear @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    lab = np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)
    return lab.mean(axis=0)


def check_colour(before: ShotPicture, after: ShotPicture, options: AuditOptions) -> Check:
    """Colour and light across a cut within a scene: the mean Lab colour of the last frame before
    and the first after. A warning, since a cut legitimately changes what is in frame."""
    name, where, threshold = "colour-continuity", after.clip.shot_id, options.colour_max_delta_e
    if before.last is None or after.first is None:
        return _check(name, where, threshold, None, Verdict.SKIPPED, "the episode file ends before this cut")
    measured = float(np.linalg.norm(mean_lab(before.last) - mean_lab(after.first)))
    if measured > threshold:
        return _check(name, where, threshold, measured, Verdict.WARNING,
                      f"the colour jumps at the cut from {before.clip.shot_id} (mean ΔE {measured:.1f})")
    return _check(name, where, threshold, measured, Verdict.PASS,
                  f"the colour holds from {before.clip.shot_id} (mean ΔE {measured:.1f})")


# --- character identity ------------------------------------------------------------------------


def is_animatic(shot: Shot, backend_by_shot: Mapping[str, str] | None) -> bool:
    """Whether the shot is drawn in the animatic's signature palette (by the animatic, or a
    backend with that capability): `ShotRender.backend` is the backend's name, then any fallback
    note after a dash (empty for a shot that failed); title cards are always the animatic's."""
    if shot.title_card is not None or backend_by_shot is None:
        return True
    return draws_signature_palette((backend_by_shot.get(shot.id) or "animatic").split(" — ")[0].strip())


def draws_signature_palette(backend: str) -> bool:
    try:
        return bool(backend_class(backend).capabilities.signature_palette)
    except (ConfigError, ImportError):  # a backend no longer installed: no palette to check
        return False


def display_name(series: Series, character_id: str) -> str:
    character = series.character(character_id)
    return character.name if character else character_id


def palette_share(frame: np.ndarray, colour: tuple[int, int, int], tolerance: int) -> float:
    """The share of the frame's pixels within `tolerance` of `colour` in every channel (compared
    as bytes, between bounds: half the time of widening the frame to subtract)."""
    low, high = (np.clip(np.array(colour) + sign * tolerance, 0, 255).astype(np.uint8) for sign in (-1, 1))
    return float(np.mean(((frame >= low) & (frame <= high)).all(axis=2)))


def check_palettes(pictures: list[ShotPicture], series: Series, options: AuditOptions) -> list[Check]:
    """Animatic shots: each framed character's flat signature colour covers enough of the frame.
    The main colour is the clothes on the torso; in an extreme close-up, the hair or headscarf."""
    checks = []
    for picture in pictures:
        if picture.clip.failed or not picture.frames or picture.shot.type == ShotType.INSERT:
            continue
        for framed in picture.shot.characters:
            checks.append(check_palette(picture, framed, series, options))
    return checks


def check_palette(picture: ShotPicture, framed: FramedCharacter, series: Series,
                  options: AuditOptions) -> Check:
    name, where, threshold = "character-identity", picture.clip.shot_id, options.palette_min_share
    character = series.character(framed.character)
    who = display_name(series, framed.character)
    if picture.shot.type == ShotType.EWS:
        return _check(name, where, threshold, None, Verdict.SKIPPED,
                      f"{who}: figures in an extreme wide shot are too small to measure")
    top, head, _ = character_signature(framed.character, character.appearance if character else "")
    colour, part = (head, "hair") if picture.shot.type == ShotType.ECU else (top, "clothes")
    measured = max(palette_share(frame, colour, options.palette_tolerance) for frame in picture.kept)
    if measured < threshold:
        return _check(name, where, threshold, measured, Verdict.ERROR,
                      f"{who}'s {part} colour {colour} covers {measured:.2%} of the frame: "
                      "the character is drawn with another palette")
    return _check(name, where, threshold, measured, Verdict.PASS,
                  f"{who}'s {part} colour covers {measured:.1%} of the frame")


def check_embeddings(pictures: list[ShotPicture], series: Series, video: Path, timeline: Timeline,
                     options: AuditOptions, series_dir: Path) -> list[Check]:
    """Neural shots: CLIP similarity of each framed character's part of the frame to the
    character's keyframe, judged against the character's other shots (an outlier is a warning:
    absolute similarities mean little across models)."""
    framed = [(p, f) for p in pictures if not p.clip.failed for f in p.shot.characters]
    if not framed:
        return []
    if options.clip_model is None:
        return [_check("character-identity", p.clip.shot_id, None, None, Verdict.SKIPPED,
                       f"{display_name(series, f.character)}: {NO_CLIP_MODEL}") for p, f in framed]
    embed = load_clip(options.clip_model)
    checks = []
    for character_id in dict.fromkeys(f.character for _, f in framed):
        shots = [(p, f) for p, f in framed if f.character == character_id]
        character = series.character(character_id)
        keyframe_path = series_file(series_dir, character.keyframe, "keyframe") \
            if character and character.keyframe else None
        if keyframe_path is None or not keyframe_path.is_file():
            reason = f"{display_name(series, character_id)} has no keyframe image to compare with"
            checks += [_check("character-identity", p.clip.shot_id, None, None, Verdict.SKIPPED, reason)
                       for p, _ in shots]
            continue
        with Image.open(keyframe_path) as image:
            keyframe = np.asarray(image.convert("RGB"))
        crops = [character_crop(middle_frame(video, p.clip, timeline), f.position) for p, f in shots]
        vectors = embed([keyframe, *crops])
        similarities = [float(vector @ vectors[0]) for vector in vectors[1:]]
        checks += [check_outlier(p.clip.shot_id, character.name, index, similarities, options)
                   for index, (p, _) in enumerate(shots)]
    return checks


def middle_frame(video: Path, clip: VideoClip, timeline: Timeline) -> np.ndarray:
    """The shot's middle frame from the episode file, at about CLIP's input size."""
    size = analysis_size(timeline.width, timeline.height, CLIP_SHORT_SIDE)
    return ffmpeg.read_frame(video, clip.start_frame + clip.duration_frames // 2, timeline.fps, *size)


def character_crop(frame: np.ndarray, position: ScreenPosition) -> np.ndarray:
    """The 60 % of the frame's width around where the plan stands the character."""
    width = frame.shape[1]
    centre = {ScreenPosition.LEFT: 0.3, ScreenPosition.CENTER: 0.5, ScreenPosition.RIGHT: 0.7}[position]
    left = round(min(max(centre - 0.3, 0.0), 0.4) * width)
    return frame[:, left: left + round(0.6 * width)]


def check_outlier(where: str, who: str, index: int, similarities: list[float],
                  options: AuditOptions) -> Check:
    """A shot whose distance to the keyframe stands out from the character's other shots: the
    modified z-score (median and median absolute deviation of the others), its spread floored at
    a quarter of their median so that near-identical shots do not make every difference an outlier."""
    name, threshold = "character-identity", options.clip_outlier_z
    distance = 1 - similarities[index]
    others = np.array([1 - s for i, s in enumerate(similarities) if i != index])
    if len(others) < 2:
        return _check(name, where, threshold, None, Verdict.SKIPPED,
                      f"{who}: fewer than three shots to compare (CLIP distance to the keyframe {distance:.3f})")
    median = float(np.median(others))
    spread = max(1.4826 * float(np.median(np.abs(others - median))), 0.25 * median, 1e-9)
    measured = (distance - median) / spread
    summary = f"CLIP distance to the keyframe {distance:.3f}, the character's other shots {median:.3f}"
    if measured > threshold:
        return _check(name, where, threshold, measured, Verdict.WARNING,
                      f"{who} looks unlike the other shots: {summary}")
    return _check(name, where, threshold, measured, Verdict.PASS, f"{who}: {summary}")


@lru_cache(maxsize=2)
def load_clip(folder: str) -> Callable[[list[np.ndarray]], np.ndarray]:
    """An image-embedding function from a local CLIP model folder (loaded once per process)."""
    availability = package_availability(("torch", "transformers"), "video")
    if not availability.available:
        raise BackendUnavailable("audit clip_model", availability.reason)
    if not (Path(folder) / "config.json").is_file():
        raise BackendUnavailable("audit clip_model", f"{folder} is not a model folder (no config.json); "
                                 "set audit clip_model to a local CLIP model folder")
    import torch
    from transformers import AutoImageProcessor, CLIPModel

    model = CLIPModel.from_pretrained(folder, local_files_only=True).eval()
    processor = AutoImageProcessor.from_pretrained(folder, local_files_only=True)

    def embed(images: list[np.ndarray]) -> np.ndarray:
        """Unit-length embeddings, one row per image."""
        inputs = processor(images=images, return_tensors="pt")
        with torch.inference_mode():
            output = model.get_image_features(pixel_values=inputs["pixel_values"])
        features = output if isinstance(output, torch.Tensor) else output.pooler_output  # transformers 5
        return torch.nn.functional.normalize(features, dim=-1).numpy()

    return embed


# --- dialogue and subtitles --------------------------------------------------------------------


@dataclass(frozen=True)
class HeardLine:
    """Where a line's own audio was found in the episode's mix."""

    clip: LineClip
    level_db: float  # RMS of the line's own audio, dBFS
    start_s: float  # where the line's audio starts in the mix
    end_s: float  # where its audio ends: the line's own end, or the last part heard of a truncated line
    heard: float  # share of the line's voiced energy heard there
    complete: float  # share of its speech heard through: to the last voiced part heard, of all
    planned_start_s: float
    length_s: float  # of the line's own audio


def rms_db(samples: np.ndarray) -> float:
    """RMS level in dBFS, floored at -120 (digital silence)."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    return 20 * math.log10(max(rms, 1e-6))


def find_line(clip: LineClip, mix: np.ndarray, fps: int, options: AuditOptions) -> HeardLine:
    """Align the line's own WAV with the mix near its planned place (the music is ducked under
    it, so the voice dominates there), then see which of its parts are heard at that place."""
    reference, rate = read_wav(clip.path)
    if rate != ffmpeg.AUDIO_RATE:
        raise ValueError(f"{clip.path}: {rate} Hz, expected {ffmpeg.AUDIO_RATE}")
    planned = frames_to_samples(clip.start_frame, fps)
    level = rms_db(reference)
    length = len(reference) / rate
    if level < options.silence_dbfs:
        return HeardLine(clip, level, planned / rate, planned / rate, 0.0, 0.0, planned / rate, length)
    search = round(options.line_search_s * rate)
    low = max(0, planned - search)
    start = low + best_offset(reference, mix[low: planned + len(reference) + search])
    part = round(options.line_part_s * rate)
    heard, complete, end = hearing(reference, mix[start: start + len(reference)], part, options)
    if complete >= options.line_min_complete:
        end = len(reference)
    return HeardLine(clip, level, start / rate, (start + end) / rate, heard, complete, planned / rate, length)


def kept_line(clip: LineClip, mix: np.ndarray, fps: int, options: AuditOptions, kept) -> HeardLine:
    """find_line, kept by the stretch of the mix it searches and the line's own audio."""
    from .kept_sound import clip_identity  # it builds on this module

    search = round(options.line_search_s * ffmpeg.AUDIO_RATE) + ffmpeg.AAC_PRIMING
    planned = frames_to_samples(clip.start_frame, fps)
    low, high = max(0, planned - search), planned + round(clip.seconds * ffmpeg.AUDIO_RATE) + search
    return kept.measure(low, high, ("line", clip_identity(clip), options),
                        lambda: find_line(clip, mix, fps, options),
                        lambda line: [line.level_db, line.start_s, line.end_s, line.heard, line.complete,
                                      line.planned_start_s, line.length_s],
                        lambda values: HeardLine(clip, *values))


def best_offset(reference: np.ndarray, window: np.ndarray) -> int:
    """Offset in `window` where `reference` fits best: the peak of the cross-correlation
    normalised by the window's local energy (so a loud passage does not win by loudness)."""
    window = np.pad(window, (0, max(0, len(reference) - len(window)))).astype(np.float64)
    count = len(window) - len(reference) + 1
    size = 1 << (len(window) + len(reference) - 1).bit_length()
    correlation = np.fft.irfft(np.fft.rfft(window, size) * np.conj(np.fft.rfft(reference, size)), size)[:count]
    energy = np.concatenate(([0.0], np.cumsum(window**2)))
    local = np.sqrt(np.maximum(energy[len(reference):] - energy[:count], 1e-12))
    return int(np.argmax(correlation / local))


def hearing(reference: np.ndarray, placed: np.ndarray, part: int,
            options: AuditOptions) -> tuple[float, float, int]:
    """How much of a line is in the mix at its place, compared part by part; a voiced part counts
    as heard when it correlates with the mix there. Returns the share of the voiced energy heard;
    the share of the speech heard through, from the start to the end of the last voiced part heard,
    of the whole (a truncated line loses its end; a part masked in the middle, by a voice spoken
    over it, loses no end); and where the last voiced part heard ends (samples from the start)."""
    count = -(-len(reference) // part)
    ref, got = np.zeros(count * part), np.zeros(count * part)
    ref[: len(reference)], got[: len(placed)] = reference, placed
    ref, got = ref.reshape(count, part), got.reshape(count, part)
    energy = np.sum(ref**2, axis=1)
    correlation = np.sum(ref * got, axis=1) / np.sqrt(energy * np.sum(got**2, axis=1) + 1e-20)
    voiced = energy >= energy.max() * 10 ** (VOICED_FLOOR_DB / 10)
    heard = voiced & (correlation >= options.line_heard_correlation)
    found = np.flatnonzero(heard)
    if len(found) == 0:
        return 0.0, 0.0, 0
    share = float(energy[heard].sum() / energy[voiced].sum())
    through = float((found[-1] + 1) / (np.flatnonzero(voiced)[-1] + 1))
    return share, through, min(len(reference), int(found[-1] + 1) * part)


@dataclass(frozen=True)
class Cue:
    start_s: float
    end_s: float
    text: str


SRT_TIMES = re.compile(r"(\d+):(\d\d):(\d\d)[,.](\d{3})\s*-->\s*(\d+):(\d\d):(\d\d)[,.](\d{3})")


def read_srt(path: Path) -> list[Cue]:
    """The cues of an SRT file; none when there is no file (each line then misses its cue)."""
    if not path.is_file():
        return []
    cues = []
    text = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        for index, line in enumerate(lines):
            if match := SRT_TIMES.search(line):
                h1, m1, s1, ms1, h2, m2, s2, ms2 = map(int, match.groups())
                cues.append(Cue(h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000,
                                " ".join(" ".join(lines[index + 1:]).split())))
                break
    return cues


def check_lines(heard: list[HeardLine], timeline: Timeline, cues: list[Cue],
                options: AuditOptions) -> list[Check]:
    """Each line: heard at all, heard whole, inside its shot, under its subtitle."""
    shot_starts = {clip.shot_id: clip.start_frame / timeline.fps for clip in timeline.video}
    checks = []
    for line in heard:
        audible = check_audible(line, options)
        checks.append(audible)
        if audible.verdict == Verdict.PASS:
            checks += [check_complete(line, options),
                       check_in_shot(line, shot_starts[line.clip.shot_id], timeline.fps),
                       check_subtitle(line, cues, timeline.fps, options)]
    return checks


def check_audible(line: HeardLine, options: AuditOptions) -> Check:
    name, where, threshold = "line-audible", line.clip.line_id, options.line_min_heard
    if line.level_db < options.silence_dbfs:
        return _check(name, where, options.silence_dbfs, line.level_db, Verdict.ERROR,
                      f"the line's rendered audio is silent ({line.level_db:.0f} dBFS)")
    if line.heard < threshold:
        return _check(name, where, threshold, line.heard, Verdict.ERROR,
                      f"the line is silent in the episode: not heard within {options.line_search_s:g} s of its place")
    return _check(name, where, threshold, line.heard, Verdict.PASS, f"heard at {line.start_s:.3f} s")


def check_complete(line: HeardLine, options: AuditOptions) -> Check:
    name, where, threshold = "line-complete", line.clip.line_id, options.line_min_complete
    if line.complete < threshold:
        return _check(name, where, threshold, line.complete, Verdict.ERROR,
                      f"the line is truncated: its speech stops after {line.end_s - line.start_s:.2f} s of its "
                      f"{line.length_s:.2f} s ({line.complete:.0%} of it heard through)")
    return _check(name, where, threshold, line.complete, Verdict.PASS, "heard to its end")


def check_in_shot(line: HeardLine, shot_start_s: float, fps: int) -> Check:
    """The line's audio lies within its shot (to a frame). Starting outside is an error; only
    running past the cut is a warning (film does it on purpose)."""
    name, where, threshold = "line-in-shot", line.clip.line_id, 1 / fps
    shot_end_s = line.clip.planned_end_frame / fps
    early, late = shot_start_s - line.start_s, line.end_s - shot_end_s
    measured = max(early, late, 0.0)
    if early > threshold or line.start_s > shot_end_s:
        return _check(name, where, threshold, measured, Verdict.ERROR,
                      f"the line starts at {line.start_s:.3f} s, outside its shot {line.clip.shot_id}")
    if late > threshold:
        return _check(name, where, threshold, measured, Verdict.WARNING,
                      f"the line runs {late:.2f} s past the end of its shot {line.clip.shot_id}")
    return _check(name, where, threshold, measured, Verdict.PASS, f"inside its shot {line.clip.shot_id}")


def check_subtitle(line: HeardLine, cues: list[Cue], fps: int, options: AuditOptions) -> Check:
    """The line's subtitle cue starts and ends with its measured audio."""
    name, where, threshold = "subtitle-sync", line.clip.line_id, options.subtitle_max_offset_s
    text = " ".join(line.clip.text.split())
    cue = min((c for c in cues if c.text == text), key=lambda c: abs(c.start_s - line.start_s), default=None)
    if cue is None:
        return _check(name, where, threshold, None, Verdict.ERROR, "no subtitle cue has this line's text")
    late_end = cue.end_s - line.end_s
    measured = max(abs(cue.start_s - line.start_s), -late_end, late_end - 1 / fps)
    timing = f"cue {cue.start_s:.3f}-{cue.end_s:.3f} s, audio {line.start_s:.3f}-{line.end_s:.3f} s"
    if measured > threshold:
        return _check(name, where, threshold, measured, Verdict.ERROR,
                      f"the subtitle is off its audio by {measured:.3f} s ({timing})")
    return _check(name, where, threshold, measured, Verdict.PASS, timing)


# --- the whole episode -------------------------------------------------------------------------


def check_av(timeline: Timeline, frame_count: int, audio_s: float, heard: list[HeardLine],
             options: AuditOptions) -> list[Check]:
    """The picture has its planned frames; sound and picture end together; the last line is where
    the plan put it (drift accumulates, so the end is where it shows)."""
    where, threshold, fps = timeline.episode_id, options.av_max_drift_s, timeline.fps
    planned = timeline.duration_frames
    checks = [_check("episode-length", where, planned, frame_count,
                     Verdict.PASS if frame_count == planned else Verdict.ERROR,
                     f"{frame_count} frames in the file, {planned} planned")]
    difference = audio_s - frame_count / fps
    checks.append(_check("av-duration", where, threshold, difference,
                         Verdict.PASS if abs(difference) <= threshold else Verdict.ERROR,
                         f"audio {audio_s:.3f} s, video {frame_count / fps:.3f} s"))
    found = [line for line in heard if line.heard >= options.line_min_heard]
    if not found:
        checks.append(_check("av-drift", where, threshold, None, Verdict.SKIPPED,
                             "no dialogue line heard to measure drift by"))
        return checks
    last = max(found, key=lambda line: line.planned_start_s)
    drift = last.start_s - last.planned_start_s
    checks.append(_check("av-drift", where, threshold, drift,
                         Verdict.PASS if abs(drift) <= threshold else Verdict.ERROR,
                         f"the last line, {last.clip.line_id}, is heard {drift * 1000:+.0f} ms from its planned place"))
    return checks


def check_loudness(where: str, integrated: float, peak: float, options: AuditOptions) -> list[Check]:
    target, tolerance = options.loudness_target_lufs, options.loudness_tolerance_lu
    in_range = abs(integrated - target) <= tolerance
    return [
        _check("loudness", where, f"{target:g}±{tolerance:g}", integrated,
               Verdict.PASS if in_range else Verdict.ERROR,
               f"integrated loudness {integrated:.1f} LUFS (target {target:g} ± {tolerance:g})"),
        _check("true-peak", where, options.true_peak_max_db, peak,
               Verdict.PASS if peak <= options.true_peak_max_db else Verdict.ERROR,
               f"true peak {peak:.1f} dBTP (ceiling {options.true_peak_max_db:g})"),
    ]
