"""Fountain 1.1 parser: screenplay text in, a flat list of typed elements with source lines out.

Written here rather than taken from PyPI because the parsers there (fountain-py 0.3, jouvence,
screenplain) miss what a multilingual micro-drama needs: cues in non-ASCII capitals (JOSÉ),
forced headings and cues in scripts without case (`.茶馆 - 日`, `@林雨（画外音）`), full-width
parentheses, and a source line on every element for error messages.

Notes `[[ ]]` and boneyard `/* */` are dropped before parsing (line numbers are kept) and counted;
emphasis markup is stripped from all text. Every other line becomes part of an element: a line
the spec does not make anything else is action, so no text is lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Union

# --- elements ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TitlePage:
    fields: dict[str, str]
    line: int = 1


@dataclass(frozen=True)
class SceneHeading:
    text: str
    line: int
    forced: bool = False
    scene_number: str | None = None


@dataclass(frozen=True)
class Action:
    text: str
    line: int
    forced: bool = False


@dataclass(frozen=True)
class Speech:
    """One stretch of a character's dialogue, with the parenthetical that precedes it."""

    text: str
    line: int
    parenthetical: str | None = None
    sung: bool = False


@dataclass(frozen=True)
class Dialogue:
    cue: str  # the character name, without extensions or markers
    line: int
    speeches: tuple[Speech, ...]
    extensions: tuple[str, ...] = ()
    dual: bool = False
    forced: bool = False
    after: str | None = None  # a parenthetical after the last speech: stage business
    guessed: bool = False  # a caseless script's cue without `@`, read from its shape


@dataclass(frozen=True)
class Transition:
    text: str
    line: int


@dataclass(frozen=True)
class Centered:
    text: str
    line: int


@dataclass(frozen=True)
class Section:
    text: str
    level: int
    line: int


@dataclass(frozen=True)
class Synopsis:
    text: str
    line: int


@dataclass(frozen=True)
class Lyrics:
    text: str
    line: int


@dataclass(frozen=True)
class PageBreak:
    line: int


Element = Union[
    SceneHeading, Action, Dialogue, Transition, Centered, Section, Synopsis, Lyrics, PageBreak
]


@dataclass
class Document:
    title_page: dict[str, str] = field(default_factory=dict)
    elements: list[Element] = field(default_factory=list)
    notes: int = 0  # `[[notes]]` left out
    boneyard: int = 0  # `/* boneyard */` blocks left out


# --- text helpers ------------------------------------------------------------------------------

_HEADING = re.compile(
    r"^(INT[.。]?/EXT|INT/EXT|I/E|INT|EXT|EST|内外景|内景|外景)([.。]|\s|$)", re.IGNORECASE
)
_SCENE_NUMBER = re.compile(r"\s*#([\w.\-]+)#\s*$")
_EXTENSION = re.compile(r"\s*[(（]([^()（）]*)[)）]\s*$")
_PARENTHETICAL = re.compile(r"^\s*[(（].*[)）]\s*$")
_TRANSITION = re.compile(r"^[^\W\d_a-z].*TO:$")
_BONEYARD = re.compile(r"/\*.*?\*/", re.DOTALL)
_NOTE = re.compile(r"\[\[(?:(?!\n[ \t]*\n).)*?\]\]", re.DOTALL)  # no empty line inside
_FORCED_HEADING = re.compile(r"^\.[^\W_]")  # `.` then a letter or digit: `. . .` is an ellipsis
_TITLE_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9 _-]*)[:：]\s*(.*)$")  # full-width colon in CJK scripts
_ESCAPED = {"\\*": "\x00", "\\_": "\x01"}
_EMPHASIS = [
    re.compile(r"\*\*\*(?=\S)(.+?)(?<=\S)\*\*\*"),
    re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*"),
    re.compile(r"\*(?=\S)(.+?)(?<=\S)\*"),
    re.compile(r"(?<![\w])_(?=\S)(.+?)(?<=\S)_(?![\w])"),
]


def strip_markup(text: str) -> str:
    """Remove Fountain emphasis (*italic*, **bold**, _underline_), honouring backslash escapes."""
    for escaped, placeholder in _ESCAPED.items():
        text = text.replace(escaped, placeholder)
    for pattern in _EMPHASIS:
        text = pattern.sub(r"\1", text)
    return text.replace("\x00", "*").replace("\x01", "_")


def _is_cjk(ch: str) -> bool:
    return "\u2e80" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" or "\uff00" <= ch <= "\uffef" or "\u3000" <= ch <= "\u303f"


def join_lines(parts: list[str]) -> str:
    """Join wrapped lines of speech: a space between words, nothing between CJK characters."""
    out = ""
    for part in (p.strip() for p in parts):
        if not part:
            continue
        if out and not (_is_cjk(out[-1]) and _is_cjk(part[0])):
            out += " "
        out += part
    return out


