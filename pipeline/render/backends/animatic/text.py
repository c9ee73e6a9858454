"""Text drawn on a shot: name labels, the shot caption, subtitle boxes, title and insert cards."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from ....core.models import Setting
from .. import Subtitle, VideoRequest
from .canvas import BOTTOM, MARGIN, Canvas
from .colour import RGB, hsv
from .fonts import Font, Fonts, wrap_text
from .looks import location_look


def text_size(width: int, height: int, share: float, smallest: int) -> int:
    return max(smallest, round(share * min(width, height)))


def _line_height(font: Font) -> int:
    ascent, descent = font.getmetrics()
    return round((ascent + descent) * 1.12)


def label(text: str, fonts: Fonts, size: int, stripe: RGB | None = None) -> Image.Image:
    """A small rounded label: white text on a dark translucent plate, after a colour stripe."""
    font = fonts.get(text, size)
    pad = max(2, size // 3)
    stripe_w = max(2, size // 4) if stripe else 0
    text_x = pad + (stripe_w + pad // 2 if stripe else 0)
    width, height = round(font.getlength(text)) + text_x + pad, _line_height(font) + pad
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=pad, fill=(0, 0, 0, 150))
    if stripe:
        draw.rectangle(
            (pad // 2, pad // 2, pad // 2 + stripe_w - 1, height - 1 - pad // 2), fill=stripe
        )
    draw.text((text_x, pad // 2), text, font=font, fill=(250, 250, 250))
    return image


def subtitle_box(
    cues: list[Subtitle], speaker_colours: dict[str, RGB], fonts: Fonts, width: int, height: int
) -> Image.Image:
    """The cues heard at one moment: each speaker's name in their colour above their words,
    wrapped to the frame, on one dark translucent box."""
    size = text_size(width, height, 0.046, 10)
    pad = max(3, size // 2)
    rows: list[tuple[str, Font, RGB]] = []
    for cue in cues:
        if cue.speaker:
            colour = speaker_colours.get(cue.speaker.casefold(), (250, 220, 120))
            rows.append(
                (cue.speaker.upper(), fonts.get(cue.speaker, max(8, round(size * 0.7))), colour)
            )
        font = fonts.get(cue.text, size)
        rows += [
            (line, font, (250, 250, 250))
            for line in wrap_text(cue.text, font, width * 0.9 - 2 * pad)
        ]
    box_w = round(max((font.getlength(text) for text, font, _ in rows), default=0) + 2 * pad)
    box_h = sum(_line_height(font) for _, font, _ in rows) + 2 * pad
    image = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, box_w - 1, box_h - 1), radius=pad, fill=(0, 0, 0, 165))
    y = pad
    for text, font, colour in rows:
        draw.text((box_w / 2, y), text, font=font, fill=colour, anchor="ma")
        y += _line_height(font)
    return image


def caption(request: VideoRequest, fonts: Fonts) -> Image.Image:
    text = f"{request.shot_id} · {request.shot_type} · {request.move}"
    return label(text, fonts, text_size(request.width, request.height, 0.024, 8))


def _draw_text_block(
    draw: ImageDraw.ImageDraw, text: str, fonts: Fonts, size: int, centre: tuple[float, float],
    room: tuple[float, float], fill: RGB,
) -> None:  # fmt: skip
    """Text wrapped and centred in a room of (width, height) pixels, shrunk until it fits."""
    while True:
        font = fonts.get(text, size)
        lines = wrap_text(text, font, room[0])
        total = _line_height(font) * len(lines)
        if total <= room[1] or size <= 8:
            break
        size = max(8, round(size * 0.85))
    y = centre[1] - total / 2
    for line in lines:
        draw.text((centre[0], y), line, font=font, fill=fill, anchor="ma")
        y += _line_height(font)


def paint_title_card(request: VideoRequest, fonts: Fonts) -> np.ndarray:
    """A full-frame card: the text on a dark ground tinted with the location's hue."""
    hue = location_look(request.location, request.setting != Setting.INT).hue
    c = Canvas.for_frame(request.width, request.height, scale=1)
    c.band(-MARGIN, BOTTOM, hsv(hue, 0.5, 0.16), hsv(hue, 0.4, 0.04))
    for y in (0.3, 0.7):
        c.line([(0.3, y), (0.7, y)], hsv(hue, 0.45, 0.75), 0.004)
    size = text_size(request.width, request.height, 0.075, 12)
    room = (request.width * 0.8, request.height * 0.36)
    _draw_text_block(
        c.draw, request.title_card or "", fonts, size, (c.x(0.5), c.y(0.5)), room, (242, 234, 214)
    )
    return np.asarray(c.image)


def paint_insert_card(world: Image.Image, request: VideoRequest, fonts: Fonts) -> None:
    """A detail view: the action written on a card in the middle of the close, blurred place."""
    c = Canvas.over(world, request.width, request.height, scale=1)
    card = c.box(0.12, 0.3, 0.88, 0.62)
    shadow = (card[0] + c.u(0.01), card[1] + c.u(0.012), card[2] + c.u(0.01), card[3] + c.u(0.012))
    c.draw.rounded_rectangle(shadow, radius=c.u(0.02), fill=(0, 0, 0, 90))
    c.draw.rounded_rectangle(
        card,
        radius=c.u(0.02),
        fill=(244, 238, 222),
        outline=(60, 52, 44),
        width=max(1, round(c.u(0.004))),
    )
    label_size = text_size(request.width, request.height, 0.03, 8)
    c.draw.text(
        (c.x(0.5), card[1] + c.u(0.02)),
        "INSERT",
        font=fonts.get("INSERT", label_size),
        fill=(150, 60, 40),
        anchor="ma",
    )
    centre = ((card[0] + card[2]) / 2, (card[1] + card[3]) / 2 + label_size * 0.6)
    room = ((card[2] - card[0]) * 0.88, (card[3] - card[1]) * 0.7)
    size = text_size(request.width, request.height, 0.05, 9)
    _draw_text_block(
        c.draw, request.action or request.prompt, fonts, size, centre, room, (40, 34, 30)
    )
