"""Seconds per call and peak memory of the real generators, per backend and local model folder:
the `diffusers` video backend (per shot), the keyframe generator (per image), the `musicgen` music
backend (per cue) and the `coqui` voice backend (per line).

    python bench/gpu_backends.py --video /models/ltx-video --video /models/wan2.1-i2v-480p
    python bench/gpu_backends.py --video /models/ltx-video --mode t2v --steps 30 --offload model
    python bench/gpu_backends.py --image /models/sdxl --image-size 832x1216
    python bench/gpu_backends.py --music /models/musicgen-small --seconds 20
    .venv-voice/bin/python bench/gpu_backends.py --voice /models/XTTS-v2   # coqui-tts's own venv
    python bench/gpu_backends.py --tiny       # tiny random-weight models on the CPU, in seconds

Each model makes `--shots` things with different seeds, through the same path as a production run
(load_backend -> render, and conform for video): shots and music cues of `--seconds` at the
series' size and frame rate, keyframes at `--image-size`, one English line per voice call in a
built-in speaker of the model (a cloned voice adds its conditioning once per reference clip). The
first call includes loading the weights and warm-up, so it is reported apart from the median of
the others. Every video request carries a keyframe (a synthetic picture unless `--keyframe` is
given), so mode auto means image-to-video wherever the weights can do it.

coqui-tts imports only in its own environment (torch 2.9, see pipeline/backends/coqui.py), which
has no diffusers: run the voice rows there, the others in the main one. A backend whose packages
cannot be imported here is skipped with one line saying why.

Peak memory: on CUDA, torch.cuda.max_memory_allocated per model (reset before each). On the CPU,
the process's peak resident set (getrusage), a high-water mark of the whole process: a row also
covers the rows before it, so measure one model per run for a clean CPU figure.

`--tiny` builds the tiny models of tests/tiny_models.py and tests/tiny_audio_models.py (those whose
packages are installed) in a temporary folder and times them on the CPU, so this script runs
anywhere the tests run and cannot rot unnoticed (tests/test_bench.py runs it).
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from microdrama.pipeline.render.backends import (
    CharacterRef, LocationRef, MusicRequest, VideoRequest, VoiceRequest, load_backend, register,
)
from microdrama.pipeline.render.backends.coqui import CoquiVoice
from microdrama.pipeline.render.backends.diffusers_video import DiffusersVideo
from microdrama.pipeline.render.backends.musicgen import MusicGenMusic
from microdrama.pipeline.render.backends.torch_device import missing_modules
from microdrama.pipeline.render.conform import conform_frames
from microdrama.pipeline.core.errors import MicrodramaError
from microdrama.pipeline.render.keyframes import KeyframeOptions, load_image_pipeline, render_image, wanted_keyframes
from microdrama.pipeline.core.models import CameraMove, Character, Mood, ScreenPosition, Series, ShotType, VoiceSpec

PROMPT = ("cinematic, natural light, shallow depth of field. close-up, slow push-in, 9:16 frame. "
          "ext roof at night, city lights. Maya, a woman in a red coat with short black hair, frame center. "
          "She turns towards the camera and smiles.")
CUE_PROMPT = "two strangers on a rooftop at night, city lights"
LINE = "I waited on this roof every night, and you never came. Why now?"

Loaded = TypeVar("Loaded")


@dataclass(frozen=True)
class Row:
    kind: str  # video, image, music or voice
    backend: str
    model: str
    made: str  # what one call makes
    first_s: float
    later_s: float | None
    peak: str


def main() -> None:
    args = parse_args()
    for backend in (DiffusersVideo, MusicGenMusic, CoquiVoice):
        register(backend)  # the bench does not rely on the installed entry points
    if args.voice or args.tiny:
        args.voice = voices_if_importable(args.voice)
    with tempfile.TemporaryDirectory(prefix="gpu-bench-") as scratch:
        scratch_dir = Path(scratch)
        if args.tiny:
            tiny_models(args, scratch_dir)
        keyframe = args.keyframe or synthetic_keyframe(scratch_dir / "keyframe.png")
        try:
            rows = [bench_video(Path(model), args, keyframe) for model in args.video]
            rows += [bench_image(Path(model), args) for model in args.image]
            rows += [bench_music(Path(model), args) for model in args.music]
            rows += [bench_voice(Path(model), args) for model in args.voice]
        except MicrodramaError as exc:
            sys.exit(f"error: {exc}")
    if rows:
        print_table(rows, args)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", action="append", default=[], help="diffusers video pipeline folder (repeatable)")
    parser.add_argument("--image", action="append", default=[], help="text-to-image pipeline folder for keyframes")
    parser.add_argument("--music", action="append", default=[], help="MusicGen model folder (repeatable)")
    parser.add_argument("--voice", action="append", default=[],
                        help="XTTS model folder (repeatable); needs coqui-tts, i.e. .venv-voice/bin/python")
    parser.add_argument("--tiny", action="store_true", help="also build and time the tiny test models (CPU)")
    parser.add_argument("--shots", type=int, default=3, help="shots (images, cues, lines) per model")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each shot and music cue")
    parser.add_argument("--resolution", default="720x1280", help="series size WIDTHxHEIGHT (sets the aspect)")
    parser.add_argument("--fps", type=int, default=24, help="series frame rate")
    parser.add_argument("--mode", choices=("auto", "t2v", "i2v"), default="auto")
    parser.add_argument("--steps", type=int, help="denoising steps (default: the pipeline's)")
    parser.add_argument("--max-frames", type=int, help="frames per call (default: the family's)")
    parser.add_argument("--width", type=int, help="generation width (default: the family's size at the aspect)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--offload", choices=("none", "model", "sequential"), default="none")
    parser.add_argument("--vae-tiling", action="store_true")
    parser.add_argument("--keyframe", help="reference image for image-to-video (default: a synthetic one)")
    parser.add_argument("--image-size", help="keyframe size WIDTHxHEIGHT (default: the model's)")
    args = parser.parse_args()
    if not (args.video or args.image or args.music or args.voice or args.tiny):
        parser.error("give --video/--image/--music/--voice model folders, or --tiny")
    return args


def voices_if_importable(models: list[str]) -> list[str]:
    """The voice models to time: none, with one line saying why, where coqui-tts cannot be imported."""
    availability = CoquiVoice.availability()
    if availability.available:
        return models
    print(f"coqui (voice) skipped: {availability.reason}; in this repository, run the bench with "
          ".venv-voice/bin/python", file=sys.stderr)
    return []


def tiny_models(args: argparse.Namespace, folder: Path) -> None:
    """Save the tiny models whose packages are installed, and shrink the run to their size: a CPU,
    two steps, a few frames, one-second cues."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import tiny_audio_models
    import tiny_models
    import torch

    # A tiny model's steps are microseconds of work; synchronising threads costs far more.
    torch.set_num_threads(1)
    if missing_modules(["diffusers"]):
        print("tiny diffusers video and keyframe models skipped: diffusers not installed "
              "(pip install 'microdrama[video]')", file=sys.stderr)
    else:
        builders = dict(tiny_models.VIDEO_BUILDERS)
        if missing_modules(["ftfy"]):
            print("wan-i2v skipped: the Wan pipelines need ftfy", file=sys.stderr)
            builders.pop("wan-i2v")
        args.video += [str(tiny_models.save_tiny(build, folder / name)) for name, build in builders.items()]
        args.image += [str(tiny_models.save_tiny(build, folder / name))
                       for name, build in tiny_models.IMAGE_BUILDERS.items()]
    if missing_modules(["transformers"]):
        print("tiny MusicGen skipped: transformers not installed (pip install 'microdrama[music]')",
              file=sys.stderr)
    else:
        args.music.append(str(tiny_audio_models.save_tiny_musicgen(folder / "musicgen")))
    if CoquiVoice.availability().available:  # otherwise main() has said why not
        (folder / "xtts").mkdir()
        args.voice.append(str(tiny_audio_models.save_tiny_xtts(folder / "xtts")))
    args.device, args.dtype, args.steps, args.max_frames = "cpu", "float32", 2, 9
    args.seconds, args.shots, args.image_size, args.width = 1.0, 2, "32x32", 32


