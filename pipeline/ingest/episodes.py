"""Cutting a long story into micro-drama episodes of about N minutes, at scene boundaries (and
at a beat boundary inside a scene longer than an episode).

A feature, or a script in acts, is one stream of scenes; `cut_points` groups consecutive scenes so that
each episode's planned length is near the target, preferring to end an episode on a scene that
ends on a hook (a question, a reveal, a transition). It is a shortest-path over the scene
boundaries, so the whole story is weighed at once rather than greedily.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import ValidationError

from . import fountain as ft
from ..core import ids
from ..core.models import Finding, FindingOrigin, Screenplay, ScriptEpisode, ScriptScene, Series, Severity
from ..plan.rules import draft_scene, finalize_scene, scene_context

# An episode outside [2/3, 4/3] of the target costs as much as many small misses.
_OUTSIDE = 10.0
_HOOK_BONUS = 0.15
_REVEAL = re.compile(r"\b(reveal|reveals|revealing|realizes|realises|we see|it's|it is)\b|!$|[！]$", re.IGNORECASE)
_ACT = re.compile(r"^(act|acte|akt|akto)\b|^第\s*[一二三四五六七八九十\d]+\s*幕", re.IGNORECASE)


def is_act(section: str) -> bool:
    """`# ACT I`, `# Act Two`, `# 第一幕`: a division of one story, not an episode."""
    return bool(_ACT.match(section.strip()))


def scene_ending(elements: list[ft.Element]) -> str | None:
    """How a scene ends, when it ends on a hook: 'transition', 'question' or 'reveal'."""
    last = next((e for e in reversed(elements)
                 if isinstance(e, (ft.Action, ft.Dialogue, ft.Transition, ft.Centered))), None)
    if isinstance(last, ft.Transition):
        return "transition"
    if isinstance(last, ft.Dialogue) and last.speeches and last.speeches[-1].text.rstrip().endswith(("?", "？")):
        return "question"
    if isinstance(last, ft.Action) and _REVEAL.search(last.text.strip()):
        return "reveal"
    return None


def cut_points(durations: list[int], endings: list[str | None], target: int) -> list[int]:
    """How many consecutive scenes each episode takes, so that every episode lasts about `target`
    (the same unit as `durations`, e.g. frames) and, where it costs little, ends on a hook."""
    n = len(durations)
    best = [0.0] + [float("inf")] * n
    previous = [0] * (n + 1)
    for end in range(1, n + 1):
        length = 0
        for start in range(end - 1, -1, -1):
            length += durations[start]
            if length > 2 * target and start < end - 1:
                break
            miss = (length - target) / target
            cost = miss * miss + (_OUTSIDE if abs(miss) > 1 / 3 else 0.0)
            if endings[end - 1] and end < n:
                cost -= _HOOK_BONUS
            if best[start] + cost < best[end]:
                best[end], previous[end] = best[start] + cost, start
    sizes, end = [], n
    while end > 0:
        sizes.append(end - previous[end])
        end = previous[end]
    return sizes[::-1]


def renumber(scene: ScriptScene, scene_id: str) -> ScriptScene:
    """The scene under a new id, its lines numbered 1, 2, ... in it."""
    numbers = iter(range(1, 1 + sum(len(beat.lines) for beat in scene.beats)))
    beats = [beat.model_copy(update={"lines": [
        line.model_copy(update={"id": ids.line_id(scene_id, next(numbers))}) for line in beat.lines]})
        for beat in scene.beats]
    return scene.model_copy(update={"id": scene_id, "beats": beats})


def _frames(script: ScriptScene, establishing: bool, introduced: list[str], series: Series) -> int:
    """The scene's length as the rule planner plans it. A scene the plan models refuse counts
    nothing here; the ingest's plannability check names it afterwards."""
    try:
        return finalize_scene(script, draft_scene(script, establishing, set(introduced)), series).duration_frames
    except ValidationError:
        return 0


