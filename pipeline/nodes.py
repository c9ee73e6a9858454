"""The planning half of the production graph: ingest -> plan scenes (in parallel) -> collect ->
continuity -> review. Each node is a plain function (state, runtime) -> update."""

from __future__ import annotations

from langgraph.runtime import Runtime
from langgraph.types import Send, interrupt

from .checks import blocking, review_findings
from .config import Settings
from .ingest import ingest
from .models import Episode, Scene
from .planning import draft_scene, finalize_scene, scene_context, scene_digest
from .shot_prompt import compose_prompt
from .state import ProductionState, ReviewDecision, SceneTask
from .store import SeriesFolder


def _folder(runtime: Runtime[Settings]) -> SeriesFolder:
    return SeriesFolder(runtime.context.series_dir)


def _current_plan(folder: SeriesFolder) -> list[Episode]:
    """The plan files on disk, validated; an invalid hand edit stops the run rather than being
    overwritten."""
    return [folder.load_episode(episode_id) for episode_id in folder.episode_ids()]


def ingest_screenplay(state: ProductionState, runtime: Runtime[Settings]) -> dict:
    """Parse the screenplay into the bible and scenes; keep every planned scene whose screenplay
    text has not changed since it was planned (hand edits to it included)."""
    folder = _folder(runtime)
    existing = folder.load_series() if folder.exists() else None
    series, screenplay = ingest([folder.root / source for source in state.sources], existing)
    folder.save_series(series)
    digests = {s.id: scene_digest(s, series) for e in screenplay.episodes for s in e.scenes}
    kept = [scene for episode in _current_plan(folder) for scene in episode.scenes
            if digests.get(scene.id) == scene.source_digest]
    return {"series": series, "screenplay": screenplay, "planned": kept}


def route_scenes(state: ProductionState, runtime: Runtime[Settings]) -> list[Send] | str:
    """Fan out one `plan_scene` per scene that needs planning."""
    done = {scene.id for scene in state.planned}
    context = scene_context(state.screenplay)
    tasks = [
        Send("plan_scene", SceneTask(scene=scene, series=state.series, establishing=context[scene.id][0],
                                     introduced=context[scene.id][1]))
        for episode in state.screenplay.episodes for scene in episode.scenes if scene.id not in done
    ]
    return tasks or "collect_plan"


def plan_scene(task: SceneTask, runtime: Runtime[Settings]) -> dict:
    drafts = draft_scene(task.scene, task.establishing, set(task.introduced))
    return {"planned": [finalize_scene(task.scene, drafts, task.series)]}


def collect_plan(state: ProductionState, runtime: Runtime[Settings]) -> dict:
    """Put the planned scenes in screenplay order, recompose every prompt from the current bible,
    and write the plan files (removing episodes the screenplay no longer has)."""
    folder = _folder(runtime)
    planned = {scene.id: scene for scene in state.planned}
    episodes = []
    for script_episode in state.screenplay.episodes:
        scenes: list[Scene] = []
        for script in script_episode.scenes:
            scene = planned[script.id].model_copy(deep=True)
            for shot in scene.shots:
                shot.prompt = compose_prompt(shot, scene, state.series)
            scenes.append(scene)
        episodes.append(Episode(id=script_episode.id, title=script_episode.title, scenes=scenes))
    for episode in episodes:
        folder.save_episode(episode)
    for stale in set(folder.episode_ids()) - {e.id for e in episodes}:
        folder.episode_path(stale).unlink()
    return {"episodes": episodes}


def check_continuity(state: ProductionState, runtime: Runtime[Settings]) -> dict:
    return {"findings": review_findings(state.series, state.episodes, runtime.context.backends)}


def review(state: ProductionState, runtime: Runtime[Settings]) -> dict:
    """Stop for the human. On resume the plan files are read again, so hand edits made during
    review are what gets approved; an approval with blocking findings is refused."""
    answer = interrupt({
        "episodes": [e.id for e in state.episodes],
        "shots": sum(len(e.shots) for e in state.episodes),
        "findings": [f.model_dump(mode="json") for f in state.findings],
    })
    decision = ReviewDecision.model_validate(answer)
    if decision.action == "reject":
        return {"review": decision}
    folder = _folder(runtime)
    series, episodes = folder.load_plan()
    findings = review_findings(series, episodes, runtime.context.backends)
    if blocking(findings):
        # Nothing is approved; the graph comes back to this review (see graph.after_review).
        return {"series": series, "episodes": episodes, "findings": findings, "review": None}
    return {"series": series, "episodes": episodes, "findings": findings, "review": decision}

