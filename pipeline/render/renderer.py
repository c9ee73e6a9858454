"""The render half of the production graph: plan -> backend requests -> cached artifacts.

`dispatch_render` fans out one `render_shot` per shot (voices, then picture) and one
`render_cue` per scene (music). This module is the only place that turns plan objects into
backend requests, and the only place that calls backends: a backend's exception is its own
failure, retried and then recorded on the shot, while the other shots carry on.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Send

from ..edit import ffmpeg
from ..edit.audio import wav_seconds
from .backends import (
    AudioClip, Backend, CharacterRef, LocationRef, MusicRequest, Subtitle, VideoFrames, VideoRequest,
    VoiceRequest, load_backend,
)
from ..core.cache import ArtifactCache, artifact_key
from ..core.config import Settings
from .conform import conform_frames
from ..core.errors import BackendUnavailable, ConfigError, RenderError
from ..core.models import DialogueLine, Scene, Series, Shot, VoiceSpec
from .routing import voice_backend_for
from ..plan.shot_prompt import compose_prompt
from ..graph.state import CueJob, CueRender, LineRender, ProductionState, ShotJob, ShotRender
from ..core.store import SeriesFolder

# A voiced line longer than its slot is spoken again faster, by at most this factor.
MAX_SPEEDUP = 1.35


# --- requests from the plan --------------------------------------------------------------------


def file_digest(root: Path, path: str | None) -> str | None:
    """A reference file's content is part of the request: a keyframe or voice clip replaced in
    place re-renders what uses it."""
    file = root / path if path else None
    return hashlib.sha256(file.read_bytes()).hexdigest()[:16] if file and file.is_file() else None


def video_request(shot: Shot, scene: Scene, series: Series, root: Path) -> VideoRequest:
    location = series.location(scene.location)
    names = {c.id: c.name for c in series.characters}

    def keyframe(path: str | None) -> str | None:
        return str((root / path).resolve()) if path else None

    characters = []
    for framed in shot.characters:
        character = series.character(framed.character)
        characters.append(CharacterRef(
            id=framed.character, name=character.name if character else framed.character,
            description=character.description if character else "", position=framed.position,
            facing=framed.facing, keyframe=keyframe(character.keyframe if character else None),
            keyframe_digest=file_digest(root, character.keyframe if character else None),
        ))
    return VideoRequest(
        # Composed now, not read from the plan file: a bible or framing edit since planning
        # reaches the generator (the stored prompt is only a record of it).
        shot_id=shot.id, prompt=compose_prompt(shot, scene, series), width=series.width, height=series.height, fps=series.fps,
        num_frames=shot.duration_frames, seed=shot.seed, shot_type=shot.type, move=shot.move,
        setting=scene.setting, time_of_day=scene.time_of_day,
        location=LocationRef(id=scene.location, name=location.name if location else scene.location,
                             description=location.description if location else "",
                             keyframe=keyframe(location.keyframe if location else None),
                             keyframe_digest=file_digest(root, location.keyframe if location else None)),
        characters=characters, action=shot.action, title_card=shot.title_card, language=series.language,
        subtitles=[Subtitle(speaker=names.get(l.speaker, l.speaker), text=l.text, start_frame=l.offset_frames,
                            end_frame=min(l.end_frame, shot.duration_frames)) for l in shot.dialogue],
    )


def voice_request(line: DialogueLine, series: Series, root: Path, speed_factor: float = 1.0) -> VoiceRequest:
    character = series.character(line.speaker)
    voice = character.voice if character else VoiceSpec()
    update: dict[str, Any] = {}
    if speed_factor != 1.0:
        update["speed"] = min(2.0, round(voice.speed * speed_factor, 3))
    if voice.reference_clip:
        update["reference_clip"] = str((root / voice.reference_clip).resolve())
    return VoiceRequest(line_id=line.id, text=line.text, language=series.language,
                        voice=voice.model_copy(update=update), speaker=line.speaker,
                        parenthetical=line.parenthetical, reference_digest=file_digest(root, voice.reference_clip))


def music_request(scene: Scene, series: Series) -> MusicRequest:
    return MusicRequest(cue_id=scene.id, mood=scene.music.mood, tempo_bpm=scene.music.tempo_bpm,
                        intensity=scene.music.intensity, num_frames=scene.duration_frames, fps=series.fps,
                        seed=scene.music.seed, prompt=f"{scene.music.mood.value} film score, "
                        f"{scene.music.tempo_bpm} bpm, for: {scene.summary}")


def line_slot_frames(shot: Shot, line: DialogueLine) -> int:
    """Frames a line may last: until the next line of the shot starts, or the shot ends."""
    later = [l.offset_frames for l in shot.dialogue if l.offset_frames > line.offset_frames]
    return min(later, default=shot.duration_frames) - line.offset_frames


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


def video_backend(shot: Shot, settings: Settings) -> tuple[Loaded, str]:
    """The shot's video backend: the first matching route that can load, else the default. The
    second value says why a route was not used ('' when nothing fell back). Title cards are
    text, so the animatic draws them whatever the routes say."""
    default = settings.backends.video
    if shot.title_card:
        return load("animatic", "video", settings.backends.options_for("animatic")), ""
    for route in settings.backends.routes:
        if route.matches(shot.type.value):
            try:
                return load(route.video, "video", route.options), ""
            except (BackendUnavailable, ConfigError) as exc:
                note = f"route to {route.video} not used ({exc}); rendered by {default}"
                return load(default, "video", settings.backends.options_for(default)), note
    return load(default, "video", settings.backends.options_for(default)), ""


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


class Renderer:
    """Renders one shot, line or cue through the cache."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.folder = SeriesFolder(settings.series_dir)
        self.cache = ArtifactCache(self.folder.cache_dir)

    def relative(self, path: Path) -> str:
        return str(path.relative_to(self.folder.root))

    def _path(self, kind: str, loaded: Loaded, request: Any, ext: str) -> Path:
        instance = loaded.instance
        return self.cache.path(kind, artifact_key(instance.name, instance.version, loaded.options, request), ext)

    def _cached_or_render(self, kind: str, loaded: Loaded, request: Any, ext: str, write, force: bool) -> tuple[Path, bool]:
        path = self._path(kind, loaded, request, ext)
        if path.is_file() and not force:
            return path, True
        if force:
            path.unlink(missing_ok=True)
        result = call_backend(loaded.instance, request_target(request), request, self.settings.render_attempts)
        return self.cache.produce(path, lambda temp: write(result, temp, request)), False

    def _voice_backend(self, line: DialogueLine, series: Series) -> Loaded:
        name = voice_backend_for(series.character(line.speaker), series.language, self.settings.backends)
        return load(name, "voice", self.settings.backends.options_for(name))

    def _music_backend(self) -> Loaded:
        name = self.settings.backends.music
        return load(name, "music", self.settings.backends.options_for(name))

    def video(self, shot: Shot, scene: Scene, series: Series, force: bool = False) -> tuple[Path, bool, str]:
        """The shot's segment, whether it came from the cache, and which backend made it."""
        loaded, fallback = video_backend(shot, self.settings)
        request = video_request(shot, scene, series, self.folder.root)
        path, cached = self._cached_or_render("video", loaded, request, "mp4", write_video, force)
        return path, cached, loaded.instance.name + (f" — {fallback}" if fallback else "")

    def voice(self, shot: Shot, line: DialogueLine, series: Series, force: bool = False) -> tuple[LineRender, bool]:
        loaded = self._voice_backend(line, series)
        slot = line_slot_frames(shot, line) / series.fps
        factor, cached_all = 1.0, True
        while True:
            request = voice_request(line, series, self.folder.root, factor)
            path, cached = self._cached_or_render("voice", loaded, request, "wav", write_voice, force)
            cached_all &= cached
            seconds = wav_seconds(path)
            if seconds <= slot or factor >= MAX_SPEEDUP:
                break
            factor = min(MAX_SPEEDUP, factor * seconds / slot * 1.03)
        return LineRender(id=line.id, path=self.relative(path), seconds=seconds), cached_all

    def music(self, scene: Scene, series: Series, force: bool = False) -> tuple[Path, bool]:
        return self._cached_or_render("music", self._music_backend(), music_request(scene, series), "wav",
                                      write_music, force)

    def shot_artifacts(self, shot: Shot, scene: Scene, series: Series) -> list[Path]:
        """The cache files a render of the shot starts from, as the plan stands now: its picture
        and each line at the speaker's own speed. All present means nothing to do."""
        loaded, _ = video_backend(shot, self.settings)
        paths = [self._path("video", loaded, video_request(shot, scene, series, self.folder.root), "mp4")]
        for line in shot.dialogue:
            request = voice_request(line, series, self.folder.root)
            paths.append(self._path("voice", self._voice_backend(line, series), request, "wav"))
        return paths

    def cue_artifact(self, scene: Scene, series: Series) -> Path:
        return self._path("music", self._music_backend(), music_request(scene, series), "wav")


