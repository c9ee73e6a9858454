"""The `animatic` video backend: a procedural storyboard previs that needs no weights and no GPU.

Each shot is painted once with Pillow: a backdrop that is a pure function of the location and the
light of the scene, figures that are a pure function of each character's id and description, name
tags, and a text layer per subtitle state. The frames are then cut from that painting with cheap
numpy work (a crop of a canvas larger than the frame for pans, tilts and handheld shake, a
nearest-neighbour resize for push-ins), so making them costs less than the x264 encode that
follows (bench/animatic_speed.py). Nothing is drawn per frame.

Pillow draws without anti-aliasing, so backdrops and figures are painted at twice the size and
reduced. Figures keep the exact colours of `character_signature` in their fills, whatever the
light: the audit finds a character in a frame by those colours.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
import random
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import RenderError
from ..models import CameraMove, Facing, ScreenPosition, Setting, ShotType, TimeOfDay
from . import (
    Availability,
    Capabilities,
    CharacterRef,
    LocationRef,
    Subtitle,
    VideoFrames,
    VideoRequest,
)

RGB = tuple[int, int, int]
Colour = tuple[int, ...]  # RGB, or RGBA for a translucent fill
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

SUPERSAMPLE = 2
MARGIN = 0.1  # the painted world extends this share of the frame beyond each edge, for camera moves
PUSH_ZOOM = 1.18  # magnification at the end of a push-in (and start of a pull-out)
WHITE: RGB = (255, 255, 255)
BLACK: RGB = (0, 0, 0)


# --- fonts ---------------------------------------------------------------------------------------

CJK_FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)
LATIN_FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
)
CJK_INSTALL_HINT = (
    "install a CJK font (`apt-get install fonts-wqy-zenhei` or fonts-noto-cjk) "
    "or set the animatic option `font` to a font file that has the glyphs"
)
_CJK_RANGES = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
_CJK = re.compile(f"[{_CJK_RANGES}]")
# A CJK character, a run of other non-space characters (a word), or a run of spaces.
_WRAP_TOKEN = re.compile(f"[{_CJK_RANGES}]|[^\\s{_CJK_RANGES}]+|\\s+")
_NO_LINE_START = set("，。、；：？！）」』】》,.;:?!)…")


class MissingFontError(LookupError):
    """Text needs glyphs that no font on this machine has."""


def needs_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


@lru_cache(maxsize=1)
def system_cjk_font() -> str | None:
    """A font file with Chinese glyphs: a known path first, else what fontconfig lists for zh."""
    known = next((path for path in CJK_FONT_PATHS if Path(path).is_file()), None)
    fc_list = shutil.which("fc-list")
    if known or fc_list is None:
        return known
    listed = subprocess.run(
        [fc_list, ":lang=zh", "file"], capture_output=True, text=True, check=False, timeout=30
    )
    paths = sorted(line.split(":")[0].strip() for line in listed.stdout.splitlines() if ":" in line)
    return paths[0] if paths else None


@lru_cache(maxsize=1)
def system_latin_font() -> str | None:
    return next((path for path in LATIN_FONT_PATHS if Path(path).is_file()), None)


@lru_cache(maxsize=64)
def _load_font(path: str | None, size: int) -> Font:
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size)


@dataclass(frozen=True)
class Fonts:
    """Which font file draws which text: CJK text in a CJK font, the rest in DejaVu Sans (Pillow's
    own font when that is missing too), or one override file for everything."""

    latin: str | None
    cjk: str | None

    @classmethod
    def find(cls, override: str | None) -> Fonts:
        if override:
            return cls(override, override)
        return cls(system_latin_font(), system_cjk_font())

    def get(self, text: str, size: int) -> Font:
        if not needs_cjk(text):
            return _load_font(self.latin or self.cjk, size)
        if self.cjk is None:
            raise MissingFontError(
                f"no font with Chinese glyphs to draw {text[:24]!r}: {CJK_INSTALL_HINT}"
            )
        return _load_font(self.cjk, size)


def wrap_text(text: str, font: Font, max_width: float) -> list[str]:
    """Greedy wrap: breaks between words and between any two CJK characters (CJK has no spaces),
    and never starts a line with closing punctuation."""
    lines: list[str] = []
    line = ""
    for token in _wrap_tokens(text, font, max_width):
        if token.isspace():
            line += " " if line else ""
        elif (
            line.strip()
            and token[0] not in _NO_LINE_START
            and font.getlength(line + token) > max_width
        ):
            lines.append(line.rstrip())
            line = token
        else:
            line += token
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _wrap_tokens(text: str, font: Font, max_width: float) -> Iterator[str]:
    for token in _WRAP_TOKEN.findall(text):
        if len(token) > 1 and not token.isspace() and font.getlength(token) > max_width:
            yield from token  # a word wider than a line breaks anywhere
        else:
            yield token


# --- colour and hashing -----------------------------------------------------------------------


def _rng(*parts: str) -> random.Random:
    """A generator seeded from text: the same ids and descriptions draw the same choices in every
    process (Python's own `hash` is salted per process)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _hsv(hue: float, saturation: float, value: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return (round(r * 255), round(g * 255), round(b * 255))


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    red, green, blue = (round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return (red, green, blue)


def _scale(colour: RGB, factors: float | tuple[float, float, float]) -> RGB:
    """The colour times a factor (a light level), per channel if given three."""
    if isinstance(factors, float | int):
        factors = (factors, factors, factors)
    red, green, blue = (min(255, round(c * f)) for c, f in zip(colour, factors, strict=True))
    return (red, green, blue)


def _luma(colour: RGB) -> float:
    return 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]


def _readable_on_dark(colour: RGB) -> RGB:
    """The colour lightened until it reads on a dark subtitle box."""
    return colour if _luma(colour) >= 130 else _mix(colour, WHITE, 0.45)


# --- characters: a stable look from id and description ------------------------------------------

COLOUR_WORDS: dict[str, RGB] = {
    "black": (30, 30, 34), "white": (236, 236, 230), "grey": (128, 131, 138),
    "gray": (128, 131, 138), "silver": (200, 204, 212), "charcoal": (60, 62, 68),
    "red": (198, 40, 44), "crimson": (168, 22, 52), "maroon": (112, 30, 42),
    "burgundy": (116, 26, 46), "orange": (238, 122, 30), "amber": (240, 170, 40),
    "yellow": (238, 206, 52), "mustard": (204, 164, 42), "gold": (214, 172, 62),
    "golden": (214, 172, 62), "green": (54, 150, 74), "olive": (112, 116, 52),
    "teal": (32, 140, 142), "turquoise": (52, 190, 190), "cyan": (62, 200, 220),
    "blue": (46, 94, 200), "navy": (32, 42, 92), "denim": (72, 102, 150),
    "purple": (122, 62, 162), "violet": (142, 92, 202), "lavender": (182, 162, 222),
    "pink": (236, 132, 172), "magenta": (202, 42, 152), "brown": (112, 74, 46),
    "tan": (202, 162, 112), "beige": (216, 196, 162), "cream": (240, 230, 202),
    "khaki": (190, 176, 122), "blonde": (232, 202, 122), "blond": (232, 202, 122),
    "auburn": (142, 62, 36), "ginger": (202, 102, 42), "copper": (186, 102, 52),
    "platinum": (232, 230, 216),
}  # fmt: skip
HAIR_ONLY_COLOURS = {"blonde", "blond", "auburn", "ginger", "platinum"}
SKIN_WORDS: dict[str, RGB] = {
    "pale": (242, 214, 192), "fair": (238, 204, 178), "freckled": (232, 196, 168),
    "olive": (204, 160, 118), "tan": (198, 148, 104), "tanned": (198, 148, 104),
    "brown": (150, 100, 66), "dark": (104, 68, 46),
}  # fmt: skip
PATTERN_WORDS = {"floral", "striped", "plaid", "checked", "checkered", "polka", "patterned"}
GARMENT_SLOTS: dict[str, str] = {
    **dict.fromkeys(
        "jacket coat hoodie sweater jumper shirt tshirt tee blouse dress suit blazer cardigan vest "
        "uniform top parka windbreaker scrubs gown robe overalls sweatshirt tracksuit trenchcoat "
        "kimono qipao cheongsam apron".split(),
        "top",
    ),
    **dict.fromkeys("jeans trousers pants skirt shorts leggings slacks chinos".split(), "bottom"),
    **dict.fromkeys("hair haired braid braids ponytail bun curls afro bob mohawk".split(), "hair"),
    **dict.fromkeys("headscarf hijab turban bandana hat cap beanie beret".split(), "headwear"),
    **dict.fromkeys("skin skinned complexion".split(), "skin"),
}
CJK_COLOURS: dict[str, RGB] = {
    "藏青": COLOUR_WORDS["navy"], "咖啡": COLOUR_WORDS["brown"], "米色": COLOUR_WORDS["beige"],
    "黑": COLOUR_WORDS["black"], "白": COLOUR_WORDS["white"], "灰": COLOUR_WORDS["grey"],
    "银": COLOUR_WORDS["silver"], "红": COLOUR_WORDS["red"], "橙": COLOUR_WORDS["orange"],
    "橘": COLOUR_WORDS["orange"], "黄": COLOUR_WORDS["yellow"], "金": COLOUR_WORDS["blonde"],
    "绿": COLOUR_WORDS["green"], "青": COLOUR_WORDS["teal"], "蓝": COLOUR_WORDS["blue"],
    "紫": COLOUR_WORDS["purple"], "粉": COLOUR_WORDS["pink"], "棕": COLOUR_WORDS["brown"],
    "褐": COLOUR_WORDS["brown"],
}  # fmt: skip
CJK_GARMENT_SLOTS: dict[str, str] = {
    **dict.fromkeys(
        "连衣裙 夹克 外套 大衣 衬衫 卫衣 毛衣 T恤 t恤 西装 校服 制服 风衣 上衣 旗袍 背心".split(),
        "top",
    ),
    **dict.fromkeys("裤 裙子 短裙 长裙".split(), "bottom"),
    **dict.fromkeys("头巾 帽".split(), "headwear"),
    "发": "hair",
}  # fmt: skip
# A colour, then up to four characters of the same phrase, then the garment: "橙色工作夹克".
_CJK_DESCRIBED = re.compile(
    f"({'|'.join(CJK_COLOURS)})色?[^，,。；;、\\s]{{0,4}}?"
    f"({'|'.join(sorted(CJK_GARMENT_SLOTS, key=len, reverse=True))})"
)
NATURAL_HAIR: tuple[RGB, ...] = (
    (28, 24, 24), (58, 40, 30), (96, 64, 40), (142, 62, 36), (214, 180, 110),
)  # fmt: skip
GREY_HAIR: RGB = (196, 198, 204)
SKIN_TONES: tuple[RGB, ...] = (
    (240, 206, 180), (226, 184, 150), (204, 156, 118), (172, 122, 86), (132, 88, 60), (96, 64, 44),
)  # fmt: skip
BOTTOMS: tuple[RGB, ...] = (  # navy, charcoal, denim, khaki, black, brown
    (40, 48, 78), (58, 60, 66), (72, 102, 150), (188, 172, 124), (34, 34, 38), (96, 70, 52),
)  # fmt: skip
HAIR_STYLES = ("short", "short", "long", "long", "bun", "ponytail", "curly")
# Words for the same thing in English (whole words) and Chinese (anywhere in the text).
HAIR_STYLE_WORDS = {  # the first style mentioned in this order wins
    "bald": ("bald", "shaved", "光头"),
    "ponytail": ("ponytail", "马尾"),
    "bun": ("bun", "topknot", "发髻", "丸子头"),
    "curly": ("curly", "afro", "curls", "卷发"),
    "long": ("braid", "braids", "长发"),
    "short": ("cropped", "buzz", "buzzed", "pixie", "crew", "short", "短发"),
}
LONG_HAIR = re.compile(r"\b(long|flowing)\b[^,;.]*\bhair")
SCARF_WORDS = ("headscarf", "hijab", "turban", "bandana", "头巾")
HAT_WORDS = ("hat", "cap", "beanie", "beret", "帽")
GLASSES_WORDS = ("glasses", "spectacles", "eyeglasses", "眼镜")
HEADPHONES_WORDS = ("headphones", "earphones", "headset", "耳机")
HOOD_WORDS = ("hoodie", "hooded", "hood", "卫衣")
DRESS_WORDS = ("dress", "gown", "qipao", "cheongsam", "连衣裙", "旗袍")
JEANS_WORDS = ("jeans", "牛仔裤")
BROAD_WORDS = ("broad", "burly", "stocky", "heavyset", "muscular", "big", "bulky", "魁梧", "壮")
SLIM_WORDS = ("slim", "slender", "thin", "petite", "lanky", "skinny", "wiry", "瘦", "苗条")
OLD_WORDS = ("elderly", "old", "grandmother", "grandfather", "grandma", "grandpa",
             "老人", "老太", "奶奶", "爷爷", "老头", "年迈")  # fmt: skip
CHILD_WORDS = ("child", "kid", "toddler", "小孩", "孩子", "儿童")


def _mentions(text: str, words: tuple[str, ...]) -> bool:
    """Whether lower-case text names any of the words: English as whole words (a plural too),
    Chinese anywhere, since Chinese has no spaces between words."""
    return any(w in text if needs_cjk(w) else re.search(rf"\b{w}s?\b", text) for w in words)


@dataclass(frozen=True)
class CharacterLook:
    """How the animatic draws one character; a pure function of (id, description)."""

    top: RGB
    bottom: RGB
    hair: RGB
    skin: RGB
    accent: RGB
    headwear: RGB
    head_cover: str | None  # "scarf" hides the hair, "hat" sits on it
    hair_style: str  # short, long, bun, ponytail, curly, bald
    patterned: frozenset[str]  # slots with a pattern, e.g. {"headwear"} for a floral headscarf
    build: float  # shoulder width factor
    height: float  # figure height factor; children are smaller
    glasses: bool
    headphones: bool
    hood: bool
    dress: bool

    @property
    def signature(self) -> tuple[RGB, RGB, RGB]:
        """(top, head, bottom): the flat colours that identify the figure in any shot."""
        return (self.top, self.headwear if self.head_cover == "scarf" else self.hair, self.bottom)


def character_signature(character_id: str, description: str) -> tuple[RGB, RGB, RGB]:
    """The colours the animatic paints a character with, as (top, head, bottom): the clothes on
    the torso, the hair (or a headscarf hiding it), and the trousers or skirt. Colour words in the
    description ("orange jacket", "silver hair", "灰色卫衣") decide them; the rest comes from a
    hash of the id and description, so it is the same in every shot and every run."""
    return character_look(character_id, description).signature


@lru_cache(maxsize=256)
def character_look(character_id: str, description: str) -> CharacterLook:
    text = description.lower()
    rng = _rng("character", character_id, description)
    hashed = {
        "top": _hsv(rng.random(), rng.uniform(0.45, 0.75), rng.uniform(0.55, 0.85)),
        "bottom": rng.choice(BOTTOMS),
        "hair": rng.choice(NATURAL_HAIR),
        "skin": rng.choice(SKIN_TONES),
        "headwear": _hsv(rng.random(), rng.uniform(0.4, 0.7), rng.uniform(0.6, 0.9)),
    }
    accent, build, style = (
        _hsv(rng.random(), 0.65, 0.85),
        rng.uniform(0.92, 1.08),
        rng.choice(HAIR_STYLES),
    )
    age = _age(text)
    if age >= 60:
        hashed["hair"] = GREY_HAIR
    if _mentions(text, JEANS_WORDS):
        hashed["bottom"] = COLOUR_WORDS["denim"]
    described, patterned = _described_colours(text)
    colours = hashed | described
    head_cover = (
        "scarf" if _mentions(text, SCARF_WORDS) else "hat" if _mentions(text, HAT_WORDS) else None
    )
    return CharacterLook(
        top=colours["top"],
        bottom=colours["bottom"],
        hair=colours["hair"],
        skin=colours["skin"],
        accent=accent,
        headwear=colours["headwear"],
        head_cover=head_cover,
        hair_style=_hair_style(text) or style,
        patterned=frozenset(patterned),
        build=_build(text) or build,
        height=0.72 if age < 13 else 1.04 if _mentions(text, ("tall", "高个")) else 1.0,
        glasses=_mentions(text, GLASSES_WORDS),
        headphones=_mentions(text, HEADPHONES_WORDS),
        hood=_mentions(text, HOOD_WORDS),
        dress=_mentions(text, DRESS_WORDS),
    )  # fmt: skip


def _described_colours(text: str) -> tuple[dict[str, RGB], set[str]]:
    """Slot -> colour from phrases like "oversized orange work jacket", and the patterned slots."""
    colours: dict[str, RGB] = {}
    patterned: set[str] = set()
    tokens = re.findall(r"[a-z]+|[,;.()/]", text)
    for i, word in enumerate(tokens):
        if word not in COLOUR_WORDS and word not in SKIN_WORDS and word not in PATTERN_WORDS:
            continue
        slot = _slot_after(tokens, i) or ("hair" if word in HAIR_ONLY_COLOURS else None)
        if slot is None:
            continue
        if word in PATTERN_WORDS:
            patterned.add(slot)
        elif slot == "skin" and word in SKIN_WORDS:
            colours.setdefault(slot, SKIN_WORDS[word])
        elif slot != "skin" and word in COLOUR_WORDS:
            colours.setdefault(slot, _modified(COLOUR_WORDS[word], tokens[i - 1] if i else ""))
    for colour, noun in _CJK_DESCRIBED.findall(text):
        colours.setdefault(CJK_GARMENT_SLOTS[noun], CJK_COLOURS[colour])
    return colours, patterned


def _slot_after(tokens: list[str], i: int) -> str | None:
    """The garment slot named within three words after a descriptor, within its clause."""
    for noun in tokens[i + 1 : i + 4]:
        if noun in GARMENT_SLOTS:
            return GARMENT_SLOTS[noun]
        if noun in COLOUR_WORDS or not noun.isalpha():
            return None
    return None


def _modified(colour: RGB, previous_word: str) -> RGB:
    if previous_word in {"dark", "deep"}:
        return _scale(colour, 0.62)
    if previous_word in {"light", "pale", "pastel", "baby"}:
        return _mix(colour, WHITE, 0.45)
    return colour


def _age(text: str) -> int:
    """From "60s", "19" or "十九岁"-style digits, else from words like "elderly"; 30 otherwise."""
    decade = re.search(r"\b(\d)0s\b", text)
    if decade:
        return int(decade.group(1)) * 10
    years = re.search(r"\b(\d{1,2})\b|(\d{1,2})岁", text)
    if years:
        return int(years.group(1) or years.group(2))
    if _mentions(text, OLD_WORDS):
        return 70
    return 8 if _mentions(text, CHILD_WORDS) else 30


def _build(text: str) -> float | None:
    if _mentions(text, BROAD_WORDS):
        return 1.18
    return 0.86 if _mentions(text, SLIM_WORDS) else None


def _hair_style(text: str) -> str | None:
    for style, words in HAIR_STYLE_WORDS.items():
        if _mentions(text, words) or (style == "long" and LONG_HAIR.search(text)):
            return style
    return None


# --- locations: a stable place from id and description ------------------------------------------

EXTERIOR_MOTIFS = {
    "rooftop": ("rooftop", "roof", "天台", "屋顶", "楼顶"),
    "street": ("street", "alley", "road", "avenue", "sidewalk", "crosswalk", "街", "巷", "马路"),
    "park": ("park", "garden", "forest", "woods", "meadow", "公园", "花园", "树林", "森林"),
    "water": ("beach", "sea", "ocean", "lake", "river", "harbor", "harbour", "pier",
              "海", "湖", "河", "码头"),
}  # fmt: skip
INTERIOR_MOTIFS = {
    "kitchen": ("kitchen", "厨房"),
    "stairwell": ("stairwell", "stairs", "staircase", "stairway", "landing", "楼梯"),
}
RAIN_WORDS = ("rain", "rainy", "raining", "storm", "drizzle", "downpour", "雨")
NEON_WORDS = ("neon", "arcade", "nightclub", "霓虹")


@dataclass(frozen=True)
class LocationLook:
    """How the animatic paints one place; a pure function of the location and its setting."""

    key: str
    hue: float
    motif: str  # rooftop, street, park, water, city; kitchen, stairwell, room
    rain: bool
    neon: bool


def location_look(location: LocationRef, exterior: bool) -> LocationLook:
    text = f"{location.name} {location.description}".lower()
    motifs = EXTERIOR_MOTIFS if exterior else INTERIOR_MOTIFS
    default = "city" if exterior else "room"
    return LocationLook(
        key=f"{location.id}\x1f{location.description}",
        hue=_rng("location", location.id, location.description).random(),
        motif=next((m for m, words in motifs.items() if _mentions(text, words)), default),
        rain=_mentions(text, RAIN_WORDS),
        neon=_mentions(text, NEON_WORDS),
    )


@dataclass(frozen=True)
class Light:
    """The light of a time of day: the sky, and what it does to surfaces out- and indoors."""

    sky_top: RGB
    sky_horizon: RGB
    outdoor: tuple[float, float, float]
    indoor: tuple[float, float, float]
    windows_lit: float  # share of city windows with a lamp on
    celestial: str | None  # "moon" or "low-sun"

    @property
    def lamps_on(self) -> bool:
        return self.windows_lit > 0.2


LIGHTS = {
    TimeOfDay.DAY: Light(
        (96, 158, 226), (200, 224, 246), (1.0, 1.0, 1.0), (1.0, 0.98, 0.95), 0.04, None
    ),
    TimeOfDay.DAWN: Light(
        (74, 94, 158), (250, 186, 150), (0.86, 0.76, 0.74), (0.84, 0.78, 0.74), 0.25, "low-sun"
    ),
    TimeOfDay.DUSK: Light(
        (54, 44, 110), (242, 134, 86), (0.72, 0.58, 0.58), (0.78, 0.66, 0.58), 0.4, "low-sun"
    ),
    TimeOfDay.NIGHT: Light(
        (8, 12, 30), (34, 44, 86), (0.30, 0.34, 0.50), (0.50, 0.46, 0.42), 0.55, "moon"
    ),
    TimeOfDay.UNSPECIFIED: Light(
        (146, 162, 184), (208, 214, 222), (0.9, 0.9, 0.92), (0.92, 0.9, 0.88), 0.1, None
    ),
}
WINDOW_LAMP: RGB = (255, 214, 140)
HORIZONS = {"rooftop": 0.62, "street": 0.56, "park": 0.6, "water": 0.55, "city": 0.66}
FLOORS = {"kitchen": 0.72, "stairwell": 0.78, "room": 0.7}
LEFT, RIGHT = -MARGIN, 1 + MARGIN  # the world's edges, in frame units
BOTTOM = 1 + MARGIN


# --- painting -----------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Place:
    """One backdrop being painted: the canvas, the location's colours, the light of the hour, and
    the random choices (seeded by the location) that make it this place."""

    c: Canvas
    colours: dict[str, RGB]
    light: Light
    rng: random.Random

    def outdoors(self, colour: RGB) -> RGB:
        return _scale(colour, self.light.outdoor)

    def indoors(self, colour: RGB) -> RGB:
        return _scale(colour, self.light.indoor)


@lru_cache(maxsize=8)
def paint_backdrop(
    location: LocationRef, setting: Setting, time_of_day: TimeOfDay, width: int, height: int
) -> Image.Image:
    """The place at this light, as a world image (frame plus margins). Cached: every shot in the
    location reuses it. Callers copy before drawing on it."""
    exterior = setting != Setting.INT
    look = location_look(location, exterior)
    rng = _rng("backdrop", look.key)
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
        "building": _hsv(look.hue, 0.22, 0.42),
        "wall": _hsv(look.hue, 0.18, 0.78),
        "floor": _hsv(look.hue + 0.08, 0.35, 0.42),
        "ground": _hsv(look.hue + 0.05, 0.12, 0.46),
        "paint": _hsv(look.hue + 0.1, 0.3, 0.52),
        "leaves": _hsv(0.27 + 0.08 * (look.hue - 0.5), 0.55, 0.42),
        "neon": _hsv(look.hue + 0.5, 0.85, 1.0),
        "neon2": _hsv(look.hue + 0.5 + rng.uniform(0.15, 0.3), 0.85, 1.0),
    }


