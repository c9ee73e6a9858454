"""espeak-ng voices: formant synthesis for the languages the bundled Piper voice cannot speak
(Mandarin `cmn`, Cantonese `yue`, and every other voice `espeak-ng --voices` lists).

The library and data come from the `espeakng-loader` wheel (espeak_library.py), so `pip install`
alone voices a Chinese series; a system espeak-ng binary is the fallback, run as a subprocess
with the text on stdin, so a line that starts with a dash is never read as an option. Both are
deterministic. espeak-ng's own rate (words per minute) carries a VoiceSpec's speed; a cast voice
(pitch_hz, formant_shift) is reached by voice_transform.py as for Piper, else espeak's pitch
(0-99) carries the semitones.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ...edit.audio import read_wav
from ...core.errors import BackendUnavailable, RenderError
from . import AudioClip, Availability, Capabilities, NoOptions, VoiceRequest, espeak_library
from .voice_audio import finish
from .voice_transform import transform

BINARY = "espeak-ng"
INSTALL_HINT = "espeak-ng not found: pip install espeakng-loader (or apt-get install espeak-ng)"
TIMEOUT_S = 60

DEFAULT_WPM = 175
MIN_WPM, MAX_WPM = 80, 450
DEFAULT_PITCH = 50
# espeak-ng's table doubles the base pitch every 50 steps (50/12 a semitone), but the intonation
# rides on top unscaled, so the median pitch moved only about two thirds as far; measured on
# English and Mandarin lines, 5.5 steps move it about a semitone.
PITCH_STEPS_PER_SEMITONE = 5.5

# Tags that name a different spoken language than their primary subtag would pick.
LANGUAGE_ALIASES = {"zh-hk": "yue", "zh-mo": "yue"}
_OTHER_LANGUAGE = re.compile(r"\((\S+) (\d+)\)")


def espeak_binary() -> str:
    path = shutil.which(BINARY)
    if path is None:
        raise BackendUnavailable("espeak", INSTALL_HINT)
    return path


def engine() -> str | None:
    """'library' (the espeakng-loader wheel), else the system binary's path, else None."""
    return "library" if espeak_library.available() else shutil.which(BINARY)


def voices_of(engine_name: str) -> dict[str, str]:
    if engine_name == "library":
        return library_voices()
    return installed_voices(engine_name)


def _best(rows: list[tuple[str, list[tuple[str, int]]]]) -> dict[str, str]:
    """Language tag (lower case) -> the voice that serves it with the best (lowest) priority."""
    best: dict[str, tuple[int, str]] = {}
    for voice, languages in rows:
        for tag, rank in languages:
            tag = tag.lower()
            if tag not in best or rank < best[tag][0]:
                best[tag] = (rank, voice.lower())
    return {tag: voice for tag, (_, voice) in best.items()}


@functools.cache
def library_voices() -> dict[str, str]:
    return _best(espeak_library.library().voices())


@functools.cache
def installed_voices(binary: str) -> dict[str, str]:
    """Language tag (lower case) -> the espeak-ng voice that speaks it best.

    Each row of `espeak-ng --voices` names a voice's own language and, in parentheses, other
    languages it serves with a priority (lower is better): `cmn ... (zh-cmn 5)(zh 5)`."""
    listing = subprocess.run(
        [binary, "--voices"], capture_output=True, text=True, check=True, timeout=TIMEOUT_S
    ).stdout
    rows = []
    for row in listing.splitlines()[1:]:
        fields = row.split()
        if len(fields) >= 5:
            rows.append((fields[1], [(fields[1], int(fields[0])),
                                     *((tag, int(rank)) for tag, rank in _OTHER_LANGUAGE.findall(row))]))
    return _best(rows)


def voice_for(language: str, voices: dict[str, str]) -> str | None:
    """The espeak-ng voice for a BCP 47 tag: the whole tag if a voice serves it, else its primary
    subtag (`zh-CN` -> `zh` -> `cmn`)."""
    tag = language.lower()
    tag = LANGUAGE_ALIASES.get(tag, tag)
    return voices.get(tag) or voices.get(tag.split("-")[0])


def words_per_minute(speed: float) -> int:
    return int(np.clip(round(DEFAULT_WPM * speed), MIN_WPM, MAX_WPM))


def pitch_value(semitones: float) -> int:
    return int(np.clip(round(DEFAULT_PITCH + semitones * PITCH_STEPS_PER_SEMITONE), 0, 99))


class EspeakVoice:
    """espeak-ng through its command line. `VoiceSpec.voice` may name a voice with a variant
    (`cmn+f3`) or only a variant (`+f3`, added to the language's voice)."""

    name = "espeak"
    version = "1"
    kind = "voice"
    # The languages are those of the installed voices, known only at run time: see speaks().
    capabilities = Capabilities(seed=True, languages=None)
    Options = NoOptions
    extra = None

    def __init__(self, options: NoOptions) -> None:
        self.options = options

    @classmethod
    def availability(cls) -> Availability:
        if engine() is None:
            return Availability(available=False, reason=INSTALL_HINT)
        return Availability(available=True)

    @classmethod
    def speaks(cls, language: str) -> bool:
        found = engine()
        return found is not None and voice_for(language, voices_of(found)) is not None

    def render(self, request: VoiceRequest) -> AudioClip:
        found, spec = engine(), request.voice
        if found is None:
            raise BackendUnavailable("espeak", INSTALL_HINT)
        voice = self._voice(request, voices_of(found))
        cast = spec.pitch_hz is not None or spec.formant_shift != 1.0
        wpm, pitch = words_per_minute(spec.speed), DEFAULT_PITCH if cast else pitch_value(spec.pitch)
        if found == "library":
            try:
                samples, sample_rate = espeak_library.synthesize(request.text, voice, wpm, pitch, TIMEOUT_S)
            except espeak_library.EspeakError as exc:
                raise RenderError(request.line_id, self.name, f"{exc} (voice {voice})") from exc
        else:
            samples, sample_rate = self._binary(found, voice, wpm, pitch, request)
        if cast:
            samples = transform(samples, sample_rate, spec.pitch_hz, spec.pitch, spec.formant_shift)
        return finish(samples, sample_rate, request, self.name)

    def _binary(self, binary: str, voice: str, wpm: int, pitch: int, request: VoiceRequest) -> tuple[np.ndarray, int]:
        with tempfile.TemporaryDirectory(prefix="microdrama-espeak-") as folder:
            out = Path(folder) / "line.wav"
            argv = [binary, "-v", voice, "-s", str(wpm), "-p", str(pitch), "-b", "1", "-w", str(out), "--stdin"]
            self._run(argv, request)
            return read_wav(out)

    def _voice(self, request: VoiceRequest, voices: dict[str, str]) -> str:
        chosen = request.voice.voice
        if chosen and not chosen.startswith("+"):
            return chosen
        language_voice = voice_for(request.language, voices)
        if language_voice is None:
            raise RenderError(request.line_id, self.name, f"no espeak-ng voice speaks {request.language!r}")
        return language_voice + (chosen or "")

    def _run(self, argv: list[str], request: VoiceRequest) -> None:
        try:
            result = subprocess.run(
                argv, input=request.text.encode(), capture_output=True, timeout=TIMEOUT_S
            )
        except subprocess.TimeoutExpired as exc:
            raise RenderError(request.line_id, self.name, f"timed out after {TIMEOUT_S} s") from exc
        if result.returncode != 0:
            reason = result.stderr.decode(errors="replace").strip() or f"exit status {result.returncode}"
            raise RenderError(request.line_id, self.name, f"{reason} ({' '.join(argv[:5])})")
