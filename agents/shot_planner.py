"""The shot planner agent: one screenplay scene -> shot drafts, designed by the LLM with the same
film grammar the rule-based planner follows (pipeline/plan/rules.py).

The model decides framing, camera move, who is in frame where, what happens and which lines are
heard in each shot; ids, timing, prompts and seeds are set afterwards by `finalize_scene`, the
same pass every planner's drafts go through. The answer's schema is built for the scene: its
character ids and card texts are enums, and the shot each line is heard in is answered once per
line, under that line's id as a required key (`heard_in`), so a constrained decoder can neither
name an id the scene does not have nor leave a line out. An answer is accepted only when
`finalize_scene` accepts it and the scene's cards and order are respected; otherwise the model is
asked again with the problem quoted, a bounded number of times.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from microdrama.pipeline.core import limits
from microdrama.pipeline.core.errors import MicrodramaError
from microdrama.pipeline.core.models import FramedCharacter, Finding, ScriptLine, ScriptScene, Series, ShotDraft
from microdrama.pipeline.plan.rules import DraftError, finalize_scene

from .bounds import with_bounds
from .llm import LLM
from .prompting import load_prompt

AGENT = "shot_planner"
# Shown for an absent note or an empty findings list: a mark that reads the same in every language.
NONE = "—"
# What one drafted shot may hold, tighter than the plan's limits: each bound is part of the
# decoder's grammar and of the reply's token budget, and a shot is a few seconds long.
MAX_ACTION = 300
MAX_SFX = 3
MAX_SFX_CHARS = 40
# A scene's shots: an establishing shot, a shot per beat and up to two per line (the line and a
# reaction) is what the film grammar in the prompt can ask for.
EXTRA_SHOTS = 2


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


# A drafted shot as the model answers it: a ShotDraft without its `lines` (ShotList.heard_in holds
# those).
ShotDesign = create_model(
    "ShotDesign", __config__=ConfigDict(extra="forbid"), __doc__="One shot of the list.",
    **{name: (info.annotation, info) for name, info in ShotDraft.model_fields.items() if name != "lines"},
)


class ShotList(BaseModel):
    """The shot planner's answer."""

    model_config = ConfigDict(extra="forbid")

    shots: list[ShotDesign] = Field(
        max_length=limits.MAX_SHOTS_PER_SCENE,
        description="The scene's shots in screen order; every card beat has its own shot."
    )
    heard_in: dict[str, int] = Field(
        description="For every line id of the scene, the number of the shot it is heard in (1 for the "
        "first shot; a number above the last shot's means the last shot); from one line to the next the "
        "number stays or goes up.",
    )

    @classmethod
    def of(cls, drafts: Sequence[ShotDraft]) -> ShotList:
        """The answer that gives these drafts."""
        return cls(shots=[draft.model_dump(exclude={"lines"}) for draft in drafts],
                   heard_in={line: number for number, draft in enumerate(drafts, start=1) for line in draft.lines})

    def drafts(self) -> list[ShotDraft]:
        """The shots with their lines. The schema can bound a shot number only by the most shots a
        list may have, so a number above this list's last shot means the last shot: a small model
        that numbers past its own list still places every line."""
        last = len(self.shots)
        return [ShotDraft(**shot.model_dump(),
                          lines=[line for line, heard in self.heard_in.items() if min(heard, last) == number])
                for number, shot in enumerate(self.shots, start=1)]


def shot_list_model(scene: ScriptScene) -> type[ShotList]:
    """ShotList for this scene only: character ids and card texts are the scene's own (enums),
    `heard_in` has exactly the scene's line ids as required keys, and the number of shots is
    bounded by its beats and lines, so a constrained decoder cannot produce an unknown id, a
    line in no shot or an empty list."""
    line_ids = [line.id for beat in scene.beats for line in beat.lines]
    cards = [beat.text for beat in scene.beats if beat.kind == "card"]
    framed = with_bounds(
        FramedCharacter, {"character": Literal[tuple(scene.characters)] if scene.characters else Literal[""]})
    shot = with_bounds(
        ShotDesign,
        {"characters": list[framed],
         "title_card": (Literal[tuple(cards)] | None) if cards else None,
         "sfx": list[Annotated[str, Field(max_length=MAX_SFX_CHARS)]]},
        characters={"max_length": len(scene.characters)},
        action={"max_length": MAX_ACTION},
        sfx={"max_length": MAX_SFX},
    )
    most = min(limits.MAX_SHOTS_PER_SCENE, EXTRA_SHOTS + len(scene.beats) + 2 * len(line_ids))
    heard_in = TypedDict("HeardIn", {line: Annotated[int, Field(ge=1, le=most)] for line in line_ids})
    heard_in.__pydantic_config__ = ConfigDict(extra="forbid")
    return with_bounds(ShotList, {"shots": list[shot], "heard_in": heard_in},
                       shots={"min_length": max(1, len(cards)), "max_length": most})


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
    model = shot_list_model(scene)
    messages = _messages(scene, series, note, findings, model)
    problems: list[str] = []
    for _ in range(max_attempts):
        answer = llm.complete(AGENT, messages, model)
        problems = _problems(answer, scene, series)
        if not problems:
            return answer.drafts()
        retry = load_prompt("shot_planner.retry", series.language).render(error="; ".join(problems))
        messages = [*messages, {"role": "assistant", "content": answer.model_dump_json()},
                    {"role": "user", "content": retry}]
    raise ShotPlanError(scene.id, max_attempts, "; ".join(problems))


def _messages(
    scene: ScriptScene, series: Series, note: str | None, findings: Sequence[Finding], model: type[ShotList]
) -> list[dict[str, str]]:
    shots = model.model_fields["shots"].metadata
    system = load_prompt("shot_planner", series.language).render(
        aspect=series.aspect, min_shots=_bound(shots, "min_length"), max_shots=_bound(shots, "max_length"),
        max_action=MAX_ACTION, max_sfx=MAX_SFX,
    )
    user = load_prompt("shot_planner.scene", series.language).render(
        scene=_scene_text(scene, series),
        note=" ".join(note.split()) if note and note.strip() else NONE,
        findings="\n".join(_finding_text(f) for f in findings) or NONE,
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _bound(metadata: list, name: str) -> int:
    return next(getattr(m, name) for m in metadata if getattr(m, name, None) is not None)


def _problems(answer: ShotList, scene: ScriptScene, series: Series) -> list[str]:
    """Everything wrong with the answer: what `finalize_scene` refuses, then what it lets through
    but the story needs."""
    problems = []
    try:
        drafts = answer.drafts()
        finalize_scene(scene, drafts, series)
    except DraftError as exc:
        problems.append(str(exc))
    except ValidationError as exc:  # a plan bound crossed (core/limits.py): quoted back like the rest
        return problems + [f"{'.'.join(map(str, e['loc'])) or 'shots'}: {e['msg']}" for e in exc.errors()]
    return problems + _story_problems(drafts, scene)


def _story_problems(drafts: list[ShotDraft], scene: ScriptScene) -> list[str]:
    problems = []  # unknown ids and an empty list cannot pass the scene's schema (shot_list_model)
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
