"""The `animatic` video backend: a procedural storyboard previs that needs no weights and no GPU.

Each shot is painted once with Pillow: a backdrop that is a pure function of the location and the
light of the scene, figures that are a pure function of each character's id and description, name
tags, and a text layer per subtitle state. The frames are then cut from that painting with cheap
numpy work (a crop of a canvas larger than the frame for pans, tilts and handheld shake, a
nearest-neighbour resize for push-ins), so making them costs less than the x264 encode that
follows (bench/animatic_speed.py). Nothing is drawn per frame: a speaking mouth is one of a few
patches painted once per shot (mouths.py).

Pillow draws without anti-aliasing, so backdrops and figures are painted at twice the size and
reduced. Figures keep the exact colours of `character_signature` in their fills, whatever the
light: the audit finds a character in a frame by those colours.
"""

from .backdrops import FLOORS, HORIZONS, MOTIF_PAINTERS, WINDOW_LAMP, Place, paint_backdrop
from .backend import AnimaticVideo
from .camera import PUSH_ZOOM, Camera, Overlay, PaintedShot, Window
from .canvas import BOTTOM, LEFT, MARGIN, RIGHT, SUPERSAMPLE, Canvas, world_margins
from .colour import BLACK, RGB, WHITE, Colour
from .figures import EYES, FRAMES, HAIR_MASSES, SHOES, Pen
from .fonts import (
    CJK_FONT_PATHS,
    CJK_INSTALL_HINT,
    LATIN_FONT_PATHS,
    Font,
    Fonts,
    MissingFontError,
    cjk_font,
    needs_cjk,
    system_cjk_font,
    system_latin_font,
    wrap_text,
)
from .framing import (
    CLOSE_GROUPS,
    FEET_BELOW_HEAD_CENTRE,
    FRAMINGS,
    SIDE,
    TURN,
    Figure,
    Framing,
    place_figures,
)
from .looks import (
    BOTTOMS,
    BROAD_WORDS,
    CHILD_WORDS,
    CJK_COLOURS,
    CJK_GARMENT_SLOTS,
    COLOUR_WORDS,
    DRESS_WORDS,
    EXTERIOR_MOTIFS,
    GARMENT_SLOTS,
    GLASSES_WORDS,
    GREY_HAIR,
    HAIR_ONLY_COLOURS,
    HAIR_STYLE_WORDS,
    HAIR_STYLES,
    HAT_WORDS,
    HEADPHONES_WORDS,
    HOOD_WORDS,
    INTERIOR_MOTIFS,
    JEANS_WORDS,
    LIGHTS,
    LONG_HAIR,
    NATURAL_HAIR,
    NEON_WORDS,
    OLD_WORDS,
    PATTERN_WORDS,
    RAIN_WORDS,
    SCARF_WORDS,
    SKIN_TONES,
    SKIN_WORDS,
    SLIM_WORDS,
    CharacterLook,
    Light,
    LocationLook,
    character_look,
    character_signature,
    location_look,
)
from .scene import paint_scene, shot_backdrop
from .text import paint_title_card

# Every public name of the module this package was split from, importable as before.
__all__ = [
    "BLACK", "BOTTOM", "BOTTOMS", "BROAD_WORDS", "CHILD_WORDS", "CJK_COLOURS",
    "CJK_FONT_PATHS", "CJK_GARMENT_SLOTS", "CJK_INSTALL_HINT", "CLOSE_GROUPS", "COLOUR_WORDS",
    "DRESS_WORDS", "EXTERIOR_MOTIFS", "EYES", "FEET_BELOW_HEAD_CENTRE", "FLOORS", "FRAMES",
    "FRAMINGS", "GARMENT_SLOTS", "GLASSES_WORDS", "GREY_HAIR", "HAIR_MASSES",
    "HAIR_ONLY_COLOURS", "HAIR_STYLES", "HAIR_STYLE_WORDS", "HAT_WORDS", "HEADPHONES_WORDS",
    "HOOD_WORDS", "HORIZONS", "INTERIOR_MOTIFS", "JEANS_WORDS", "LATIN_FONT_PATHS", "LEFT",
    "LIGHTS", "LONG_HAIR", "MARGIN", "MOTIF_PAINTERS", "NATURAL_HAIR", "NEON_WORDS",
    "OLD_WORDS", "PATTERN_WORDS", "PUSH_ZOOM", "RAIN_WORDS", "RGB", "RIGHT", "SCARF_WORDS",
    "SHOES", "SIDE", "SKIN_TONES", "SKIN_WORDS", "SLIM_WORDS", "SUPERSAMPLE", "TURN", "WHITE",
    "WINDOW_LAMP", "AnimaticVideo", "Camera", "Canvas", "CharacterLook", "Colour", "Figure",
    "Font", "Fonts", "Framing", "Light", "LocationLook", "MissingFontError", "Overlay",
    "PaintedShot", "Pen", "Place", "Window", "character_look", "character_signature", "cjk_font",
    "location_look", "needs_cjk", "paint_backdrop", "paint_scene", "paint_title_card",
    "place_figures", "shot_backdrop", "system_cjk_font", "system_latin_font", "world_margins",
    "wrap_text",
]  # fmt: skip
