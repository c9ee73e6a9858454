"""Which backend renders what: the series' configured backends, resolved per shot, line or cue.

Voice "auto" picks the first voice backend that speaks the series' language (the bundled Piper
voice for English, espeak-ng otherwise); a character's own `voice.backend` overrides it. A
language nobody speaks is a review finding, never silent audio.
"""

from __future__ import annotations

import functools

from .backends import backend_class
from ..core.config import BackendSettings
from ..core.errors import BackendUnavailable, ConfigError
from ..core.models import Character, Episode, Finding, Series, Severity

AUTO_VOICES = ("piper", "espeak")


def voice_backend_for(character: Character | None, language: str, backends: BackendSettings) -> str:
    name = (character.voice.backend if character else None) or backends.voice
    return auto_voice(language) if name == "auto" else name


@functools.cache
def auto_voice(language: str) -> str:
    """Chosen once per process and language: checking availability looks for installed packages,
    and a render asks for every dialogue line."""
    for candidate in AUTO_VOICES:
        cls = backend_class(candidate)
        if cls.availability().available and cls.speaks(language):
            return candidate
    raise ConfigError(
        f"no installed voice speaks {language!r}: the bundled Piper voice speaks English; "
        f"espeak-ng speaks many languages (pip install espeakng-loader); or set a voice backend "
        f"that speaks it in microdrama.toml [backends] voice"
    )


def voice_findings(series: Series, episodes: list[Episode], backends: BackendSettings) -> list[Finding]:
    """Review finding per speaker whose voice backend cannot speak the series' language."""
    speakers = sorted({line.speaker for e in episodes for s in e.shots for line in s.dialogue})
    findings = []
    for speaker in speakers:
        character = series.character(speaker)
        try:
            name = voice_backend_for(character, series.language, backends)
            cls = backend_class(name)
            availability = cls.availability()
            if not availability.available:
                raise BackendUnavailable(name, availability.reason)
            if not cls.speaks(series.language):
                raise ConfigError(f"voice backend {name!r} does not speak {series.language!r}")
        except (ConfigError, BackendUnavailable) as exc:
            findings.append(Finding(severity=Severity.ERROR, code="voice-unavailable", where=speaker,
                                    message=f"{speaker}: {exc}"))
    return findings
