"""Storyboard figures, drawn in head units around the head's centre.

Every fill of the clothes and hair is exactly the look's colour, whatever the light (shading uses
other colours): the audit finds a character in a frame by the colours of `character_signature`.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import ImageDraw

from .colour import BLACK, RGB, WHITE, Colour, mix, scale
from .framing import Figure
from .looks import CharacterLook

SHOES: RGB = (40, 36, 36)
EYES: RGB = (44, 32, 30)
FRAMES: RGB = (30, 30, 34)  # of glasses
MOUTH: RGB = (58, 22, 28)  # inside an open mouth
HAIR_MASSES = {  # the hair around and behind the face, per style
    "short": (-0.43, -0.56, 0.43, 0.22),
    "bun": (-0.43, -0.56, 0.43, 0.22),
    "ponytail": (-0.43, -0.56, 0.43, 0.22),
    "long": (-0.47, -0.58, 0.47, 0.5),
    "curly": (-0.56, -0.7, 0.56, 0.32),
}


@dataclass(frozen=True)
class Pen:
    """Draws in head units around a figure's head centre (x right, y down, 1 = head height), so
    the figure is the same at any size; x pairs may come in either order (mirrored parts)."""

    draw: ImageDraw.ImageDraw
    cx: float
    cy: float
    u: float  # head height in canvas pixels

    def box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        left, right = sorted((x0, x1))
        return (
            self.cx + left * self.u,
            self.cy + y0 * self.u,
            self.cx + right * self.u,
            self.cy + y1 * self.u,
        )

    def points(self, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(self.cx + x * self.u, self.cy + y * self.u) for x, y in points]

    def width(self, share: float) -> int:
        return max(1, round(share * self.u))

    def ellipse(self, x0: float, y0: float, x1: float, y1: float, fill: Colour) -> None:
        self.draw.ellipse(self.box(x0, y0, x1, y1), fill=fill)

    def ring(
        self, x0: float, y0: float, x1: float, y1: float, colour: Colour, width: float
    ) -> None:
        self.draw.ellipse(self.box(x0, y0, x1, y1), outline=colour, width=self.width(width))

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: Colour) -> None:
        self.draw.rectangle(self.box(x0, y0, x1, y1), fill=fill)

    def rounded(
        self, x0: float, y0: float, x1: float, y1: float, radius: float, fill: Colour
    ) -> None:
        self.draw.rounded_rectangle(self.box(x0, y0, x1, y1), radius=radius * self.u, fill=fill)

    def polygon(self, points: list[tuple[float, float]], fill: Colour) -> None:
        self.draw.polygon(self.points(points), fill=fill)

    def line(self, points: list[tuple[float, float]], fill: Colour, width: float) -> None:
        self.draw.line(self.points(points), fill=fill, width=self.width(width))

    def chord(
        self, box: tuple[float, float, float, float], start: int, end: int, fill: Colour
    ) -> None:
        self.draw.chord(self.box(*box), start, end, fill=fill)

    def arc(
        self,
        box: tuple[float, float, float, float],
        start: int,
        end: int,
        fill: Colour,
        width: float,
    ) -> None:
        self.draw.arc(self.box(*box), start, end, fill=fill, width=self.width(width))


def draw_figure(pen: Pen, figure: Figure) -> None:
    """A storyboard figure, about 7 heads tall. Every fill of the clothes and hair is exactly the
    look's colour (shading uses other colours), so the signature can be found in any frame."""
    look = figure.look
    pen.ellipse(-1.25, 6.65, 1.25, 6.95, (0, 0, 0, 60))  # shadow on the ground
    if look.hair_style == "long" and look.head_cover != "scarf":
        pen.rounded(-0.5, -0.3, 0.5, 1.7, 0.35, look.hair)
    _draw_body(pen, look)
    if look.hood:
        pen.ellipse(-0.56, 0.42, 0.56, 1.1, scale(look.top, 0.82))
    pen.rect(-0.15, 0.3, 0.15, 0.85, scale(look.skin, 0.86))  # neck
    if figure.from_behind:
        _draw_head_from_behind(pen, look)
        return
    if not (look.hood or look.dress):
        pen.polygon([(-0.2, 0.72), (0.2, 0.72), (0, 1.2)], look.accent)  # the shirt at the collar
    if look.headphones:
        pen.arc((-0.42, 0.42, 0.42, 1.02), 15, 165, scale(look.accent, 0.5), 0.09)
    _draw_head(pen, look, figure.turn)


