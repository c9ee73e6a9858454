"""How characters and places look, and the light of each time of day.

A character's colours, hair, build and accessories come from colour and garment words in its
description (English or Chinese; composed from the bible's fields), the rest from a hash of its
id alone, so editing one phrase changes one trait; a location's
hue and motif come from its id, name and description. All are pure functions of that text, so a
look is the same in every shot and every run.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from functools import lru_cache

from ....core.models import TimeOfDay
from .. import LocationRef
from .colour import RGB, WHITE, hsv, mix, scale
from .fonts import needs_cjk


def seeded_rng(*parts: str) -> random.Random:
    """A generator seeded from text: the same ids and descriptions draw the same choices in every
    process (Python's own `hash` is salted per process)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


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
    "platinum": (232, 230, 216), "fluorescent": (206, 236, 44),
}  # fmt: skip
HI_VIS = re.compile(r"\bhi(?:gh)?[- ]?vis(?:ibility)?\b")  # a hi-vis jacket is fluorescent yellow
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
        "peacoat raincoat oilskin "
        "kimono qipao cheongsam apron".split(),
        "top",
    ),
    **dict.fromkeys("jeans trousers pants skirt shorts leggings slacks chinos".split(), "bottom"),
    **dict.fromkeys("hair haired braid braids ponytail bun curls afro bob mohawk".split(), "hair"),
    **dict.fromkeys("headscarf hijab turban bandana hat cap beanie beret".split(), "headwear"),
    **dict.fromkeys("skin skinned complexion".split(), "skin"),
    **dict.fromkeys("beard bearded".split(), "beard"),
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
BEARD_WORDS = ("beard", "bearded", "胡子", "胡须")
MALE_WORDS = ("man", "boy", "男")  # as the composed appearance says it: '58-year-old man'
# Hair a man is rarely drawn with unless the plan says so: he gets short hair instead.
LONG_STYLES = {"long", "bun", "ponytail"}
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
    beard: RGB | None  # a beard's colour; None: none
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
    hash of the id, so it is the same in every shot and every run."""
    return character_look(character_id, description).signature


@lru_cache(maxsize=256)
def character_look(character_id: str, description: str) -> CharacterLook:
    text = HI_VIS.sub("fluorescent", description.lower())
    # The traits the description does not name are drawn from the id alone, always in the same
    # order: an edit to one phrase ("grey hoodie" -> "red hoodie") changes that trait only.
    rng = seeded_rng("character", character_id)
    hashed = {
        "top": hsv(rng.random(), rng.uniform(0.45, 0.75), rng.uniform(0.55, 0.85)),
        "bottom": rng.choice(BOTTOMS),
        "hair": rng.choice(NATURAL_HAIR),
        "skin": rng.choice(SKIN_TONES),
        "headwear": hsv(rng.random(), rng.uniform(0.4, 0.7), rng.uniform(0.6, 0.9)),
    }
    accent, build, style = (
        hsv(rng.random(), 0.65, 0.85),
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
        hair_style=_hair_style(text) or ("short" if style in LONG_STYLES and _mentions(text, MALE_WORDS) else style),
        beard=_beard(text, colours),
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
        return scale(colour, 0.62)
    if previous_word in {"light", "pale", "pastel", "baby"}:
        return mix(colour, WHITE, 0.45)
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


def _beard(text: str, colours: dict[str, RGB]) -> RGB | None:
    """The beard's colour: its own colour word ('grey beard'), else the hair's."""
    return colours.get("beard", colours["hair"]) if _mentions(text, BEARD_WORDS) else None


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
        hue=seeded_rng("location", location.id, location.description).random(),
        motif=next((m for m, words in motifs.items() if _mentions(text, words)), default),
        rain=exterior and _mentions(text, RAIN_WORDS),  # rain does not fall indoors
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
