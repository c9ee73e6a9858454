"""From a painted world to frames: camera moves as crops and zooms of the world, and the overlays
(caption, subtitles) that stay put on screen, blended onto each frame."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ....core.models import CameraMove
from .mouths import Mouths

PUSH_ZOOM = 1.18  # magnification at the end of a push-in (and start of a pull-out)


Window = tuple[float, float, float]  # left and top of the frame in the world, and the zoom


@dataclass(frozen=True)
class Camera:
    """Cuts a shot's frames out of its painted world: a window that pans, tilts, shakes or closes
    in over the shot's duration. Crops are numpy slices; zooms are nearest-neighbour resizes."""

    world: np.ndarray
    image: Image.Image  # the same pixels, for zooms
    width: int
    height: int
    move: CameraMove
    fps: int
    seed: int
    focus: tuple[float, float]  # the frame point that stays put during a push-in

    @property
    def margins(self) -> tuple[int, int]:
        return (self.world.shape[1] - self.width) // 2, (self.world.shape[0] - self.height) // 2

    def window(self, index: int, count: int) -> Window:
        """Where frame `index` of `count` is; left and top are whole pixels when zoom is 1."""
        mx, my = self.margins
        progress = index / (count - 1) if count > 1 else 0.0
        eased = progress * progress * (3 - 2 * progress)
        match self.move:
            case CameraMove.PAN_LEFT:
                return (round(2 * mx * (1 - eased)), my, 1.0)
            case CameraMove.PAN_RIGHT:
                return (round(2 * mx * eased), my, 1.0)
            case CameraMove.TILT_UP:
                return (mx, round(2 * my * (1 - eased)), 1.0)
            case CameraMove.TILT_DOWN:
                return (mx, round(2 * my * eased), 1.0)
            case CameraMove.PUSH_IN:
                return self._zoomed(1 + (PUSH_ZOOM - 1) * eased)
            case CameraMove.PULL_OUT:
                return self._zoomed(PUSH_ZOOM - (PUSH_ZOOM - 1) * eased)
            case CameraMove.HANDHELD:
                dx, dy = self._shake(index / self.fps)
                return (mx + dx, my + dy, 1.0)
        return (mx, my, 1.0)

    def _zoomed(self, zoom: float) -> Window:
        mx, my = self.margins
        if zoom == 1.0:
            return (mx, my, 1.0)
        fx, fy = self.focus
        return (mx + fx * self.width * (1 - 1 / zoom), my + fy * self.height * (1 - 1 / zoom), zoom)

    def _shake(self, seconds: float) -> tuple[int, int]:
        """A slow sway plus a faster jitter, from the shot's seed, within the margins."""
        rng = random.Random(self.seed)
        phases = [rng.uniform(0, 2 * math.pi) for _ in range(4)]
        slow, fast = 2 * math.pi * rng.uniform(0.3, 0.5), 2 * math.pi * rng.uniform(1.1, 1.6)
        amplitude = min(0.012 * min(self.width, self.height), *self.margins)

        def sway(a: float, b: float) -> int:
            return round(
                amplitude
                * (0.7 * math.sin(slow * seconds + a) + 0.3 * math.sin(fast * seconds + b))
            )

        return sway(phases[0], phases[1]), sway(phases[2], phases[3])

    def shoot(self, window: Window, world: np.ndarray | None = None) -> np.ndarray:
        """The frame at `window`, cut from the painted world (or from `world`, a variant of it:
        the same painting with mouths open)."""
        left, top, zoom = window
        source = self.world if world is None else world
        if zoom == 1.0:
            return source[int(top) : int(top) + self.height, int(left) : int(left) + self.width].copy()
        box = (left, top, left + self.width / zoom, top + self.height / zoom)
        image = self.image if world is None else Image.fromarray(world)
        # Pillow's nearest-neighbour resize measured twice as fast as a numpy gather here.
        return np.array(image.resize((self.width, self.height), Image.NEAREST, box=box))


@dataclass(frozen=True)
class Overlay:
    """A pre-rendered RGBA patch (caption, subtitles) that stays put on screen while the camera
    moves; blended onto each frame with integer math over its own rectangle only."""

    left: int
    top: int
    colour: np.ndarray  # uint16: colour x alpha, alpha scaled to 0..256 so that opaque is exact
    keep: np.ndarray  # uint16: 256 - alpha per channel (a full array: broadcasting is 10x slower)
    scratch: np.ndarray  # uint16 working buffer, reused by every frame

    @classmethod
    def place(cls, patch: Image.Image, left: int, top: int, width: int, height: int) -> Overlay:
        """The patch at (left, top), cut to the frame."""
        left, top = max(0, left), max(0, top)
        patch = patch.crop((0, 0, min(patch.width, width - left), min(patch.height, height - top)))
        rgba = np.asarray(patch, dtype=np.uint16)
        alpha = np.repeat(rgba[..., 3:4] + (rgba[..., 3:4] >> 7), 3, axis=2)
        return cls(left, top, rgba[..., :3] * alpha, 256 - alpha, np.empty_like(alpha))

    def apply(self, frame: np.ndarray) -> None:
        h, w = self.keep.shape[:2]
        region = frame[self.top : self.top + h, self.left : self.left + w]
        np.multiply(region, self.keep, out=self.scratch)
        np.add(self.scratch, self.colour, out=self.scratch)
        np.right_shift(self.scratch, 8, out=self.scratch)
        region[...] = self.scratch


@dataclass(frozen=True)
class PaintedShot:
    camera: Camera
    states: list[tuple[int, ...]]  # per frame: indices of the subtitles showing
    overlays: dict[tuple[int, ...], list[Overlay]]  # per subtitle state: what lies on the picture
    mouths: Mouths | None = None  # the speaking figures' mouths, frame by frame

    def frames(self) -> Iterator[np.ndarray]:
        """Read-only frames; consecutive identical frames (a static shot) share one array."""
        previous, frame, world = None, None, None
        closed: tuple[int, ...] = ()
        for index, state in enumerate(self.states):
            window = self.camera.window(index, len(self.states))
            openings = self.mouths.openings[index] if self.mouths else closed
            if (window, state, openings) != previous:
                if previous is None or openings != previous[2]:
                    world = self.mouths.world(self.camera.world, openings) if self.mouths else None
                frame = self.camera.shoot(window, world)
                for overlay in self.overlays[state]:
                    overlay.apply(frame)
                frame.flags.writeable = False
                previous = (window, state, openings)
            yield frame