def _draw_body(pen: Pen, look: CharacterLook) -> None:
    b = look.build
    shoulder, hip = 0.98 * b, 0.78 * b
    if look.dress:
        for side in (-1, 1):
            pen.rect(side * 0.1, 3.2, side * 0.34, 6.55, look.skin)
        pen.polygon([(-0.72 * b, 3.0), (0.72 * b, 3.0), (b, 4.9), (-b, 4.9)], look.top)
    else:
        for side in (-1, 1):
            pen.rounded(side * 0.03, 3.2, side * 0.5 * b, 6.6, 0.12, look.bottom)
    for side in (-1, 1):
        pen.rounded(side * 0.02, 6.45, side * 0.56 * b, 6.8, 0.1, SHOES)
        pen.rounded(
            side * (shoulder + 0.22),
            0.85,
            side * (shoulder - 0.24),
            3.5,
            0.22,
            scale(look.top, 0.8),
        )
        pen.ellipse(side * (shoulder + 0.2), 3.35, side * (shoulder - 0.22), 3.8, look.skin)
    pen.rounded(-shoulder, 0.72, shoulder, 1.7, 0.36, look.top)
    pen.polygon([(-shoulder, 1.2), (shoulder, 1.2), (hip, 3.45), (-hip, 3.45)], look.top)
    if "top" in look.patterned:
        _draw_pattern(pen, (-hip, 1.0, hip, 3.3), mix(look.top, WHITE, 0.55))


def _draw_head(pen: Pen, look: CharacterLook, turn: int) -> None:
    t = turn * 0.05  # a face turned aside sits off the centre of the head
    if look.head_cover == "scarf":
        pen.ellipse(-0.5, -0.62, 0.5, 0.62, look.headwear)
        pen.polygon([(-0.5, 0.0), (0.5, 0.0), (0.64, 0.95), (-0.64, 0.95)], look.headwear)
        if "headwear" in look.patterned:
            _draw_pattern(pen, (-0.55, -0.55, 0.55, 0.9), mix(look.headwear, WHITE, 0.6))
        pen.ellipse(-0.3 + t, -0.36, 0.3 + t, 0.48, look.skin)
    else:
        _draw_hair_mass(pen, look, turn)
        if turn == 0:
            for side in (-1, 1):
                pen.ellipse(side * 0.33, -0.06, side * 0.43, 0.16, scale(look.skin, 0.9))  # ears
        pen.ellipse(-0.37 + t, -0.45, 0.37 + t, 0.5, look.skin)
        if look.hair_style != "bald":
            pen.chord((-0.41 + t, -0.56, 0.41 + t, 0.18), 180, 360, look.hair)  # the fringe
        if turn and look.hair_style != "bald":
            pen.ellipse(-turn * 0.08, -0.5, -turn * 0.42, 0.25, look.hair)  # the back of the head
        if look.head_cover == "hat":
            _draw_hat(pen, look)
    _draw_face(pen, look, turn)


def _draw_hair_mass(pen: Pen, look: CharacterLook, turn: int) -> None:
    if look.hair_style == "bald":
        return
    pen.ellipse(*HAIR_MASSES[look.hair_style], look.hair)
    if look.hair_style == "bun":
        pen.ellipse(-0.19, -0.86, 0.19, -0.48, look.hair)
    if look.hair_style == "ponytail":
        back = -turn or 1
        pen.ellipse(back * 0.3, -0.3, back * 0.62, 0.7, look.hair)


def _draw_hat(pen: Pen, look: CharacterLook) -> None:
    pen.rounded(-0.38, -0.8, 0.38, -0.22, 0.15, look.headwear)
    pen.rect(-0.56, -0.3, 0.56, -0.2, look.headwear)


