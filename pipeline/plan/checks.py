"""Deterministic continuity checks over the plan.

Each rule is a function (series, episodes) -> findings (origin rules, the default); `check_plan`
runs them all. Errors block approval, warnings are shown at review. The LLM continuity reviewer
adds its findings (origin llm) to these.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from ..core.config import BackendSettings
from ..core.ids import contains
from ..core.models import Episode, Finding, FindingOrigin, Scene, Series, Severity
from ..core.limits import MAX_EPISODE_MINUTES
from ..core.paths import reference_problem
from ..ingest.fountain import is_upper
from ..render.routing import voice_findings
from .bible_checks import bible_findings
from .frame_checks import named_but_unframed

Rule = Callable[[Series, list[Episode]], Iterator[Finding]]


def _scenes(episodes: list[Episode]) -> Iterator[Scene]:
    for episode in episodes:
        yield from episode.scenes


def unknown_names(series: Series, episodes: list[Episode]) -> Iterator[Finding]:
    """Every speaker, framed character and location must be in the bible."""
    for scene in _scenes(episodes):
        if not series.location(scene.location):
            yield Finding(severity=Severity.ERROR, code="unknown-location", where=scene.id,
                          source_line=scene.source_line,
                          message=f"location {scene.location!r} is not in series.yaml")
        for char_id in scene.characters:
            if not series.character(char_id):
                yield Finding(severity=Severity.ERROR, code="unknown-character", where=scene.id,
                              source_line=scene.source_line,
                              message=f"character {char_id!r} is present but not in series.yaml")
        for shot in scene.shots:
            for framed in shot.characters:
                if not series.character(framed.character):
                    yield Finding(severity=Severity.ERROR, code="unknown-character", where=shot.id,
                                  message=f"character {framed.character!r} is framed but not in series.yaml")
            for line in shot.dialogue:
                if not series.character(line.speaker):
                    yield Finding(severity=Severity.ERROR, code="unknown-speaker", where=line.id,
                                  source_line=line.source_line,
                                  message=f"speaker {line.speaker!r} is not in series.yaml")


def speaker_absent(series: Series, episodes: list[Episode]) -> Iterator[Finding]:
    """A speaker must be present in the scene unless the line is V.O. or O.S."""
    for scene in _scenes(episodes):
        for shot in scene.shots:
            for line in shot.dialogue:
                if line.speaker not in scene.characters and not line.off_screen:
                    yield Finding(severity=Severity.ERROR, code="speaker-absent", where=line.id,
                                  source_line=line.source_line,
                                  message=f"{line.speaker!r} speaks but is not present in {scene.id}; "
                                  "add them to the scene's characters or mark the line (V.O.) / (O.S.)")
            for framed in shot.characters:
                if framed.character not in scene.characters:
                    yield Finding(severity=Severity.WARNING, code="framed-absent", where=shot.id,
                                  message=f"{framed.character!r} is in frame but not among {scene.id}'s characters")


def dialogue_fits(series: Series, episodes: list[Episode]) -> Iterator[Finding]:
    """A shot must be at least as long as the dialogue planned inside it."""
    for scene in _scenes(episodes):
        for shot in scene.shots:
            for line in shot.dialogue:
                if line.end_frame > shot.duration_frames:
                    yield Finding(severity=Severity.ERROR, code="shot-shorter-than-dialogue", where=line.id,
                                  source_line=line.source_line,
                                  message=f"{shot.id} lasts {shot.duration_frames} frames but {line.id} ends at "
                                  f"frame {line.end_frame}; lengthen the shot or move the line")


def crossing_the_line(series: Series, episodes: list[Episode]) -> Iterator[Finding]:
    """180-degree rule: between consecutive shots of a scene, two characters framed in both keep
    their left/right order, and a character looking left or right keeps that direction."""
    rank = {"left": 0, "center": 1, "right": 2}
    for scene in _scenes(episodes):
        for before, after in zip(scene.shots, scene.shots[1:]):
            a = {f.character: f for f in before.characters}
            b = {f.character: f for f in after.characters}
            shared = [c for c in a if c in b]
            for i, first in enumerate(shared):
                for second in shared[i + 1:]:
                    was = rank[a[first].position] - rank[a[second].position]
                    now = rank[b[first].position] - rank[b[second].position]
                    if was * now < 0:
                        yield Finding(severity=Severity.WARNING, code="crossing-the-line", where=after.id,
                                      message=f"{first} and {second} swap screen sides from {before.id} "
                                      f"to {after.id} (180-degree rule)")
            for char_id in shared:
                looks = {a[char_id].facing, b[char_id].facing}
                if looks == {"left", "right"}:
                    yield Finding(severity=Severity.WARNING, code="crossing-the-line", where=after.id,
                                  message=f"{char_id} looks {a[char_id].facing} in {before.id} but "
                                  f"{b[char_id].facing} in {after.id} (180-degree rule)")


def duplicate_ids(series: Series, episodes: list[Episode]) -> Iterator[Finding]:
    """An id used twice within its space. Plan ids (episodes, scenes, shots, lines) are one space,
    told apart by their shape; characters and locations are a space each, so the place SCOTT and
    the character SCOTT may both be 'scott' (every reference says which it means)."""
    ids = [episode.id for episode in episodes]
    for scene in _scenes(episodes):
        ids.append(scene.id)
        for shot in scene.shots:
            ids.append(shot.id)
            if not contains(scene.id, shot.id):
                yield Finding(severity=Severity.ERROR, code="misplaced-id", where=shot.id,
                              message=f"shot {shot.id} is inside scene {scene.id}; its id must start with {scene.id}k")
            ids.extend(line.id for line in shot.dialogue)
    for space, what in ((ids, "plan"), ([c.id for c in series.characters], "character"),
                        ([loc.id for loc in series.locations], "location")):
        for value, count in Counter(space).items():
            if count > 1:
                yield Finding(severity=Severity.ERROR, code="duplicate-id", where=value,
                              message=f"id {value!r} is used {count} times as a {what} id; ids must be unique")


def empty_scenes(series: Series, episodes: list[Episode]) -> Iterator[Finding]:
    for scene in _scenes(episodes):
        if not scene.shots:
            yield Finding(severity=Severity.ERROR, code="empty-scene", where=scene.id,
                          source_line=scene.source_line, message=f"{scene.id} has no shots")
        elif not any(shot.dialogue or shot.action for shot in scene.shots):
            yield Finding(severity=Severity.WARNING, code="empty-scene", where=scene.id,
                          source_line=scene.source_line,
                          message=f"{scene.id} has no action or dialogue; only a bare establishing shot was planned")


def cue_like_action(series: Series, episodes: list[Episode]) -> Iterator[Finding]:
    """A one-line action of one to three capitalised words ('BOB') is most likely a character cue
    whose dialogue went missing: Fountain reads it as action, which is rarely what was meant."""
    for scene in _scenes(episodes):
        for shot in scene.shots:
            text = shot.action.strip()
            words = text.split()
            # Only text with letter case can look like a cue: CJK text equals its own .upper().
            if 0 < len(words) <= 3 and "\n" not in text and is_upper(text) and not any(mark in text for mark in "!?,;:"):
                yield Finding(severity=Severity.WARNING, code="cue-without-dialogue", where=shot.id,
                              message=f"the action {text!r} looks like a character cue with no dialogue under it; "
                              "put the dialogue on the line right below the cue")


def episode_length(series: Series, episodes: list[Episode]) -> Iterator[Finding]:
    """A micro-drama episode runs minutes; one past 15 is a feature's act, not an episode."""
    for episode in episodes:
        minutes = episode.duration_frames / series.fps / 60
        if minutes > MAX_EPISODE_MINUTES:
            yield Finding(severity=Severity.WARNING, code="episode-too-long", where=episode.id,
                          message=f"{episode.id} runs {minutes:.1f} minutes, past {MAX_EPISODE_MINUTES} for a "
                          "micro-drama episode; cut the screenplay with --episode-minutes 3 (or the title page "
                          "key 'Episode-Minutes: 3')")


