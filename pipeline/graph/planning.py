"""The planning graph's nodes. Each node is a plain function (state, runtime) -> update; the
routing functions return the next node or the parallel branches (Send).

    synopsis:   write_bible -> write_episode (one per episode) -> collect_screenplays -> ingest
    screenplay: ingest_screenplay -> plan_scene (one per scene) -> collect_plan -> check_continuity
                -> (scenes with findings re-planned, bounded rounds; LLM planner only) -> review

The plan's home is the plan files: collect_plan writes them, and the continuity check and the
review read them back (hand edits made at review included). Approval freezes them into a
snapshot (plan/approval.py).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from functools import lru_cache
from pathlib import Path

from langgraph.runtime import Runtime
from langgraph.types import Send, interrupt

from microdrama.agents.continuity import review_plan
from microdrama.agents.llm import LLM, LLMSettings, OpenAILLM
from microdrama.agents.shot_planner import plan_scene_shots
from microdrama.agents.writer import series_from_bible, write_bible, write_episode
from ..plan.approval import approve_files
from ..plan.checks import review_findings
from ..core.config import Settings
from ..ingest.screenplay import ingest, read_text
from ..core import ids
from ..core.errors import InputError
from ..core.models import Episode, Finding, FindingOrigin, Scene, Screenplay, ScriptScene, Severity
from ..plan.rules import draft_scene, finalize_scene, scene_context, scene_digest
from ..plan.shot_prompt import recompose_prompts
from .state import EpisodeScript, EpisodeTask, PlanningState, ReviewDecision, SceneTask
from ..core.store import SYNOPSIS_FILE, SeriesFolder, atomic_write_text, slugify


def _folder(runtime: Runtime[Settings]) -> SeriesFolder:
    return SeriesFolder(runtime.context.series_dir)


@lru_cache(maxsize=4)
def _openai(settings_json: str, state_dir: Path) -> OpenAILLM:
    return OpenAILLM(LLMSettings.model_validate_json(settings_json), call_log=state_dir / "llm-calls.jsonl",
                     reply_cache=state_dir / "llm-replies")


def llm(settings: Settings) -> LLM:
    """The run's LLM: an injected client (tests), else one OpenAI-compatible client per process
    and endpoint, logging every call to the series' state/llm-calls.jsonl and keeping validated
    replies in state/llm-replies/ (a resumed node does not ask again)."""
    if settings.llm_client is not None:
        return settings.llm_client
    settings.llm.check_configured()
    return _openai(_settings_json(settings.llm), SeriesFolder(settings.series_dir).state_dir)


def _settings_json(settings: LLMSettings) -> str:
    """The settings as JSON, key included, to key the per-process client cache (never written)."""
    data = settings.model_dump(mode="json")
    if settings.api_key is not None:
        data["api_key"] = settings.api_key.get_secret_value()
    return json.dumps(data, sort_keys=True)


# --- from a synopsis to screenplay files -------------------------------------------------------


def route_start(state: PlanningState) -> str:
    return "write_bible" if state.format is not None and not state.scripts else "ingest_screenplay"


def write_series_bible(state: PlanningState, runtime: Runtime[Settings]) -> dict:
    """The writer's first pass: synopsis -> bible, saved as series.yaml."""
    folder = _folder(runtime)
    synopsis = read_text(folder.root / SYNOPSIS_FILE, what="synopsis")
    written = write_bible(synopsis, state.format, llm(runtime.context))
    folder.save_series(series_from_bible(written.draft, state.format, slugify(folder.root.name) or "series"))
    findings = [Finding(severity=Severity.WARNING, code=p.code, message=p.message, where=p.where,
                        origin=FindingOrigin.LLM) for p in written.problems]
    return {"bible": written.draft, "bible_findings": findings}


def route_episodes(state: PlanningState) -> list[Send]:
    written = {script.id for script in state.scripts}
    return [Send("write_episode", EpisodeTask(number=n, bible=state.bible, format=state.format))
            for n in range(1, len(state.bible.episodes) + 1) if ids.episode_id(n) not in written]


def write_episode_screenplay(task: EpisodeTask, runtime: Runtime[Settings]) -> dict:
    fountain = write_episode(task.bible, task.number, task.format, llm(runtime.context))
    title = task.bible.episodes[task.number - 1].title
    return {"scripts": [EpisodeScript(id=ids.episode_id(task.number), title=title, fountain=fountain)]}


