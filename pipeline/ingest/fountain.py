"""Fountain 1.1 parser: screenplay text in, a flat list of typed elements with source lines out.

Written here rather than taken from PyPI because the parsers there (fountain-py 0.3, jouvence,
screenplain) miss what a multilingual micro-drama needs: cues in non-ASCII capitals (JOSÉ),
forced headings and cues in scripts without case (`.茶馆 - 日`, `@林雨（画外音）`), full-width
parentheses, and a source line on every element for error messages.

Notes `[[ ]]` and boneyard `/* */` are dropped before parsing (line numbers are kept); emphasis
markup is stripped from all text. Everything else of the spec becomes an element.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Union

from ..core.errors import InputError, Problem

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


# --- text helpers ------------------------------------------------------------------------------

_HEADING = re.compile(
    r"^(INT\.?/EXT|INT/EXT|I/E|INT|EXT|EST|内外景|内景|外景)(\.|\s|$)", re.IGNORECASE
)
_SCENE_NUMBER = re.compile(r"\s*#([\w.\-]+)#\s*$")
_EXTENSION = re.compile(r"\s*[(（]([^()（）]*)[)）]\s*$")
_PARENTHETICAL = re.compile(r"^\s*[(（].*[)）]\s*$")
_TRANSITION = re.compile(r"^[^\W\d_a-z].*TO:$")
_BONEYARD = re.compile(r"/\*.*?\*/", re.DOTALL)
_NOTE = re.compile(r"\[\[.*?\]\]", re.DOTALL)
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


def _remove_comments(text: str) -> list[_Line]:
    """Drop boneyard and notes but keep line numbers. A line that only held a comment disappears
    (it must not end a dialogue block the way a blank line would)."""

    def blank_out(match: re.Match[str]) -> str:
        return re.sub(r"[^\n]", "\x02", match.group(0))

    cleaned = _NOTE.sub(blank_out, _BONEYARD.sub(blank_out, text))
    lines = []
    for number, line in enumerate(cleaned.split("\n"), start=1):
        if "\x02" in line:
            line = line.replace("\x02", "")
            if not line.strip():
                continue
            line = line.rstrip()
        lines.append(_Line(number, line))
    return lines


def _parse_title_page(lines: list[_Line]) -> tuple[dict[str, str], int]:
    """Title page key: value pairs at the very top; returns the fields and the index after them."""
    fields: dict[str, str] = {}
    index, key = 0, None
    while index < len(lines) and not lines[index].text.strip():
        index += 1
    start = index
    while index < len(lines):
        text = lines[index].text
        if not text.strip():
            break
        match = re.match(r"^([A-Za-z][A-Za-z0-9 _-]*):\s*(.*)$", text)
        if match and not text.startswith((" ", "\t")):
            key = match.group(1).strip().lower()
            fields[key] = strip_markup(match.group(2).strip())
        elif key and text.startswith(("   ", "\t")):
            fields[key] = "\n".join(v for v in (fields[key], strip_markup(text.strip())) if v)
        else:
            return {}, start  # not a title page after all: the text starts with the script
        index += 1
    return fields, index if fields else start


def parse(text: str, path: str = "<screenplay>") -> Document:
    """Parse Fountain text. Raises InputError for a cue with no dialogue under it."""
    lines = _remove_comments(text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff"))
    title_page, index = _parse_title_page(lines)
    doc = Document(title_page=title_page)
    elements = doc.elements
    problems: list[Problem] = []

    def blank(i: int) -> bool:
        return i < 0 or i >= len(lines) or not lines[i].text.strip()

    def prev_blank(i: int) -> bool:
        return i == index or blank(i - 1)

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
        elif stripped.startswith(">") and stripped.endswith("<"):
            elements.append(Centered(strip_markup(stripped[1:-1].strip()), number))
        elif stripped.startswith(">"):
            elements.append(Transition(strip_markup(stripped[1:].strip()), number))
        elif stripped.startswith("~"):
            elements.append(Lyrics(strip_markup(stripped[1:].strip()), number))
        elif stripped.startswith("!"):
            index = _paragraph(lines, index, elements, forced=True)
            continue
        elif (
            stripped.startswith(".") and not stripped.startswith("..") and len(stripped) > 1
        ) or (prev_blank(index) and _HEADING.match(stripped)):
            forced = stripped.startswith(".") and not _HEADING.match(stripped)
            heading = stripped[1:].strip() if stripped.startswith(".") else stripped
            scene_number = None
            if match := _SCENE_NUMBER.search(heading):
                scene_number, heading = match.group(1), heading[: match.start()].strip()
            elements.append(SceneHeading(strip_markup(heading), number, forced, scene_number))
        elif prev_blank(index) and blank(index + 1) and is_upper(stripped) and _TRANSITION.match(stripped):
            elements.append(Transition(stripped, number))
        elif prev_blank(index) and _looks_like_cue(stripped):
            if blank(index + 1):
                if stripped.startswith("@") or _EXTENSION.search(stripped.rstrip("^ ")):
                    problems.append(
                        Problem(
                            f"character cue {stripped!r} has no dialogue under it "
                            "(put the line on the next line, with no blank line between)",
                            line=number,
                        )
                    )
                    index += 1
                    continue
                index = _paragraph(lines, index, elements, forced=False)
                continue
            index = _dialogue(lines, index, elements)
            continue
        else:
            index = _paragraph(lines, index, elements, forced=False)
            continue
        index += 1

    problems += _orphan_cues(elements)
    if problems:
        raise InputError(path, problems)
    return doc


def _looks_like_cue(stripped: str) -> bool:
    if stripped.startswith("@"):
        return len(stripped) > 1
    name, _, _ = split_cue(stripped)
    return bool(name) and is_upper(name) and not name.endswith(":")


def _paragraph(lines: list[_Line], index: int, elements: list[Element], forced: bool) -> int:
    """An action paragraph: consecutive non-blank lines, line breaks kept."""
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
            speeches.append(Speech(strip_markup(join_lines(buffer)), buffer_line, parenthetical, bool(sung)))
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
    if not speeches and parenthetical:
        speeches.append(Speech("…", cue_line.number + 1, parenthetical))
    elements.append(Dialogue(name, cue_line.number, tuple(speeches), extensions, dual, forced))
    return index


def _orphan_cues(elements: list[Element]) -> list[Problem]:
    """A one-line action paragraph that is exactly a known speaker's name is a cue whose dialogue
    is missing (an all-caps line that names nobody stays action, as the spec says)."""
    names = {e.cue.upper() for e in elements if isinstance(e, Dialogue)}
    problems = []
    for element in elements:
        if isinstance(element, Action) and not element.forced and "\n" not in element.text:
            name, _, _ = split_cue(element.text)
            if name.upper() in names and is_upper(name):
                problems.append(
                    Problem(
                        f"character cue {element.text!r} has no dialogue under it "
                        "(put the line on the next line, with no blank line between)",
                        line=element.line,
                    )
                )
    return problems