def synthetic_keyframe(path: Path) -> str:
    """A soft gradient with a bright disc: enough structure for an encoder, no weights needed."""
    y, x = np.mgrid[0:768, 0:512] / np.array([768, 512])[:, None, None]
    disc = ((x - 0.5) ** 2 + (y - 0.4) ** 2 < 0.04)[..., None]
    pixels = np.stack([x, y, 1 - x], axis=-1) * 180 + disc * 60
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return str(path)


def request(args: argparse.Namespace, seed: int, keyframe: str) -> VideoRequest:
    width, height = (int(side) for side in args.resolution.split("x"))
    return VideoRequest(
        shot_id="e01s01k01", prompt=PROMPT, width=width, height=height, fps=args.fps,
        num_frames=round(args.seconds * args.fps), seed=seed, shot_type=ShotType.CU, move=CameraMove.PUSH_IN,
        setting="EXT", time_of_day="night", location=LocationRef(id="roof", name="ROOF"),
        characters=[CharacterRef(id="maya", name="MAYA", description="a woman in a red coat",
                                 position=ScreenPosition.CENTER, keyframe=keyframe)],
    )


def measure(kind: str, backend: str, model: Path, args: argparse.Namespace, load: Callable[[], Loaded],
            make: Callable[[Loaded, int], str]) -> Row:
    """Load, then make `--shots` things (call n gets seed n); `make` says what one call made. The
    first call's time includes the loading: the backends load their weights on first use."""
    reset_peak_memory()
    start = time.perf_counter()
    loaded = load()
    seconds = []
    for call in range(args.shots):
        made = make(loaded, call)
        seconds.append(time.perf_counter() - start)
        start = time.perf_counter()
    return Row(kind, backend, model.name, made, seconds[0], later(seconds), peak_memory(args.device))


