"""After assembly: audit an episode against the approved plan it was rendered from, then write
what people review and finish the cut with: the storyboard page and the editor export (OTIO, FCP
XML, SRT, screenplay).

Everything here reads the episode's files: out/eNN.mp4, out/eNN.srt, out/eNN.timeline.json and
the approved snapshot the timeline names. The render graph's last node and `microdrama audit`
come here alike. The plan files as they stand are checked too: an invalid plan file or one edited
since that approval is reported in the audit, never passed over.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.config import Settings
from ..core.errors import InputError
from ..core.snapshot import load_snapshot
from ..core.store import SeriesFolder
from ..edit.timeline import Timeline, read_timeline, timeline_path
from ..core.results import AuditSummary
from .audit import AuditReport, Check, Verdict, audit_episode, write_report
from .export import export_timeline
from .storyboard import write_storyboard


@dataclass(frozen=True)
class Published:
    report: AuditReport
    files: list[Path]
    summary: AuditSummary


def assembled_episodes(folder: SeriesFolder) -> list[str]:
    """Episodes with both an MP4 and its timeline in out/."""
    return sorted(p.name.removesuffix(".timeline.json") for p in folder.out_dir.glob("e*.timeline.json")
                  if (folder.out_dir / p.name.replace(".timeline.json", ".mp4")).is_file())


def plan_checks(folder: SeriesFolder, timeline: Timeline) -> list[Check]:
    """Is the episode still what the plan files say? Invalid plan files are an error (the plan a
    person would act on cannot be read); an episode edited since the approval it was rendered
    from is a warning (the MP4 is a take of an older plan)."""
    where = timeline.episode_id
    try:
        series, episodes = folder.load_plan()
    except InputError as exc:
        return [Check(name="plan-valid", where=where, threshold=None, measured=len(exc.problems),
                      verdict=Verdict.ERROR, message="the plan files do not validate: " + "; ".join(
                          str(p) for p in exc.problems[:5]))]
    approved = load_snapshot(folder, timeline.snapshot)
    current = next((e for e in episodes if e.id == where), None)
    same = current == approved.episode(where) and series == approved.series
    return [
        Check(name="plan-valid", where=where, threshold=None, measured=None, verdict=Verdict.PASS,
              message="the plan files validate"),
        Check(name="plan-current", where=where, threshold=None, measured=timeline.snapshot,
              verdict=Verdict.PASS if same else Verdict.WARNING,
              message="the episode's plan is as approved" if same else
              "the plan files changed since the approval this episode was rendered from: "
              "approve and render again"),
    ]


def publish_episode(folder: SeriesFolder, episode_id: str, settings: Settings) -> Published:
    """Audit one assembled episode and write its report, storyboard and editor export."""
    out = folder.out_dir
    timeline = read_timeline(timeline_path(out, episode_id), folder.root)
    snapshot = load_snapshot(folder, timeline.snapshot)
    episode, series = snapshot.episode(episode_id), snapshot.series
    video, subtitles = out / f"{episode_id}.mp4", out / f"{episode_id}.srt"
    backends = {clip.shot_id: clip.backend for clip in timeline.video if clip.backend}
    measured = audit_episode(timeline, episode, series, video, subtitles, settings.audit, backends, folder.root,
                             kept=folder.state_dir / "audit")
    report = measured.model_copy(update={"checks": [*plan_checks(folder, timeline), *measured.checks]})
    write_report(report, out / f"{episode_id}.audit.json")
    screenplays = folder.screenplays()
    files = [
        out / f"{episode_id}.audit.json",
        write_storyboard(timeline, episode, series, list(snapshot.findings), report, out),
        *export_timeline(timeline, episode, series, report, out, screenplays[0] if len(screenplays) == 1 else None),
    ]
    counts = report.counts
    summary = AuditSummary(id=episode_id, errors=counts.get("error", 0), warnings=counts.get("warning", 0),
                           skipped=counts.get("skipped", 0), passed=counts.get("pass", 0),
                           files=[str(p.relative_to(folder.root)) for p in files])
    return Published(report, files, summary)
