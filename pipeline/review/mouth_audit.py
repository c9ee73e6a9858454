"""The audit of the animatic's mouths: a seen speaker's mouth moves while their line plays and
is still outside it.

Measured on each shot's own segment (the episode is a stream copy of them) in the region the
speaker's moving mouth covers, found by the animatic's own framing. Only locked-off shots are
measured: a camera move changes every pixel. A neural video backend's lip sync needs a sync model:
sync_audit.py measures it with SyncNet. The boxes are cut from the decode of each segment that
the audit makes anyway (audit.py), so a mouth costs no decode of its own. A line's check is kept
(a JSON file) under the digest of what it measured, so an unchanged segment is not decoded again
by the next audit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.config import AuditOptions
from ..core.models import CameraMove, Episode, Series
from ..edit.timeline import LineClip, Timeline, VideoClip
from ..render.backends.animatic.figures import mouth_area
from ..render.backends.animatic.framing import Figure, place_figures
from ..render.requests import video_request
from .audit import (
    Box, Check, Crops, Verdict, _check, file_identity, measured_digest, spoken_lines, write_kept_checks,
)

KEPT_VERSION = "1"  # bump when the measurement changes

# Outside its lines a mouth region changes by at most this share of its change while speaking:
# the encoder's noise around a mouth that just moved stays well under it (measured: 0.06 to 0.17
# at 144x256, 0.01 to 0.11 at 720x1280).
STILL_SHARE = 0.35


@dataclass(frozen=True)
class MouthMeasure:
    """One line's mouth check: where the speaker's mouth is, and what the check depends on."""

    key: str  # the digest of what it measures: the check is kept under it
    line: LineClip
    theirs: list[LineClip]  # all the speaker's lines in the shot
    clip: VideoClip
    box: Box


def mouth_measures(timeline: Timeline, episode: Episode, series: Series, root: Path,
                   options: AuditOptions) -> list[MouthMeasure]:
    """One per line whose speaker the animatic shows speaking in a locked-off shot."""
    measures = []
    for line, clip, scene, shot in spoken_lines(timeline, episode):
        if clip.backend != "animatic" or shot.move != CameraMove.STATIC or shot.title_card:
            continue
        figure = next((f for f in place_figures(video_request(shot, scene, series, root))
                       if f.character.id == line.speaker and not f.from_behind), None)
        if figure is not None:
            theirs = [l for l in timeline.dialogue if l.shot_id == line.shot_id and l.speaker == line.speaker]
            key = measured_digest(KEPT_VERSION, file_identity(clip.path), line.line_id, timeline.width,
                                  timeline.height, figure, options.mouth_min_change, STILL_SHARE,
                                  *((l.start_frame - clip.start_frame, l.duration_frames) for l in theirs),
                                  line.start_frame - clip.start_frame)
            measures.append(MouthMeasure(key, line, theirs, clip, mouth_box(figure, timeline)))
    return measures


def mouth_box(figure: Figure, timeline: Timeline) -> Box:
    """The region the figure's moving mouth covers, with a pixel to spare."""
    x0, y0, x1, y1 = mouth_area(figure.turn)
    cx, cy, u = figure.x * timeline.width, figure.y * timeline.height, figure.head
    return max(0, int(cx + x0 * u)), max(0, int(cy + y0 * u)), int(cx + x1 * u) + 2, int(cy + y1 * u) + 2


def boxes_to_read(measures: list[MouthMeasure], kept: Mapping[str, list[Check]]) -> dict[str, list[Box]]:
    """The mouth boxes to cut from each shot's segment (by shot id): those of the checks not kept."""
    wanted: dict[str, list[Box]] = {}
    for measure in measures:
        if measure.key not in kept and measure.box not in wanted.setdefault(measure.clip.shot_id, []):
            wanted[measure.clip.shot_id].append(measure.box)
    return wanted


def check_mouths(measures: list[MouthMeasure], kept: Mapping[str, list[Check]],
                 crops: Crops, options: AuditOptions,
                 kept_file: Path | None = None) -> list[Check]:
    """The checks of `measures`: kept ones from `kept`, the others measured on `crops` (each
    shot's frames cut to a box: see `boxes_to_read`); with `kept_file`, it is rewritten with
    this audit's when they differ."""
    measured = {m.key: kept.get(m.key) or [check_mouth(m, crops.get((m.clip.shot_id, m.box), []), options)]
                for m in measures}
    if kept_file and measured.keys() != kept.keys():
        write_kept_checks(kept_file, measured)
    return [check for m in measures for check in measured[m.key]]


def check_mouth(measure: MouthMeasure, crops: list[np.ndarray], options: AuditOptions) -> Check:
    """The line's mouth region: it changes while the line plays, and not while the speaker is
    silent."""
    line, shot_start = measure.line, measure.clip.start_frame
    if not crops:
        return _check("mouth-moves", line.line_id, options.mouth_min_change, None, Verdict.SKIPPED,
                      f"its shot's segment {measure.clip.path} cannot be read")
    frames = [frame.astype(np.int16) for frame in crops]
    start, end = line.start_frame - shot_start, line.start_frame - shot_start + line.duration_frames
    others = [i for i in range(len(frames))
              if not any(0 <= i + shot_start - l.start_frame < l.duration_frames for l in measure.theirs)]
    still = frames[others[0]] if others else frames[0]
    change = [float(np.abs(frame - still).mean()) for frame in frames]
    during = max(change[start:end], default=0.0)
    outside = max((change[i] for i in others), default=0.0)
    moves, rests = during >= options.mouth_min_change, outside <= STILL_SHARE * during
    message = (f"the mouth changes by up to {during:.1f} while the line plays and {outside:.1f} outside it"
               + ("" if moves else ": it does not move with the voice") + ("" if rests else ": it moves when silent"))
    return _check("mouth-moves", line.line_id, options.mouth_min_change, during,
                  Verdict.PASS if moves and rests else Verdict.ERROR, message)
