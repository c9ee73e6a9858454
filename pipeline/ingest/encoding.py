"""Which encoding a screenplay file is in: UTF-8, or an older single-byte Windows-1252 / Latin-1
script, told apart from a multi-byte encoding (GBK, Shift-JIS, EUC-KR) that would decode into
nonsense letters rather than fail."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import InputError, Problem

# Latin text has its accented letters one or two at a time (café, Straße); a multi-byte CJK
# encoding read as cp1252 gives runs of them (ÄãºÃ).
_RUN_OF_ACCENTS = re.compile(r"[^\x00-\x7f]{3,}")


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # "utf-8", or the single-byte encoding it was decoded from


def decode(data: bytes, path: Path, what: str) -> Decoded:
    """The text of `data`, or an InputError that says how to convert the file to UTF-8."""
    try:
        return Decoded(data.decode("utf-8-sig"), "utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start]
    for encoding in ("cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "latin-1" and re.search(r"[\x80-\x9f]", text):
            break  # C1 control characters: not Latin-1 text either
        if not _RUN_OF_ACCENTS.search(text):
            return Decoded(text, encoding)
        break
    raise InputError(path, Problem(
        f"not UTF-8 text (byte 0x{byte:02x}), and not a Windows-1252 or Latin-1 {what} either (it may be "
        f"GBK, Big5, Shift-JIS or EUC-KR); convert it to UTF-8, e.g. `iconv -f GBK -t UTF-8 "
        f"{path.name} > {path.stem}.utf8{path.suffix}`, or save it as UTF-8 from your editor", line=line))
