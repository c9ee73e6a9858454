"""The `coqui` voice backend: multilingual XTTS voices through coqui-tts (the `microdrama[voice]`
extra), cloned from a character's reference recording or taken from the model's built-in speakers.

Licence: the XTTS-v2 weights (coqui/XTTS-v2) are under the Coqui Public Model License, for
non-commercial use only; the coqui-tts code is MPL-2.0. A user who selects this backend is told so
by `microdrama backends`.

The model is read from a local folder laid out as XTTS-v2 ships: config.json, model.pth,
vocab.json, and speakers_xtts.pth for the built-in speakers. Nothing is downloaded.

Which voice speaks a line: the character's `voice.reference_clip` (an absolute path: the renderer
resolves the bible's path against the series folder), else the built-in speaker named by
`voice.voice`, else a built-in speaker of the character's gender picked from the character id,
so an unconfigured character still keeps one voice that fits them. A clone's conditioning latents are computed once per clip and reused.
The clip is read with soundfile rather than XTTS's own loader: that goes through torchaudio.load,
which since torchaudio 2.9 needs torchcodec and FFmpeg's shared libraries on the system.

Dependencies: coqui-tts imports torchaudio, whose C extension does not load beside torch 2.13, and
on torch >= 2.9 refuses to import without torchcodec; so this extra lives in an environment of its
own with torch 2.9, torchaudio 2.9 and torchcodec 0.9 (see `INSTALL_HINT`).

XTTS samples its speech tokens: torch's global generator is seeded with the request's seed under
the lock that serialises synthesis, so the same request gives the same line. XTTS has a speed
control but no pitch: the pitch is made as the Piper voice makes it (speak slower, then resample).
"""

from __future__ import annotations

import functools
import json
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ...core.errors import BackendUnavailable, RenderError
from . import AudioClip, Availability, Capabilities, Kind, VoiceRequest
from .piper import semitone_ratio, speed_up
from .torch_device import DeviceOptions, missing_modules, out_of_memory_as_render_error, resolve_placement
from .voice_audio import finish

if TYPE_CHECKING:
    import torch
    from TTS.tts.models.xtts import Xtts

LICENCE = "XTTS-v2 weights are under the Coqui Public Model License: non-commercial use only"
INSTALL_HINT = (
    "pip install 'microdrama[voice]' into an environment with torch 2.9, torchaudio 2.9 and "
    "torchcodec 0.9 (coqui-tts imports torchaudio, whose C extension does not load beside newer torch)"
)
OUT_OF_MEMORY_HINT = "set device = 'cpu'"
MODEL_FILES = ("config.json", "model.pth", "vocab.json")

# The languages of XTTS-v2 (its config.json); a fine-tuned model's own list is checked on render.
XTTS_LANGUAGES = (
    "en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl", "cs", "ar", "zh-cn", "hu", "ko", "ja", "hi",
)
# Chinese tags that mean Cantonese: XTTS reads Chinese text as Mandarin only.
CANTONESE = frozenset({"yue", "zh-hk", "zh-mo", "zh-yue"})


def xtts_language(tag: str, languages: Sequence[str]) -> str | None:
    """The model's code for a BCP 47 tag (`zh-Hans-CN` -> `zh-cn`, `pt-BR` -> `pt`), or None."""
    tag = tag.lower()
    if tag in CANTONESE:
        return None
    if tag in languages:
        return tag
    primary = tag.split("-")[0]
    code = "zh-cn" if primary in ("zh", "cmn") else primary
    return code if code in languages else None


class CoquiOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_dir: str = Field(
        description="Folder of an XTTS model as XTTS-v2 ships: config.json, model.pth, vocab.json "
        "and (for built-in speakers) speakers_xtts.pth. Nothing is downloaded."
    )
    device: str = DeviceOptions.model_fields["device"]
    temperature: float | None = Field(
        None, gt=0.0, le=2.0,
        description="Sampling temperature of the speech tokens; null keeps the one in the model's "
        "config.json. Lower is steadier, higher more varied.",
    )


