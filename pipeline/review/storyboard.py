"""The storyboard: one static HTML page per episode, `out/eNN.storyboard.html`, to review a render
at a glance. One card per shot: its middle frame, framing, cast, lines, and what the continuity
checker and the audit found there.

The page opens from disk with no server and fetches nothing: CSS is inline, there is no script,
and the thumbnails are embedded as data: URIs. One self-contained file can be mailed, attached to
an issue or opened from a zip, and it can never show stale or missing images: rewriting it replaces
everything at once (atomic write), where a folder of thumbnails beside it would need cleaning up.
The cost, base64's extra third, is small at thumbnail size (a few KB per shot).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from ..core import ids
from ..core.models import DialogueLine, Episode, Finding, Scene, Series, Shot
from ..core.store import atomic_write_text
from ..edit.timeline import Timeline, VideoClip
from .thumbnails import thumbnail

if TYPE_CHECKING:
    from .audit import AuditReport, Check

SEVERITY_ORDER = ("error", "warning", "info", "skipped")


@dataclass(frozen=True)
class Note:
    """A continuity finding or a non-passing audit check, as the page shows it."""

    source: str  # "continuity" or "audit"
    severity: str  # error, warning, info (findings) or skipped (checks)
    label: str  # the rule or check name
    message: str
    where: str


def write_storyboard(timeline: Timeline, episode: Episode, series: Series, findings: list[Finding],
                     audit: AuditReport | None, out_dir: Path) -> Path:
    """Write `out_dir/eNN.storyboard.html` and return its path. `findings` may be the whole
    series' list: only this episode's are shown."""
    notes = place_notes(episode, collect_notes(findings, audit))
    clips = {clip.shot_id: clip for clip in timeline.video}
    thumbs = {shot.id: thumbnail(clips[shot.id], timeline) for shot in episode.shots if shot.id in clips}
    body = [page_header(timeline, episode, series, notes)]
    body += [scene_section(scene, series, timeline.fps, notes, thumbs, clips) for scene in episode.scenes]
    page = page_html(timeline, series, "\n".join(body))
    path = Path(out_dir) / f"{episode.id}.storyboard.html"
    atomic_write_text(path, page)
    return path


# --- notes: what was found, and where it belongs on the page -----------------------------------


def collect_notes(findings: list[Finding], audit: AuditReport | None) -> list[Note]:
    """Continuity findings and the audit's checks that did not pass."""
    notes = [Note("continuity", str(f.severity), f.code, f.message, f.where) for f in findings]
    for check in audit.checks if audit else []:
        if str(check.verdict) != "pass":
            notes.append(Note("audit", str(check.verdict), check.name, _check_message(check), check.where))
    return notes


def _check_message(check: Check) -> str:
    measured = f"measured {_value(check.measured)}" if check.measured is not None else ""
    threshold = f"threshold {_value(check.threshold)}" if check.threshold is not None else ""
    figures = ", ".join(part for part in (measured, threshold) if part)
    return f"{check.message} ({figures})" if figures else check.message


