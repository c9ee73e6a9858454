"""What the ingest tells the reviewer about a screenplay file: text it left out on purpose
(notes, boneyard), the encoding it decoded, act sections read as episodes. Each is a Finding of
origin `ingest`, kept with the parsed screenplay and shown at review; none blocks approval."""

from __future__ import annotations

from pathlib import Path

from . import fountain as ft
from .episodes import is_act
from ..core import limits
from ..core.errors import InputError, Problem
from ..core.models import Finding, FindingOrigin, Severity

MINUTES_KEY = "episode-minutes"


def _notice(severity: Severity, code: str, message: str, line: int | None = None) -> Finding:
    return Finding(severity=severity, code=code, where="screenplay", origin=FindingOrigin.INGEST,
                   message=message, source_line=line)


def title_minutes(path: Path, title_page: dict[str, str]) -> float | None:
    """The title page's `Episode-Minutes: 3`, checked."""
    text = title_page.get(MINUTES_KEY)
    if text is None:
        return None
    try:
        minutes = float(text)
    except ValueError:
        minutes = 0.0
    if not 0 < minutes <= limits.MAX_EPISODE_MINUTES:
        raise InputError(path, Problem(f"Episode-Minutes must be a number of minutes above 0 and at most "
                                       f"{limits.MAX_EPISODE_MINUTES:g}, got {text!r}", line=1, field=MINUTES_KEY))
    return minutes


def file_notices(path: Path, doc: ft.Document, encoding: str, minutes: float | None) -> list[Finding]:
    notices = []
    if doc.notes or doc.boneyard:
        parts = [f"{doc.notes} note{'s' * (doc.notes != 1)}"] * bool(doc.notes)
        parts += [f"{doc.boneyard} boneyard block{'s' * (doc.boneyard != 1)}"] * bool(doc.boneyard)
        notices.append(_notice(Severity.INFO, "left-out", f"{path.name}: {' and '.join(parts)} left out "
                               "([[notes]] and /* boneyard */ are not part of the story)"))
    if encoding != "utf-8":
        notices.append(_notice(Severity.WARNING, "encoding", f"{path.name} is not UTF-8: read as {encoding}; check "
                               "accented letters in the plan, or save the file as UTF-8"))
    guessed = [d for d in doc.elements if isinstance(d, ft.Dialogue) and d.guessed]
    if guessed:
        lines = ", ".join(f"line {d.line} {d.cue}" for d in guessed[:12]) + (", ..." if len(guessed) > 12 else "")
        notices.append(_notice(Severity.INFO, "cue-guessed", f"{path.name}: {len(guessed)} character cues read without "
                               f"'@' from their shape (a short name above a line of text): {lines}; write @NAME to "
                               "make a cue certain, or !TEXT where the line is action", guessed[0].line))
    acts = [s for s in doc.elements if isinstance(s, ft.Section) and s.level == 1 and is_act(s.text)]
    if acts and minutes is None:
        notices.append(_notice(Severity.WARNING, "acts-as-episodes", f"{path.name}: the level-1 sections are acts "
                               f"('# {acts[0].text}'), and each became an episode; pass --episode-minutes 3 (or "
                               "the title page key 'Episode-Minutes: 3') to cut the story into episodes of about "
                               "3 minutes", acts[0].line))
    return notices