def request_target(request: Any) -> str:
    return getattr(request, "shot_id", None) or getattr(request, "line_id", None) or request.cue_id


def write_video(result: VideoFrames, path: Path, request: VideoRequest) -> None:
    frames = conform_frames(result, request.width, request.height, request.fps, request.num_frames)
    count = ffmpeg.encode_frames(frames, path, request.width, request.height, request.fps)
    if count != request.num_frames:
        raise RenderError(request.shot_id, "encoder", f"wrote {count} frames, expected {request.num_frames}")


def write_voice(clip: AudioClip, path: Path, request: VoiceRequest) -> None:
    ffmpeg.write_wav(path, clip.samples, clip.sample_rate)


def write_music(clip: AudioClip, path: Path, request: MusicRequest) -> None:
    ffmpeg.write_wav(path, clip.samples, clip.sample_rate)


# --- graph nodes -------------------------------------------------------------------------------


def dispatch_render(state: ProductionState) -> list[Send]:
    """One branch per shot and per scene cue of every episode the request touches."""
    request = state.render
    sends: list[Send] = []
    for episode in state.episodes:
        if not any(request.selects(shot.id) for shot in episode.shots):
            continue
        for scene in episode.scenes:
            chosen = any(request.selects(shot.id) for shot in scene.shots)
            sends.append(Send("render_cue", CueJob(scene=scene, series=state.series, force=request.force and chosen)))
            for shot in scene.shots:
                sends.append(Send("render_shot", ShotJob(episode_id=episode.id, scene=scene, shot_id=shot.id,
                                                         series=state.series, force=request.force and request.selects(shot.id))))
    return sends