def _paint_exterior(p: Place, look: LocationLook) -> None:
    horizon = HORIZONS[look.motif]
    tint = _hsv(look.hue, 0.5, 0.8)
    sky = _mix(p.light.sky_top, tint, 0.1), _mix(p.light.sky_horizon, tint, 0.12)
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
        facade = p.outdoors(_mix(p.colours["building"], _hsv(rng.random(), 0.2, 0.4), 0.3))
        c.rect(x, top, x + width, base + 0.005, facade)
        unlit = _mix(facade, p.outdoors(p.light.sky_horizon), 0.35)
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
    parapet = p.outdoors(_mix(p.colours["ground"], (150, 150, 150), 0.5))
    c.rect(LEFT, horizon - 0.03, RIGHT, horizon + 0.06, parapet)
    c.rect(LEFT, horizon - 0.035, RIGHT, horizon - 0.025, _scale(parapet, 1.25))
    gravel = p.outdoors(p.colours["ground"])
    c.band(horizon + 0.06, BOTTOM, gravel, _scale(gravel, 0.7))
    for _ in range(500):
        shade = _scale(gravel, rng.choice((0.75, 1.2)))
        c.disc(rng.uniform(LEFT, RIGHT), rng.uniform(horizon + 0.07, BOTTOM), 0.003, shade)
    stair_house = p.outdoors(p.colours["wall"])
    c.rect(-0.12, horizon - 0.2, 0.16, horizon + 0.06, _scale(stair_house, 0.7))
    c.rect(0.02, horizon - 0.14, 0.11, horizon + 0.06, _scale(stair_house, 0.45))
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
    facade = p.outdoors(_mix(p.colours["building"], p.colours["wall"], 0.3))
    for x0, x1, lamp in ((-0.12, 0.16, 0.24), (0.84, 1.12, 0.76)):
        c.rect(x0, -MARGIN, x1, horizon + 0.2, facade)
        _paint_windows(p, (x0, -0.1, x1, horizon + 0.12), _scale(facade, 0.7))
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
            rng.uniform(LEFT, RIGHT), horizon - 0.01, rng.uniform(0.04, 0.09), _scale(leaves, 0.75)
        )
    grass = p.outdoors((92, 150, 70))
    c.band(horizon, BOTTOM, grass, _scale(grass, 0.7))
    c.polygon(
        [(0.46, horizon), (0.54, horizon), (0.85, 1.2), (0.15, 1.2)], p.outdoors((196, 178, 140))
    )
    trunk = p.outdoors((92, 66, 44))
    for x in (rng.uniform(-0.05, 0.18), rng.uniform(0.82, 1.05)):
        c.rect(x - 0.015, 0.3, x + 0.015, horizon + 0.15, trunk)
        for _ in range(6):
            crown = (x + rng.uniform(-0.08, 0.08), rng.uniform(0.12, 0.32))
            c.disc(*crown, rng.uniform(0.08, 0.13), _scale(leaves, rng.uniform(0.85, 1.15)))