def bench_video(model: Path, args: argparse.Namespace, keyframe: str) -> Row:
    options = {"model": str(model), "mode": args.mode, "device": args.device, "dtype": args.dtype,
               "offload": args.offload, "vae_tiling": args.vae_tiling}
    optional = {"num_inference_steps": args.steps, "max_frames": args.max_frames, "width": args.width}
    options |= {name: value for name, value in optional.items() if value is not None}

    def shot(backend: Any, seed: int) -> str:
        wanted = request(args, seed, keyframe)
        clip = backend.render(wanted)
        frames = list(conform_frames(clip, wanted.width, wanted.height, wanted.fps, wanted.num_frames))
        assert len(frames) == wanted.num_frames
        return f"{clip.width}x{clip.height}x{clip.num_frames} @{clip.fps:g} fps"

    return measure("video", "diffusers", model, args, lambda: load_backend("diffusers", "video", options), shot)


def bench_image(model: Path, args: argparse.Namespace) -> Row:
    """Keyframes one by one, as generate_keyframes makes them (minus writing the PNG)."""
    size = [int(side) for side in args.image_size.split("x")] if args.image_size else [None, None]
    options = KeyframeOptions(model=str(model), width=size[0], height=size[1], num_inference_steps=args.steps,
                              device=args.device, dtype=args.dtype, offload=args.offload)
    series = Series(slug="bench", title="Bench", characters=[  # one keyframe per character
        Character(id=f"c{index}", name=f"C{index}", description="a woman in a red coat") for index in range(args.shots)])
    keyframes = wanted_keyframes(series, options)

    def image(loaded: Any, index: int) -> str:
        placement, pipeline = loaded
        picture = render_image(pipeline, keyframes[index], options, placement.generator(keyframes[index].seed))
        return f"{picture.width}x{picture.height} image"

    return measure("image", "keyframes", model, args, lambda: load_image_pipeline(options), image)


def bench_music(model: Path, args: argparse.Namespace) -> Row:
    """Cues of `--seconds` at the series' frame rate (MusicGen's own rate is 32 kHz)."""
    options = {"model": str(model), "device": args.device, "dtype": args.dtype}

    def cue(backend: Any, seed: int) -> str:
        clip = backend.render(MusicRequest(cue_id="e01s01", mood=Mood.TENSE, tempo_bpm=96, intensity=0.5,
                                           num_frames=round(args.seconds * args.fps), fps=args.fps, seed=seed,
                                           prompt=CUE_PROMPT))
        return f"{clip.seconds:g} s cue @{clip.sample_rate / 1000:g} kHz"

    return measure("music", "musicgen", model, args, lambda: load_backend("musicgen", "music", options), cue)


def bench_voice(model: Path, args: argparse.Namespace) -> Row:
    """One English line per call, in a built-in speaker (XTTS runs in float32)."""
    options = {"model_dir": str(model), "device": args.device}

    def line(backend: Any, seed: int) -> str:
        clip = backend.render(VoiceRequest(line_id="e01s01l01", text=LINE, language="en", voice=VoiceSpec(),
                                           speaker="maya", seed=seed))
        return f"{clip.seconds:.1f} s line @{clip.sample_rate / 1000:g} kHz"

    return measure("voice", "coqui", model, args, lambda: load_backend("coqui", "voice", options), line)


def later(seconds: list[float]) -> float | None:
    return statistics.median(seconds[1:]) if len(seconds) > 1 else None


def reset_peak_memory() -> None:
    """Free the previous model (it went out of scope) and start a new high-water mark."""
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_memory(device: str) -> str:
    import torch

    if device != "cpu" and torch.cuda.is_available():
        return f"{torch.cuda.max_memory_allocated() / 2**30:.1f} GiB GPU"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return f"{peak / (2**30 if sys.platform == 'darwin' else 2**20):.1f} GiB RSS"


def print_table(rows: list[Row], args: argparse.Namespace) -> None:
    import torch

    device = torch.cuda.get_device_name() if torch.cuda.is_available() and args.device != "cpu" else "CPU"
    print(f"\n{device}, torch {torch.__version__}; {args.shots} calls per model; {args.seconds:g} s shots and "
          f"cues at {args.resolution}, {args.fps} fps; steps {args.steps or 'default'}, offload {args.offload}\n")
    header = ("kind", "backend", "model", "one call makes", "first s (load)", "later s/call", "peak memory")
    table = [header] + [(r.kind, r.backend, r.model, r.made, f"{r.first_s:.2f}",
                         "-" if r.later_s is None else f"{r.later_s:.2f}", r.peak) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for number, line in enumerate(table):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
        if number == 0:
            print("  ".join("-" * width for width in widths))


if __name__ == "__main__":
    main()
