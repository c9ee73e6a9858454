"""The render graph's nodes: an approved snapshot and a request -> cached artifacts -> episodes.

    invalidate (--force: the selection's cached artifacts are dropped, once per run)
    reuse (every shot and cue whose artifacts are all cached: its result, read from the cache)
    dispatch -> render_shot (one per shot left: voices, sound effects, then picture)
             + render_cue (one per scene left: music and ambience beds),
                the longest shots first (schedule.py)
             -> assemble (the cut, written to out/eNN.timeline.json, and the episode files)
             -> publish (audit, storyboard, editor export: each reads the timeline file)

Branch payloads are ids; a node looks its shot up in the snapshot (parsed once per process), so
a checkpoint's size per shot does not grow with the size of the plan.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from langgraph.runtime import Runtime
from langgraph.types import Send

from ..core.config import Settings
from ..core.errors import RenderError
from ..core.results import SoundRender
from ..core.snapshot import Snapshot, load_snapshot
from ..core.store import SeriesFolder
from ..edit.assemble import assemble_episode
from ..edit.audio import wav_seconds
from ..render.backends import SfxRequest
from ..render.budget import BudgetPlan, plan_budget
from ..render.renderer import Renderer
from ..render.requests import ambience_requests, effect_requests
from ..review.publish import publish_episode
from .schedule import longest_first
from .state import CueJob, CueRender, LineRender, RenderState, ShotJob, ShotRender

T = TypeVar("T")


def _snapshot(runtime: Runtime[Settings], digest: str) -> Snapshot:
    return load_snapshot(SeriesFolder(runtime.context.series_dir), digest)


def touched_episodes(state: RenderState, snapshot: Snapshot) -> list[str]:
    return [e.id for e in snapshot.episodes if any(state.request.selects(s.id) for s in e.shots)]


def invalidate(state: RenderState, runtime: Runtime[Settings]) -> dict:
    """`--force`: drop the selection's cached artifacts before anything renders. Done once, in
    its own node, so a forced render killed part-way keeps what it finished when resumed."""
    if not state.request.force:
        return {}
    snapshot, renderer = _snapshot(runtime, state.snapshot), Renderer(runtime.context)
    for episode_id in touched_episodes(state, snapshot):
        for scene in snapshot.episode(episode_id).scenes:
            chosen = [shot for shot in scene.shots if state.request.selects(shot.id)]
            sounds = [*(ambience_requests(scene, snapshot.series) if chosen else []),
                      *(r for shot in chosen for r in effect_requests(shot, scene, snapshot.series))]
            for take in [renderer.music(scene, snapshot.series, render=False) if chosen else None,
                         *(renderer.sound(request, render=False) for request in sounds)]:
                if take:
                    take.path.unlink(missing_ok=True)
            for shot in chosen:
                voices, picture = renderer.cached_shot(shot, scene, snapshot.series)
                for path in [*voices, *([picture.path] if picture else [])]:
                    path.unlink(missing_ok=True)
    return {}


def reuse(state: RenderState, runtime: Runtime[Settings]) -> dict:
    """The result of every shot and cue the cache holds whole, without a branch: a branch costs
    LangGraph a task and its checkpoint writes, which were most of a no-change render of a
    season (and of a one-line edit, whose other shots are all cached)."""
    snapshot, renderer = _snapshot(runtime, state.snapshot), Renderer(runtime.context)
    renders, cues = [], []
    for episode_id in touched_episodes(state, snapshot):
        for scene in snapshot.episode(episode_id).scenes:
            cues += filter(None, [cue_result(renderer, snapshot, scene.id, render=False)])
            renders += filter(None, (shot_result(renderer, snapshot, shot.id, state.request.selects(shot.id),
                                                 render=False) for shot in scene.shots))
    return {"renders": renders, "cues": cues}


def dispatch(state: RenderState, runtime: Runtime[Settings]) -> list[Send] | str:
    """One branch per shot and per scene cue of every episode the request touches that `reuse`
    did not find whole in the cache: a shot outside the selection is rendered too when it is
    stale, since its episode is re-assembled (it is marked as not selected, and the report says so)."""
    request, snapshot = state.request, _snapshot(runtime, state.snapshot)
    episodes = touched_episodes(state, snapshot)
    budget = budget_for(state, snapshot, episodes, runtime.context)
    done = {r.id for r in state.renders} | {c.id for c in state.cues}
    shots: list[tuple[int, Send]] = []
    cues: list[Send] = []
    for episode_id in episodes:
        for scene in snapshot.episode(episode_id).scenes:
            if scene.id not in done:
                cues.append(Send("render_cue", CueJob(
                    snapshot=state.snapshot, scene_id=scene.id,
                    deferred=budget.reason(scene.id) if scene.id in budget.left else None)))
            for shot in scene.shots:
                if shot.id not in done:
                    shots.append((shot.duration_frames, Send("render_shot", ShotJob(
                        snapshot=state.snapshot, shot_id=shot.id, selected=request.selects(shot.id),
                        deferred=budget.reason(shot.id) if shot.id in budget.left else None))))
    return longest_first(shots, cues) or "assemble"


def budget_for(state: RenderState, snapshot: Snapshot, episodes: list[str], settings: Settings) -> BudgetPlan:
    """What the request's budget leaves out (nothing without a budget)."""
    if state.request.budget_usd is None:
        return BudgetPlan(0.0, 0.0, {})
    return plan_budget(snapshot, episodes, settings, state.request.budget_usd)


