"""Mouths that move with the voice: the speaking figure's mouth opens with the amplitude
envelope of their line's take, frame by frame, only while the line plays.

Who moves: the figure of the line's speaker, seen from the front (a back in an over-the-shoulder
shot has no mouth to see). An off-screen or V.O. line moves no one; listeners stay still. The
mouth is drawn in a few openings, each painted once per shot as a small patch over the closed
mouth of the painted world; a frame shows the world with the patches of that frame's openings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from ....edit.audio import read_wav
from .. import VideoRequest, VoicePlacement
from .canvas import SUPERSAMPLE, world_margins
from .figures import Pen, draw_open_mouth, mouth_area
from .framing import Figure

OPENINGS = 3  # drawn openings besides closed: enough for speech at 24 fps, few patches to paint
CLOSED_BELOW = 0.12  # a frame quieter than this share of the line's loud frames keeps the mouth shut
LOUD_PERCENTILE = 90


@dataclass(frozen=True)
class Patch:
    left: int
    top: int
    pixels: np.ndarray  # HxWx3 uint8


@dataclass(frozen=True)
class Mouths:
    """Per frame, the opening (0 = closed) of each moving mouth; per mouth, its painted patches."""

    openings: list[tuple[int, ...]]
    patches: list[dict[int, Patch]]

    def world(self, world: np.ndarray, openings: tuple[int, ...]) -> np.ndarray:
        """The painted world with these mouths open (the world itself when all are closed)."""
        if not any(openings):
            return world
        out = world.copy()
        for patches, opening in zip(self.patches, openings, strict=True):
            if opening:
                patch = patches[opening]
                h, w = patch.pixels.shape[:2]
                out[patch.top: patch.top + h, patch.left: patch.left + w] = patch.pixels
        out.flags.writeable = False
        return out


def envelope_openings(samples: np.ndarray, rate: int, fps: int, frames: int) -> list[int]:
    """The opening per frame of a take: each frame's RMS against the line's loud frames,
    quantised to 0..OPENINGS."""
    per_frame = rate / fps
    rms = np.array([np.sqrt(np.mean(np.square(chunk, dtype=np.float64))) if len(chunk) else 0.0
                    for chunk in (samples[round(i * per_frame): round((i + 1) * per_frame)] for i in range(frames))])
    loud = np.percentile(rms, LOUD_PERCENTILE) if len(rms) and rms.max() > 0 else 1.0
    share = np.clip(rms / (loud or 1.0), 0, 1)
    return [0 if s < CLOSED_BELOW else max(1, min(OPENINGS, round(s * OPENINGS))) for s in share]


def speaking_figure(figures: list[Figure], voice: VoicePlacement) -> int | None:
    """Index of the figure whose mouth this voice moves, or None (off screen, not framed, seen
    from behind)."""
    if voice.off_screen:
        return None
    return next((i for i, f in enumerate(figures) if f.character.id == voice.speaker and not f.from_behind), None)


def plan_mouths(request: VideoRequest, figures: list[Figure], world: np.ndarray) -> Mouths | None:
    """The mouth openings of every frame of the shot and their patches; None when no one seen
    speaks."""
    speaking = {}
    for voice in request.voices:
        index = speaking_figure(figures, voice)
        if index is not None:
            speaking.setdefault(index, []).append(voice)
    if not speaking:
        return None
    order = sorted(speaking)
    tracks = []
    for index in order:
        track = [0] * request.num_frames
        for voice in speaking[index]:
            samples, rate = read_wav(voice.voice_clip)
            end = min(voice.end_frame, request.num_frames)
            for offset, opening in enumerate(envelope_openings(samples, rate, request.fps, end - voice.start_frame)):
                track[voice.start_frame + offset] = opening
        tracks.append(track)
    return Mouths(openings=list(zip(*tracks, strict=True)),
                  patches=[_paint_patches(world, figures[i], request.width, request.height) for i in order])


def _paint_patches(world: np.ndarray, figure: Figure, width: int, height: int) -> dict[int, Patch]:
    """Each opening of the figure's mouth, drawn at twice the size over the world's pixels there
    and reduced, as the figures are."""
    mx, my = world_margins(width, height)
    cx, cy, u = mx + figure.x * width, my + figure.y * height, figure.head
    x0, y0, x1, y1 = mouth_area(figure.turn)
    left, top = max(0, int(cx + x0 * u)), max(0, int(cy + y0 * u))
    right, bottom = min(world.shape[1], int(cx + x1 * u) + 2), min(world.shape[0], int(cy + y1 * u) + 2)
    base = Image.fromarray(np.ascontiguousarray(world[top:bottom, left:right]))
    patches = {}
    for opening in range(1, OPENINGS + 1):
        big = base.resize((base.width * SUPERSAMPLE, base.height * SUPERSAMPLE), Image.NEAREST)
        pen = Pen(ImageDraw.Draw(big), (cx - left) * SUPERSAMPLE, (cy - top) * SUPERSAMPLE, u * SUPERSAMPLE)
        draw_open_mouth(pen, figure.look, figure.turn, opening / OPENINGS)
        patches[opening] = Patch(left, top, np.asarray(big.resize(base.size, Image.BOX)))
    return patches
