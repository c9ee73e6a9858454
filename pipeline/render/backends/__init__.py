"""Media backends: one small protocol per medium, typed requests and results, and a registry.

A backend gets only the request it is handed (never the whole plan): everything that determines
its output is in the request, so the request plus the backend's name, version and options is the
artifact's cache key. Backends register through the entry point group `microdrama.backends`
(ours in pyproject.toml; outside packages the same way) or `register()` for in-process fakes.
Heavy packages (torch, diffusers, TTS) are imported inside the backend, never at module import.

Four kinds make media from the plan (video, voice, music, sfx); a fifth, lipsync, is a pass over
made media: it takes a shot's rendered picture and its voice takes and returns the same frames
with the speakers' mouths moved to their lines (`[[backends.routes]]` `lipsync = "<name>"` names
it for the routed shots; the renderer runs it after the video backend).

Argument names follow diffusers across all backends: prompt, negative_prompt, width, height,
num_frames, fps, seed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ...core.errors import BackendUnavailable, ConfigError
from ...core.models import CameraMove, Facing, Mood, ScreenPosition, Setting, ShotType, TimeOfDay, VoiceSpec

ENTRY_POINT_GROUP = "microdrama.backends"
Kind = Literal["video", "voice", "music", "sfx", "lipsync"]


class Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- requests ----------------------------------------------------------------------------------


class CharacterRef(Request):
    id: str
    name: str
    description: str = Field(description="Canonical visual description from the bible.")
    position: ScreenPosition
    facing: Facing = Facing.CAMERA
    keyframe: str | None = Field(None, description="Absolute path of a reference image, if any.")
    keyframe_digest: str | None = Field(None, description="Hash of the reference image's content.")


class LocationRef(Request):
    id: str
    name: str
    description: str = ""
    keyframe: str | None = None
    keyframe_digest: str | None = None


class Subtitle(Request):
    speaker: str = Field(description="Display name of the speaker.")
    text: str
    start_frame: int = Field(ge=0, description="First frame of the cue, within the shot.")
    end_frame: int = Field(gt=0, description="Frame after the last frame of the cue.")


class VoicePlacement(Request):
    """A line's voice take as the picture hears it: who speaks, from which frame, in which clip
    (an audio-conditioned generator, the animatic's mouths and a lip-sync pass read it)."""

    line_id: str
    speaker: str = Field(description="Character id of the speaker.")
    start_frame: int = Field(ge=0, description="Where the voice starts, within the shot.")
    end_frame: int = Field(gt=0, description="Frame after the voice ends, within the shot.")
    off_screen: bool = Field(False, description="V.O. or O.S.: heard, not seen speaking.")
    voice_clip: str = Field(description="Absolute path of the take (48 kHz WAV).")
    voice_digest: str = Field(description="What the take is: its cache name (the artifact key of its "
                                          "request), which the picture's key holds instead of the path.")


class VideoRequest(Request):
    """One shot's picture: exactly `num_frames` frames of `width` x `height` at `fps`."""

    shot_id: str
    prompt: str
    negative_prompt: str = ""
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    fps: int = Field(gt=0)
    num_frames: int = Field(gt=0)
    seed: int
    shot_type: ShotType
    move: CameraMove
    setting: Setting
    time_of_day: TimeOfDay
    location: LocationRef
    characters: list[CharacterRef] = Field(default_factory=list)
    action: str = ""
    title_card: str | None = None
    subtitles: list[Subtitle] = Field(
        default_factory=list, description="The shot's lines with their times (who speaks, and when).")
    voices: list[VoicePlacement] = Field(
        default_factory=list, description="The shot's voice takes and where they play.")
    burn_subtitles: bool = Field(True, description="Draw the subtitles into the picture (the series' "
                                                   "`subtitles` setting is burned or both).")
    language: str = "en"


class VoiceRequest(Request):
    """One dialogue line spoken in a character's voice."""

    line_id: str
    text: str
    language: str
    voice: VoiceSpec
    speaker: str = Field(description="Character id; backends may use it to pick a stable voice.")
    gender: str | None = Field(None, description="The speaker's gender from the bible, for backends "
                               "that pick among built-in voices (female, male, nonbinary).")
    parenthetical: str | None = None
    reference_digest: str | None = Field(None, description="Hash of voice.reference_clip's content.")
    seed: int = 0


class MusicRequest(Request):
    """One scene's score cue, exactly `num_frames / fps` seconds long."""

    cue_id: str
    mood: Mood
    tempo_bpm: int
    intensity: float
    num_frames: int = Field(gt=0)
    fps: int = Field(gt=0)
    seed: int
    prompt: str = Field("", description="Text description for text-to-music models.")


class SfxRequest(Request):
    """One sound effect, or one scene's ambience bed (`bed`), `num_frames / fps` seconds long."""

    target: str = Field(description="The shot id and effect number (e01s01k02x1), or the scene id of a bed.")
    prompt: str = Field(description="The sound in words, as the plan writes it (the text-to-audio prompt).")
    kind: str | None = Field(None, description="The vocabulary's kind of the sound (plan/sfx.py); None "
                                               "when the words name none of them.")
    bed: bool = Field(False, description="An ambience bed under a scene, not a one-off effect.")
    setting: Setting
    time_of_day: TimeOfDay
    num_frames: int = Field(gt=0)
    fps: int = Field(gt=0)
    seed: int


class FaceBox(Request):
    """Where a face is in the frame, in pixels."""

    x: int = Field(ge=0, description="Left edge.")
    y: int = Field(ge=0, description="Top edge.")
    width: int = Field(gt=0)
    height: int = Field(gt=0)


class LipsyncRequest(Request):
    """One shot's picture and the lines heard in it: return exactly `num_frames` frames of `width`
    x `height` at `fps`, changed only where a speaker's mouth is, while their line plays. The
    renderer passes only the lines seen spoken (no V.O. or O.S. line) and only shots whose route
    names the pass."""

    shot_id: str
    picture: str = Field(description="Absolute path of the shot's rendered segment (an MP4 of exactly "
                                     "num_frames frames).")
    picture_key: str = Field(description="The segment's content key (the key holds this, not the path).")
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    fps: int = Field(gt=0)
    num_frames: int = Field(gt=0)
    voices: list[VoicePlacement] = Field(description="The lines seen spoken, with their takes and frames.")
    framing: dict[str, FaceBox] = Field(
        default_factory=dict, description="Where the shot's framing puts each speaker's face (by character id): "
        "a hint for backends that find no face themselves; a neural picture may not follow it.")


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoFrames:
    """Frames as HxWx3 uint8 arrays. A backend may return another size, rate or length than asked
    (a diffusion model has its own); the renderer conforms them to the request."""

    frames: Iterable[np.ndarray]
    width: int
    height: int
    fps: float
    num_frames: int


@dataclass(frozen=True)
class AudioClip:
    """Mono float32 samples in [-1, 1]."""

    samples: np.ndarray
    sample_rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate


# --- the protocol ------------------------------------------------------------------------------


class Availability(BaseModel):
    available: bool
    reason: str = ""


class Capabilities(BaseModel):
    """What the core may rely on; checked before routing a request to a backend."""

    seed: bool = Field(True, description="Same request and seed give the same output.")
    reference_image: bool = Field(False, description="Uses character/location keyframes.")
    max_seconds: float | None = Field(None, description="Longest output per call, if limited.")
    languages: list[str] | None = Field(None, description="Voice languages; None means any.")
    signature_palette: bool = Field(False, description="Video: draws each character in the animatic's "
                                    "signature colours, so the audit checks identity by palette.")


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


@runtime_checkable
class Backend(Protocol):
    name: ClassVar[str]
    version: ClassVar[str]
    kind: ClassVar[Kind]
    capabilities: ClassVar[Capabilities]
    Options: ClassVar[type[BaseModel]]
    extra: ClassVar[str | None]  # the pip extra that provides its dependencies, if any

    def __init__(self, options: BaseModel) -> None: ...

    @classmethod
    def availability(cls) -> Availability: ...

    def render(self, request: Any) -> Any: ...


class VideoBackend(Backend, Protocol):
    def render(self, request: VideoRequest) -> VideoFrames: ...


class VoiceBackend(Backend, Protocol):
    @classmethod
    def speaks(cls, language: str) -> bool: ...

    def render(self, request: VoiceRequest) -> AudioClip: ...


class MusicBackend(Backend, Protocol):
    def render(self, request: MusicRequest) -> AudioClip: ...


class SfxBackend(Backend, Protocol):
    def render(self, request: SfxRequest) -> AudioClip: ...


class LipsyncBackend(Backend, Protocol):
    def render(self, request: LipsyncRequest) -> VideoFrames: ...


# --- the registry ------------------------------------------------------------------------------

_registered: dict[str, type] = {}


def register(backend: type) -> type:
    """Register a backend class in this process (fakes in tests; plugins use entry points)."""
    _registered[backend.name] = backend
    return backend


@functools.cache
def _entry_points() -> dict[str, Any]:
    """The installed plugins, read once per process: scanning every package's metadata cost 1.3 ms
    a call, and routing asks for a voice backend per dialogue line."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def backend_names() -> list[str]:
    return sorted(set(_entry_points()) | set(_registered))


def backend_class(name: str) -> type:
    if name in _registered:
        return _registered[name]
    points = _entry_points()
    if name not in points:
        raise ConfigError(f"unknown backend {name!r}; known: {', '.join(backend_names())}")
    return points[name].load()


def load_backend(name: str, kind: Kind, options: dict[str, Any] | None = None) -> Backend:
    """Instantiate a backend after checking its kind, availability and options."""
    cls = backend_class(name)
    if cls.kind != kind:
        raise ConfigError(f"backend {name!r} makes {cls.kind}, not {kind}")
    availability = cls.availability()
    if not availability.available:
        raise BackendUnavailable(name, availability.reason)
    try:
        parsed = cls.Options.model_validate(options or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"options of backend {name!r}: {problems}") from None
    return cls(parsed)


@dataclass(frozen=True)
class BackendStatus:
    name: str
    kind: str
    version: str
    available: bool
    reason: str


def backend_statuses() -> list[BackendStatus]:
    """Every known backend, whether it can run here, and why not (for `microdrama backends`)."""
    statuses = []
    for name in backend_names():
        try:
            cls = backend_class(name)
        except ImportError as exc:  # a plugin whose own imports are broken
            statuses.append(BackendStatus(name, "?", "?", False, f"cannot import: {exc}"))
            continue
        availability = cls.availability()
        statuses.append(BackendStatus(name, cls.kind, cls.version, availability.available, availability.reason))
    return statuses