def render_shot(job: ShotJob, runtime: Runtime[Settings]) -> dict:
    if job.deferred:
        return {"renders": [ShotRender(id=job.shot_id, selected=job.selected, deferred=job.deferred)]}
    renderer = Renderer(runtime.context)
    return {"renders": [shot_result(renderer, _snapshot(runtime, job.snapshot), job.shot_id, job.selected)]}


def shot_result(renderer: Renderer, snapshot: Snapshot, shot_id: str, selected: bool,
                render: bool = True) -> ShotRender | None:
    """Voices first (the picture's burned-in subtitles follow their measured lengths), then the
    picture. A failure is recorded on the shot; the rest of the run goes on. Without `render`,
    the same from the cache alone: None unless it holds every artifact."""
    scene, shot = snapshot.shot(shot_id)
    lines, voiced, cached = [], {}, True
    for line in shot.dialogue:
        try:
            take = renderer.voice(shot, line, snapshot.series, render)
        except RenderError as exc:
            lines.append(LineRender(id=line.id, error=str(exc)))
            continue
        if take is None:
            return None
        lines.append(LineRender(id=line.id, path=renderer.relative(take.path), seconds=take.seconds))
        voiced[line.id], cached = (take.path, take.seconds), cached and take.cached
    effects = [sound_render(renderer, request, effect.sound, effect.offset_frames, render)
               for effect, request in zip(shot.sfx, effect_requests(shot, scene, snapshot.series), strict=True)]
    if None in effects:
        return None
    cached = cached and all(take_cached for _, take_cached in effects)
    result = ShotRender(id=shot.id, lines=lines, effects=[e for e, _ in effects], selected=selected)
    try:
        picture = renderer.picture(shot, scene, snapshot.series, voiced, render)
    except RenderError as exc:
        return result.model_copy(update={"error": str(exc)})
    if picture is None:
        return None
    return result.model_copy(update={"video": renderer.relative(picture.path), "cached": cached and picture.cached,
                                     "backend": picture.backend, "fallback": picture.fallback})


def sound_render(renderer: Renderer, request: SfxRequest, sound: str, offset_frames: int = 0,
                 render: bool = True) -> tuple[SoundRender, bool] | None:
    """A sound effect or bed, and whether the cache had it; a failure is recorded on it. Without
    `render`: None when the cache does not have it."""
    try:
        take = renderer.sound(request, render)
    except RenderError as exc:
        return SoundRender(sound=sound, offset_frames=offset_frames, error=str(exc)), False
    if take is None:
        return None
    return SoundRender(sound=sound, offset_frames=offset_frames, path=renderer.relative(take.path),
                       seconds=wav_seconds(take.path)), take.cached


def render_cue(job: CueJob, runtime: Runtime[Settings]) -> dict:
    if job.deferred:
        return {"cues": [CueRender(id=job.scene_id, deferred=job.deferred)]}
    return {"cues": [cue_result(Renderer(runtime.context), _snapshot(runtime, job.snapshot), job.scene_id)]}


def cue_result(renderer: Renderer, snapshot: Snapshot, scene_id: str, render: bool = True) -> CueRender | None:
    """The scene's music cue and its ambience beds (without `render`: None unless all cached)."""
    scene = snapshot.scene(scene_id)
    beds = [sound_render(renderer, request, bed, render=render)
            for bed, request in zip(scene.ambience, ambience_requests(scene, snapshot.series), strict=True)]
    if None in beds:
        return None
    ambience, beds_cached = [b for b, _ in beds], all(c for _, c in beds)
    try:
        take = renderer.music(scene, snapshot.series, render)
    except RenderError as exc:
        return CueRender(id=scene_id, ambience=ambience, error=str(exc))
    if take is None:
        return None
    return CueRender(id=scene_id, path=renderer.relative(take.path), ambience=ambience,
                     cached=take.cached and beds_cached)


def _per_episode(settings: Settings, work: Callable[[str], T], episode_ids: list[str]) -> list[T]:
    """`work` for each episode, `render_concurrency` at a time (most of it is FFmpeg, which runs
    outside the interpreter lock), results in episode order."""
    with ThreadPoolExecutor(max_workers=max(1, settings.render_concurrency)) as pool:
        return list(pool.map(work, episode_ids))


def assemble(state: RenderState, runtime: Runtime[Settings]) -> dict:
    """Assemble every episode the request touched (edit/assemble.py), episodes in parallel."""
    snapshot = _snapshot(runtime, state.snapshot)
    shots, cues = {r.id: r for r in state.renders}, {c.id: c for c in state.cues}
    return {"outputs": _per_episode(
        runtime.context, lambda e: assemble_episode(snapshot.episode(e), snapshot, shots, cues, runtime.context),
        touched_episodes(state, snapshot))}


def publish(state: RenderState, runtime: Runtime[Settings]) -> dict:
    """Every episode this run wrote (or whose audit is missing) gets its audit, storyboard and
    editor export, each read from the episode's timeline file."""
    folder = SeriesFolder(runtime.context.series_dir)
    due = [output.id for output in state.outputs
           if output.video and (output.mastered or not (folder.out_dir / f"{output.id}.audit.json").is_file())]
    return {"audits": _per_episode(runtime.context, lambda e: publish_episode(folder, e, runtime.context).summary, due)}
