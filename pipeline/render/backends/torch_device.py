"""Where local torch weights run (device, dtype, CPU offload), and loading a local diffusers
pipeline folder onto that choice.

Every backend that runs local weights (video, keyframes; voice and music later) takes the same
three options from `DeviceOptions`, so "auto" means the same everywhere: CUDA, then Apple MPS,
then the CPU; bfloat16 where the GPU computes it natively, float16 on MPS, float32 on the CPU
(half precision on the CPU is slow and can give NaN frames). Weights are only ever read from a
local folder with `local_files_only=True`: no backend downloads anything.

torch and diffusers are imported inside the functions: this module is imported by backends that
must list themselves (and say what to install) on machines without torch.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ...core.errors import BackendUnavailable, RenderError
from . import Availability

if TYPE_CHECKING:
    import torch
    from diffusers import DiffusionPipeline


class DeviceOptions(BaseModel):
    """Where a backend's model runs; a backend's own Options extend this."""

    model_config = ConfigDict(extra="forbid")

    device: str = Field(
        "auto", pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$",
        description="auto (CUDA, then MPS, then CPU), cuda, cuda:N, mps or cpu.",
    )
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = Field(
        "auto", description="Weight precision; auto: bfloat16 on GPUs that have it, else float16; "
                            "float16 on MPS; float32 on the CPU.",
    )
    offload: Literal["none", "model", "sequential"] = Field(
        "none", description="Keep weights in CPU memory and move them to the GPU when used: model "
                            "(one model at a time, a little slower) or sequential (layer by layer, "
                            "least GPU memory, much slower). Needs a GPU and accelerate.",
    )


@dataclass(frozen=True)
class Placement:
    """The resolved device, dtype and offload of one backend instance."""

    device: str
    dtype: torch.dtype
    offload: Literal["none", "model", "sequential"]

    def generator(self, seed: int) -> torch.Generator:
        """A seeded generator on the execution device (on the CPU for MPS, where diffusers' own
        tests avoid device generators)."""
        import torch

        return torch.Generator(device="cpu" if self.device == "mps" else self.device).manual_seed(seed)


def missing_modules(modules: Iterable[str]) -> list[str]:
    """The modules that cannot be imported, found without importing any (torch alone takes seconds)."""
    return [module for module in modules if importlib.util.find_spec(module) is None]


def package_availability(modules: Iterable[str], extra: str, licence: str | None = None) -> Availability:
    """Whether the modules import; the weights' licence, when given, is said either way (the
    backends listing is where a user picks a model)."""
    missing = missing_modules(modules)
    reason = f"{', '.join(missing)} not installed: pip install 'microdrama[{extra}]'" if missing else None
    return Availability(available=not missing, reason="; ".join(filter(None, (reason, licence))))


def resolve_placement(options: DeviceOptions, backend: str) -> Placement:
    """Turn "auto" into a concrete device and dtype; a device this machine lacks makes the backend
    unavailable here (so a route to it falls back), not a failure of every shot."""
    import torch

    device = _device(options.device, backend)
    if options.offload != "none":
        if device in ("cpu", "mps"):
            raise BackendUnavailable(backend, f"offload = {options.offload!r} moves weights between the CPU and "
                                              f"a CUDA GPU, but this runs on {device}: set offload = 'none'")
        if importlib.util.find_spec("accelerate") is None:
            raise BackendUnavailable(backend, "offload needs accelerate: pip install accelerate")
    dtype = getattr(torch, options.dtype) if options.dtype != "auto" else _auto_dtype(device)
    return Placement(device=device, dtype=dtype, offload=options.offload)


def _device(choice: str, backend: str) -> str:
    import torch

    if choice == "auto":
        if torch.cuda.is_available():
            return "cuda"
        return "mps" if torch.backends.mps.is_available() else "cpu"
    if choice.startswith("cuda"):
        index = int(choice.partition(":")[2] or 0)
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            raise BackendUnavailable(backend, f"device {choice!r} asked for, but torch {torch.__version__} "
                                              f"sees {torch.cuda.device_count()} CUDA device(s)")
    if choice == "mps" and not torch.backends.mps.is_available():
        raise BackendUnavailable(backend, "device 'mps' asked for, but torch sees no Apple GPU")
    return choice


def _auto_dtype(device: str) -> torch.dtype:
    import torch

    if device.startswith("cuda"):
        # Emulated bfloat16 (pre-Ampere GPUs) is much slower than float16.
        return torch.bfloat16 if torch.cuda.is_bf16_supported(including_emulation=False) else torch.float16
    return torch.float16 if device == "mps" else torch.float32


def model_index(folder: Path, backend: str) -> dict[str, Any]:
    """The `model_index.json` of a pipeline folder saved with `save_pretrained`, after checking
    that every component it names has its subfolder; anything else is a clear BackendUnavailable."""
    hint = "set `model` to a local folder saved with save_pretrained (e.g. `hf download <repo> --local-dir <folder>`)"
    if not folder.is_dir():
        raise BackendUnavailable(backend, f"model folder {folder} does not exist; {hint}")
    index_path = folder / "model_index.json"
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackendUnavailable(backend, f"{folder} is not a diffusers pipeline folder (no model_index.json); "
                                          f"{hint}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackendUnavailable(backend, f"cannot read {index_path}: {exc}") from None
    if not isinstance(index, dict) or not isinstance(index.get("_class_name"), str):
        raise BackendUnavailable(backend, f"{index_path} names no pipeline class (_class_name)")
    missing = [name for name, entry in index.items()
               if not name.startswith("_") and isinstance(entry, list) and entry[0] is not None
               and not (folder / name).is_dir()]
    if missing:
        raise BackendUnavailable(backend, f"{folder} lacks the component folder(s) {', '.join(missing)}; "
                                          f"was the download complete?")
    return index


def load_pipeline(folder: Path, placement: Placement, fp32_components: Iterable[str] = ()) -> DiffusionPipeline:
    """Load a local pipeline folder (its saved class) in the placement's dtype, keeping
    `fp32_components` in float32 (e.g. Wan's VAE), and place it on the device or offload it.
    Raises what diffusers raises for broken weights (OSError, ValueError, ImportError)."""
    import torch
    from diffusers import DiffusionPipeline

    dtype: torch.dtype | dict[str, torch.dtype] = placement.dtype
    kept = tuple(fp32_components)
    if kept and placement.dtype != torch.float32:
        dtype = {"default": placement.dtype, **dict.fromkeys(kept, torch.float32)}
    pipeline = DiffusionPipeline.from_pretrained(folder, local_files_only=True, dtype=dtype)
    place(pipeline, placement)
    pipeline.set_progress_bar_config(disable=True)  # renders run in threads; the graph reports progress
    return pipeline


def place(pipeline: DiffusionPipeline, placement: Placement) -> None:
    if placement.offload == "model":
        pipeline.enable_model_cpu_offload(device=placement.device)
    elif placement.offload == "sequential":
        pipeline.enable_sequential_cpu_offload(device=placement.device)
    else:
        pipeline.to(placement.device)


@contextmanager
def out_of_memory_as_render_error(target: str, backend: str, hint: str) -> Iterator[None]:
    """A job that runs out of GPU memory fails with what to change, and frees the cached memory so
    the next job starts clean."""
    import torch

    try:
        yield
    except torch.OutOfMemoryError as exc:
        torch.cuda.empty_cache()
        raise RenderError(target, backend, f"out of GPU memory: {hint}") from exc