def model_folder(path: str, backend: str) -> Path:
    """The model folder, checked before anything heavy is imported."""
    folder = Path(path).expanduser()
    missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
    if missing:
        raise BackendUnavailable(
            backend, f"no XTTS model at {folder} (missing {', '.join(missing)}); set `model_dir` to a "
            f"local copy of e.g. coqui/XTTS-v2; {LICENCE}"
        )
    config = folder / "config.json"
    try:
        model = json.loads(config.read_text(encoding="utf-8")).get("model")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackendUnavailable(backend, f"cannot read {config}: {exc}") from None
    if model != "xtts":
        raise BackendUnavailable(backend, f"{folder} holds a {model!r} model; this backend runs 'xtts' models")
    return folder


@functools.cache
def import_error() -> str | None:
    """Why coqui-tts cannot be imported here, if it cannot. Installed is not enough: torchaudio's
    C extension fails to load beside a torch it was not built for."""
    try:
        import torchaudio  # noqa: F401
        import TTS  # noqa: F401
    except (ImportError, OSError) as exc:
        return str(exc).strip().splitlines()[0]
    return None


@dataclass(frozen=True)
class Conditioning:
    """What XTTS speaks in a voice with: its style latents and its speaker embedding."""

    gpt_cond_latent: torch.Tensor
    speaker_embedding: torch.Tensor


# XTTS-v2's built-in speakers by the gender of their voice (speakers_xtts.pth holds names only).
FEMALE_SPEAKERS = frozenset((
    "Claribel Dervla", "Daisy Studious", "Gracie Wise", "Tammie Ema", "Alison Dietlinde", "Ana Florence",
    "Annmarie Nele", "Asya Anara", "Brenda Stern", "Gitta Nikolina", "Henriette Usha", "Sofia Hellen",
    "Tammy Grit", "Tanja Adelina", "Vjollca Johnnie",
))
MALE_SPEAKERS = frozenset((
    "Andrew Chipper", "Badr Odhiambo", "Dionisio Schuyler", "Royston Min", "Viktor Eka", "Abrahan Mack",
    "Adde Michal", "Baldur Sanjin", "Craig Gutsy", "Damien Black", "Gilberto Mathias", "Ilkin Urbano",
    "Kazuhiko Atallah", "Ludvig Milivoj", "Suad Qasim", "Torcull Diarmuid", "Viktor Menelaos",
    "Zacharie Aimilios",
))
SPEAKERS_BY_GENDER = {"female": FEMALE_SPEAKERS, "male": MALE_SPEAKERS}


def speaker_for(names: list[str], character_id: str, gender: str | None) -> str:
    """A stable built-in speaker for a character: one of the speakers of their gender when the
    model has any (a woman never speaks in a man's voice), else any, picked by the id's hash."""
    fitting = [name for name in names if name in SPEAKERS_BY_GENDER.get(gender or "", ())] or names
    return fitting[zlib.crc32(character_id.encode()) % len(fitting)]


