"""Storyboard thumbnails: each shot's middle frame, a small JPEG cached beside its segment in
cache/ under the segment's name, so an unchanged shot's thumbnail is never decoded again."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

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
        frame = ffmpeg.read_frame(clip.path, clip.duration_frames // 2, timeline.fps, width, height)
        Image.fromarray(frame).save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)

    final = thumbnail_path(clip, timeline)
    jpeg = ArtifactCache(final.parent).produce(final, write)
    return "data:image/jpeg;base64," + base64.b64encode(jpeg.read_bytes()).decode("ascii")
