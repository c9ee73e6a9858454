"""Conform a backend's frames to the shot: the series' size (cover-crop, never stretch), frame
rate and exact frame count. The animatic already matches and streams through untouched; a
diffusion model's clip (its own size, rate and length) is resampled here."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from PIL import Image

from .backends import VideoFrames


def cover_resize(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale to fill width x height, cropping the overflow symmetrically."""
    h, w = frame.shape[:2]
    if (w, h) == (width, height):
        return frame
    scale = max(width / w, height / h)
    scaled = Image.fromarray(frame).resize((max(width, round(w * scale)), max(height, round(h * scale))), Image.LANCZOS)
    left = (scaled.width - width) // 2
    top = (scaled.height - height) // 2
    return np.asarray(scaled.crop((left, top, left + width, top + height)))


def conform_frames(clip: VideoFrames, width: int, height: int, fps: int, num_frames: int) -> Iterator[np.ndarray]:
    if clip.fps == fps and (clip.width, clip.height) == (width, height):
        last = None
        count = 0
        for count, frame in enumerate(clip.frames, start=1):
            if count > num_frames:
                break
            last = frame
            yield frame
        for _ in range(max(0, num_frames - count)):  # hold the last frame if the clip is short
            yield last
        return
    source = [np.asarray(f) for f in clip.frames]
    if not source:
        raise ValueError("the backend returned no frames")
    for index in range(num_frames):
        picked = min(int(index * clip.fps / fps), len(source) - 1)
        yield cover_resize(source[picked], width, height)
