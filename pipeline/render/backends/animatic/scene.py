"""A shot's picture, painted once: the backdrop through the shot's lens, the figures, name tags,
an insert's card and a point of view's vignette."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from PIL import Image

from ....core.models import Setting, ShotType, TimeOfDay
from .. import LocationRef, VideoRequest
from .backdrops import paint_backdrop
from .canvas import SUPERSAMPLE, Canvas, world_margins
from .figures import Pen, draw_figure
from .fonts import Fonts
from .framing import FRAMINGS, Figure
from .text import label, paint_insert_card, text_size


@lru_cache(maxsize=16)
def shot_backdrop(
    location: LocationRef, setting: Setting, time_of_day: TimeOfDay, width: int, height: int,
    shot_type: ShotType,
) -> Image.Image:  # fmt: skip
    """The backdrop through this shot's lens: magnified and softened for closer framings."""
    world = paint_backdrop(location, setting, time_of_day, width, height)
    framing = FRAMINGS[shot_type]
    if framing.lens == 1.0 and framing.soften == 1:
        return world
    mx, my = world_margins(width, height)
    fx, fy = mx + 0.5 * width, my + 0.45 * height  # the point that stays put
    left, top = fx * (1 - 1 / framing.lens), fy * (1 - 1 / framing.lens)
    box = (left, top, left + world.width / framing.lens, top + world.height / framing.lens)
    magnified = world.resize(world.size, Image.BILINEAR, box=box)
    small = (max(1, world.width // framing.soften), max(1, world.height // framing.soften))
    return magnified.resize(small, Image.BILINEAR).resize(world.size, Image.BILINEAR)


def paint_scene(
    request: VideoRequest, figures: list[Figure], fonts: Fonts, name_tags: bool
) -> np.ndarray:
    """The world image of a shot: backdrop, figures, name tags (and an insert's card)."""
    backdrop = shot_backdrop(
        request.location, request.setting, request.time_of_day, request.width, request.height,
        request.shot_type,
    )  # fmt: skip
    # Figures are drawn at twice the size over a pixel-doubled backdrop, which the reduction
    # gives back exactly: only the figures' edges are smoothed.
    doubled = backdrop.resize(
        (backdrop.width * SUPERSAMPLE, backdrop.height * SUPERSAMPLE), Image.NEAREST
    )
    c = Canvas.over(doubled, request.width, request.height, SUPERSAMPLE)
    for figure in figures:
        draw_figure(Pen(c.draw, c.x(figure.x), c.y(figure.y), figure.head * c.scale), figure)
    world = c.finish()
    if name_tags:
        for figure in figures:
            _paste_name_tag(world, figure, request, fonts)
    if request.shot_type == ShotType.INSERT:
        paint_insert_card(world, request, fonts)
    pixels = np.asarray(world)
    if request.shot_type == ShotType.POV:
        pixels = (pixels * _vignette(request.width, request.height)).astype(np.uint8)
    return pixels


def _paste_name_tag(
    world: Image.Image, figure: Figure, request: VideoRequest, fonts: Fonts
) -> None:
    """The name above the head, kept inside the frame and below the caption."""
    size = text_size(request.width, request.height, 0.028, 8)
    tag = label(figure.character.name, fonts, size, figure.look.top)
    mx, my = world_margins(request.width, request.height)
    x = figure.x * request.width - tag.width / 2
    y = figure.y * request.height - 0.62 * figure.head - tag.height
    x = min(max(x, 0.03 * request.width), 0.97 * request.width - tag.width)
    y = min(max(y, 0.07 * request.height), 0.7 * request.height)
    world.paste(tag, (round(mx + x), round(my + y)), tag)


@lru_cache(maxsize=4)
def _vignette(width: int, height: int) -> np.ndarray:
    """Darkened edges around the frame: a point of view through someone's eyes."""
    mx, my = world_margins(width, height)
    ys = (np.arange(height + 2 * my) - my - height / 2) / (height / 2)
    xs = (np.arange(width + 2 * mx) - mx - width / 2) / (width / 2)
    distance = np.sqrt(ys[:, None] ** 2 + xs[None, :] ** 2) / math.sqrt(2)
    shade = np.clip(1.15 - 0.9 * distance**2, 0.25, 1.0).astype(np.float32)
    return shade[:, :, None]
