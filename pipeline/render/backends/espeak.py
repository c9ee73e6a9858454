"""espeak-ng voices: formant synthesis for the languages the bundled Piper voice cannot speak
(Mandarin `cmn`, Cantonese `yue`, and every other voice `espeak-ng --voices` lists).

The Debian binary runs as a subprocess; the text goes in on stdin, so a line that starts with a
dash is never read as an option. espeak-ng is deterministic, and its own rate (`-s`, words per
minute) and pitch (`-p`, 0-99) carry a VoiceSpec's speed and pitch.
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
from . import AudioClip, Availability, Capabilities, NoOptions, VoiceRequest
from .voice_audio import finish

BINARY = "espeak-ng"
INSTALL_HINT = "espeak-ng not found: apt-get install espeak-ng"
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


@functools.cache
def installed_voices(binary: str) -> dict[str, str]:
    """Language tag (lower case) -> the espeak-ng voice that speaks it best.

    Each row of `espeak-ng --voices` names a voice's own language and, in parentheses, other
    languages it serves with a priority (lower is better): `cmn ... (zh-cmn 5)(zh 5)`."""
    listing = subprocess.run(
        [binary, "--voices"], capture_output=True, text=True, check=True, timeout=TIMEOUT_S
    ).stdout
    best: dict[str, tuple[int, str]] = {}
    for row in listing.splitlines()[1:]:
        fields = row.split()
        if len(fields) < 5:
            continue
        voice = fields[1].lower()
        for tag, rank in [(voice, fields[0]), *_OTHER_LANGUAGE.findall(row)]:
            tag, rank = tag.lower(), int(rank)
            if tag not in best or rank < best[tag][0]:
                best[tag] = (rank, voice)
    return {tag: voice for tag, (_, voice) in best.items()}


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
        if shutil.which(BINARY) is None:
            return Availability(available=False, reason=INSTALL_HINT)
        return Availability(available=True)

    @classmethod
    def speaks(cls, language: str) -> bool:
        binary = shutil.which(BINARY)
        return binary is not None and voice_for(language, installed_voices(binary)) is not None

    def render(self, request: VoiceRequest) -> AudioClip:
        binary = espeak_binary()
        voice = self._voice(request, installed_voices(binary))
        with tempfile.TemporaryDirectory(prefix="microdrama-espeak-") as folder:
            out = Path(folder) / "line.wav"
            argv = [
                binary, "-v", voice, "-s", str(words_per_minute(request.voice.speed)),
                "-p", str(pitch_value(request.voice.pitch)), "-b", "1", "-w", str(out), "--stdin",
            ]  # fmt: skip
            self._run(argv, request)
            samples, sample_rate = read_wav(out)
        return finish(samples, sample_rate, request, self.name)

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