def is_upper(text: str) -> bool:
    """Fountain's 'entirely in uppercase': it has letters, and none of them is lowercase."""
    return any(ch.isalpha() for ch in text) and text == text.upper() and any(
        ch.isupper() for ch in text
    )


def split_cue(raw: str) -> tuple[str, tuple[str, ...], bool]:
    """'MAYA (V.O.) (CONT'D) ^' -> ('MAYA', ('V.O.', "CONT'D"), True)."""
    text = raw.strip()
    dual = text.endswith("^")
    text = text.rstrip("^").strip()
    extensions: list[str] = []
    while match := _EXTENSION.search(text):
        extensions.insert(0, match.group(1).strip())
        text = text[: match.start()].strip()
    return text, tuple(extensions), dual


# --- parser ------------------------------------------------------------------------------------


@dataclass
class _Line:
    number: int
    text: str


def _remove_comments(text: str) -> tuple[list[_Line], int, int]:
    """Drop boneyard and notes but keep line numbers; also return how many of each were dropped.
    A line that only held a comment disappears (it must not end a dialogue block the way a blank
    line would). A note cannot span a blank line and an unclosed `[[` or `/*` is text: neither
    swallows the script up to the next closing mark."""

    def blank_out(match: re.Match[str]) -> str:
        return re.sub(r"[^\n]", "\x02", match.group(0))

    text, boneyard = _BONEYARD.subn(blank_out, text)
    cleaned, notes = _NOTE.subn(blank_out, text)
    lines = []
    for number, line in enumerate(cleaned.split("\n"), start=1):
        if "\x02" in line:
            line = line.replace("\x02", "")
            if not line.strip():
                continue
            line = line.rstrip()
        lines.append(_Line(number, line))
    return lines, notes, boneyard


def _parse_title_page(lines: list[_Line]) -> tuple[dict[str, str], int]:
    """Title page key: value pairs at the very top; returns the fields and the index after them.
    A first key without a value must have an indented value below it: `FADE IN:` or `CUT TO:` on
    the first line starts the script, it is no title page."""
    fields: dict[str, str] = {}
    index, key = 0, None
    while index < len(lines) and not lines[index].text.strip():
        index += 1
    start = index
    while index < len(lines):
        text = lines[index].text
        if not text.strip():
            break
        match = _TITLE_KEY.match(text)
        if match and not text.startswith((" ", "\t")):
            key = match.group(1).strip().lower()
            fields[key] = strip_markup(match.group(2).strip())
            continued = index + 1 < len(lines) and lines[index + 1].text.startswith(("   ", "\t"))
            if len(fields) == 1 and not fields[key] and not continued:
                return {}, start
        elif key and text.startswith(("   ", "\t")):
            fields[key] = "\n".join(v for v in (fields[key], strip_markup(text.strip())) if v)
        else:
            return {}, start  # not a title page after all: the text starts with the script
        index += 1
    return fields, index if fields else start