def collect_screenplays(state: PlanningState, runtime: Runtime[Settings]) -> dict:
    """One screenplay file per episode; from here on the run is a screenplay run."""
    folder = _folder(runtime)
    sources = []
    for script in sorted(state.scripts, key=lambda s: s.id):
        path = folder.root / "screenplay" / f"{script.id}.fountain"
        title = " ".join(script.title.split())
        atomic_write_text(path, f"Title: {title}\n\n{script.fountain.strip()}\n")
        sources.append(str(path.relative_to(folder.root)))
    return {"sources": sources, "source_digest": folder.sources_digest(sources)}


# --- planning ----------------------------------------------------------------------------------
# The parsed screenplay and each planned scene go to files under state/planning/ (the parse by
# its digest, a planned scene by its id), so a checkpoint carries ids and digests only: its size
# does not grow with the plan for every step of the run.


def _planning_dir(folder: SeriesFolder) -> Path:
    return folder.state_dir / "planning"


def _draft_path(folder: SeriesFolder, scene_id: str) -> Path:
    return _planning_dir(folder) / "drafts" / f"{scene_id}.json"


def screenplay_of(folder: SeriesFolder, digest: str) -> Screenplay:
    return _read_screenplay(_planning_dir(folder) / f"screenplay-{digest}.json")


@lru_cache(maxsize=4)
def _read_screenplay(path: Path) -> Screenplay:
    """Read once per process: every planning branch looks its scene up in the same parse."""
    return Screenplay.model_validate_json(path.read_bytes())


def _script_scenes(screenplay: Screenplay) -> list[ScriptScene]:
    return [scene for episode in screenplay.episodes for scene in episode.scenes]


def _current_plan(folder: SeriesFolder) -> list[Episode]:
    """The plan files on disk, validated; an invalid hand edit stops the run rather than being
    overwritten."""
    return [folder.load_episode(episode_id) for episode_id in folder.episode_ids()]


def ingest_screenplay(state: PlanningState, runtime: Runtime[Settings]) -> dict:
    """Parse the screenplay into the bible and scenes; keep every planned scene whose screenplay
    text (and planner) has not changed since it was planned, hand edits to it included."""
    folder = _folder(runtime)
    existing = folder.load_series() if folder.exists() else None
    series, screenplay = ingest([folder.root / source for source in state.sources], existing,
                                episode_minutes=runtime.context.episode_minutes)
    folder.save_series(series)
    text = screenplay.model_dump_json()
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    shutil.rmtree(_planning_dir(folder) / "drafts", ignore_errors=True)  # an earlier run's
    atomic_write_text(_planning_dir(folder) / f"screenplay-{digest}.json", text)
    planner = runtime.context.planner
    digests = {s.id: scene_digest(s, series, planner) for s in _script_scenes(screenplay)}
    current = [scene for episode in _current_plan(folder) for scene in episode.scenes if scene.id in digests]
    if state.revision:  # a revision carries every other scene over as it is, whatever planned it
        kept = [scene.id for scene in current if scene.id != state.revision.scene]
    else:
        kept = [scene.id for scene in current if digests[scene.id] == scene.source_digest]
    return {"screenplay": digest, "kept": kept, "round": 0}


def _tasks(state: PlanningState, runtime: Runtime[Settings], scene_ids: set[str],
           notes: dict[str, str] | None = None, findings: dict[str, list[Finding]] | None = None) -> list[Send]:
    context = scene_context(screenplay_of(_folder(runtime), state.screenplay))
    return [
        Send("plan_scene", SceneTask(
            screenplay=state.screenplay, scene_id=scene_id, establishing=context[scene_id][0],
            introduced=context[scene_id][1], note=(notes or {}).get(scene_id),
            findings=(findings or {}).get(scene_id, []),
        ))
        for scene_id in context if scene_id in scene_ids
    ]


def route_scenes(state: PlanningState, runtime: Runtime[Settings]) -> list[Send] | str:
    """Fan out one `plan_scene` per scene that needs planning (under a revision: that scene)."""
    every = {s.id for s in _script_scenes(screenplay_of(_folder(runtime), state.screenplay))}
    if state.revision:  # that scene, and any the plan files lack
        revised = state.revision.scene
        return _tasks(state, runtime, (every - set(state.kept)) | {revised}, notes={revised: state.revision.note})
    return _tasks(state, runtime, every - set(state.kept)) or "collect_plan"


def plan_scene(task: SceneTask, runtime: Runtime[Settings]) -> dict:
    settings, folder = runtime.context, _folder(runtime)
    series = folder.load_series()
    script = next(s for s in _script_scenes(screenplay_of(folder, task.screenplay)) if s.id == task.scene_id)
    if settings.planner == "llm":
        drafts = plan_scene_shots(script, series, llm(settings), note=task.note, findings=task.findings)
    else:
        drafts = draft_scene(script, task.establishing, set(task.introduced))
    scene = finalize_scene(script, drafts, series)
    scene.source_digest = scene_digest(script, series, settings.planner)
    atomic_write_text(_draft_path(folder, scene.id), scene.model_dump_json())
    return {"planned": [scene.id]}


