"""Assembly: render results -> the episode's timeline (out/eNN.timeline.json) -> out/eNN.mp4 +
out/eNN.srt.

The picture is the shots' segments concatenated with stream copy (each was encoded once, with
the same settings); the sound is the master of the lines, cues and effects placed by the
timeline (edit/master.py: mixed, normalised to -16 LUFS and encoded in chunks, of which an edit
makes only the ones it touches). The mastered sound is kept beside the episode's record
(state/assembled/eNN.m4a, keyed by the lines and cues it is made of): an edit that changes only
picture is a re-mux of two stream copies.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..core.cache import ArtifactCache
from ..core.config import Settings
from ..core.layout import SeriesPaths
from ..core.models import Episode
from ..core.paths import check_write
from ..core.snapshot import Snapshot
from ..core.store import SeriesFolder, atomic_write_bytes, atomic_write_text, pid_alive
from ..core.results import CueRender, EpisodeOutput, ShotRender
from . import ffmpeg
from .master import MASTER_VERSION, master_sound
from .timeline import Timeline, build_timeline, to_srt, write_timeline

SLATE_VERSION = "1"


def slate(cache: ArtifactCache, shot_id: str, reason: str, width: int, height: int, fps: int, frames: int) -> Path:
    """A labelled card standing in for a shot that failed to render (--allow-failed)."""
    def write(path: Path) -> None:
        image = Image.new("RGB", (width, height), (24, 24, 28))
        draw = ImageDraw.Draw(image)
        size = max(12, width // 18)
        font = ImageFont.load_default(size=size)
        lines = [f"SHOT {shot_id}", "RENDER FAILED", *_wrap(reason, 28)[:6]]
        y = height // 3
        for text in lines:
            draw.text((width // 12, y), text, fill=(235, 90, 80) if text == "RENDER FAILED" else (230, 230, 230), font=font)
            y += int(size * 1.5)
        frame = np.asarray(image)
        ffmpeg.encode_frames((frame for _ in range(frames)), path, width, height, fps)

    key = hashlib.sha256(json.dumps([SLATE_VERSION, shot_id, reason, width, height, fps, frames]).encode()).hexdigest()[:24]
    return cache.produce(cache.path("slate", key, "mp4"), write)


def _wrap(text: str, width: int) -> list[str]:
    words, lines, current = text.split(), [], ""
    for word in words:
        if current and len(current) + len(word) + 1 > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return lines + ([current] if current else [])


WORK_PREFIX = ".assemble-"  # + pid: a killed run's work folder is known by its dead pid


def sweep_work_folders(out_dir: Path) -> int:
    """Remove the work folders (about 20 MB each) of assemblies whose process is gone."""
    removed = 0
    for path in out_dir.glob(f"{WORK_PREFIX}*") if out_dir.is_dir() else []:
        pid = path.name[len(WORK_PREFIX):].split("-")[0]
        if path.is_dir() and pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def assembly_record(folder: SeriesPaths, episode_id: str) -> Path:
    """state/assembled/eNN.json: the key and size of the episode file assembly last wrote."""
    return folder.state_dir / "assembled" / f"{episode_id}.json"


def episode_file_intact(folder: SeriesFolder, episode_id: str) -> bool:
    """Is out/eNN.mp4 still the file assembly wrote (not truncated, replaced or deleted)?"""
    mp4, record = folder.out_dir / f"{episode_id}.mp4", assembly_record(folder, episode_id)
    if not (mp4.is_file() and record.is_file()):
        return False
    return json.loads(record.read_text(encoding="utf-8")).get("bytes") == mp4.stat().st_size


def timeline_key(timeline: Timeline, root: Path) -> str:
    """Hash of everything the episode file is made from: segments, lines, cues and their places
    (artifact paths are content hashes, so the paths stand for the content; they are relative
    to the series folder, so a moved folder is not mastered again). Not the snapshot digest:
    it names the approval the cut came from, and an edit of any other episode changes it (every
    episode of a season was mastered and audited again after a one-line edit)."""
    cut = timeline.model_dump(mode="json", exclude={"snapshot"}, context={"root": Path(root)})
    payload = json.dumps([MASTER_VERSION, cut], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


def audio_key(timeline: Timeline, root: Path) -> str:
    """Hash of everything the episode's sound is made from: its lines and cues, where they are
    placed (dialogue, music, ambience, effects), and the episode's length (the picture is not part of it)."""
    sound = timeline.model_dump(mode="json", include={"fps", "dialogue", "music", "ambience", "effects"}, context={"root": Path(root)})
    payload = json.dumps([MASTER_VERSION, timeline.duration_frames, sound], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


def mastered_audio(timeline: Timeline, folder: SeriesFolder, known: str | None, work_dir: Path) -> tuple[Path, str]:
    """The episode's mastered sound (state/assembled/eNN.m4a) and its key. It is mixed again only
    when the key is not `known` (the one the episode file was made with) or the file is gone:
    an edit that changes only picture re-muxes the sound it has."""
    key, mix = audio_key(timeline, folder.root), assembly_record(folder, timeline.episode_id).with_suffix(".m4a")
    if key == known and mix.is_file():
        return mix, key
    sound = master_sound(timeline, folder.root, ArtifactCache(folder.cache_dir), work_dir)
    atomic_write_bytes(mix, sound.read_bytes())
    return mix, key


def master(timeline: Timeline, folder: SeriesFolder) -> tuple[Path, Path, bool]:
    """Write out/eNN.mp4 and out/eNN.srt for a complete timeline (atomic: temp file + rename);
    the flag says whether it did. An unchanged timeline whose files are still there is not
    mastered again. Refused (InputError) when out/ leads outside the series folder."""
    check_write(folder.out_dir / f"{timeline.episode_id}.mp4", folder.root)
    folder.out_dir.mkdir(parents=True, exist_ok=True)
    srt_path = folder.out_dir / f"{timeline.episode_id}.srt"
    mp4_path = folder.out_dir / f"{timeline.episode_id}.mp4"
    record = assembly_record(folder, timeline.episode_id)
    key = timeline_key(timeline, folder.root)
    done = json.loads(record.read_text(encoding="utf-8")) if record.is_file() else {}
    if mp4_path.is_file() and srt_path.is_file() and done.get("key") == key and done.get("bytes") == mp4_path.stat().st_size:
        return mp4_path, srt_path, False
    with tempfile.TemporaryDirectory(dir=folder.out_dir, prefix=f"{WORK_PREFIX}{os.getpid()}-") as work:
        work_dir = Path(work)
        sound, sound_key = mastered_audio(timeline, folder, done.get("audio"), work_dir)
        srt = to_srt(timeline)
        (work_dir / "episode.srt").write_text(srt or "", encoding="utf-8")
        video_args = ffmpeg.concat_copy([clip.path for clip in timeline.video], work_dir / "segments.txt")
        temp = work_dir / "episode.mp4"
        soft = work_dir / "episode.srt" if srt and timeline.soft_subtitles else None
        ffmpeg.mux_episode(video_args, sound, soft, timeline.language, temp)
        os.replace(temp, mp4_path)
    atomic_write_text(srt_path, srt)
    atomic_write_text(record, json.dumps({"key": key, "bytes": mp4_path.stat().st_size, "audio": sound_key}))
    return mp4_path, srt_path, True


def assemble_episode(episode: Episode, snapshot: Snapshot, shots: dict[str, ShotRender],
                     cues: dict[str, CueRender], settings: Settings) -> EpisodeOutput:
    """Lay out and master one episode. With failed shots it is skipped (and they are named)
    unless allow_failed is set, when each failed shot becomes a slate in the cut."""
    folder = SeriesFolder(settings.series_dir)
    series = snapshot.series
    deferred = [s.id for s in episode.shots if s.id in shots and shots[s.id].deferred]
    deferred += [s.id for s in episode.scenes if s.id in cues and cues[s.id].deferred]
    if deferred:
        return EpisodeOutput(id=episode.id, deferred=deferred, skipped=f"the budget left {len(deferred)} shots and "
                             "cues for the next render: `microdrama render` again continues")
    failed = {s.id: (shots[s.id].error or "a dialogue line failed") if s.id in shots else "not rendered"
              for s in episode.shots if s.id not in shots or shots[s.id].failed}
    failed_cues = [s.id for s in episode.scenes if s.id in cues and cues[s.id].failed]
    if (failed or failed_cues) and not settings.allow_failed:
        names = [*failed, *(f"{c} (music)" for c in failed_cues)]
        return EpisodeOutput(id=episode.id, failed_shots=list(failed), skipped="failed: " + ", ".join(names))
    cache = ArtifactCache(folder.cache_dir)
    durations = {s.id: s.duration_frames for s in episode.shots}
    slates = {shot_id: (slate(cache, shot_id, reason, series.width, series.height, series.fps, durations[shot_id]), reason)
              for shot_id, reason in failed.items()}
    timeline = build_timeline(episode, series, folder.root, snapshot.digest, shots, cues, slates, settings.subtitles)
    mp4, srt, mastered = master(timeline, folder)
    # Written after the episode file: a timeline file always describes a finished MP4.
    timeline_file = write_timeline(timeline, folder.root, folder.out_dir)
    return EpisodeOutput(id=episode.id, video=str(mp4.relative_to(folder.root)),
                         subtitles=str(srt.relative_to(folder.root)),
                         timeline=str(timeline_file.relative_to(folder.root)),
                         failed_shots=list(failed), mastered=mastered)