def _paint_water(p: Place, horizon: float) -> None:
    c, rng = p.c, p.rng
    sea = p.outdoors(_mix(p.light.sky_horizon, (30, 80, 120), 0.6))
    c.band(horizon, horizon + 0.2, _mix(sea, p.light.sky_horizon, 0.3), _scale(sea, 0.7))
    for _ in range(60):  # glints on the waves
        x, y = rng.uniform(LEFT, RIGHT), rng.uniform(horizon + 0.01, horizon + 0.19)
        c.line([(x, y), (x + 0.05, y)], (*_mix(sea, WHITE, 0.4), 120), 0.0015)
    sand = p.outdoors((214, 192, 150))
    c.band(horizon + 0.2, BOTTOM, sand, _scale(sand, 0.8))


def _paint_city(p: Place, horizon: float) -> None:
    _paint_skyline(p, horizon, 0.4)
    ground = p.outdoors(p.colours["ground"])
    p.c.band(horizon, BOTTOM, ground, _scale(ground, 0.75))
    _paint_joints(p.c, horizon, _scale(ground, 0.85), 8)


def _paint_joints(c: Canvas, top: float, colour: RGB, count: int) -> None:
    """The joints of a floor or pavement, closer together towards the back."""
    for k in range(1, count):
        y = top + (BOTTOM - top) * (k / count) ** 1.5
        c.line([(LEFT, y), (RIGHT, y)], colour, 0.0015)


