"""Backend requests -> cached artifacts: the only place that calls backends.

A backend's exception is its own failure, retried and then raised as a RenderError naming the
shot, line or cue (the render graph records it on the shot and the other shots carry on). Every
artifact is looked up in the content-addressed cache first (a forced render has dropped it), here,
in the render's own process; what is missing goes to the render's executor as an ArtifactJob
(render/executors: in this process, or on Ray actors).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..core.cache import ArtifactCache, artifact_key
from ..core.config import Route, Settings
from ..core.errors import BackendUnavailable, ConfigError, RenderError
from ..core.ledger import LedgerEntry, Measured, append_entry, device_of, measuring, model_of
from ..core.models import DialogueLine, Scene, Series, Shot
from ..core.store import SeriesFolder
from ..edit import ffmpeg
from ..edit.audio import wav_seconds
from .backends import (
    AudioClip,
    Backend,
    LipsyncRequest,
    MusicRequest,
    SfxRequest,
    VideoFrames,
    VideoRequest,
    VoiceRequest,
    load_backend,
)
from .conform import conform_frames
from .executors.local import LocalExecutor
from .requests import (
    line_slot_frames,
    lipsync_request,
    music_request,
    sound_place,
    video_request,
    voice_request,
)
from .routing import voice_backend_for

# A voiced line longer than its slot is spoken again faster, by at most this factor.
MAX_SPEEDUP = 1.35


# --- backends and the cache --------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    """A ready backend and its options with defaults filled in (part of every artifact key)."""

    instance: Backend
    options: dict[str, Any]


_load_lock = threading.Lock()


@lru_cache(maxsize=16)
def _load_once(name: str, kind: str, options_json: str) -> Loaded:
    instance = load_backend(name, kind, json.loads(options_json))
    return Loaded(instance, instance.Options.model_validate(json.loads(options_json)).model_dump(mode="json"))


def _load(name: str, kind: str, options_json: str) -> Loaded:
    """Backends are loaded once per process (a neural model load costs seconds and GPU memory);
    the lock keeps two render threads from loading the same model twice."""
    with _load_lock:
        return _load_once(name, kind, options_json)


def load(name: str, kind: str, options: dict[str, Any]) -> Loaded:
    return _load(name, kind, json.dumps(options, sort_keys=True))


def shot_route(shot: Shot, settings: Settings) -> Route | None:
    """The first route that takes the shot; None for title cards (text: the animatic draws them
    whatever the routes say) and for shots no route takes."""
    if shot.title_card:
        return None
    return next((route for route in settings.backends.routes if route.matches(shot.type.value)), None)


def video_backend(shot: Shot, settings: Settings) -> tuple[Loaded, str]:
    """The shot's video backend: its route's if that can load, else the default. The second value
    says why a route was not used ('' when nothing fell back)."""
    default = settings.backends.video
    if shot.title_card:
        return load("animatic", "video", settings.backends.options_for("animatic")), ""
    route = shot_route(shot, settings)
    if route is not None:
        try:
            return load(route.video, "video", route.options), ""
        except (BackendUnavailable, ConfigError) as exc:
            note = f"route to {route.video} not used ({exc}); rendered by {default}"
            return load(default, "video", settings.backends.options_for(default)), note
    return load(default, "video", settings.backends.options_for(default)), ""


def lipsync_backend(route: Route, shot_id: str) -> Loaded:
    """The lip-sync pass a route names. One that cannot load fails the shot, naming it: unlike a
    video route it has no fallback, and a dialogue shot without it would be out of sync."""
    try:
        return load(route.lipsync, "lipsync", route.lipsync_options)
    except (BackendUnavailable, ConfigError) as exc:
        raise RenderError(shot_id, route.lipsync, str(exc)) from exc


def call_backend(instance: Backend, target: str, request: Any, attempts: int) -> Any:
    """Call a backend, retrying; whatever it raises is its failure, reported as a RenderError.
    This is the one deliberate catch-all: a plugin's bug must not take the other shots down."""
    for attempt in range(1, attempts + 1):
        try:
            return instance.render(request)
        except RenderError:
            if attempt == attempts:
                raise
        except Exception as exc:  # noqa: BLE001 - see docstring
            if attempt == attempts:
                raise RenderError(target, instance.name, f"{type(exc).__name__}: {exc}") from exc
        time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class ArtifactJob:
    """One backend call and the artifact it makes, as an executor receives it: a backend name,
    its options and a request, all small and picklable, so that a Ray worker can run it."""

    kind: str  # video, voice, music, sfx or lipsync: the backend's kind and the artifact's
    backend: str
    options: dict[str, Any]
    request: Any
    attempts: int

    @property
    def target(self) -> str:
        return request_target(self.request)

    def make(self, path: Path) -> None:
        """Call the backend (loaded once per process) and write its artifact to `path`."""
        loaded = load(self.backend, self.kind, self.options)
        result = call_backend(loaded.instance, self.target, self.request, self.attempts)
        WRITERS[self.kind](result, path, self.request)


