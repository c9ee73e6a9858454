"""Which font file draws which text (CJK glyphs or the rest), and where a line of text may break."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


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
    "microdrama depends on noto-cjk-sans-otc for one: `pip install noto-cjk-sans-otc`, or install a "
    "system CJK font (`apt-get install fonts-wqy-zenhei` or fonts-noto-cjk), or set the animatic option "
    "`font` to a font file that has the glyphs"
)
BUNDLED_CJK_FACE = 2  # Noto Sans CJK SC in the collection (JP, KR, SC, TC, HK, then the Mono faces)
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
def cjk_font() -> tuple[str, int] | None:
    """The font file (and face in it) that draws Chinese: the Noto Sans CJK collection from the
    noto-cjk-sans-otc wheel (OFL-1.1), the same on every machine, else a system font."""
    try:
        from noto_cjk_sans_otc import FONT_PATH
    except ImportError:
        FONT_PATH = None
    if FONT_PATH is not None and Path(str(FONT_PATH)).is_file():
        return str(FONT_PATH), BUNDLED_CJK_FACE
    system = system_cjk_font()
    return (system, 0) if system else None


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
def _load_font(path: str | None, size: int, face: int = 0) -> Font:
    return ImageFont.truetype(path, size, index=face) if path else ImageFont.load_default(size)


@dataclass(frozen=True)
class Fonts:
    """Which font file draws which text: CJK text in a CJK font, the rest in DejaVu Sans (Pillow's
    own font when that is missing too), or one override file for everything."""

    latin: str | None
    cjk: tuple[str, int] | None  # file and face

    @classmethod
    def find(cls, override: str | None) -> Fonts:
        if override:
            return cls(override, (override, 0))
        return cls(system_latin_font(), cjk_font())

    def get(self, text: str, size: int) -> Font:
        cjk = needs_cjk(text)
        if cjk and self.cjk is None:
            raise MissingFontError(f"no font with Chinese glyphs to draw {text[:24]!r}: {CJK_INSTALL_HINT}")
        if self.cjk is not None and (cjk or self.latin is None):
            path, face = self.cjk
            return _load_font(path, size, face)
        return _load_font(self.latin, size)


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
