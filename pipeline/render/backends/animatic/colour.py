"""Colour arithmetic for the painters: RGB from HSV, mixing two colours, scaling by a light."""

from __future__ import annotations

import colorsys

RGB = tuple[int, int, int]
Colour = tuple[int, ...]  # RGB, or RGBA for a translucent fill
WHITE: RGB = (255, 255, 255)
BLACK: RGB = (0, 0, 0)


def hsv(hue: float, saturation: float, value: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return (round(r * 255), round(g * 255), round(b * 255))


def mix(a: RGB, b: RGB, t: float) -> RGB:
    red, green, blue = (round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return (red, green, blue)


def scale(colour: RGB, factors: float | tuple[float, float, float]) -> RGB:
    """The colour times a factor (a light level), per channel if given three."""
    if isinstance(factors, float | int):
        factors = (factors, factors, factors)
    red, green, blue = (min(255, round(c * f)) for c, f in zip(colour, factors, strict=True))
    return (red, green, blue)


def _luma(colour: RGB) -> float:
    return 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]


def readable_on_dark(colour: RGB) -> RGB:
    """The colour lightened until it reads on a dark subtitle box."""
    return colour if _luma(colour) >= 130 else mix(colour, WHITE, 0.45)