def _value(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def place_notes(episode: Episode, notes: list[Note]) -> dict[str, list[Note]]:
    """Notes by the place that shows them: a shot id (a line's notes go to its shot's card), a
    scene id, or the episode id (the page header) for anything else of this episode. Notes about
    other episodes are dropped."""
    shot_of_line = {line.id: shot.id for shot in episode.shots for line in shot.dialogue}
    places = {shot.id for shot in episode.shots} | {scene.id for scene in episode.scenes}
    placed: dict[str, list[Note]] = defaultdict(list)
    for note in notes:
        place = shot_of_line.get(note.where, note.where)
        if place in places:
            placed[place].append(note)
        elif _belongs_to(note.where, episode.id):
            placed[episode.id].append(note)
    return placed


def _belongs_to(where: str, episode_id: str) -> bool:
    """An id of this episode, or one that names no episode at all (a series-wide note)."""
    return not ids.is_plan_id(where) or ids.contains(episode_id, where)


# --- HTML --------------------------------------------------------------------------------------


def page_html(timeline: Timeline, series: Series, body: str) -> str:
    orientation = "portrait" if timeline.height > timeline.width else "landscape"
    title = f"{series.title} · {timeline.episode_id} {timeline.title}".strip()
    return (f'<!DOCTYPE html>\n<html lang="{escape(timeline.language)}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta name="generator" content="microdrama">\n<title>{escape(title)}</title>\n'
            f'<style>{CSS}</style>\n</head>\n'
            f'<body class="{orientation}" style="--frame-aspect: {timeline.width} / {timeline.height}">\n'
            f'{body}\n</body>\n</html>\n')


def page_header(timeline: Timeline, episode: Episode, series: Series, notes: dict[str, list[Note]]) -> str:
    all_notes = [note for placed in notes.values() for note in placed]
    counts = " · ".join(filter(None, (_counts("continuity", all_notes), _counts("audit", all_notes))))
    facts = (f"{_clock(timeline.duration_frames, timeline.fps)} · {_count(len(episode.scenes), 'scene')} · "
             f"{_count(len(episode.shots), 'shot')} · {timeline.width}×{timeline.height} @ {timeline.fps} fps")
    return (f'<header class="episode" data-episode="{escape(episode.id)}">\n'
            f'<p class="series">{escape(series.title)}</p>\n'
            f'<h1><span class="id">{escape(episode.id)}</span> {escape(episode.title)}</h1>\n'
            f'<p class="facts">{facts}</p>\n'
            f'<p class="counts">{counts or "no findings"}</p>\n'
            f'{notes_list(notes.get(episode.id, []))}</header>')


def _counts(source: str, notes: list[Note]) -> str:
    """'audit: 1 error, 2 warnings', worst first; empty when the source found nothing."""
    counted = Counter(note.severity for note in notes if note.source == source)
    parts = [f"{counted[s]} {s}" if s in ("info", "skipped") else _count(counted[s], s)
             for s in SEVERITY_ORDER if counted[s]]
    return f'<span class="count" data-source="{source}">{source}: {", ".join(parts)}</span>' if parts else ""


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _clock(frames: int, fps: int) -> str:
    minutes, secs = divmod(frames / fps, 60)
    return f"{int(minutes)}:{secs:04.1f}"


def scene_section(scene: Scene, series: Series, fps: int, notes: dict[str, list[Note]],
                  thumbs: dict[str, str | None], clips: dict[str, VideoClip]) -> str:
    location = series.location(scene.location)
    facts = " · ".join(filter(None, (
        location.name if location else scene.location, str(scene.time_of_day), str(scene.mood),
        f"{scene.duration_frames / fps:.1f} s", scene.summary)))
    cards = "\n".join(shot_card(shot, series, fps, notes.get(shot.id, []), thumbs.get(shot.id),
                                clips.get(shot.id)) for shot in scene.shots)
    return (f'<section class="scene" data-scene="{escape(scene.id)}">\n'
            f'<div class="scene-head"><h2><span class="id">{escape(scene.id)}</span> {escape(scene.heading)}</h2>\n'
            f'<p class="facts">{escape(facts)}</p>\n'
            + (f'<p class="ambience">ambience: {escape(", ".join(scene.ambience))}</p>\n' if scene.ambience else "")
            + f'{notes_list(notes.get(scene.id, []))}</div>\n'
            f'<div class="shots">\n{cards}\n</div>\n</section>')


def shot_card(shot: Shot, series: Series, fps: int, notes: list[Note], thumb: str | None,
              clip: VideoClip | None) -> str:
    failed = clip is None or clip.failed
    worst = next((s for s in SEVERITY_ORDER[:2] if any(n.severity == s for n in notes)), None)
    classes = " ".join(filter(None, ("shot", "failed" if failed else "", f"has-{worst}" if worst else "")))
    if thumb:
        picture = f'<img class="thumb" src="{thumb}" alt="{escape(shot.id)}, middle frame">'
    else:
        picture = '<div class="thumb missing">no picture</div>'
    cast = "".join(f"<li>{escape(_name(series, c.character))} <small>{c.position}, facing {c.facing}</small></li>"
                   for c in shot.characters)
    lines = "".join(line_html(line, series) for line in shot.dialogue)
    return (f'<article class="{classes}" data-shot="{escape(shot.id)}" data-type="{shot.type}" '
            f'data-move="{shot.move}" data-frames="{shot.duration_frames}">\n{picture}\n'
            f'<div class="body">\n<h3><span class="id">{escape(shot.id)}</span> '
            f'<span class="type">{shot.type}</span> <span class="move">{shot.move}</span> '
            f'<span class="duration">{shot.duration_frames / fps:.1f} s</span></h3>\n'
            + ('<p class="render-failed">render failed</p>\n' if failed else "")
            + (f'<p class="title-card">{escape(shot.title_card)}</p>\n' if shot.title_card else "")
            + (f'<p class="action">{escape(shot.action)}</p>\n' if shot.action else "")
            + (f'<ul class="cast">{cast}</ul>\n' if cast else "")
            + (f'<div class="dialogue">{lines}</div>\n' if lines else "")
            + (f'<p class="sfx">sfx: {escape(", ".join(f"{e.sound} at {e.offset_frames / fps:.1f} s" for e in shot.sfx))}</p>\n'
               if shot.sfx else "")
            + f'{notes_list(notes)}</div>\n</article>')


def line_html(line: DialogueLine, series: Series) -> str:
    extension = f' <span class="ext">({escape(line.extension)})</span>' if line.extension else ""
    delivery = f' <span class="paren">({escape(line.parenthetical)})</span>' if line.parenthetical else ""
    classes = " ".join(filter(None, ("line", "vo" if line.off_screen else "", "dual" if line.dual else "")))
    return (f'<p class="{classes}" data-line="{escape(line.id)}"><b class="speaker">'
            f'{escape(_name(series, line.speaker))}</b>{extension}{delivery}: '
            f'<span class="text">{escape(line.text)}</span></p>')


def _name(series: Series, character_id: str) -> str:
    character = series.character(character_id)
    return character.name if character else character_id


def notes_list(notes: list[Note]) -> str:
    if not notes:
        return ""
    ordered = sorted(notes, key=lambda n: SEVERITY_ORDER.index(n.severity) if n.severity in SEVERITY_ORDER else 99)
    items = "".join(
        f'<li class="note sev-{escape(n.severity)}" data-source="{n.source}" data-where="{escape(n.where)}" '
        f'data-code="{escape(n.label)}"><b>{escape(n.severity)}</b> <code>{escape(n.label)}</code> '
        f'{escape(n.message)}</li>' for n in ordered)
    return f'<ul class="notes">{items}</ul>\n'


# Font stacks: the system UI font first, then CJK faces on every platform (macOS, Windows, Noto and
# WenQuanYi on Linux), so Chinese names and lines render with a real glyph set, not tofu.
CSS = """
:root { --ink: #1d1d22; --muted: #686873; --paper: #f5f4f0; --card: #fff; --line: #dedcd6;
  --error: #c62828; --warning: #b26a00; --info: #1f5fa8; --skipped: #7a7a85; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px; background: var(--paper); color: var(--ink);
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans",
  "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC",
  "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", sans-serif; }
body.portrait { --card-min: 210px; }
body.landscape { --card-min: 320px; }
h1, h2, h3, p, ul { margin: 0; }
.id { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; color: var(--muted);
  font-weight: 500; }
header.episode { margin-bottom: 24px; }
header.episode .series { color: var(--muted); text-transform: uppercase; letter-spacing: .08em; font-size: 12px; }
header.episode h1 { font-size: 26px; margin: 2px 0 6px; }
.facts { color: var(--muted); }
.counts { margin-top: 6px; }
.count { display: inline-block; margin-right: 12px; font-weight: 600; }
.scene { margin: 28px 0; }
.scene-head { border-bottom: 2px solid var(--ink); padding-bottom: 6px; margin-bottom: 12px; }
.scene-head h2 { font-size: 17px; }
.shots { display: grid; grid-template-columns: repeat(auto-fill, minmax(var(--card-min), 1fr)); gap: 14px; }
.shot { background: var(--card); border: 1px solid var(--line); border-radius: 8px; overflow: hidden;
  display: flex; flex-direction: column; break-inside: avoid; }
.shot.has-warning { border-color: var(--warning); box-shadow: 0 0 0 1px var(--warning); }
.shot.has-error { border-color: var(--error); box-shadow: 0 0 0 2px var(--error); }
.thumb { display: block; width: 100%; aspect-ratio: var(--frame-aspect); object-fit: cover; background: #111; }
.thumb.missing { display: grid; place-items: center; color: #bbb; font-size: 12px; }
.body { padding: 8px 10px 10px; display: flex; flex-direction: column; gap: 5px; }
.body h3 { font-size: 13px; display: flex; flex-wrap: wrap; gap: 6px; align-items: baseline; }
.type { background: var(--ink); color: #fff; border-radius: 3px; padding: 0 5px; font-size: 11px; }
.move, .duration { color: var(--muted); font-weight: 400; font-size: 12px; }
.title-card { font-weight: 700; text-align: center; letter-spacing: .05em; }
.action { color: #3b3b44; }
.cast { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 10px; font-size: 12px; }
.cast small { color: var(--muted); }
.line { font-size: 13px; }
.line .ext, .line .paren { color: var(--muted); font-style: italic; }
.line.vo .text { font-style: italic; }
.line.dual { border-left: 2px solid var(--line); padding-left: 5px; }  /* over the previous line */
.sfx, .ambience, .render-failed { font-size: 12px; color: var(--muted); }
.render-failed { color: var(--error); font-weight: 600; }
.notes { list-style: none; padding: 0; display: flex; flex-direction: column; gap: 4px; margin-top: 4px; }
.note { font-size: 12px; border-left: 4px solid var(--skipped); padding: 3px 6px; background: #f1f1f3;
  border-radius: 0 4px 4px 0; overflow-wrap: anywhere; }
.note b { text-transform: uppercase; font-size: 10px; letter-spacing: .05em; }
.note.sev-error { border-color: var(--error); background: #fdecea; }
.note.sev-error b { color: var(--error); }
.note.sev-warning { border-color: var(--warning); background: #fff4e0; }
.note.sev-warning b { color: var(--warning); }
.note.sev-info { border-color: var(--info); background: #e8f0fa; }
.note.sev-info b { color: var(--info); }
.note.sev-skipped { color: var(--muted); }
@media print { body { background: #fff; padding: 0; } .shot { box-shadow: none; } }
"""
