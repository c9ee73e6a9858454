"""Reference images for the bible: a full-body reference sheet per character and an empty view per
location, made with a local text-to-image diffusers model (an SD, SDXL, FLUX, Sana... folder).

Image-to-video backends start a shot from these, which is how a character keeps one face across
shots (IP-Adapter does not reach the video DiTs). The prompt is composed from the series' visual
style and the canonical description, like every shot prompt, and the seed is locked per entry
(`stable_seed(slug, "keyframe", id)`), so the same bible gives the same images on any run.

Files are `<series>/keyframes/<kind>-<id>-<hash>.png`, the hash covering everything that decides
the pixels (model, prompts, seed, size, steps, guidance): editing a description makes a new file,
which changes the keyframe path and so the cache key of every shot that uses it, and an unchanged
entry is never generated twice. Older files are left in place. A keyframe the user set by hand
(any path not made here) is kept as it is.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from .backends.torch_device import (
    DeviceOptions, Placement, load_pipeline, model_index, out_of_memory_as_render_error, package_availability,
    resolve_placement,
)
from ..core.errors import BackendUnavailable
from ..core.models import Character, Location, Series
from ..plan.shot_prompt import stable_seed
from ..core.store import atomic_write_bytes

if TYPE_CHECKING:
    import PIL.Image
    import torch
    from diffusers import DiffusionPipeline

KEYFRAMES_DIR = "keyframes"
NAME = "keyframes"  # how errors name this step
CHARACTER_SHEET = "character reference sheet, full body, neutral background"
LOCATION_VIEW = "establishing view, empty, no people"
DEFAULT_NEGATIVE = "blurry, low quality, cropped, deformed, extra limbs, several people, text, watermark"
REQUIRED_MODULES = ("torch", "diffusers", "transformers")


class KeyframeOptions(DeviceOptions):
    model: str = Field(description="Local folder of a diffusers text-to-image pipeline (saved with "
                                   "save_pretrained); never downloaded.")
    width: int | None = Field(None, ge=16, description="Image width; null: the model's default.")
    height: int | None = Field(None, ge=16, description="Image height; null: the model's default.")
    num_inference_steps: int | None = Field(None, ge=1, description="Denoising steps; null: the pipeline's default.")
    guidance_scale: float | None = Field(None, ge=0, description="Guidance; null: the pipeline's default.")
    negative_prompt: str = Field(DEFAULT_NEGATIVE, description="What to steer away from.")


@dataclass(frozen=True)
class Keyframe:
    """One reference image to have: what it shows and where it lives."""

    kind: Literal["character", "location"]
    id: str
    prompt: str
    seed: int
    path: str  # relative to the series folder


def character_prompt(series: Series, character: Character) -> str:
    who = character.name.title() + (f", {character.appearance.rstrip('.')}" if character.appearance else "")
    return _join(series.visual_style, who, CHARACTER_SHEET)


def location_prompt(series: Series, location: Location) -> str:
    place = location.name.lower() + (f", {location.description.rstrip('.')}" if location.description else "")
    return _join(series.visual_style, place, LOCATION_VIEW)


def _join(*parts: str) -> str:
    return ". ".join(p.strip().rstrip(".") for p in parts if p.strip()) + "."


def keyframe_path(kind: str, entry_id: str, prompt: str, seed: int, options: KeyframeOptions) -> str:
    """`keyframes/<kind>-<id>-<hash>.png`, hashing everything that decides the pixels."""
    decided_by = {
        "model": str(Path(options.model).expanduser().resolve()), "prompt": prompt,
        "negative_prompt": options.negative_prompt, "seed": seed, "width": options.width,
        "height": options.height, "steps": options.num_inference_steps, "guidance": options.guidance_scale,
    }
    digest = hashlib.sha256(json.dumps(decided_by, sort_keys=True).encode("utf-8")).hexdigest()[:12]
    return f"{KEYFRAMES_DIR}/{kind}-{entry_id}-{digest}.png"


def ours_to_make(path: str | None, kind: str, entry_id: str) -> bool:
    """Whether an entry's keyframe is ours to make: it has none yet, or one generated here (any
    other path is an image the user chose)."""
    if path is None:
        return True
    pure = PurePosixPath(path)
    return str(pure.parent) == KEYFRAMES_DIR and pure.name.startswith(f"{kind}-{entry_id}-")


def wanted_keyframes(series: Series, options: KeyframeOptions) -> list[Keyframe]:
    """The generated keyframes the bible should point to, for every entry that is ours to make."""
    entries = [("character", c.id, c.keyframe, character_prompt(series, c), stable_seed(series.slug, "keyframe", c.id))
               for c in series.characters]
    entries += [("location", loc.id, loc.keyframe, location_prompt(series, loc),
                 stable_seed(series.slug, "keyframe", "location", loc.id)) for loc in series.locations]
    return [Keyframe(kind, entry_id, prompt, seed, keyframe_path(kind, entry_id, prompt, seed, options))
            for kind, entry_id, current, prompt, seed in entries if ours_to_make(current, kind, entry_id)]


def generate_keyframes(series: Series, series_dir: Path, options: KeyframeOptions) -> Series:
    """Make the missing keyframes and return the series pointing at them (the caller saves it).
    The model loads only when some file is missing."""
    wanted = wanted_keyframes(series, options)
    missing = [keyframe for keyframe in wanted if not (series_dir / keyframe.path).is_file()]
    if missing:
        placement, pipeline = load_image_pipeline(options)
        for keyframe in missing:
            image = render_image(pipeline, keyframe, options, placement.generator(keyframe.seed))
            atomic_write_bytes(series_dir / keyframe.path, png_bytes(image))
    return with_keyframes(series, wanted)


def load_image_pipeline(options: KeyframeOptions) -> tuple[Placement, DiffusionPipeline]:
    availability = package_availability(REQUIRED_MODULES, "video")
    if not availability.available:
        raise BackendUnavailable(NAME, availability.reason)
    folder = Path(options.model).expanduser()
    model_index(folder, NAME)  # a missing or broken folder says so before torch loads anything
    placement = resolve_placement(options, NAME)
    return placement, load_pipeline(folder, placement)


def render_image(pipeline: DiffusionPipeline, keyframe: Keyframe, options: KeyframeOptions,
                 generator: torch.Generator) -> PIL.Image.Image:
    optional = {"width": options.width, "height": options.height,
                "num_inference_steps": options.num_inference_steps, "guidance_scale": options.guidance_scale}
    arguments = {name: value for name, value in optional.items() if value is not None}
    hint = "set offload = 'model' or a smaller width/height"
    with out_of_memory_as_render_error(f"{keyframe.kind} {keyframe.id}", NAME, hint):
        return pipeline(prompt=keyframe.prompt, negative_prompt=options.negative_prompt, generator=generator,
                        output_type="pil", **arguments).images[0]


def png_bytes(image: PIL.Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def with_keyframes(series: Series, keyframes: list[Keyframe]) -> Series:
    paths = {(k.kind, k.id): k.path for k in keyframes}
    characters = [c.model_copy(update={"keyframe": paths.get(("character", c.id), c.keyframe)})
                  for c in series.characters]
    locations = [loc.model_copy(update={"keyframe": paths.get(("location", loc.id), loc.keyframe)})
                 for loc in series.locations]
    return series.model_copy(update={"characters": characters, "locations": locations})
