"""Backdrops: a place painted once per light, a pure function of the location and the time of day.

Outside: sky, sun or moon, and a motif (rooftop, street, park, water, city). Inside: wall and
floor, and a motif (room, kitchen, stairwell). Neon signs and rain on top where the location's
text names them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image

from ....core.models import Setting, TimeOfDay
from .. import LocationRef
from .canvas import BOTTOM, LEFT, MARGIN, RIGHT, Canvas
from .colour import RGB, WHITE, hsv, mix, scale
from .looks import LIGHTS, Light, LocationLook, location_look, seeded_rng

WINDOW_LAMP: RGB = (255, 214, 140)
HORIZONS = {"rooftop": 0.62, "street": 0.56, "park": 0.6, "water": 0.55, "city": 0.66}
FLOORS = {"kitchen": 0.72, "stairwell": 0.78, "room": 0.7}


@dataclass(frozen=True)
class Place:
    """One backdrop being painted: the canvas, the location's colours, the light of the hour, and
    the random choices (seeded by the location) that make it this place."""

    c: Canvas
    colours: dict[str, RGB]
    light: Light
    rng: random.Random

    def outdoors(self, colour: RGB) -> RGB:
        return scale(colour, self.light.outdoor)

    def indoors(self, colour: RGB) -> RGB:
        return scale(colour, self.light.indoor)


@lru_cache(maxsize=8)
def paint_backdrop(
    location: LocationRef, setting: Setting, time_of_day: TimeOfDay, width: int, height: int
) -> Image.Image:
    """The place at this light, as a world image (frame plus margins). Cached: every shot in the
    location reuses it. Callers copy before drawing on it."""
    exterior = setting != Setting.INT
    look = location_look(location, exterior)
    rng = seeded_rng("backdrop", look.key)
    place = Place(
        Canvas.for_frame(width, height), _location_colours(look, rng), LIGHTS[time_of_day], rng
    )
    if exterior:
        _paint_exterior(place, look)
    else:
        _paint_interior(place, look)
    if look.rain:
        _paint_rain(place)
    return place.c.finish()


def _location_colours(look: LocationLook, rng: random.Random) -> dict[str, RGB]:
    return {
        "building": hsv(look.hue, 0.22, 0.42),
        "wall": hsv(look.hue, 0.18, 0.78),
        "floor": hsv(look.hue + 0.08, 0.35, 0.42),
        "ground": hsv(look.hue + 0.05, 0.12, 0.46),
        "paint": hsv(look.hue + 0.1, 0.3, 0.52),
        "leaves": hsv(0.27 + 0.08 * (look.hue - 0.5), 0.55, 0.42),
        "neon": hsv(look.hue + 0.5, 0.85, 1.0),
        "neon2": hsv(look.hue + 0.5 + rng.uniform(0.15, 0.3), 0.85, 1.0),
    }


def _paint_exterior(p: Place, look: LocationLook) -> None:
    horizon = HORIZONS[look.motif]
    tint = hsv(look.hue, 0.5, 0.8)
    sky = mix(p.light.sky_top, tint, 0.1), mix(p.light.sky_horizon, tint, 0.12)
    p.c.band(-MARGIN, horizon + 0.02, *sky)
    _paint_sun_or_moon(p, horizon)
    MOTIF_PAINTERS[look.motif](p, horizon)
    if look.neon:
        _paint_neon(p, (0.02, 0.25, 0.98, 0.5))


def _paint_sun_or_moon(p: Place, horizon: float) -> None:
    c, rng = p.c, p.rng
    if p.light.celestial == "moon":
        for _ in range(140):
            star = (rng.uniform(LEFT, RIGHT), rng.uniform(-MARGIN, horizon - 0.05))
            c.disc(*star, rng.uniform(0.0015, 0.004), (230, 232, 255, 200))
        x = rng.uniform(0.15, 0.85)
        c.glow(x, 0.1, 0.05, (200, 210, 255), 60)
        c.disc(x, 0.1, 0.05, (240, 238, 222))
    elif p.light.celestial == "low-sun":
        x = rng.uniform(0.2, 0.8)
        c.glow(x, horizon - 0.04, 0.08, (255, 170, 90), 90)
        c.disc(x, horizon - 0.04, 0.08, (255, 196, 120))


def _paint_skyline(p: Place, base: float, tallest: float) -> None:
    """A row of buildings standing on `base`, with windows lit by the hour."""
    c, rng = p.c, p.rng
    x = LEFT
    while x < RIGHT:
        width = c.ux(rng.uniform(0.07, 0.16))
        top = base - rng.uniform(0.25, 1.0) * tallest
        facade = p.outdoors(mix(p.colours["building"], hsv(rng.random(), 0.2, 0.4), 0.3))
        c.rect(x, top, x + width, base + 0.005, facade)
        unlit = mix(facade, p.outdoors(p.light.sky_horizon), 0.35)
        _paint_windows(p, (x, top, x + width, base), unlit)
        x += width + c.ux(rng.uniform(0.0, 0.02))


def _paint_windows(p: Place, box: tuple[float, float, float, float], unlit: RGB) -> None:
    c = p.c
    step_x, step_y, w, h = c.ux(0.03), c.uy(0.036), c.ux(0.014), c.uy(0.018)
    y = box[1] + step_y * 0.6
    while y + h < box[3]:
        x = box[0] + step_x * 0.5
        while x + w < box[2] - step_x * 0.3:
            lit = p.rng.random() < p.light.windows_lit
            c.rect(x, y, x + w, y + h, WINDOW_LAMP if lit else unlit)
            x += step_x
        y += step_y


def _paint_rooftop(p: Place, horizon: float) -> None:
    c, rng = p.c, p.rng
    _paint_skyline(p, horizon, 0.3)
    parapet = p.outdoors(mix(p.colours["ground"], (150, 150, 150), 0.5))
    c.rect(LEFT, horizon - 0.03, RIGHT, horizon + 0.06, parapet)
    c.rect(LEFT, horizon - 0.035, RIGHT, horizon - 0.025, scale(parapet, 1.25))
    gravel = p.outdoors(p.colours["ground"])
    c.band(horizon + 0.06, BOTTOM, gravel, scale(gravel, 0.7))
    for _ in range(500):
        shade = scale(gravel, rng.choice((0.75, 1.2)))
        c.disc(rng.uniform(LEFT, RIGHT), rng.uniform(horizon + 0.07, BOTTOM), 0.003, shade)
    stair_house = p.outdoors(p.colours["wall"])
    c.rect(-0.12, horizon - 0.2, 0.16, horizon + 0.06, scale(stair_house, 0.7))
    c.rect(0.02, horizon - 0.14, 0.11, horizon + 0.06, scale(stair_house, 0.45))
    _paint_antenna(p, rng.uniform(0.72, 0.86), horizon + 0.06)


def _paint_antenna(p: Place, x: float, foot: float) -> None:
    steel = p.outdoors((120, 92, 70))
    p.c.line([(x, foot), (x, 0.16)], steel, 0.007)
    for y, half in ((0.2, 0.08), (0.27, 0.06), (0.33, 0.04)):
        p.c.line([(x - half, y), (x + half, y)], steel, 0.007)
    for dx in (-0.12, 0.12):
        p.c.line([(x, 0.22), (x + dx, foot)], steel, 0.0025)


def _paint_street(p: Place, horizon: float) -> None:
    c = p.c
    _paint_skyline(p, horizon, 0.22)
    c.rect(LEFT, horizon, RIGHT, BOTTOM, p.outdoors(p.colours["ground"]))
    c.polygon([(0.42, horizon), (0.58, horizon), (1.3, 1.2), (-0.3, 1.2)], p.outdoors((70, 72, 78)))
    marking = p.outdoors((230, 220, 170))
    for k in range(6):  # centre-line dashes, longer and wider as they come closer
        t0, t1 = k / 6, k / 6 + 0.07
        y0, y1 = horizon + (1.2 - horizon) * t0**1.6, horizon + (1.2 - horizon) * t1**1.6
        w0, w1 = 0.003 + 0.01 * t0, 0.003 + 0.01 * t1
        c.polygon([(0.5 - w0, y0), (0.5 + w0, y0), (0.5 + w1, y1), (0.5 - w1, y1)], marking)
    facade = p.outdoors(mix(p.colours["building"], p.colours["wall"], 0.3))
    for x0, x1, lamp in ((-0.12, 0.16, 0.24), (0.84, 1.12, 0.76)):
        c.rect(x0, -MARGIN, x1, horizon + 0.2, facade)
        _paint_windows(p, (x0, -0.1, x1, horizon + 0.12), scale(facade, 0.7))
        _paint_street_lamp(p, lamp, horizon + 0.24)


def _paint_street_lamp(p: Place, x: float, foot: float) -> None:
    pole = p.outdoors((60, 64, 70))
    p.c.line([(x, foot), (x, foot - 0.3)], pole, 0.008)
    if p.light.lamps_on:
        p.c.glow(x, foot - 0.3, 0.018, WINDOW_LAMP, 110)
    p.c.disc(x, foot - 0.3, 0.018, WINDOW_LAMP if p.light.lamps_on else pole)


def _paint_park(p: Place, horizon: float) -> None:
    c, rng = p.c, p.rng
    leaves = p.outdoors(p.colours["leaves"])
    for _ in range(40):  # the far tree line
        c.disc(
            rng.uniform(LEFT, RIGHT), horizon - 0.01, rng.uniform(0.04, 0.09), scale(leaves, 0.75)
        )
    grass = p.outdoors((92, 150, 70))
    c.band(horizon, BOTTOM, grass, scale(grass, 0.7))
    c.polygon(
        [(0.46, horizon), (0.54, horizon), (0.85, 1.2), (0.15, 1.2)], p.outdoors((196, 178, 140))
    )
    trunk = p.outdoors((92, 66, 44))
    for x in (rng.uniform(-0.05, 0.18), rng.uniform(0.82, 1.05)):
        c.rect(x - 0.015, 0.3, x + 0.015, horizon + 0.15, trunk)
        for _ in range(6):
            crown = (x + rng.uniform(-0.08, 0.08), rng.uniform(0.12, 0.32))
            c.disc(*crown, rng.uniform(0.08, 0.13), scale(leaves, rng.uniform(0.85, 1.15)))


def _paint_water(p: Place, horizon: float) -> None:
    c, rng = p.c, p.rng
    sea = p.outdoors(mix(p.light.sky_horizon, (30, 80, 120), 0.6))
    c.band(horizon, horizon + 0.2, mix(sea, p.light.sky_horizon, 0.3), scale(sea, 0.7))
    for _ in range(60):  # glints on the waves
        x, y = rng.uniform(LEFT, RIGHT), rng.uniform(horizon + 0.01, horizon + 0.19)
        c.line([(x, y), (x + 0.05, y)], (*mix(sea, WHITE, 0.4), 120), 0.0015)
    sand = p.outdoors((214, 192, 150))
    c.band(horizon + 0.2, BOTTOM, sand, scale(sand, 0.8))


def _paint_city(p: Place, horizon: float) -> None:
    _paint_skyline(p, horizon, 0.4)
    ground = p.outdoors(p.colours["ground"])
    p.c.band(horizon, BOTTOM, ground, scale(ground, 0.75))
    _paint_joints(p.c, horizon, scale(ground, 0.85), 8)


def _paint_joints(c: Canvas, top: float, colour: RGB, count: int) -> None:
    """The joints of a floor or pavement, closer together towards the back."""
    for k in range(1, count):
        y = top + (BOTTOM - top) * (k / count) ** 1.5
        c.line([(LEFT, y), (RIGHT, y)], colour, 0.0015)


def _paint_interior(p: Place, look: LocationLook) -> None:
    c = p.c
    floor_y = FLOORS[look.motif]
    wall = p.indoors(p.colours["wall"])
    c.band(-MARGIN, floor_y, scale(wall, 0.82), wall)
    floor = p.indoors(p.colours["floor"])
    c.band(floor_y, BOTTOM, floor, scale(floor, 0.7))
    _paint_joints(c, floor_y, scale(floor, 0.8), 7)
    c.rect(LEFT, floor_y - 0.012, RIGHT, floor_y, scale(wall, 0.6))  # the skirting board
    MOTIF_PAINTERS[look.motif](p, floor_y)
    if look.neon:
        _paint_neon(p, (0.1, 0.08, 0.9, 0.3))


def _paint_window(p: Place, x0: float, y0: float, x1: float, y1: float) -> None:
    """A window onto the sky of the hour, with a far skyline."""
    c, rng = p.c, p.rng
    frame = p.indoors(mix(p.colours["wall"], WHITE, 0.3))
    c.rect(x0 - 0.015, y0 - 0.012, x1 + 0.015, y1 + 0.012, frame)
    c.gradient(c.box(x0, y0, x1, y1), p.light.sky_top, p.light.sky_horizon)
    x = x0
    while x < x1:
        w = rng.uniform(0.03, 0.07)
        c.rect(
            x,
            rng.uniform(y0 + (y1 - y0) * 0.45, y1 - 0.02),
            min(x + w, x1),
            y1,
            p.outdoors(p.colours["building"]),
        )
        x += w + 0.005
    c.line([((x0 + x1) / 2, y0), ((x0 + x1) / 2, y1)], frame, 0.01)
    c.line([(x0, (y0 + y1) / 2), (x1, (y0 + y1) / 2)], frame, 0.01)


def _paint_room(p: Place, floor_y: float) -> None:
    rng = p.rng
    window_x = rng.choice((0.08, 0.56))
    _paint_window(p, window_x, 0.16, window_x + 0.34, 0.46)
    door_x = 0.7 if window_x < 0.5 else 0.06
    p.c.rect(door_x, 0.24, door_x + 0.22, floor_y, p.indoors(hsv(rng.random(), 0.3, 0.45)))
    p.c.disc(door_x + 0.18, 0.5, 0.008, (210, 180, 90))
    _paint_hanging_bulb(p, 0.5 + rng.uniform(-0.12, 0.12), 0.12)


def _paint_kitchen(p: Place, floor_y: float) -> None:
    c = p.c
    tiles = p.indoors(mix(p.colours["wall"], WHITE, 0.35))
    c.rect(LEFT, 0.3, RIGHT, 0.53, tiles)
    for k in range(-3, 26):
        c.line([(k * 0.045, 0.3), (k * 0.045, 0.53)], scale(tiles, 0.85), 0.0015)
    cabinet = p.indoors(p.colours["paint"])
    for k in range(6):
        x = -0.12 + k * 0.22
        c.rect(x, 0.06, x + 0.2, 0.28, cabinet, outline=scale(cabinet, 0.7))
        c.rect(x, 0.56, x + 0.2, floor_y, cabinet, outline=scale(cabinet, 0.7))
    c.rect(LEFT, 0.53, RIGHT, 0.565, p.indoors((214, 208, 196)))  # the worktop
    _paint_hanging_bulb(p, 0.5 + p.rng.uniform(-0.15, 0.15), 0.2)


def _paint_hanging_bulb(p: Place, x: float, drop: float) -> None:
    p.c.line([(x, -MARGIN), (x, drop)], (30, 30, 30), 0.0015)
    p.c.glow(x, drop + 0.015, 0.044, WINDOW_LAMP, 120 if p.light.lamps_on else 50)
    p.c.disc(x, drop + 0.015, 0.022, (255, 236, 186))


def _paint_stairwell(p: Place, floor_y: float) -> None:
    c = p.c
    c.rect(LEFT, 0.5, RIGHT, floor_y, p.indoors(p.colours["paint"]))  # the painted lower wall
    concrete, rail = p.indoors((150, 148, 144)), p.indoors((60, 62, 66))
    for k in range(11):  # a flight rising to the right
        x0, y0 = 0.25 + k * 0.075, floor_y + 0.2 - k * 0.065
        c.rect(x0, y0, RIGHT, y0 + 0.065, scale(concrete, 0.85 + 0.15 * (k % 2)))
        c.line([(x0, y0), (RIGHT, y0)], scale(concrete, 1.2), 0.0015)
        if k % 2 == 0:
            c.line([(x0 + 0.04, y0), (x0 + 0.04, y0 - 0.18)], rail, 0.005)
    c.line([(0.28, floor_y + 0.02), (1.1, floor_y - 0.66)], rail, 0.01)
    c.rect(-0.05, 0.22, 0.18, floor_y, p.indoors(hsv(p.rng.random(), 0.25, 0.4)))
    c.rect(0.03, 0.28, 0.1, 0.4, scale(p.light.sky_horizon, 0.8))
    c.glow(0.5, 0.035, 0.05, (220, 240, 255), 90)
    c.rect(0.3, 0.03, 0.7, 0.045, (236, 246, 255))  # the fluorescent tube


def _paint_neon(p: Place, area: tuple[float, float, float, float]) -> None:
    """Two neon signs somewhere in the area: a wide faint halo, a narrower one, the tube."""
    c, rng = p.c, p.rng
    for colour in (p.colours["neon"], p.colours["neon2"]):
        x, y = rng.uniform(area[0], area[2] - 0.2), rng.uniform(area[1], area[3] - 0.06)
        box = c.box(x, y, x + rng.uniform(0.12, 0.22), y + 0.05)
        for stroke, width in (
            ((*colour, 40), 0.03),
            ((*colour, 90), 0.016),
            (mix(colour, WHITE, 0.5), 0.006),
        ):
            c.draw.rounded_rectangle(box, radius=c.u(0.02), outline=stroke, width=round(c.u(width)))


def _paint_rain(p: Place) -> None:
    rng = p.rng
    for _ in range(360):
        x, y, length = (
            rng.uniform(LEFT, RIGHT),
            rng.uniform(-MARGIN, BOTTOM),
            rng.uniform(0.03, 0.07),
        )
        p.c.line([(x, y), (x - length * 0.2, y + length)], (210, 220, 240, 70), 0.0015)


MOTIF_PAINTERS: dict[str, Callable[[Place, float], None]] = {
    "rooftop": _paint_rooftop,
    "street": _paint_street,
    "park": _paint_park,
    "water": _paint_water,
    "city": _paint_city,
    "kitchen": _paint_kitchen,
    "stairwell": _paint_stairwell,
    "room": _paint_room,
}