@dataclass(frozen=True)
class LedgerTag:
    """What the ledger files an artifact under: its shot (a cue: its scene) and planned length."""

    shot: str
    frames: int
    fps: int


@dataclass(frozen=True)
class Take:
    """One artifact of a render: where it is and whether the cache already had it."""

    path: Path
    cached: bool


@dataclass(frozen=True)
class PictureTake(Take):
    backend: str
    fallback: str | None  # why the configured route was not used


@dataclass(frozen=True)
class VoiceTake(Take):
    seconds: float


class Renderer:
    """Renders one shot's picture, one line or one cue through the cache. With `render=False`
    the same decisions are made without calling a backend: what would be used, if cached."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.folder = SeriesFolder(settings.series_dir)
        self.cache = ArtifactCache(self.folder.cache_dir)
        self.executor = settings.open_executor or LocalExecutor()

    def relative(self, path: Path) -> str:
        return str(path.relative_to(self.folder.root))

    def _path(self, kind: str, loaded: Loaded, request: Any, ext: str) -> Path:
        return self.cache.path(kind, _key(loaded, request), ext)

    def _cached_or_render(self, kind: str, loaded: Loaded, request: Any, ext: str, tag: LedgerTag) -> Take:
        path = self._path(kind, loaded, request, ext)
        device = device_of(loaded.instance)
        if path.is_file():
            self._account(kind, loaded, request, path, tag, device, Measured(), cached=True)
            return Take(path, True)
        job = ArtifactJob(kind, loaded.instance.name, loaded.options, request, self.settings.render_attempts)
        failure: RenderError | None = None
        with measuring(device) as measured:  # on Ray: the driver's wait for the worker
            try:
                self.executor.produce(job, path, self.cache)
            except RenderError as exc:
                failure = exc
        self._account(kind, loaded, request, path, tag, device, measured, error=failure and str(failure))
        if failure is not None:
            raise failure
        return Take(path, False)

    def _account(self, kind: str, loaded: Loaded, request: Any, path: Path, tag: LedgerTag, device: str,
                 measured: Measured, cached: bool = False, error: str | None = None) -> None:
        """The ledger's entry for one artifact asked for (core/ledger.py)."""
        instance = loaded.instance
        append_entry(self.folder.state_dir, LedgerEntry(
            at=time.time(), kind=kind, target=request_target(request), shot=tag.shot, artifact=self.relative(path),
            backend=instance.name, version=instance.version, model=model_of(instance), device=device,
            frames=tag.frames, fps=tag.fps, seed=getattr(request, "seed", None), cached=cached,
            wall_s=round(measured.wall_s, 4), gpu_s=round(measured.gpu_s, 4),
            peak_memory_mb=round(measured.peak_memory_mb, 1), error=error))

    def voice_backend(self, line: DialogueLine, series: Series) -> Loaded:
        name = voice_backend_for(series.character(line.speaker), series.language, self.settings.backends)
        return load(name, "voice", self.settings.backends.options_for(name))

    def music_backend(self) -> Loaded:
        name = self.settings.backends.music
        return load(name, "music", self.settings.backends.options_for(name))

    def voice(self, shot: Shot, line: DialogueLine, series: Series, render: bool = True) -> VoiceTake | None:
        """The line in the speaker's voice; a take longer than its slot is spoken again faster
        (at most MAX_SPEEDUP). Without `render`, None when a take it needs is not cached."""
        loaded = self.voice_backend(line, series)
        slot = line_slot_frames(shot, line) / series.fps
        factor, cached_all = 1.0, True
        while True:
            request = voice_request(line, series, self.folder.root, factor)
            if render:
                take = self._cached_or_render("voice", loaded, request, "wav",
                                              LedgerTag(shot.id, line.duration_frames, series.fps))
            else:
                path = self._path("voice", loaded, request, "wav")
                if not path.is_file():
                    return None
                take = Take(path, True)
            cached_all &= take.cached
            seconds = wav_seconds(take.path)
            if seconds <= slot or factor >= MAX_SPEEDUP:
                return VoiceTake(take.path, cached_all, seconds)
            factor = min(MAX_SPEEDUP, factor * seconds / slot * 1.03)

    def picture(self, shot: Shot, scene: Scene, series: Series, takes: dict[str, tuple[Path, float]],
                render: bool = True) -> PictureTake | None:
        """The shot's silent segment, made by the backend its route names (or the default, with
        the reason). `takes`: its lines' voice takes (path, measured seconds). Without `render`,
        None when it is not cached."""
        loaded, fallback = video_backend(shot, self.settings)
        request = video_request(shot, scene, series, self.folder.root, takes,
                                burn_subtitles=self.settings.subtitles in ("burned", "both"))
        tag = LedgerTag(shot.id, shot.duration_frames, series.fps)
        take = self._take("video", loaded, request, tag, render)
        if take is not None and not fallback:
            take = self._lip_synced(shot, request, loaded, take, tag, render)
        if take is None:
            return None
        return PictureTake(take.path, take.cached, loaded.instance.name, fallback or None)

    def _lip_synced(self, shot: Shot, request: VideoRequest, loaded: Loaded, take: Take, tag: LedgerTag,
                    render: bool) -> Take | None:
        """The segment after its route's lip-sync pass; the segment itself when the route names
        none or no line is seen spoken. Only for a picture the route's own video backend made: one
        that fell back to the animatic needs none (the animatic moves mouths itself)."""
        route = shot_route(shot, self.settings)
        synced = lipsync_request(request, take.path, _key(loaded, request)) if route and route.lipsync else None
        if synced is None:
            return take
        try:
            lipsync = lipsync_backend(route, shot.id)
        except RenderError:
            if render:
                raise
            return None  # what a render would do fails: nothing cached stands for it
        sync = self._take("lipsync", lipsync, synced, tag, render)
        return Take(sync.path, take.cached and sync.cached) if sync else None

    def _take(self, kind: str, loaded: Loaded, request: Any, tag: LedgerTag, render: bool) -> Take | None:
        """A picture artifact (a segment or its lip-synced copy); without `render`, None when it is
        not cached."""
        if render:
            return self._cached_or_render(kind, loaded, request, "mp4", tag)
        path = self._path(kind, loaded, request, "mp4")
        return Take(path, True) if path.is_file() else None

    def music(self, scene: Scene, series: Series, render: bool = True) -> Take | None:
        loaded, request = self.music_backend(), music_request(scene, series)
        if render:
            return self._cached_or_render("music", loaded, request, "wav",
                                          LedgerTag(scene.id, scene.duration_frames, series.fps))
        path = self._path("music", loaded, request, "wav")
        return Take(path, True) if path.is_file() else None

    def sfx_backend(self) -> Loaded:
        name = self.settings.backends.sfx
        return load(name, "sfx", self.settings.backends.options_for(name))

    def sound(self, request: SfxRequest, render: bool = True) -> Take | None:
        """A sound effect or ambience bed (requests.effect_requests, ambience_requests). Without
        `render`, None when it is not cached."""
        loaded = self.sfx_backend()
        if render:
            tag = LedgerTag(sound_place(request), request.num_frames, request.fps)
            return self._cached_or_render("sfx", loaded, request, "wav", tag)
        path = self._path("sfx", loaded, request, "wav")
        return Take(path, True) if path.is_file() else None

    def cached_shot(self, shot: Shot, scene: Scene, series: Series) -> tuple[list[Path], PictureTake | None]:
        """What a render of the shot would reuse, as the plan stands: its voice takes, and its
        picture (None when something is missing, so the render would do work)."""
        voiced, paths = {}, []
        for line in shot.dialogue:
            take = self.voice(shot, line, series, render=False)
            if take is None:
                return paths, None
            voiced[line.id] = (take.path, take.seconds)
            paths.append(take.path)
        return paths, self.picture(shot, scene, series, voiced, render=False)


def _key(loaded: Loaded, request: Any) -> str:
    instance = loaded.instance
    return artifact_key(instance.name, instance.version, loaded.options, request)


def request_target(request: Any) -> str:
    return (getattr(request, "shot_id", None) or getattr(request, "line_id", None)
            or getattr(request, "target", None) or request.cue_id)


def write_video(result: VideoFrames, path: Path, request: VideoRequest | LipsyncRequest) -> None:
    frames = conform_frames(result, request.width, request.height, request.fps, request.num_frames)
    count = ffmpeg.encode_frames(frames, path, request.width, request.height, request.fps)
    if count != request.num_frames:
        raise RenderError(request.shot_id, "encoder", f"wrote {count} frames, expected {request.num_frames}")


def write_audio(clip: AudioClip, path: Path, request: VoiceRequest | MusicRequest | SfxRequest) -> None:
    ffmpeg.write_wav(path, clip.samples, clip.sample_rate)


WRITERS = {"video": write_video, "lipsync": write_video, "voice": write_audio, "music": write_audio,
           "sfx": write_audio}