def _paint_interior(p: Place, look: LocationLook) -> None:
    c = p.c
    floor_y = FLOORS[look.motif]
    wall = p.indoors(p.colours["wall"])
    c.band(-MARGIN, floor_y, _scale(wall, 0.82), wall)
    floor = p.indoors(p.colours["floor"])
    c.band(floor_y, BOTTOM, floor, _scale(floor, 0.7))
    _paint_joints(c, floor_y, _scale(floor, 0.8), 7)
    c.rect(LEFT, floor_y - 0.012, RIGHT, floor_y, _scale(wall, 0.6))  # the skirting board
    MOTIF_PAINTERS[look.motif](p, floor_y)
    if look.neon:
        _paint_neon(p, (0.1, 0.08, 0.9, 0.3))


def _paint_window(p: Place, x0: float, y0: float, x1: float, y1: float) -> None:
    """A window onto the sky of the hour, with a far skyline."""
    c, rng = p.c, p.rng
    frame = p.indoors(_mix(p.colours["wall"], WHITE, 0.3))
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
    p.c.rect(door_x, 0.24, door_x + 0.22, floor_y, p.indoors(_hsv(rng.random(), 0.3, 0.45)))
    p.c.disc(door_x + 0.18, 0.5, 0.008, (210, 180, 90))
    _paint_hanging_bulb(p, 0.5 + rng.uniform(-0.12, 0.12), 0.12)


