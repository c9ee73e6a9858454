"""The continuity reviewer agent: the LLM reads one episode's plan as a script supervisor would
and reports what the deterministic checks (pipeline/plan/checks.py) cannot see: character facts,
wardrobe and props state, timeline, names.

One call per episode, and nothing but the arguments is read, so episodes can be reviewed in
parallel. Every finding is kept: one whose `where` is not an id of the episode's plan is attached
to the longest plan id that prefixes it (a shot that does not exist -> its scene), else to the
episode, with the model's own reference kept in the message.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from microdrama.pipeline.core import ids
from microdrama.pipeline.core.models import Episode, Finding, FindingOrigin, Series, Severity, Shot

from .llm import LLM
from .prompting import load_prompt

AGENT = "continuity"
NONE = "—"
# A review's findings and their size: a reviewer that finds more than a dozen problems in one
# episode is not reviewing; each bound is part of the decoder's grammar and the token budget.
MAX_FINDINGS = 12
MAX_MESSAGE = 300
MAX_WHERE = 40


class Category(StrEnum):
    CHARACTER = "character"
    WARDROBE = "wardrobe"
    PROPS = "props"
    TIMELINE = "timeline"
    NAMES = "names"
    OTHER = "other"


class ReviewFinding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    severity: Literal["error", "warning"] = Field(
        description="error: a contradiction viewers would notice, to fix before rendering; "
        "warning: something doubtful."
    )
    where: str = Field(
        min_length=1, max_length=MAX_WHERE,
        description="The most specific id from the plan, copied exactly: a line (e01s02l03), a shot "
        "(e01s02k04) or a scene (e01s02)."
    )
    category: Category = Field(
        description="character (facts, relationships, knowledge), wardrobe, props (objects and their "
        "state), timeline (time of day, order of events), names, or other."
    )
    message: str = Field(
        min_length=1, max_length=MAX_MESSAGE,
        description="What is inconsistent, with the ids involved, and how to fix it; in the series language."
    )


class ReviewAnswer(BaseModel):
    """The continuity reviewer's answer; an empty list for a consistent episode."""

    model_config = ConfigDict(extra="forbid")

    findings: list[ReviewFinding] = Field(max_length=MAX_FINDINGS,
                                          description="Continuity problems found, most serious first.")


def review_plan(series: Series, episodes: list[Episode], llm: LLM) -> list[Finding]:
    """Findings for every episode, in order: one call per episode. Raises LLMError."""
    return [finding for episode in episodes for finding in review_episode(series, episode, llm)]


def review_episode(series: Series, episode: Episode, llm: LLM) -> list[Finding]:
    """Findings for one episode (one call), each attached to an id of its plan, with origin llm.
    Codes are `llm-<category>`: the code is what review and the storyboard show, and the prefix
    keeps the reviewer's judgement apart from the rules there. Raises LLMError from the client."""
    system = load_prompt("continuity", series.language).render(max_findings=MAX_FINDINGS, max_message=MAX_MESSAGE)
    user = load_prompt("continuity.episode", series.language).render(
        episode=episode.id, outline=_outline_text(series), bible=_bible_text(series), plan=_plan_text(episode)
    )
    answer = llm.complete(AGENT, [{"role": "system", "content": system}, {"role": "user", "content": user}],
                          ReviewAnswer)
    lines = _source_lines(episode)
    return [_finding(item, episode.id, lines) for item in answer.findings]


def _finding(item: ReviewFinding, episode_id: str, lines: dict[str, int | None]) -> Finding:
    where = _anchor(item.where, lines.keys(), episode_id)
    message = " ".join(item.message.split())
    if where != item.where.strip().lower():
        message = f"[{' '.join(item.where.split())[:80]}] {message}"
    return Finding(severity=Severity(item.severity), code=f"llm-{item.category.value}", message=message,
                   where=where, source_line=lines[where], origin=FindingOrigin.LLM)


def _anchor(where: str, known: Collection[str], episode_id: str) -> str:
    """The plan id `where` names, else the longest plan id that contains it, else the episode."""
    match = ids.PLAN_ID_IN_TEXT.search(where.lower())
    token = match.group(0) if match else ""
    if token in known:
        return token
    # Only whole id parts count: e01s02 contains e01s02k07, not e01s021.
    parents = [i for i in known if ids.contains(i, token)]
    return max(parents, key=len, default=episode_id)


def _source_lines(episode: Episode) -> dict[str, int | None]:
    """Every id of the episode's plan, with its screenplay line where there is one."""
    lines: dict[str, int | None] = {episode.id: None}
    for scene in episode.scenes:
        lines[scene.id] = scene.source_line
        for shot in scene.shots:
            lines[shot.id] = None
            lines.update({line.id: line.source_line for line in shot.dialogue})
    return lines


def _outline_text(series: Series) -> str:
    return "\n".join(f"- {e.id} {_flat(e.title)}: {_flat(e.logline)}" for e in series.episodes) or NONE


def _bible_text(series: Series) -> str:
    text = ["characters:"]
    text += [f"- {c.id} ({c.name}): {_flat(c.appearance) or NONE}" for c in series.characters] or [f"- {NONE}"]
    text.append("locations:")
    text += [f"- {loc.id} ({loc.name}): {_flat(loc.description) or NONE}" for loc in series.locations] or [f"- {NONE}"]
    return "\n".join(text)


def _plan_text(episode: Episode) -> str:
    """Per scene: heading, who is present, then each shot with its framing and action and the
    lines heard in it."""
    text = []
    for scene in episode.scenes:
        text.append(f"scene {scene.id}: {scene.heading} (time of day: {scene.time_of_day.value})")
        text.append(f"  present: {', '.join(scene.characters) or NONE}")
        if scene.summary:
            text.append(f"  summary: {_flat(scene.summary)}")
        for shot in scene.shots:
            text.append(f"  shot {shot.id} {_shot_text(shot)}")
            for line in shot.dialogue:
                marks = f" [{line.extension}]" if line.extension else ""
                delivery = f" ({_flat(line.parenthetical)})" if line.parenthetical else ""
                text.append(f"    line {line.id} {line.speaker}{marks}{delivery}: {_flat(line.text)}")
    return "\n".join(text)


def _shot_text(shot: Shot) -> str:
    if shot.title_card:
        return f"card: {_flat(shot.title_card)}"
    framed = ", ".join(f"{f.character} {f.position.value}" for f in shot.characters)
    return f"{shot.type.value}{f' [{framed}]' if framed else ''}: {_flat(shot.action) or NONE}"


def _flat(text: str) -> str:
    return " ".join(text.split())