def collect_plan(state: PlanningState, runtime: Runtime[Settings]) -> dict:
    """Put the scenes in screenplay order (planned in this run, else kept from the plan files),
    recompose every prompt from the current bible, and write the plan files that changed (removing
    episodes the screenplay no longer has). A kept scene is written back unchanged, byte for byte,
    and an unchanged episode is not written at all: dumping a season's YAML was a tenth of a re-plan."""
    folder = _folder(runtime)
    series = folder.load_series()
    screenplay = screenplay_of(folder, state.screenplay)
    current = {episode.id: episode for episode in _current_plan(folder)}
    scenes = {scene.id: scene for episode in current.values() for scene in episode.scenes
              if scene.id in set(state.kept)}
    scenes.update({scene_id: Scene.model_validate_json(_draft_path(folder, scene_id).read_bytes())
                   for scene_id in state.planned})
    episodes = [
        recompose_prompts(Episode(id=e.id, title=e.title, scenes=[scenes[s.id] for s in e.scenes]), series)
        for e in screenplay.episodes
    ]
    for episode in episodes:
        if episode != current.get(episode.id):  # an episode the run left as it was keeps its file
            folder.save_episode(episode)
    for stale in set(folder.episode_ids()) - {e.id for e in episodes}:
        folder.episode_path(stale).unlink()
    return {}


def check_continuity(state: PlanningState, runtime: Runtime[Settings]) -> dict:
    """Deterministic checks, plus the LLM continuity reviewer when the LLM plans."""
    settings = runtime.context
    folder = _folder(runtime)
    series, episodes = folder.load_plan()
    findings = state.bible_findings + review_findings(series, episodes, settings.backends, folder.root)
    findings += screenplay_of(folder, state.screenplay).notices
    if settings.planner == "llm":
        findings += review_plan(series, episodes, llm(settings))
    return {"findings": findings, "round": state.round + 1}


def _scene_of(finding: Finding, scene_ids: list[str]) -> str | None:
    """The scene a finding is about: its own id, or the scene of the shot or line it names."""
    return next((s for s in scene_ids if ids.contains(s, finding.where)), None)


def route_after_continuity(state: PlanningState, runtime: Runtime[Settings]) -> list[Send] | str:
    """With the LLM planner, scenes that have errors or reviewer findings are planned again with
    those findings, for at most `continuity_rounds` rounds; whatever remains goes to review.
    Under a revision only the revised scene is planned again: the others were promised as they are."""
    settings = runtime.context
    if settings.planner != "llm" or state.round > settings.continuity_rounds:
        return "review"
    scene_ids = [s.id for s in _script_scenes(screenplay_of(_folder(runtime), state.screenplay))]
    by_scene: dict[str, list[Finding]] = {}
    for finding in state.findings:
        if finding.severity == Severity.ERROR or finding.origin == "llm":
            scene = _scene_of(finding, scene_ids)
            if scene and (state.revision is None or scene == state.revision.scene):
                by_scene.setdefault(scene, []).append(finding)
    return _tasks(state, runtime, set(by_scene), findings=by_scene) or "review"


def review(state: PlanningState, runtime: Runtime[Settings]) -> dict:
    """Stop for the human. On resume the plan files are read again, so hand edits made during
    review are what gets approved; an approval with blocking findings is refused and the graph
    asks again (see the graph's wiring)."""
    episodes = screenplay_of(_folder(runtime), state.screenplay).episodes
    # The run is complete up to here, so no LLM reply is left to resume from (agents/replies.py).
    shutil.rmtree(_folder(runtime).state_dir / "llm-replies", ignore_errors=True)
    answer = interrupt({
        "episodes": [e.id for e in episodes],
        "scenes": sum(len(e.scenes) for e in episodes),
        "findings": [f.model_dump(mode="json") for f in state.findings],
    })
    decision = ReviewDecision.model_validate(answer)
    if decision.action == "reject":
        return {"review": decision}
    judged = [f for f in state.findings if f.origin == "llm"]
    try:
        digest, plan = approve_files(_folder(runtime), runtime.context, judged)
    except InputError:
        # Invalid files or rule errors: nothing is approved; the run stays at review.
        return {"review": None}
    return {"findings": plan.findings, "review": decision, "approved": digest}


def after_review(state: PlanningState) -> str:
    return "review" if state.review is None else "__end__"