def _paint_kitchen(p: Place, floor_y: float) -> None:
    c = p.c
    tiles = p.indoors(_mix(p.colours["wall"], WHITE, 0.35))
    c.rect(LEFT, 0.3, RIGHT, 0.53, tiles)
    for k in range(-3, 26):
        c.line([(k * 0.045, 0.3), (k * 0.045, 0.53)], _scale(tiles, 0.85), 0.0015)
    cabinet = p.indoors(p.colours["paint"])
    for k in range(6):
        x = -0.12 + k * 0.22
        c.rect(x, 0.06, x + 0.2, 0.28, cabinet, outline=_scale(cabinet, 0.7))
        c.rect(x, 0.56, x + 0.2, floor_y, cabinet, outline=_scale(cabinet, 0.7))
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
        c.rect(x0, y0, RIGHT, y0 + 0.065, _scale(concrete, 0.85 + 0.15 * (k % 2)))
        c.line([(x0, y0), (RIGHT, y0)], _scale(concrete, 1.2), 0.0015)
        if k % 2 == 0:
            c.line([(x0 + 0.04, y0), (x0 + 0.04, y0 - 0.18)], rail, 0.005)
    c.line([(0.28, floor_y + 0.02), (1.1, floor_y - 0.66)], rail, 0.01)
    c.rect(-0.05, 0.22, 0.18, floor_y, p.indoors(_hsv(p.rng.random(), 0.25, 0.4)))
    c.rect(0.03, 0.28, 0.1, 0.4, _scale(p.light.sky_horizon, 0.8))
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
            (_mix(colour, WHITE, 0.5), 0.006),
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