def render_shot(job: ShotJob, runtime: Runtime[Settings]) -> dict:
    """Voices first (their lengths are known before the picture), then the picture. A failure
    is recorded on the shot; the rest of the run goes on."""
    renderer = Renderer(runtime.context)
    shot = next(s for s in job.scene.shots if s.id == job.shot_id)
    lines, cached, error, video = [], True, None, None
    for line in shot.dialogue:
        try:
            rendered, was_cached = renderer.voice(shot, line, job.series, job.force)
            lines.append(rendered)
            cached &= was_cached
        except RenderError as exc:
            lines.append(LineRender(id=line.id, error=str(exc)))
    backend_used = ""
    try:
        path, was_cached, backend_used = renderer.video(shot, job.scene, job.series, job.force)
        video, cached = renderer.relative(path), cached and was_cached
    except RenderError as exc:
        error = str(exc)
    return {"renders": [ShotRender(id=shot.id, video=video, lines=lines, error=error, cached=cached,
                                   backend=backend_used)]}


def render_cue(job: CueJob, runtime: Runtime[Settings]) -> dict:
    renderer = Renderer(runtime.context)
    try:
        path, cached = renderer.music(job.scene, job.series, job.force)
        return {"cues": [CueRender(id=job.scene.id, path=renderer.relative(path), cached=cached)]}
    except RenderError as exc:
        return {"cues": [CueRender(id=job.scene.id, error=str(exc))]}