def reference_files(series: Series, episodes: list[Episode], root: Path | None = None) -> Iterator[Finding]:
    """Keyframes and voice reference clips are files inside the series folder `root`: a path that
    is absolute, climbs with '..' or resolves through a symlink outside the folder is an error
    (nothing outside the folder is ever read, core/paths.py). A missing file is a warning: the plan
    is sound and a previs renders without it (the animatic draws no keyframe), a keyframe may be
    generated after approval (`microdrama keyframes`), and a backend that needs it fails only the
    shots or lines that use it, by name. Without `root` only the paths' text is judged."""
    references = [(c.id, "keyframe", c.keyframe) for c in series.characters]
    references += [(c.id, "voice.reference_clip", c.voice.reference_clip) for c in series.characters]
    references += [(loc.id, "keyframe", loc.keyframe) for loc in series.locations]
    for where, field, path in references:
        if not path:
            continue
        if problem := reference_problem(root, path):
            yield Finding(severity=Severity.ERROR, code="reference-outside-folder", where=where,
                          message=f"{field}: {problem}")
        elif root is not None and not (Path(root) / path).is_file():
            yield Finding(severity=Severity.WARNING, code="reference-missing", where=where,
                          message=f"{field}: {path!r} is not a file in the series folder; shots and lines "
                          "render without it (a backend that needs it fails them): add the file, fix the path "
                          "or run `microdrama keyframes`")


RULES: list[Rule] = [unknown_names, speaker_absent, dialogue_fits, crossing_the_line, duplicate_ids, empty_scenes,
                     cue_like_action, episode_length, named_but_unframed]


def check_plan(series: Series, episodes: list[Episode], rules: list[Rule] = RULES) -> list[Finding]:
    return [finding for rule in rules for finding in rule(series, episodes)]


def blocking(findings: list[Finding]) -> list[Finding]:
    """Errors of the deterministic rules block approval. The LLM reviewer's findings are
    judgement, not rules: they drive its revision rounds and are shown at review, and the human
    decides."""
    return [f for f in findings if f.severity == Severity.ERROR and f.origin == FindingOrigin.RULES]


def review_findings(series: Series, episodes: list[Episode], backends: BackendSettings,
                    root: Path | None = None) -> list[Finding]:
    """Everything review shows: the continuity rules, whether every speaker can be voiced,
    whether the bible's reference files lie inside the series folder `root` (give it: without it
    only the paths' text is judged), and the bible's missing facts."""
    return (check_plan(series, episodes) + voice_findings(series, episodes, backends)
            + list(reference_files(series, episodes, root)) + bible_findings(series, episodes))