def split_scene(scene: ScriptScene, parts: int) -> list[ScriptScene]:
    """A scene longer than an episode, cut at the beat boundaries nearest to equal shares of its
    text; every part keeps the heading (a long scene played across episodes)."""
    weights = [20 + len(beat.text) + sum(len(line.text) for line in beat.lines) for beat in scene.beats]
    total, cuts, running = sum(weights), [0], 0
    for index, weight in enumerate(weights[:-1], start=1):
        running += weight
        if running >= total * len(cuts) / parts and len(cuts) < parts:
            cuts.append(index)
    cuts.append(len(scene.beats))
    return [scene.model_copy(update={"beats": scene.beats[a:b], "source_line": scene.beats[a].source_line or scene.source_line})
            for a, b in zip(cuts, cuts[1:]) if b > a]


def _pieces(episode: ScriptEpisode, context: dict[str, tuple[bool, list[str]]], series: Series,
            target: int | None) -> list[tuple[ScriptScene, int]]:
    """The episode's scenes with their planned frames; with a target, a scene longer than 4/3 of
    it is split into parts of about the target."""
    pieces = []
    for scene in episode.scenes:
        establishing, introduced = context[scene.id]
        frames = _frames(scene, establishing, introduced, series)
        if target is None or frames <= target * 4 / 3 or len(scene.beats) < 2:
            pieces.append((scene, frames))
            continue
        for n, part in enumerate(split_scene(scene, -(-frames // target))):
            pieces.append((part, _frames(part, establishing and n == 0, introduced, series)))
    return pieces


def cut_episodes(episodes: list[ScriptEpisode], origin: dict[str, tuple[Path, int]],
                 endings: dict[str, str | None], series: Series, cut_at: dict[str, float],
                 ) -> tuple[list[ScriptEpisode], dict[str, tuple[Path, int]], Finding]:
    """Cut the episodes named in `cut_at` (id -> minutes) into episodes of about that many planned
    minutes; every episode and scene is numbered again in order. Returns the episodes, where each
    starts in its file, and a review notice with each episode's length."""
    context = scene_context(Screenplay.model_construct(title="", language="", episodes=episodes))
    cut: list[ScriptEpisode] = []
    minutes: list[float] = []
    new_origin: dict[str, tuple[Path, int]] = {}
    for episode in episodes:
        target = round(cut_at[episode.id] * 60 * series.fps) if episode.id in cut_at else None
        pieces = _pieces(episode, context, series, target)
        sizes = [len(pieces)]
        if target:
            # A split scene's last part ends the way the scene does; its other parts end mid-scene.
            ends = [endings.get(scene.id) if next_scene is None or next_scene.id != scene.id else None
                    for (scene, _), (next_scene, _) in zip(pieces, pieces[1:] + [(None, 0)])]
            sizes = cut_points([frames for _, frames in pieces], ends, target)
        start = 0
        for part, size in enumerate(sizes, start=1):
            episode_id = ids.episode_id(len(cut) + 1)
            taken = pieces[start:start + size]
            path, line = origin[episode.id]
            new_origin[episode_id] = (path, taken[0][0].source_line or line)
            title = episode.title if len(sizes) == 1 else f"{episode.title} — part {part}".lstrip(" —")
            cut.append(ScriptEpisode(
                id=episode_id, title=title, logline=episode.logline if part == 1 else "",
                scenes=[renumber(s, ids.scene_id(episode_id, n)) for n, (s, _) in enumerate(taken, start=1)]))
            minutes.append(sum(frames for _, frames in taken) / series.fps / 60)
            start += size
    return cut, new_origin, _summary(cut, minutes, sorted(set(cut_at.values())))


def _summary(episodes: list[ScriptEpisode], minutes: list[float], targets: list[float]) -> Finding:
    """'cut into 45 episodes of about 3 minutes: e01 3.1, e02 2.8, ...'."""
    about = " / ".join(f"{t:g}" for t in targets)
    each = ", ".join(f"{e.id} {m:.1f}" for e, m in zip(episodes, minutes))
    return Finding(severity=Severity.INFO, code="episodes-cut", where="screenplay", origin=FindingOrigin.INGEST,
                   message=f"cut into {len(episodes)} episodes of about {about} minutes "
                   f"(planned minutes: {each})")
