"""Storyboard thumbnails: each shot's middle frame, a small JPEG cached beside its segment in
cache/ under the segment's name, so an unchanged shot's thumbnail is never decoded again."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image

from ..core.cache import ArtifactCache
from ..edit import ffmpeg
from ..edit.timeline import Timeline, VideoClip

THUMB_LONG_SIDE = 320  # px: sharp at card size, a few KB as JPEG
JPEG_QUALITY = 70
THUMB_VERSION = "1"  # bump when a thumbnail is drawn differently


def thumbnail_size(width: int, height: int) -> tuple[int, int]:
    """The frame scaled down (never up) so its long side fits THUMB_LONG_SIDE; even sides."""
    scale = min(1.0, THUMB_LONG_SIDE / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def thumbnail_path(clip: VideoClip, timeline: Timeline) -> Path:
    """Where the clip's thumbnail is cached: beside its segment in cache/, keyed by the segment
    (its path is its content's key), the frame and the size, so an unchanged shot's thumbnail is
    never decoded again."""
    width, height = thumbnail_size(timeline.width, timeline.height)
    spec = [THUMB_VERSION, clip.path.name, clip.duration_frames // 2, width, height, JPEG_QUALITY]
    key = hashlib.sha256(json.dumps(spec).encode()).hexdigest()[:24]
    return ArtifactCache(clip.path.parent).path("thumb", key, "jpg")


def thumbnail(clip: VideoClip, timeline: Timeline) -> str | None:
    """The clip's middle frame as a JPEG data: URI; None when the shot has no picture file."""
    if not clip.path.is_file():
        return None
    width, height = thumbnail_size(timeline.width, timeline.height)

    def write(out: Path) -> None:
        save_jpeg(ffmpeg.read_frame(clip.path, clip.duration_frames // 2, timeline.fps, width, height), out)

    final = thumbnail_path(clip, timeline)
    jpeg = ArtifactCache(final.parent).produce(final, write)
    return "data:image/jpeg;base64," + base64.b64encode(jpeg.read_bytes()).decode("ascii")


def write_thumbnail(frame: np.ndarray, path: Path) -> None:
    """Cache a middle frame decoded elsewhere (the audit decodes each new segment anyway) at
    `thumbnail_path`, scaled to `thumbnail_size` as `thumbnail` would read it."""
    ArtifactCache(path.parent).produce(path, lambda out: save_jpeg(frame, out))


def save_jpeg(frame: np.ndarray, out: Path) -> None:
    Image.fromarray(frame).save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