class CoquiVoice:
    """XTTS through coqui-tts from a local folder; non-commercial weights. Loaded on first use,
    once per process."""

    name: ClassVar[str] = "coqui"
    version: ClassVar[str] = "1"
    kind: ClassVar[Kind] = "voice"
    capabilities: ClassVar[Capabilities] = Capabilities(seed=True, languages=list(XTTS_LANGUAGES))
    Options: ClassVar[type[BaseModel]] = CoquiOptions
    extra: ClassVar[str | None] = "voice"

    def __init__(self, options: CoquiOptions) -> None:
        self.options = options
        self.folder = model_folder(options.model_dir, self.name)
        self._model: Xtts | None = None
        self._clones: dict[tuple[str, int, int], Conditioning] = {}
        self._lock = threading.Lock()

    @classmethod
    def availability(cls) -> Availability:
        missing = missing_modules(("TTS", "torch", "torchaudio"))
        if missing:
            return Availability(available=False, reason=f"{', '.join(missing)} not installed: {INSTALL_HINT}")
        problem = import_error()
        if problem:
            return Availability(available=False, reason=f"cannot import coqui-tts ({problem}): {INSTALL_HINT}")
        return Availability(available=True, reason=LICENCE)

    @classmethod
    def speaks(cls, language: str) -> bool:
        return xtts_language(language, XTTS_LANGUAGES) is not None

    def render(self, request: VoiceRequest) -> AudioClip:
        import torch

        ratio = semitone_ratio(request.voice.pitch)
        with self._lock:
            model = self._loaded()
            language = xtts_language(request.language, model.config.languages)
            if language is None:
                raise RenderError(request.line_id, self.name, f"this XTTS model does not speak "
                                  f"{request.language!r}; it speaks {', '.join(model.config.languages)}")
            voice = self._voice(request, model)
            torch.manual_seed(request.seed)
            with out_of_memory_as_render_error(request.line_id, self.name, OUT_OF_MEMORY_HINT):
                # Spoken `ratio` times slower than wanted; the pitch resampling speeds it back up.
                spoken = model.inference(
                    request.text, language, voice.gpt_cond_latent, voice.speaker_embedding,
                    speed=request.voice.speed / ratio, **self._sampling(model),
                )
        samples = speed_up(np.asarray(spoken["wav"], dtype=np.float32), ratio)
        return finish(samples, model.args.output_sample_rate, request, self.name)

    def _sampling(self, model: Xtts) -> dict[str, float]:
        """The sampling settings of the model's config, as coqui-tts's own synthesize() uses them."""
        config = model.config
        return {
            "temperature": self.options.temperature or config.temperature,
            "length_penalty": config.length_penalty,
            "repetition_penalty": config.repetition_penalty,
            "top_k": config.top_k,
            "top_p": config.top_p,
        }

    def _voice(self, request: VoiceRequest, model: Xtts) -> Conditioning:
        if request.voice.reference_clip:
            return self._clone(Path(request.voice.reference_clip), request, model)
        speakers = model.speaker_manager.speakers if model.speaker_manager else {}
        if not speakers:
            raise RenderError(request.line_id, self.name, "this XTTS model has no built-in speakers "
                              "(no speakers_xtts.pth): give the character a voice.reference_clip")
        names = sorted(speakers)
        chosen = request.voice.voice or speaker_for(names, request.speaker, request.gender)
        if chosen not in speakers:
            raise RenderError(request.line_id, self.name, f"no built-in speaker {chosen!r}; "
                              f"this model has {len(names)}, e.g. {', '.join(names[:5])}")
        entry = speakers[chosen]
        return Conditioning(entry["gpt_cond_latent"], entry["speaker_embedding"])

    def _clone(self, clip: Path, request: VoiceRequest, model: Xtts) -> Conditioning:
        """The voice of a reference recording, computed once per version of the file."""
        if not clip.is_absolute():
            raise RenderError(request.line_id, self.name, f"reference clip {clip} is not an absolute "
                              "path (the renderer resolves it against the series folder)")
        try:
            stat = clip.stat()
        except FileNotFoundError:
            raise RenderError(request.line_id, self.name, f"reference clip {clip} not found") from None
        key = (str(clip), stat.st_mtime_ns, stat.st_size)
        if key not in self._clones:
            self._clones[key] = self._conditioning(clip, request, model)
        return self._clones[key]

    def _conditioning(self, clip: Path, request: VoiceRequest, model: Xtts) -> Conditioning:
        """What Xtts.get_conditioning_latents computes, from audio that soundfile reads."""
        import soundfile
        import torch

        try:
            samples, sample_rate = soundfile.read(clip, dtype="float32", always_2d=True)
        except soundfile.LibsndfileError as exc:
            raise RenderError(request.line_id, self.name, f"cannot read reference clip {clip}: {exc}") from None
        config = model.config
        audio = torch.from_numpy(samples.mean(axis=1))[None, : sample_rate * config.max_ref_len]
        if config.sound_norm_refs:
            audio = audio / audio.abs().max() * 0.75
        audio = audio.to(model.device)
        return Conditioning(
            gpt_cond_latent=model.get_gpt_cond_latents(
                audio, sample_rate, length=config.gpt_cond_len, chunk_length=config.gpt_cond_chunk_len
            ),
            speaker_embedding=model.get_speaker_embedding(audio, sample_rate),
        )

    def _loaded(self) -> Xtts:
        """The model, loaded on first use; the caller holds the lock."""
        if self._model is None:
            from TTS.tts.configs.xtts_config import XttsConfig
            from TTS.tts.models.xtts import Xtts

            placement = resolve_placement(DeviceOptions(device=self.options.device, dtype="float32"), self.name)
            config = XttsConfig()
            config.load_json(str(self.folder / "config.json"))
            model = Xtts(config)
            model.load_checkpoint(config, checkpoint_dir=str(self.folder), eval=True)
            self._model = model.to(placement.device)
        return self._model