def parse(text: str) -> Document:
    """Parse Fountain text. Every line of the script becomes part of an element, except notes and
    boneyard (counted in the Document)."""
    lines, notes, boneyard = _remove_comments(text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff"))
    title_page, index = _parse_title_page(lines)
    doc = Document(title_page=title_page, notes=notes, boneyard=boneyard)
    elements = doc.elements
    first = index

    def blank(i: int) -> bool:
        return i < 0 or i >= len(lines) or not lines[i].text.strip()

    def prev_blank(i: int) -> bool:
        """The spec's 'an empty line before it'; the first line of the script has one."""
        return i == first or blank(i - 1)

    def is_heading(i: int) -> bool:
        """INT./EXT. after an empty line; a line right above another such line is not one (two
        heading-shaped lines in a row are action)."""
        following = "" if blank(i + 1) else lines[i + 1].text.strip()
        return prev_blank(i) and bool(_HEADING.match(lines[i].text.strip())) and not _HEADING.match(following)

    while index < len(lines):
        line = lines[index]
        stripped, number = line.text.strip(), line.number
        if not stripped:
            index += 1
            continue

        if re.fullmatch(r"={3,}", stripped):
            elements.append(PageBreak(number))
        elif stripped.startswith("#"):
            level = len(stripped) - len(stripped.lstrip("#"))
            elements.append(Section(strip_markup(stripped[level:].strip()), level, number))
        elif stripped.startswith("=") and not stripped.startswith("=="):
            elements.append(Synopsis(strip_markup(stripped[1:].strip()), number))
        elif _is_centered(stripped):
            index = _centered(lines, index, elements)
            continue
        elif stripped.startswith(">"):
            elements.append(Transition(strip_markup(stripped[1:].strip()), number))
        elif stripped.startswith("~"):
            elements.append(Lyrics(strip_markup(stripped[1:].strip()), number))
        elif stripped.startswith("!"):
            index = _paragraph(lines, index, elements, forced=True)
            continue
        elif _FORCED_HEADING.match(stripped) or is_heading(index):
            forced = stripped.startswith(".") and not _HEADING.match(stripped)
            heading = stripped[1:].strip() if stripped.startswith(".") else stripped
            scene_number = None
            if match := _SCENE_NUMBER.search(heading):
                scene_number, heading = match.group(1), heading[: match.start()].strip()
            elements.append(SceneHeading(strip_markup(heading), number, forced, scene_number))
        elif prev_blank(index) and blank(index + 1) and is_upper(stripped) and _TRANSITION.match(stripped):
            elements.append(Transition(stripped, number))
        elif prev_blank(index) and not blank(index + 1) and _looks_like_cue(stripped):
            index = _dialogue(lines, index, elements)
            continue
        else:
            # A name alone with an empty line after it is action (spec), a forced one too.
            index = _paragraph(lines, index, elements, forced=stripped.startswith("@"))
            continue
        index += 1
    return doc


def _looks_like_cue(stripped: str) -> bool:
    if stripped.startswith("@"):
        return len(stripped) > 1
    name, _, _ = split_cue(stripped)
    return bool(name) and (is_upper(name) or is_caseless_name(name)) and not name.endswith(":") \
        and not _HEADING.match(name)


def is_caseless_name(name: str) -> bool:
    """A name in a script without letter case (Chinese, Japanese, Korean), where Fountain's
    capitals rule cannot see a cue: one to six CJK letters, no punctuation (约翰, 林雨, 母亲). With
    an empty line before it and a line of text under it, it is read as a cue."""
    return 1 <= len(name) <= 6 and all(ch.isalpha() and not ch.isascii() and _is_cjk(ch) for ch in name)


def _is_centered(stripped: str) -> bool:
    return stripped.startswith(">") and stripped.endswith("<") and len(stripped) > 1


def _centered(lines: list[_Line], index: int, elements: list[Element]) -> int:
    """Consecutive `>centered<` lines are one card, line breaks kept."""
    start, parts = lines[index].number, []
    while index < len(lines) and _is_centered(lines[index].text.strip()):
        parts.append(strip_markup(lines[index].text.strip()[1:-1].strip()))
        index += 1
    elements.append(Centered("\n".join(parts), start))
    return index


def _paragraph(lines: list[_Line], index: int, elements: list[Element], forced: bool) -> int:
    """An action paragraph: consecutive non-blank lines, line breaks kept. `forced` drops the
    first line's marker (`!` forced action, `@` of a cue without dialogue)."""
    start = lines[index].number
    parts: list[str] = []
    while index < len(lines) and lines[index].text.strip():
        text = lines[index].text
        if not parts and forced:
            text = text.lstrip()[1:]
        parts.append(text.rstrip())
        index += 1
    elements.append(Action(strip_markup("\n".join(parts).strip("\n")), start, forced))
    return index


def _dialogue(lines: list[_Line], index: int, elements: list[Element]) -> int:
    cue_line = lines[index]
    cue_text = cue_line.text.strip()
    forced = cue_text.startswith("@")
    name, extensions, dual = split_cue(cue_text[1:] if forced else cue_text)
    index += 1
    speeches: list[Speech] = []
    parenthetical: str | None = None
    buffer: list[str] = []
    buffer_line = sung = None

    def flush() -> None:
        nonlocal buffer, parenthetical, buffer_line, sung
        if buffer:
            # Sung lines are verses: their line breaks are kept.
            text = "\n".join(buffer) if sung else join_lines(buffer)
            speeches.append(Speech(strip_markup(text), buffer_line, parenthetical, bool(sung)))
            parenthetical, buffer, buffer_line, sung = None, [], None, None

    # A line of exactly two spaces keeps a dialogue block going across an empty line (spec).
    while index < len(lines) and (lines[index].text.strip() or lines[index].text == "  "):
        text = lines[index].text.strip()
        if _PARENTHETICAL.match(text):
            flush()
            parenthetical = strip_markup(text.strip()[1:-1].strip())
        elif text:
            if buffer_line is None:
                buffer_line = lines[index].number
            if text.startswith("~"):
                sung, text = True, text[1:].strip()
            buffer.append(text)
        index += 1
    flush()
    after = None
    if not speeches and parenthetical:
        speeches.append(Speech("…", cue_line.number + 1, parenthetical))
    elif parenthetical:
        after = parenthetical
    guessed = not forced and is_caseless_name(name)
    elements.append(Dialogue(name, cue_line.number, tuple(speeches), extensions, dual, forced, after, guessed))
    return index


def cues_without_dialogue(elements: list[Element]) -> list[Action]:
    """One-line actions that are exactly a speaker's name: under the spec they are action, but in
    a script they are usually a cue whose dialogue lost its line (an all-caps line that names
    nobody is plain action). The LLM writer is asked to fix them."""
    names = {e.cue.upper() for e in elements if isinstance(e, Dialogue)}
    found = []
    for element in elements:
        if isinstance(element, Action) and "\n" not in element.text:
            name, _, _ = split_cue(element.text)
            if name.upper() in names and (element.forced or is_upper(name)):
                found.append(element)
    return found
