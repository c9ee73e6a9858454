"""The world image a shot is painted on, addressed in frame units.

The world is the frame plus a margin on every side, for camera moves. Pillow draws without
anti-aliasing, so backdrops and figures are painted at SUPERSAMPLE times the size and reduced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from .colour import RGB, Colour

SUPERSAMPLE = 2
MARGIN = 0.1  # the painted world extends this share of the frame beyond each edge, for camera moves
LEFT, RIGHT = -MARGIN, 1 + MARGIN  # the world's edges, in frame units
BOTTOM = 1 + MARGIN


def world_margins(width: int, height: int) -> tuple[int, int]:
    return round(MARGIN * width), round(MARGIN * height)


@dataclass(frozen=True)
class Canvas:
    """A world image (the frame plus a margin on every side, for camera moves), painted in
    frame units: (0, 0) is the frame's top-left corner and (1, 1) its bottom-right. Radii and
    widths are shares of the frame's shorter side, so shapes keep their proportions in 9:16 and
    16:9 alike."""

    image: Image.Image
    draw: ImageDraw.ImageDraw
    scale: int  # canvas pixels per frame pixel
    frame_w: int
    frame_h: int

    @classmethod
    def for_frame(cls, width: int, height: int, scale: int = SUPERSAMPLE) -> Canvas:
        mx, my = world_margins(width, height)
        world = Image.new("RGB", ((width + 2 * mx) * scale, (height + 2 * my) * scale))
        return cls.over(world, width, height, scale)

    @classmethod
    def over(cls, image: Image.Image, width: int, height: int, scale: int) -> Canvas:
        """A canvas on an existing world image; translucent fills blend into it."""
        return cls(image, ImageDraw.Draw(image, "RGBA"), scale, width, height)

    def x(self, fx: float) -> float:
        return self.scale * (world_margins(self.frame_w, self.frame_h)[0] + fx * self.frame_w)

    def y(self, fy: float) -> float:
        return self.scale * (world_margins(self.frame_w, self.frame_h)[1] + fy * self.frame_h)

    def u(self, share: float) -> float:
        """A length, given as a share of the frame's shorter side, in canvas pixels."""
        return self.scale * share * min(self.frame_w, self.frame_h)

    def ux(self, share: float) -> float:
        """The same length in frame widths (for stepping along x)."""
        return share * min(self.frame_w, self.frame_h) / self.frame_w

    def uy(self, share: float) -> float:
        return share * min(self.frame_w, self.frame_h) / self.frame_h

    def box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        return (self.x(x0), self.y(y0), self.x(x1), self.y(y1))

    def rect(
        self,
        x0: float,
        y0: float,
        x1: float,
        y1: float,
        fill: Colour,
        outline: Colour | None = None,
    ) -> None:
        self.draw.rectangle(
            self.box(x0, y0, x1, y1), fill=fill, outline=outline, width=self.scale * 2
        )

    def disc(self, fx: float, fy: float, radius: float, fill: Colour) -> None:
        x, y, r = self.x(fx), self.y(fy), self.u(radius)
        self.draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)

    def line(self, points: list[tuple[float, float]], fill: Colour, width: float) -> None:
        xy = [(self.x(fx), self.y(fy)) for fx, fy in points]
        self.draw.line(xy, fill=fill, width=max(1, round(self.u(width))))

    def polygon(self, points: list[tuple[float, float]], fill: Colour) -> None:
        self.draw.polygon([(self.x(fx), self.y(fy)) for fx, fy in points], fill=fill)

    def gradient(self, box: tuple[float, float, float, float], top: RGB, bottom: RGB) -> None:
        """Fill a box (canvas pixels) with a vertical gradient."""
        width, height = self.image.size
        x0, y0 = max(0, round(box[0])), max(0, round(box[1]))
        x1, y1 = min(width, round(box[2])), min(height, round(box[3]))
        if x1 <= x0 or y1 <= y0:
            return
        t = np.linspace(0.0, 1.0, y1 - y0)[:, None]
        column = (np.array(top) * (1 - t) + np.array(bottom) * t).round().astype(np.uint8)
        block = Image.fromarray(column[:, None, :]).resize((x1 - x0, y1 - y0), Image.NEAREST)
        self.image.paste(block, (x0, y0))

    def band(self, y0: float, y1: float, top: RGB, bottom: RGB) -> None:
        """A gradient across the whole width, from y0 to y1 (frame units)."""
        self.gradient(self.box(LEFT, y0, RIGHT, y1), top, bottom)

    def glow(self, fx: float, fy: float, radius: float, colour: RGB, strength: int) -> None:
        """A soft halo of concentric translucent discs."""
        for ring in range(6, 0, -1):
            self.disc(fx, fy, radius * (1 + ring * 0.55), (*colour, strength // (ring + 1)))

    def finish(self) -> Image.Image:
        return self.image.reduce(self.scale) if self.scale > 1 else self.image
