"""An episode's edit, built once from the plan and the render results: which segment plays at
which frame, where each dialogue line and music cue sits. Assembly, subtitles, the editor export
and the audit all read this one structure instead of each re-deriving it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..core.models import Episode, Series
from ..graph.state import CueRender, ShotRender


@dataclass(frozen=True)
class VideoClip:
    shot_id: str
    scene_id: str
    path: Path
    start_frame: int
    duration_frames: int
    failed: bool = False


@dataclass(frozen=True)
class LineClip:
    line_id: str
    shot_id: str
    speaker: str
    text: str
    path: Path
    start_frame: int
    duration_frames: int  # of the rendered audio, rounded up to whole frames
    planned_end_frame: int  # end of the shot that holds the line


@dataclass(frozen=True)
class MusicClip:
    scene_id: str
    path: Path
    start_frame: int
    duration_frames: int


@dataclass(frozen=True)
class Timeline:
    episode_id: str
    title: str
    fps: int
    width: int
    height: int
    language: str
    video: tuple[VideoClip, ...]
    dialogue: tuple[LineClip, ...]
    music: tuple[MusicClip, ...]

    @property
    def duration_frames(self) -> int:
        return sum(clip.duration_frames for clip in self.video)

    @property
    def failed_shots(self) -> list[str]:
        return [clip.shot_id for clip in self.video if clip.failed]


def build_timeline(episode: Episode, series: Series, root: Path,
                   shots: dict[str, ShotRender], cues: dict[str, CueRender],
                   slates: dict[str, Path] | None = None) -> Timeline:
    """Lay out the episode. `shots` and `cues` are render results by id (paths relative to the
    series folder); `slates` stands in for the picture of failed shots."""
    slates = slates or {}
    video, dialogue, music = [], [], []
    frame = 0
    for scene in episode.scenes:
        cue = cues.get(scene.id)
        if cue and cue.path:
            music.append(MusicClip(scene.id, root / cue.path, frame, scene.duration_frames))
        for shot in scene.shots:
            render = shots.get(shot.id)
            if render and render.video:
                video.append(VideoClip(shot.id, scene.id, root / render.video, frame, shot.duration_frames))
            else:
                video.append(VideoClip(shot.id, scene.id, slates.get(shot.id, Path()), frame, shot.duration_frames, failed=True))
            spoken = {line.id: line for line in (render.lines if render else [])}
            for line in shot.dialogue:
                if line.id in spoken and spoken[line.id].path:
                    voiced = spoken[line.id]
                    dialogue.append(LineClip(
                        line.id, shot.id, line.speaker, line.text, root / voiced.path, frame + line.offset_frames,
                        math.ceil(voiced.seconds * series.fps - 1e-6), frame + shot.duration_frames,
                    ))
            frame += shot.duration_frames
    return Timeline(episode.id, episode.title, series.fps, series.width, series.height, series.language,
                    tuple(video), tuple(dialogue), tuple(music))


def srt_time(frame: int, fps: int) -> str:
    millis = round(frame * 1000 / fps)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def to_srt(timeline: Timeline) -> str:
    """Subtitle cues that start and end with each line's rendered audio."""
    blocks = []
    for number, line in enumerate(sorted(timeline.dialogue, key=lambda l: (l.start_frame, l.line_id)), start=1):
        end = line.start_frame + line.duration_frames
        blocks.append(f"{number}\n{srt_time(line.start_frame, timeline.fps)} --> {srt_time(end, timeline.fps)}\n{line.text}\n")
    return "\n".join(blocks)