def _draw_head_from_behind(pen: Pen, look: CharacterLook) -> None:
    if look.head_cover == "scarf":
        colour = look.headwear
    else:
        colour = look.skin if look.hair_style == "bald" else look.hair
    if look.hair_style in ("long", "curly") and look.head_cover != "scarf":
        pen.ellipse(-0.5, -0.6, 0.5, 0.6, colour)
    pen.ellipse(-0.41, -0.52, 0.41, 0.5, colour)
    if look.head_cover == "hat":
        _draw_hat(pen, look)


def _draw_face(pen: Pen, look: CharacterLook, turn: int) -> None:
    detailed = pen.u >= 90  # canvas pixels: a smaller face gets dots for eyes
    shift = turn * 0.1
    for side in (-1, 1):
        ex = side * 0.14 + shift
        if detailed:
            iris = ex + shift * 0.3
            pen.ellipse(ex - 0.085, -0.05, ex + 0.085, 0.05, (246, 244, 238))
            pen.ellipse(iris - 0.048, -0.048, iris + 0.048, 0.048, (70, 52, 40))
            pen.ellipse(iris - 0.022, -0.022, iris + 0.022, 0.022, BLACK)
            pen.line([(ex - 0.09, -0.12), (ex + 0.09, -0.135)], scale(look.hair, 0.7), 0.03)
        else:
            pen.ellipse(ex - 0.045, -0.055, ex + 0.045, 0.055, EYES)
        if look.glasses:
            pen.ring(ex - 0.12, -0.09, ex + 0.12, 0.09, FRAMES, 0.025)
    if look.glasses:
        pen.line([(shift - 0.02, 0.0), (shift + 0.02, 0.0)], FRAMES, 0.025)
    nose, mouth = turn * 0.14, turn * 0.1
    if look.beard:  # round the jaw and over the lip, under the mouth that moves
        pen.chord((-0.37 + shift * 0.5, -0.1, 0.37 + shift * 0.5, 0.56), 0, 180, look.beard)
        pen.ellipse(mouth - 0.15, 0.2, mouth + 0.15, 0.33, look.beard)
    pen.ellipse(nose - 0.04, 0.15, nose + 0.04, 0.21, scale(look.skin, 0.8))
    lips = _lips(look)
    if detailed:
        pen.chord((mouth - 0.1, 0.24, mouth + 0.1, 0.34), 0, 180, lips)
    else:
        pen.line([(mouth - 0.08, 0.29), (mouth + 0.08, 0.29)], lips, 0.03)


def _lips(look: CharacterLook) -> RGB:
    return mix(scale(look.skin, 0.7), (170, 60, 60), 0.35)


def mouth_area(turn: int) -> tuple[float, float, float, float]:
    """The part of the face (head units) a moving mouth draws over, open as wide as it goes."""
    mouth = turn * 0.1
    return (mouth - 0.16, 0.2, mouth + 0.16, 0.5)


def draw_open_mouth(pen: Pen, look: CharacterLook, turn: int, openness: float) -> None:
    """The mouth open by `openness` (0..1 of its widest) over the closed one of `_draw_face`:
    lips around a dark opening that deepens with the voice."""
    mouth, depth = turn * 0.1, 0.04 + 0.12 * openness
    half = 0.09 + 0.015 * openness
    pen.ellipse(mouth - half, 0.245, mouth + half, 0.29 + depth, _lips(look))
    pen.ellipse(mouth - half + 0.025, 0.262, mouth + half - 0.025, 0.275 + depth, MOUTH)


def _draw_pattern(pen: Pen, area: tuple[float, float, float, float], colour: RGB) -> None:
    """Staggered dots over an area: a floral or patterned fabric, at storyboard detail."""
    x0, y0, x1, y1 = area
    step = 0.16
    for row in range(round((y1 - y0) / step)):
        for col in range(round((x1 - x0) / step)):
            x, y = x0 + (col + 0.25 + 0.5 * (row % 2)) * step, y0 + (row + 0.5) * step
            pen.ellipse(x - 0.03, y - 0.03, x + 0.03, y + 0.03, colour)