# --- framing: where figures stand and how big they are ------------------------------------------


@dataclass(frozen=True)
class Framing:
    head: float  # head height, as a share of _head_reference
    head_y: float  # head centre, as a share of the frame height (close shots)
    feet_y: float | None  # feet, as a share of the frame height (wide shots, instead of head_y)
    spread: float  # distance of the left and right positions from the centre, share of the width
    lens: float  # magnification of the backdrop: a close shot sees less of the place
    soften: int  # backdrop blur (a reduction factor): close shots have shallow focus


FRAMINGS = {
    ShotType.EWS: Framing(0.021, 0.0, 0.86, 0.26, 1.0, 1),
    ShotType.WS: Framing(0.072, 0.0, 0.93, 0.24, 1.0, 1),
    ShotType.MS: Framing(0.19, 0.32, None, 0.2, 1.15, 2),
    ShotType.MCU: Framing(0.28, 0.36, None, 0.18, 1.3, 3),
    ShotType.CU: Framing(0.4, 0.4, None, 0.18, 1.45, 3),
    ShotType.ECU: Framing(1.45, 0.47, None, 0.0, 1.6, 4),
    ShotType.OTS: Framing(0.25, 0.35, None, 0.14, 1.3, 3),
    ShotType.POV: Framing(0.19, 0.32, None, 0.2, 1.1, 2),
    ShotType.INSERT: Framing(0.0, 0.0, None, 0.0, 1.9, 5),
}
FEET_BELOW_HEAD_CENTRE = 6.85  # in head heights, for the figure that _draw_figure draws
CLOSE_GROUPS = (ShotType.MS, ShotType.MCU, ShotType.CU, ShotType.POV)
SIDE = {ScreenPosition.LEFT: -1, ScreenPosition.CENTER: 0, ScreenPosition.RIGHT: 1}
TURN = {Facing.LEFT: -1, Facing.CAMERA: 0, Facing.RIGHT: 1}


@dataclass(frozen=True)
class Figure:
    character: CharacterRef
    look: CharacterLook
    x: float  # head centre, share of the frame width
    y: float  # head centre, share of the frame height
    head: float  # head height in frame pixels
    turn: int  # -1 faces left, 0 the camera, 1 right
    from_behind: bool = False


def place_figures(request: VideoRequest) -> list[Figure]:
    """The figures of a shot, back to front, sized and placed by its framing."""
    if request.shot_type == ShotType.INSERT or not request.characters:
        return []
    if request.shot_type == ShotType.OTS:
        return _place_over_the_shoulder(request)
    if request.shot_type == ShotType.ECU:
        focal = _speaker(request) or request.characters[0]
        return [_figure(request, focal, 0.5, FRAMINGS[ShotType.ECU].head)]
    framing = FRAMINGS[request.shot_type]
    together = request.shot_type in CLOSE_GROUPS and len(request.characters) > 1
    spread = max(framing.spread, 0.25) if together else framing.spread
    xs = [_screen_x(request.characters, character, spread) for character in request.characters]
    head = framing.head
    if together:
        # Neighbours stand about two head heights apart: shoulders may touch, faces do not.
        gap = min(b - a for a, b in pairwise(sorted(xs))) * request.width
        head = max(0.4 * head, min(head, gap / 1.9 / _head_reference(request)))
    return [_figure(request, c, x, head) for c, x in zip(request.characters, xs, strict=True)]


def _screen_x(characters: list[CharacterRef], character: CharacterRef, spread: float) -> float:
    """Left, centre or right; characters sharing a position stand side by side there."""
    sharing = [c for c in characters if c.position == character.position]
    offset = (sharing.index(character) - (len(sharing) - 1) / 2) * max(spread, 0.12) * 0.6
    return 0.5 + SIDE[character.position] * spread + offset


def _head_reference(request: VideoRequest) -> float:
    """Head sizes are shares of this length: the frame height, or 1.45 x the width where that is
    less (a 9:16 frame), so that a close-up still fits across the frame."""
    return min(request.height, 1.45 * request.width)


def _figure(
    request: VideoRequest,
    character: CharacterRef,
    x: float,
    head: float,
    y: float | None = None,
    turn: int | None = None,
    from_behind: bool = False,
) -> Figure:
    """A character at x with a head of `head` (share of _head_reference). Unless y is given, wide
    shots stand the figure on the framing's feet line and closer ones put the head at its height."""
    framing = FRAMINGS[request.shot_type]
    look = character_look(character.id, character.description)
    head_px = head * _head_reference(request)
    if y is None and framing.feet_y is not None:
        head_px *= look.height
        y = framing.feet_y - FEET_BELOW_HEAD_CENTRE * head_px / request.height
    y = framing.head_y if y is None else y
    turn = TURN[character.facing] if turn is None else turn
    return Figure(character, look, x, y, head_px, turn, from_behind)


def _place_over_the_shoulder(request: VideoRequest) -> list[Figure]:
    """The speaker faces the camera; the listener's back and shoulder fill their side of the
    foreground."""
    speaker = _speaker(request) or request.characters[-1]
    framing = FRAMINGS[ShotType.OTS]
    others = [c for c in request.characters if c != speaker]
    if not others:
        return [_figure(request, speaker, 0.5, framing.head, turn=0)]
    listener = others[0]
    side = SIDE[listener.position] or (-SIDE[speaker.position] or -1)
    return [
        _figure(request, speaker, 0.5 - side * framing.spread, framing.head, turn=0),
        _figure(request, listener, 0.5 + side * 0.44, 0.42, y=0.55, turn=0, from_behind=True),
    ]


def _speaker(request: VideoRequest) -> CharacterRef | None:
    """The first character heard in the shot, matched by display name or id."""
    named = {c.name.casefold(): c for c in request.characters}
    named |= {c.id.casefold(): c for c in request.characters}
    heard = (named.get(cue.speaker.casefold()) for cue in request.subtitles)
    return next((c for c in heard if c is not None), None)


# --- figures ------------------------------------------------------------------------------------

SHOES: RGB = (40, 36, 36)
EYES: RGB = (44, 32, 30)
FRAMES: RGB = (30, 30, 34)  # of glasses
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


