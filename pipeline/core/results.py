"""What a render produced, shot by shot and episode by episode: the small records the render
graph checkpoints and hands to assembly, publishing and the report. Paths are relative to the
series folder."""

from __future__ import annotations

from pydantic import BaseModel, Field


class LineRender(BaseModel):
    id: str
    path: str | None = Field(None, description="WAV, relative to the series folder.")
    seconds: float = 0.0
    error: str | None = None


class SoundRender(BaseModel):
    """A sound effect's take (placed within its shot) or an ambience bed's (under its scene)."""

    sound: str = Field(description="The sound in the plan's words.")
    offset_frames: int = Field(0, description="Start within the shot; 0 for a bed.")
    path: str | None = Field(None, description="WAV, relative to the series folder.")
    seconds: float = 0.0
    error: str | None = None


class ShotRender(BaseModel):
    id: str
    video: str | None = Field(None, description="Silent segment, relative to the series folder.")
    lines: list[LineRender] = Field(default_factory=list)
    effects: list[SoundRender] = Field(default_factory=list, description="The shot's sound effects.")
    error: str | None = None
    cached: bool = Field(False, description="Nothing was rendered: every artifact was in the cache.")
    selected: bool = Field(True, description="The request asked for this shot (else it was stale and its "
                                             "episode needed it to be assembled).")
    backend: str = Field("", description="Video backend that made the picture.")
    fallback: str | None = Field(None, description="Why the configured route was not used, when it was not.")
    deferred: str | None = Field(None, description="Why it was not rendered in this run (the budget); the "
                                                   "next render does it.")

    @property
    def failed(self) -> bool:
        return self.error is not None or any(part.error for part in [*self.lines, *self.effects])


class CueRender(BaseModel):
    id: str
    path: str | None = None
    ambience: list[SoundRender] = Field(default_factory=list, description="The scene's ambience beds.")
    error: str | None = None
    cached: bool = False
    deferred: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None or any(bed.error for bed in self.ambience)


class EpisodeOutput(BaseModel):
    id: str
    video: str | None = Field(None, description="out/eNN.mp4, relative to the series folder.")
    subtitles: str | None = None
    timeline: str | None = Field(None, description="out/eNN.timeline.json, relative to the series folder.")
    failed_shots: list[str] = Field(default_factory=list)
    skipped: str | None = Field(None, description="Why the episode was not assembled.")
    mastered: bool = Field(False, description="The file was written by this run (not already up to date).")
    deferred: list[str] = Field(default_factory=list, description="Shots and cues the budget left for the next run.")


class AuditSummary(BaseModel):
    id: str = Field(description="Episode id.")
    errors: int = 0
    warnings: int = 0
    skipped: int = 0
    passed: int = 0
    files: list[str] = Field(default_factory=list, description="Audit, storyboard and export files.")
