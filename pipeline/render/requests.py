"""Plan objects -> backend requests: the only place that turns a shot, a line or a scene into
what a generator is asked for.

Every prompt is composed here from the bible as it stands in the snapshot (the prompt stored in
the plan file is only a record of it). Reference files travel as absolute paths for the backend
and as content digests for the cache key (core/cache.py leaves the paths out of the key). A
reference path that leaves the series folder is refused here too, even if review was bypassed
(core/paths.py): nothing outside the folder is read or handed to a backend.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

from ..core import limits
from ..core.models import DialogueLine, Scene, Series, Shot, VoiceSpec
from ..core.paths import series_file
from ..plan.sfx import effect_seconds, sound_kind
from ..plan.shot_prompt import compose_prompt
from .backends import (
    CharacterRef,
    FaceBox,
    LipsyncRequest,
    LocationRef,
    MusicRequest,
    SfxRequest,
    Subtitle,
    VideoRequest,
    VoicePlacement,
    VoiceRequest,
)


def file_digest(root: Path, path: str | None, field: str | None = None) -> str | None:
    """A reference file's content is part of the request: a keyframe or voice clip replaced in
    place re-renders what uses it. InputError for a path outside the series folder."""
    file = series_file(root, path, field) if path else None
    return hashlib.sha256(file.read_bytes()).hexdigest()[:16] if file and file.is_file() else None


def reference_path(root: Path, path: str | None, field: str | None = None) -> str | None:
    """The absolute path a backend reads a reference file at; InputError outside the folder."""
    return str(series_file(root, path, field)) if path else None


def spoken_frames(seconds: float, fps: int) -> int:
    """A voiced line's length in whole frames (rounded up): the one conversion the burned-in
    subtitles, the SRT and the timeline all use."""
    return math.ceil(seconds * fps - 1e-6)


def line_slot_frames(shot: Shot, line: DialogueLine) -> int:
    """Frames a line may last: until the next line of the shot starts, or the shot ends."""
    later = [l.offset_frames for l in shot.dialogue if l.offset_frames > line.offset_frames]
    return min(later, default=shot.duration_frames) - line.offset_frames


def cue_end_frame(start: int, spoken: int, limit: int) -> int:
    """A subtitle ends with its voice, never after its shot (`limit`), and shows for a frame at
    least: the rule for the burned-in text and the SRT alike."""
    return max(start + 1, min(start + spoken, limit))


def subtitle_end(shot: Shot, line: DialogueLine, fps: int, seconds: float | None) -> int:
    """A line's burned-in subtitle ends with its measured voice when that is known, else as
    planned (frames within the shot)."""
    spoken = spoken_frames(seconds, fps) if seconds else line.duration_frames
    return cue_end_frame(line.offset_frames, spoken, shot.duration_frames)


def voice_placements(shot: Shot, fps: int, takes: dict[str, tuple[Path, float]]) -> list[VoicePlacement]:
    """Where each voiced line of the shot plays, and its take (`takes`: line id -> the take's
    cache file and measured seconds). A take is named by the key of what made it, so its name
    stands for its content: reading every take to hash it was a third of `status` on a season."""
    placements = []
    for line in shot.dialogue:
        if line.id in takes:
            path, seconds = takes[line.id]
            placements.append(VoicePlacement(
                line_id=line.id, speaker=line.speaker, start_frame=line.offset_frames,
                end_frame=subtitle_end(shot, line, fps, seconds), off_screen=line.off_screen,
                voice_clip=str(path), voice_digest=Path(path).stem))
    return placements


def video_request(shot: Shot, scene: Scene, series: Series, root: Path,
                  takes: dict[str, tuple[Path, float]] | None = None, burn_subtitles: bool = True) -> VideoRequest:
    """The shot's picture request. `takes` holds its lines' voice takes (rendered first: path
    and measured seconds), so burned-in subtitles follow the voice as the SRT does, and a
    generator that hears the voice (the animatic's mouths) gets it."""
    location = series.location(scene.location)
    names = {c.id: c.name for c in series.characters}
    takes = takes or {}
    voiced = {line_id: seconds for line_id, (_, seconds) in takes.items()}

    characters = []
    for framed in shot.characters:
        character = series.character(framed.character)
        path, field = character.keyframe if character else None, f"characters ({framed.character}).keyframe"
        characters.append(CharacterRef(
            id=framed.character, name=character.name if character else framed.character,
            description=character.appearance if character else "", position=framed.position,
            facing=framed.facing, keyframe=reference_path(root, path, field),
            keyframe_digest=file_digest(root, path, field),
        ))
    place, place_field = location.keyframe if location else None, f"locations ({scene.location}).keyframe"
    return VideoRequest(
        shot_id=shot.id, prompt=compose_prompt(shot, scene, series), width=series.width, height=series.height,
        fps=series.fps, num_frames=shot.duration_frames, seed=shot.picture_seed, shot_type=shot.type, move=shot.move,
        setting=scene.setting, time_of_day=scene.time_of_day,
        location=LocationRef(id=scene.location, name=location.name if location else scene.location,
                             description=location.description if location else "",
                             keyframe=reference_path(root, place, place_field),
                             keyframe_digest=file_digest(root, place, place_field)),
        characters=characters, action=shot.action, title_card=shot.title_card, language=series.language,
        subtitles=[Subtitle(speaker=names.get(l.speaker, l.speaker), text=l.text, start_frame=l.offset_frames,
                            end_frame=subtitle_end(shot, l, series.fps, voiced.get(l.id))) for l in shot.dialogue],
        voices=voice_placements(shot, series.fps, takes), burn_subtitles=burn_subtitles,
    )


def lipsync_request(request: VideoRequest, picture: Path, picture_key: str) -> LipsyncRequest | None:
    """The lip-sync pass over a rendered shot: the lines seen spoken (V.O. and O.S. lines are
    heard, not seen) and where the shot's framing puts each speaker's face. None when no line is
    seen spoken: the picture stays as it is."""
    seen = [voice for voice in request.voices if not voice.off_screen]
    if not seen:
        return None
    return LipsyncRequest(shot_id=request.shot_id, picture=str(picture), picture_key=picture_key,
                          width=request.width, height=request.height, fps=request.fps,
                          num_frames=request.num_frames, voices=seen,
                          framing=speaker_faces(request, {voice.speaker for voice in seen}))


def speaker_faces(request: VideoRequest, speakers: set[str]) -> dict[str, FaceBox]:
    """Where the shot's framing puts each of `speakers`' faces (by character id); a speaker seen
    from behind, or not framed, has none. The lip-sync pass and the audit's sync measure share it."""
    from .backends.animatic.framing import place_figures

    faces = {}
    for figure in place_figures(request):
        if figure.character.id in speakers and not figure.from_behind:
            box = face_box(figure.x * request.width, figure.y * request.height, figure.head,
                           request.width, request.height)
            if box is not None:
                faces[figure.character.id] = box
    return faces


def face_box(x: float, y: float, head: float, width: int, height: int) -> FaceBox | None:
    """A head `head` pixels tall centred at (x, y), as a face box (four fifths as wide as tall)
    inside the frame; None when it lies outside."""
    left, top = max(0, round(x - 0.4 * head)), max(0, round(y - 0.5 * head))
    right, bottom = min(width, round(x + 0.4 * head)), min(height, round(y + 0.5 * head))
    if right - left < 2 or bottom - top < 2:
        return None
    return FaceBox(x=left, y=top, width=right - left, height=bottom - top)


def voice_request(line: DialogueLine, series: Series, root: Path, speed_factor: float = 1.0) -> VoiceRequest:
    character = series.character(line.speaker)
    voice = character.voice if character else VoiceSpec()
    update: dict[str, Any] = {}
    if speed_factor != 1.0:
        update["speed"] = min(2.0, round(voice.speed * speed_factor, 3))
    field = f"characters ({line.speaker}).voice.reference_clip"
    if voice.reference_clip:
        update["reference_clip"] = reference_path(root, voice.reference_clip, field)
    return VoiceRequest(line_id=line.id, text=line.text, language=series.language,
                        voice=voice.model_copy(update=update), speaker=line.speaker, parenthetical=line.parenthetical,
                        gender=str(character.gender) if character and character.gender else None,
                        reference_digest=file_digest(root, voice.reference_clip, field))


def music_request(scene: Scene, series: Series) -> MusicRequest:
    return MusicRequest(cue_id=scene.id, mood=scene.music.mood, tempo_bpm=scene.music.tempo_bpm,
                        intensity=scene.music.intensity, num_frames=scene.duration_frames, fps=series.fps,
                        seed=scene.music.seed, prompt=f"{scene.music.mood.value} film score, "
                        f"{scene.music.tempo_bpm} bpm, for: {scene.summary}")


def sound_place(request: SfxRequest) -> str:
    """Where the ledger files a sound: an effect under its shot (e01s01k02x1 -> e01s01k02), a bed
    under its scene (e01s01:rain -> e01s01)."""
    return request.target.split("x")[0].split(":")[0]


def effect_requests(shot: Shot, scene: Scene, series: Series) -> list[SfxRequest]:
    """One request per sound effect of the shot, as long as its kind lasts."""
    return [SfxRequest(target=f"{shot.id}x{number}", prompt=effect.sound, kind=sound_kind(effect.sound),
                       setting=scene.setting, time_of_day=scene.time_of_day, fps=series.fps,
                       num_frames=max(1, round(effect_seconds(sound_kind(effect.sound) or "") * series.fps)),
                       seed=(shot.seed + number) % (limits.MAX_SEED + 1))
            for number, effect in enumerate(shot.sfx, start=1)]


def ambience_requests(scene: Scene, series: Series) -> list[SfxRequest]:
    """One request per ambience bed of the scene, as long as the scene."""
    return [SfxRequest(target=f"{scene.id}:{bed}", prompt=f"{bed}, {scene.setting.value} {scene.time_of_day.value}",
                       kind=sound_kind(bed, ambience=True), bed=True, setting=scene.setting,
                       time_of_day=scene.time_of_day, fps=series.fps, num_frames=scene.duration_frames,
                       seed=(scene.music.seed + number) % (limits.MAX_SEED + 1))
            for number, bed in enumerate(scene.ambience, start=1)]
