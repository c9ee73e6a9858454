"""An episode's cut, built once from the approved plan and the render results, and written to
`out/eNN.timeline.json`: which segment plays at which frame (and which backend made it, or the
slate standing in for it), where each dialogue line sits with its measured length, where each
music cue, sound effect and ambience bed sits. Mastering, subtitles, the audit, the storyboard, the editor export and status
all read this one file; none of them derives the cut again.

Paths are absolute in memory and relative to the series folder in the file, so a moved series
folder keeps its cut.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_serializer, field_validator

from ..core.errors import InputError, Problem
from ..core.models import Episode, Series
from ..core.store import atomic_write_text
from ..core.results import CueRender, ShotRender
from ..render.requests import cue_end_frame, spoken_frames

TIMELINE_VERSION = 1


class Clip(BaseModel):
    """Something placed on the timeline from a file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: Path = Field(description="The artifact; relative to the series folder in the file.")
    start_frame: int = Field(ge=0, description="Where it starts in the episode.")
    duration_frames: int = Field(ge=0, description="How long it plays.")

    @field_serializer("path")
    def _relative(self, path: Path, info) -> str:
        root = (info.context or {}).get("root")
        if root is None:
            return str(path)
        try:  # the series folder may be given relative to the working directory: so is the path
            return str(path.relative_to(root))
        except ValueError:
            return str(path)

    @field_validator("path", mode="after")
    @classmethod
    def _absolute(cls, path: Path, info: ValidationInfo) -> Path:
        root = (info.context or {}).get("root")
        return Path(root) / path if root is not None and not path.is_absolute() and str(path) else path


class VideoClip(Clip):
    shot_id: str
    scene_id: str
    backend: str = Field("", description="Video backend that made the segment.")
    fallback: str | None = Field(None, description="Why the configured route was not used.")
    slate: str | None = Field(None, description="Why a slate stands in for the shot (it failed to render).")

    @property
    def failed(self) -> bool:
        return self.slate is not None


class LineClip(Clip):
    line_id: str
    shot_id: str
    speaker: str
    text: str
    seconds: float = Field(description="Measured length of the voice take.")
    planned_end_frame: int = Field(description="End of the shot that holds the line.")


class MusicClip(Clip):
    scene_id: str


class EffectClip(Clip):
    """A sound effect at its frame: its window is where the audit looks for it."""

    shot_id: str
    sound: str


class AmbienceClip(Clip):
    """An ambience bed under its scene."""

    scene_id: str
    sound: str


class Timeline(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = TIMELINE_VERSION
    episode_id: str
    title: str
    snapshot: str = Field(description="Digest of the approved snapshot the episode was rendered from.")
    fps: int
    width: int
    height: int
    language: str
    subtitles: str = Field("burned", description="burned, soft, both or none.")
    video: tuple[VideoClip, ...]
    dialogue: tuple[LineClip, ...]
    music: tuple[MusicClip, ...]
    effects: tuple[EffectClip, ...] = ()
    ambience: tuple[AmbienceClip, ...] = ()

    @property
    def duration_frames(self) -> int:
        return sum(clip.duration_frames for clip in self.video)

    @property
    def failed_shots(self) -> list[str]:
        return [clip.shot_id for clip in self.video if clip.failed]

    @property
    def soft_subtitles(self) -> bool:
        return self.subtitles in ("soft", "both")

    def to_json(self, root: Path) -> str:
        return self.model_dump_json(indent=1, context={"root": Path(root)})


def build_timeline(episode: Episode, series: Series, root: Path, snapshot: str,
                   shots: dict[str, ShotRender], cues: dict[str, CueRender],
                   slates: dict[str, tuple[Path, str]] | None = None, subtitles: str = "burned") -> Timeline:
    """Lay out the episode. `shots` and `cues` are render results by id (paths relative to the
    series folder); `slates` maps a failed shot to its slate and the reason."""
    slates = slates or {}
    video, dialogue, music, effects, ambience = [], [], [], [], []
    frame = 0
    for scene in episode.scenes:
        cue = cues.get(scene.id)
        if cue and cue.path:
            music.append(MusicClip(scene_id=scene.id, path=root / cue.path, start_frame=frame,
                                   duration_frames=scene.duration_frames))
        ambience += [AmbienceClip(scene_id=scene.id, sound=bed.sound, path=root / bed.path, start_frame=frame,
                                  duration_frames=scene.duration_frames)
                     for bed in (cue.ambience if cue else []) if bed.path]
        for shot in scene.shots:
            render = shots.get(shot.id)
            placed = {"shot_id": shot.id, "scene_id": scene.id, "start_frame": frame,
                      "duration_frames": shot.duration_frames}
            if shot.id in slates:
                slate, reason = slates[shot.id]
                video.append(VideoClip(path=slate, slate=reason, **placed))
            else:
                video.append(VideoClip(path=root / render.video, backend=render.backend, fallback=render.fallback,
                                       **placed))
            spoken = {line.id: line for line in (render.lines if render else [])}
            for line in shot.dialogue:
                voiced = spoken.get(line.id)
                if voiced and voiced.path:
                    dialogue.append(LineClip(
                        line_id=line.id, shot_id=shot.id, speaker=line.speaker, text=line.text,
                        path=root / voiced.path, start_frame=frame + line.offset_frames,
                        duration_frames=spoken_frames(voiced.seconds, series.fps), seconds=voiced.seconds,
                        planned_end_frame=frame + shot.duration_frames,
                    ))
            effects += [EffectClip(shot_id=shot.id, sound=effect.sound, path=root / effect.path,
                                   start_frame=frame + effect.offset_frames,
                                   duration_frames=spoken_frames(effect.seconds, series.fps))
                        for effect in (render.effects if render and shot.id not in slates else []) if effect.path]
            frame += shot.duration_frames
    return Timeline(episode_id=episode.id, title=episode.title, snapshot=snapshot, fps=series.fps,
                    width=series.width, height=series.height, language=series.language, subtitles=subtitles,
                    video=tuple(video), dialogue=tuple(dialogue), music=tuple(music), effects=tuple(effects),
                    ambience=tuple(ambience))


def timeline_path(out_dir: Path, episode_id: str) -> Path:
    return out_dir / f"{episode_id}.timeline.json"


def write_timeline(timeline: Timeline, root: Path, out_dir: Path) -> Path:
    path = timeline_path(out_dir, timeline.episode_id)
    text = timeline.to_json(root)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        atomic_write_text(path, text)
    return path


def read_timeline(path: Path, root: Path) -> Timeline:
    """The cut as assembly wrote it; a damaged file names itself."""
    try:
        return Timeline.model_validate_json(path.read_bytes(), context={"root": Path(root)})
    except (OSError, ValueError) as exc:
        raise InputError(path, Problem(f"cannot read the timeline ({exc}); `microdrama render` writes it again")) from None


def srt_time(frame: int, fps: int) -> str:
    millis = round(frame * 1000 / fps)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def subtitle_end_frame(line: LineClip) -> int:
    return cue_end_frame(line.start_frame, line.duration_frames, line.planned_end_frame)


def to_srt(timeline: Timeline) -> str:
    """Subtitle cues that start and end with each line's rendered audio."""
    blocks = []
    for number, line in enumerate(sorted(timeline.dialogue, key=lambda l: (l.start_frame, l.line_id)), start=1):
        blocks.append(f"{number}\n{srt_time(line.start_frame, timeline.fps)} --> "
                      f"{srt_time(subtitle_end_frame(line), timeline.fps)}\n{line.text}\n")
    return "\n".join(blocks)
