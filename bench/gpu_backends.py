"""Seconds per shot and peak memory of the real generators: the `diffusers` video backend and the
keyframe generator, per local model folder.

    python bench/gpu_backends.py --video /models/ltx-video --video /models/wan2.1-i2v-480p
    python bench/gpu_backends.py --video /models/ltx-video --mode t2v --steps 30 --offload model
    python bench/gpu_backends.py --image /models/sdxl --image-size 832x1216
    python bench/gpu_backends.py --tiny       # tiny random-weight models on the CPU, in seconds

Each model renders `--shots` shots of `--seconds` at the series size, with different seeds,
through the same path as a production run (load_backend -> render -> conform). The first shot
includes loading the weights and warm-up, so it is reported apart from the median of the others.
Every request carries a keyframe (a synthetic picture unless `--keyframe` is given), so mode auto
means image-to-video wherever the weights can do it.

Peak memory: on CUDA, torch.cuda.max_memory_allocated per model (reset before each). On the CPU,
the process's peak resident set (getrusage), a high-water mark of the whole process: a row also
covers the rows before it, so measure one model per run for a clean CPU figure.

`--tiny` builds the tiny pipelines of tests/tiny_models.py in a temporary folder, so this script
runs anywhere the tests run and cannot rot unnoticed.
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from microdrama.pipeline.backends import CharacterRef, LocationRef, VideoRequest, load_backend, register
from microdrama.pipeline.backends.diffusers_video import DiffusersVideo
from microdrama.pipeline.conform import conform_frames
from microdrama.pipeline.errors import MicrodramaError
from microdrama.pipeline.keyframes import KeyframeOptions, load_image_pipeline, render_image, wanted_keyframes
from microdrama.pipeline.models import CameraMove, Character, ScreenPosition, Series, ShotType

PROMPT = ("cinematic, natural light, shallow depth of field. close-up, slow push-in, 9:16 frame. "
          "ext roof at night, city lights. Maya, a woman in a red coat with short black hair, frame center. "
          "She turns towards the camera and smiles.")


@dataclass(frozen=True)
class Row:
    backend: str
    model: str
    made: str  # what one call makes
    first_s: float
    later_s: float | None
    peak: str


def main() -> None:
    args = parse_args()
    register(DiffusersVideo)  # until the entry point is in pyproject.toml
    with tempfile.TemporaryDirectory(prefix="gpu-bench-") as scratch:
        scratch_dir = Path(scratch)
        if args.tiny:
            tiny_models(args, scratch_dir)
        keyframe = args.keyframe or synthetic_keyframe(scratch_dir / "keyframe.png")
        try:
            rows = [bench_video(Path(model), args, keyframe) for model in args.video]
            rows += [bench_image(Path(model), args) for model in args.image]
        except MicrodramaError as exc:
            sys.exit(f"error: {exc}")
    print_table(rows, args)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", action="append", default=[], help="diffusers video pipeline folder (repeatable)")
    parser.add_argument("--image", action="append", default=[], help="text-to-image pipeline folder for keyframes")
    parser.add_argument("--tiny", action="store_true", help="also build and time the tiny test pipelines (CPU)")
    parser.add_argument("--shots", type=int, default=3, help="shots (or images) per model")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each shot")
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
    if not (args.video or args.image or args.tiny):
        parser.error("give --video/--image model folders, or --tiny")
    return args


def tiny_models(args: argparse.Namespace, folder: Path) -> None:
    """Save the tiny pipelines and shrink the run to their size: a CPU, two steps, a few frames."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import tiny_models
    from microdrama.pipeline.backends.torch_device import missing_modules

    builders = dict(tiny_models.VIDEO_BUILDERS)
    if missing_modules(["ftfy"]):
        print("wan-i2v skipped: the Wan pipelines need ftfy", file=sys.stderr)
        builders.pop("wan-i2v")
    args.video += [str(tiny_models.save_tiny(build, folder / name)) for name, build in builders.items()]
    args.image += [str(tiny_models.save_tiny(build, folder / name))
                   for name, build in tiny_models.IMAGE_BUILDERS.items()]
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


def bench_video(model: Path, args: argparse.Namespace, keyframe: str) -> Row:
    options = {"model": str(model), "mode": args.mode, "device": args.device, "dtype": args.dtype,
               "offload": args.offload, "vae_tiling": args.vae_tiling}
    optional = {"num_inference_steps": args.steps, "max_frames": args.max_frames, "width": args.width}
    options |= {name: value for name, value in optional.items() if value is not None}
    reset_peak_memory()
    backend = load_backend("diffusers", "video", options)
    seconds = []
    for seed in range(args.shots):
        shot = request(args, seed, keyframe)
        start = time.perf_counter()
        clip = backend.render(shot)
        frames = list(conform_frames(clip, shot.width, shot.height, shot.fps, shot.num_frames))
        seconds.append(time.perf_counter() - start)
        assert len(frames) == shot.num_frames
    made = f"{clip.width}x{clip.height}x{clip.num_frames} @{clip.fps:g} fps"
    return Row("diffusers", model.name, made, seconds[0], later(seconds), peak_memory())


def bench_image(model: Path, args: argparse.Namespace) -> Row:
    """Keyframes one by one, as generate_keyframes makes them (minus writing the PNG)."""
    size = [int(side) for side in args.image_size.split("x")] if args.image_size else [None, None]
    options = KeyframeOptions(model=str(model), width=size[0], height=size[1], num_inference_steps=args.steps,
                              device=args.device, dtype=args.dtype, offload=args.offload)
    series = Series(slug="bench", title="Bench", characters=[
        Character(id=f"c{index}", name=f"C{index}", description="a woman in a red coat") for index in range(args.shots)])
    reset_peak_memory()
    start = time.perf_counter()
    placement, pipeline = load_image_pipeline(options)
    seconds = []
    for keyframe in wanted_keyframes(series, options):
        image = render_image(pipeline, keyframe, options, placement.generator(keyframe.seed))
        seconds.append(time.perf_counter() - start)
        start = time.perf_counter()
    return Row("keyframes", model.name, f"{image.width}x{image.height} image", seconds[0], later(seconds),
               peak_memory())


def later(seconds: list[float]) -> float | None:
    return statistics.median(seconds[1:]) if len(seconds) > 1 else None


def reset_peak_memory() -> None:
    """Free the previous model (it went out of scope) and start a new high-water mark."""
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_memory() -> str:
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.max_memory_allocated() / 2**30:.1f} GiB GPU"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return f"{peak / (2**30 if sys.platform == 'darwin' else 2**20):.1f} GiB RSS"


def print_table(rows: list[Row], args: argparse.Namespace) -> None:
    import torch

    device = torch.cuda.get_device_name() if torch.cuda.is_available() and args.device != "cpu" else "CPU"
    print(f"\n{device}, torch {torch.__version__}; {args.shots} x {args.seconds:g} s shots at {args.resolution}, "
          f"{args.fps} fps; steps {args.steps or 'default'}, offload {args.offload}\n")
    header = ("backend", "model", "one call makes", "first s (load)", "later s/shot", "peak memory")
    table = [header] + [(r.backend, r.model, r.made, f"{r.first_s:.2f}",
                         "-" if r.later_s is None else f"{r.later_s:.2f}", r.peak) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for number, line in enumerate(table):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
        if number == 0:
            print("  ".join("-" * width for width in widths))


if __name__ == "__main__":
    main()
