"""After assembly: audit each episode against its plan, then write what people review and finish
the cut with: the storyboard page and the editor export (OTIO, FCP XML, SRT, screenplay).

The graph's last node and `microdrama audit` both come here, with the same timeline assembly
used (built from the render results of the run)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from langgraph.runtime import Runtime
from pydantic import ValidationError

from .audit import AuditOptions, AuditReport, audit_episode, write_report
from ..core.config import Settings
from ..core.errors import ConfigError
from .export import export_timeline
from ..core.models import Episode, Finding, Series
from ..graph.state import AuditSummary, ProductionState
from ..core.store import SeriesFolder
from .storyboard import write_storyboard
from ..edit.timeline import Timeline, build_timeline


@dataclass(frozen=True)
class Published:
    report: AuditReport
    files: list[Path]


def episode_timeline(episode: Episode, state: ProductionState, folder: SeriesFolder) -> Timeline:
    """The episode's timeline from the run's render results (the one assembly used)."""
    return build_timeline(episode, state.series, folder.root, {r.id: r for r in state.renders},
                          {c.id: c for c in state.cues})


def publish_episode(episode: Episode, series: Series, state: ProductionState, folder: SeriesFolder,
                    findings: list[Finding], options: AuditOptions) -> Published:
    timeline = episode_timeline(episode, state, folder)
    out = folder.out_dir
    video, subtitles = out / f"{episode.id}.mp4", out / f"{episode.id}.srt"
    backends = {r.id: r.backend.split(" ")[0] for r in state.renders if r.backend}
    report = audit_episode(timeline, episode, series, video, subtitles, options, backends, folder.root)
    write_report(report, out / f"{episode.id}.audit.json")
    screenplays = folder.screenplays()
    files = [
        out / f"{episode.id}.audit.json",
        write_storyboard(timeline, episode, series, findings, report, out),
        *export_timeline(timeline, episode, series, report, out, screenplays[0] if len(screenplays) == 1 else None),
    ]
    return Published(report, files)


def summary(report: AuditReport, files: list[Path], root: Path) -> AuditSummary:
    counts = report.counts
    return AuditSummary(id=report.episode_id, errors=counts.get("error", 0), warnings=counts.get("warning", 0),
                        skipped=counts.get("skipped", 0), passed=counts.get("pass", 0),
                        files=[str(p.relative_to(root)) for p in files])


def audit_options(settings: Settings) -> AuditOptions:
    try:
        return AuditOptions.model_validate(settings.audit)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{settings.series_dir / 'microdrama.toml'} [audit]: {problems}") from None


def publish(state: ProductionState, runtime: Runtime[Settings]) -> dict:
    """The graph's last node: every episode this run assembled gets its audit, storyboard and
    editor export."""
    folder = SeriesFolder(runtime.context.series_dir)
    # An episode that was already up to date keeps its audit and storyboard (nothing changed).
    changed = {o.id for o in state.outputs
               if o.video and (o.mastered or not (folder.out_dir / f"{o.id}.audit.json").is_file())}
    summaries = []
    for episode in state.episodes:
        if episode.id in changed:
            published = publish_episode(episode, state.series, state, folder, state.findings,
                                        audit_options(runtime.context))
            summaries.append(summary(published.report, published.files, folder.root))
    return {"audits": summaries}
