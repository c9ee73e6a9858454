"""The shot planner agent: one screenplay scene -> shot drafts, designed by the LLM with the same
film grammar the rule-based planner follows (pipeline/plan/rules.py).

The model decides framing, camera move, who is in frame where, what happens and which lines are
heard in each shot; ids, timing, prompts and seeds are set afterwards by `finalize_scene`, the
same pass every planner's drafts go through. An answer is accepted only when that pass accepts it
and the scene's cards and cast are respected; otherwise the model is asked again with the problem
quoted, a bounded number of times.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from microdrama.pipeline.core import limits
from microdrama.pipeline.core.errors import MicrodramaError
from microdrama.pipeline.core.models import Finding, ScriptLine, ScriptScene, Series, ShotDraft
from microdrama.pipeline.plan.rules import DraftError, finalize_scene

from .llm import LLM
from .prompting import load_prompt

AGENT = "shot_planner"
# Shown for an absent note or an empty findings list: a mark that reads the same in every language.
NONE = "—"


class ShotPlanError(MicrodramaError):
    """The model gave no usable shot list for a scene within the allowed attempts."""

    def __init__(self, scene_id: str, attempts: int, problem: str):
        self.scene_id = scene_id
        super().__init__(
            f"scene {scene_id}: the LLM shot planner gave no usable shot list in {attempts} attempt(s); "
            f"last problem: {problem}. Run again, use a more capable model ([llm] model, or an "
            "override for agent shot_planner), or plan with the film-grammar rules "
            '(planner = "rules" under [run] in microdrama.toml)'
        )


class ShotList(BaseModel):
    """The shot planner's answer."""

    model_config = ConfigDict(extra="forbid")

    shots: list[ShotDraft] = Field(
        max_length=limits.MAX_SHOTS_PER_SCENE,
        description="The scene's shots in screen order. Every line id of the scene is in exactly one "
        "shot, in the screenplay's order; every card beat has its own shot."
    )


def plan_scene_shots(
    scene: ScriptScene,
    series: Series,
    llm: LLM,
    note: str | None = None,
    findings: Sequence[Finding] = (),
    max_attempts: int = 3,
) -> list[ShotDraft]:
    """Shot drafts for `scene` that `finalize_scene` accepts. One call, and one more per rejected
    answer up to `max_attempts` calls in all. `note` (a reviewer's revision note) and `findings`
    (continuity findings about the scene) go into the prompt. Raises ShotPlanError, or LLMError
    from the client."""
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
    messages = _messages(scene, series, note, findings)
    problems: list[str] = []
    for _ in range(max_attempts):
        answer = llm.complete(AGENT, messages, ShotList)
        problems = _problems(answer.shots, scene, series)
        if not problems:
            return answer.shots
        retry = load_prompt("shot_planner.retry", series.language).render(error="; ".join(problems))
        messages = [*messages, {"role": "assistant", "content": answer.model_dump_json()},
                    {"role": "user", "content": retry}]
    raise ShotPlanError(scene.id, max_attempts, "; ".join(problems))


def _messages(
    scene: ScriptScene, series: Series, note: str | None, findings: Sequence[Finding]
) -> list[dict[str, str]]:
    system = load_prompt("shot_planner", series.language).render(aspect=series.aspect)
    user = load_prompt("shot_planner.scene", series.language).render(
        scene=_scene_text(scene, series),
        note=" ".join(note.split()) if note and note.strip() else NONE,
        findings="\n".join(_finding_text(f) for f in findings) or NONE,
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _problems(drafts: list[ShotDraft], scene: ScriptScene, series: Series) -> list[str]:
    """Everything wrong with the drafts: what `finalize_scene` refuses (lines missing, doubled or
    unknown), then what it lets through but the story needs."""
    problems = []
    try:
        finalize_scene(scene, drafts, series)
    except DraftError as exc:
        problems.append(str(exc))
    except ValidationError as exc:  # a plan bound crossed (core/limits.py): quoted back like the rest
        problems += [f"{'.'.join(map(str, e['loc'])) or 'shots'}: {e['msg']}" for e in exc.errors()]
    return problems + _story_problems(drafts, scene)


def _story_problems(drafts: list[ShotDraft], scene: ScriptScene) -> list[str]:
    problems = []
    if not drafts:
        problems.append("the shot list is empty")
    strangers = sorted({f.character for d in drafts for f in d.characters} - set(scene.characters))
    if strangers:
        problems.append(f"characters {strangers} are framed but not in the scene; frame only "
                        f"{scene.characters or 'nobody'}")
    cards = {d.title_card.strip() for d in drafts if d.title_card}
    lost = [b.text for b in scene.beats if b.kind == "card" and b.text.strip() not in cards]
    if lost:
        problems.append(f"card beats {lost} have no shot with that title_card")
    order = [line.id for beat in scene.beats for line in beat.lines]
    heard = list(dict.fromkeys(i for d in drafts for i in d.lines if i in order))
    if heard != [i for i in order if i in heard]:
        problems.append(f"lines are out of the screenplay's order; keep them as {order}")
    return problems


def _scene_text(scene: ScriptScene, series: Series) -> str:
    """The scene as the prompt shows it: heading, place and cast with their bible descriptions,
    then the beats in order with every line's id, speaker id and delivery."""
    location = series.location(scene.location)
    text = [
        f"scene {scene.id}: {scene.heading}",
        f"setting: {scene.setting.value}; time of day: {scene.time_of_day.value}",
        f"location {scene.location}: {_flat(location.description) if location else ''}",
    ]
    if scene.summary:
        text.append(f"summary: {_flat(scene.summary)}")
    text.append("characters in the scene:")
    text += [_cast_text(char_id, series) for char_id in scene.characters] or [f"- {NONE}"]
    text.append("beats:")
    for number, beat in enumerate(scene.beats, start=1):
        if beat.kind == "dialogue":
            text.append(f"{number}. dialogue")
            text += [f"   - {_line_text(line)}" for line in beat.lines]
        else:
            names = f" [{', '.join(beat.characters)}]" if beat.characters else ""
            text.append(f"{number}. {beat.kind}{names}: {_flat(beat.text)}")
    return "\n".join(text)


def _cast_text(char_id: str, series: Series) -> str:
    character = series.character(char_id)
    if character is None:
        return f"- {char_id}"
    return f"- {char_id} ({character.name}): {_flat(character.appearance) or NONE}"


def _line_text(line: ScriptLine) -> str:
    marks = "".join(f" [{mark}]" for mark in (line.extension, "dual" if line.dual else None) if mark)
    delivery = f" ({_flat(line.parenthetical)})" if line.parenthetical else ""
    return f"{line.id} {line.speaker}{marks}{delivery}: {_flat(line.text)}"


def _finding_text(finding: Finding) -> str:
    return f"- [{finding.severity.value}] {finding.code} at {finding.where}: {_flat(finding.message)}"


def _flat(text: str) -> str:
    """One line: screenplay text keeps its line breaks, which would blur the listing's structure."""
    return " ".join(text.split())