def _draw_figure(pen: Pen, figure: Figure) -> None:
    """A storyboard figure, about 7 heads tall. Every fill of the clothes and hair is exactly the
    look's colour (shading uses other colours), so the signature can be found in any frame."""
    look = figure.look
    pen.ellipse(-1.25, 6.65, 1.25, 6.95, (0, 0, 0, 60))  # shadow on the ground
    if look.hair_style == "long" and look.head_cover != "scarf":
        pen.rounded(-0.5, -0.3, 0.5, 1.7, 0.35, look.hair)
    _draw_body(pen, look)
    if look.hood:
        pen.ellipse(-0.56, 0.42, 0.56, 1.1, _scale(look.top, 0.82))
    pen.rect(-0.15, 0.3, 0.15, 0.85, _scale(look.skin, 0.86))  # neck
    if figure.from_behind:
        _draw_head_from_behind(pen, look)
        return
    if not (look.hood or look.dress):
        pen.polygon([(-0.2, 0.72), (0.2, 0.72), (0, 1.2)], look.accent)  # the shirt at the collar
    if look.headphones:
        pen.arc((-0.42, 0.42, 0.42, 1.02), 15, 165, _scale(look.accent, 0.5), 0.09)
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
            _scale(look.top, 0.8),
        )
        pen.ellipse(side * (shoulder + 0.2), 3.35, side * (shoulder - 0.22), 3.8, look.skin)
    pen.rounded(-shoulder, 0.72, shoulder, 1.7, 0.36, look.top)
    pen.polygon([(-shoulder, 1.2), (shoulder, 1.2), (hip, 3.45), (-hip, 3.45)], look.top)
    if "top" in look.patterned:
        _draw_pattern(pen, (-hip, 1.0, hip, 3.3), _mix(look.top, WHITE, 0.55))


def _draw_head(pen: Pen, look: CharacterLook, turn: int) -> None:
    t = turn * 0.05  # a face turned aside sits off the centre of the head
    if look.head_cover == "scarf":
        pen.ellipse(-0.5, -0.62, 0.5, 0.62, look.headwear)
        pen.polygon([(-0.5, 0.0), (0.5, 0.0), (0.64, 0.95), (-0.64, 0.95)], look.headwear)
        if "headwear" in look.patterned:
            _draw_pattern(pen, (-0.55, -0.55, 0.55, 0.9), _mix(look.headwear, WHITE, 0.6))
        pen.ellipse(-0.3 + t, -0.36, 0.3 + t, 0.48, look.skin)
    else:
        _draw_hair_mass(pen, look, turn)
        if turn == 0:
            for side in (-1, 1):
                pen.ellipse(side * 0.33, -0.06, side * 0.43, 0.16, _scale(look.skin, 0.9))  # ears
        pen.ellipse(-0.37 + t, -0.45, 0.37 + t, 0.5, look.skin)
        if look.hair_style != "bald":
            pen.chord((-0.41 + t, -0.56, 0.41 + t, 0.18), 180, 360, look.hair)  # the fringe
        if turn:
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
            pen.line([(ex - 0.09, -0.12), (ex + 0.09, -0.135)], _scale(look.hair, 0.7), 0.03)
        else:
            pen.ellipse(ex - 0.045, -0.055, ex + 0.045, 0.055, EYES)
        if look.glasses:
            pen.ring(ex - 0.12, -0.09, ex + 0.12, 0.09, FRAMES, 0.025)
    if look.glasses:
        pen.line([(shift - 0.02, 0.0), (shift + 0.02, 0.0)], FRAMES, 0.025)
    nose, mouth = turn * 0.14, turn * 0.1
    pen.ellipse(nose - 0.04, 0.15, nose + 0.04, 0.21, _scale(look.skin, 0.8))
    lips = _mix(_scale(look.skin, 0.7), (170, 60, 60), 0.35)
    if detailed:
        pen.chord((mouth - 0.1, 0.24, mouth + 0.1, 0.34), 0, 180, lips)
    else:
        pen.line([(mouth - 0.08, 0.29), (mouth + 0.08, 0.29)], lips, 0.03)


def _draw_pattern(pen: Pen, area: tuple[float, float, float, float], colour: RGB) -> None:
    """Staggered dots over an area: a floral or patterned fabric, at storyboard detail."""
    x0, y0, x1, y1 = area
    step = 0.16
    for row in range(round((y1 - y0) / step)):
        for col in range(round((x1 - x0) / step)):
            x, y = x0 + (col + 0.25 + 0.5 * (row % 2)) * step, y0 + (row + 0.5) * step
            pen.ellipse(x - 0.03, y - 0.03, x + 0.03, y + 0.03, colour)


# --- text layers --------------------------------------------------------------------------------


def _text_size(width: int, height: int, share: float, smallest: int) -> int:
    return max(smallest, round(share * min(width, height)))


def _line_height(font: Font) -> int:
    ascent, descent = font.getmetrics()
    return round((ascent + descent) * 1.12)


def _label(text: str, fonts: Fonts, size: int, stripe: RGB | None = None) -> Image.Image:
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


def _subtitle_box(
    cues: list[Subtitle], speaker_colours: dict[str, RGB], fonts: Fonts, width: int, height: int
) -> Image.Image:
    """The cues heard at one moment: each speaker's name in their colour above their words,
    wrapped to the frame, on one dark translucent box."""
    size = _text_size(width, height, 0.046, 10)
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


def _caption(request: VideoRequest, fonts: Fonts) -> Image.Image:
    text = f"{request.shot_id} · {request.shot_type} · {request.move}"
    return _label(text, fonts, _text_size(request.width, request.height, 0.024, 8))


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
    c.band(-MARGIN, BOTTOM, _hsv(hue, 0.5, 0.16), _hsv(hue, 0.4, 0.04))
    for y in (0.3, 0.7):
        c.line([(0.3, y), (0.7, y)], _hsv(hue, 0.45, 0.75), 0.004)
    size = _text_size(request.width, request.height, 0.075, 12)
    room = (request.width * 0.8, request.height * 0.36)
    _draw_text_block(
        c.draw, request.title_card or "", fonts, size, (c.x(0.5), c.y(0.5)), room, (242, 234, 214)
    )
    return np.asarray(c.image)


def _paint_insert_card(world: Image.Image, request: VideoRequest, fonts: Fonts) -> None:
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
    label_size = _text_size(request.width, request.height, 0.03, 8)
    c.draw.text(
        (c.x(0.5), card[1] + c.u(0.02)),
        "INSERT",
        font=fonts.get("INSERT", label_size),
        fill=(150, 60, 40),
        anchor="ma",
    )
    centre = ((card[0] + card[2]) / 2, (card[1] + card[3]) / 2 + label_size * 0.6)
    room = ((card[2] - card[0]) * 0.88, (card[3] - card[1]) * 0.7)
    size = _text_size(request.width, request.height, 0.05, 9)
    _draw_text_block(
        c.draw, request.action or request.prompt, fonts, size, centre, room, (40, 34, 30)
    )


# --- the shot's picture -------------------------------------------------------------------------


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
        _draw_figure(Pen(c.draw, c.x(figure.x), c.y(figure.y), figure.head * c.scale), figure)
    world = c.finish()
    if name_tags:
        for figure in figures:
            _paste_name_tag(world, figure, request, fonts)
    if request.shot_type == ShotType.INSERT:
        _paint_insert_card(world, request, fonts)
    pixels = np.asarray(world)
    if request.shot_type == ShotType.POV:
        pixels = (pixels * _vignette(request.width, request.height)).astype(np.uint8)
    return pixels


def _paste_name_tag(
    world: Image.Image, figure: Figure, request: VideoRequest, fonts: Fonts
) -> None:
    """The name above the head, kept inside the frame and below the caption."""
    size = _text_size(request.width, request.height, 0.028, 8)
    tag = _label(figure.character.name, fonts, size, figure.look.top)
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


# --- camera and overlays ------------------------------------------------------------------------

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

    def shoot(self, window: Window) -> np.ndarray:
        left, top, zoom = window
        if zoom == 1.0:
            return self.world[
                int(top) : int(top) + self.height, int(left) : int(left) + self.width
            ].copy()
        box = (left, top, left + self.width / zoom, top + self.height / zoom)
        # Pillow's nearest-neighbour resize measured twice as fast as a numpy gather here.
        return np.array(self.image.resize((self.width, self.height), Image.NEAREST, box=box))


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

    def frames(self) -> Iterator[np.ndarray]:
        """Read-only frames; consecutive identical frames (a static shot) share one array."""
        previous, frame = None, None
        for index, state in enumerate(self.states):
            window = self.camera.window(index, len(self.states))
            if (window, state) != previous:
                frame = self.camera.shoot(window)
                for overlay in self.overlays[state]:
                    overlay.apply(frame)
                frame.flags.writeable = False
                previous = (window, state)
            yield frame


# --- the backend --------------------------------------------------------------------------------


class AnimaticVideo:
    """Procedural previs: a stable backdrop per location, a stable figure per character, framing
    by shot type, camera moves, burned-in subtitles. No weights, no GPU; deterministic."""

    name = "animatic"
    version = "1"
    kind = "video"
    capabilities = Capabilities(seed=True, reference_image=False)
    extra = None

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")

        subtitles: bool = Field(True, description="Burn the dialogue subtitles into the picture.")
        caption: bool = Field(True, description="Show the shot id, framing and move in a corner.")
        name_tags: bool = Field(True, description="Label each figure with the character's name.")
        font: str | None = Field(
            None,
            description="Font file for all text; it must have the glyphs of the series' language. "
            "Default: a CJK system font for CJK text, DejaVu Sans Bold for the rest.",
        )

        @field_validator("font")
        @classmethod
        def _font_loads(cls, value: str | None) -> str | None:
            if value is not None:
                try:
                    ImageFont.truetype(value, 12)
                except OSError:
                    raise ValueError(f"cannot read font file {value}") from None
            return value

    def __init__(self, options: AnimaticVideo.Options) -> None:
        self.options = options

    @classmethod
    def availability(cls) -> Availability:
        if not features.check("freetype2"):
            reason = "Pillow was built without FreeType: pip install --force-reinstall pillow"
            return Availability(available=False, reason=reason)
        if system_cjk_font() is None:
            reason = f"no CJK font found, so Chinese text fails: {CJK_INSTALL_HINT}"
            return Availability(available=True, reason=reason)
        return Availability(available=True)

    def render(self, request: VideoRequest) -> VideoFrames:
        try:
            shot = self._paint(request)
        except MissingFontError as exc:
            raise RenderError(request.shot_id, self.name, str(exc)) from None
        return VideoFrames(
            frames=shot.frames(),
            width=request.width,
            height=request.height,
            fps=float(request.fps),
            num_frames=request.num_frames,
        )

    def _paint(self, request: VideoRequest) -> PaintedShot:
        """Everything drawn once, before the first frame: the picture and every text layer."""
        fonts = Fonts.find(self.options.font)
        if request.title_card is not None:
            world, move, focus = paint_title_card(request, fonts), CameraMove.STATIC, (0.5, 0.5)
        else:
            figures = place_figures(request)
            world, move = paint_scene(request, figures, fonts, self.options.name_tags), request.move
            focus = (_clamp(figures[0].x), _clamp(figures[0].y)) if figures else (0.5, 0.45)
        world.flags.writeable = False
        camera = Camera(
            world, Image.fromarray(world), request.width, request.height, move, request.fps,
            request.seed, focus,
        )  # fmt: skip
        cues = request.subtitles if self.options.subtitles else []
        states = [
            tuple(k for k, cue in enumerate(cues) if cue.start_frame <= i < cue.end_frame)
            for i in range(request.num_frames)
        ]
        overlays = {
            state: self._overlays(request, fonts, [cues[k] for k in state]) for state in set(states)
        }
        return PaintedShot(camera, states, overlays)

    def _overlays(self, request: VideoRequest, fonts: Fonts, cues: list[Subtitle]) -> list[Overlay]:
        width, height = request.width, request.height
        overlays = []
        if self.options.caption:
            margin = max(2, round(0.015 * min(width, height)))
            overlays.append(Overlay.place(_caption(request, fonts), margin, margin, width, height))
        if cues:
            colours = {
                c.name.casefold(): _readable_on_dark(character_look(c.id, c.description).top)
                for c in request.characters
            }
            box = _subtitle_box(cues, colours, fonts, width, height)
            left, top = (
                round((width - box.width) / 2),
                round(height * (0.9 if height > width else 0.95) - box.height),
            )
            overlays.append(Overlay.place(box, left, top, width, height))
        return overlays


def _clamp(share: float) -> float:
    """A push-in's focus, kept off the frame's edges so that it closes in on the frame's body."""
    return min(max(share, 0.2), 0.8)
