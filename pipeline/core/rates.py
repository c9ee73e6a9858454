"""The `[cost]` table of microdrama.toml: what an hour of a device, a million tokens of a model
and a second or a clip of a paid API backend cost, and the budget of one render.

    [cost]
    currency = "USD"
    budget_usd = 2.0                                   # a render stops scheduling new work past it
    device_hour_usd = { cpu = 0.10, "NVIDIA H200" = 3.50 }   # by device name, as the ledger records it

    [[cost.models]]                                    # LLM calls (state/llm-calls.jsonl)
    model = "gpt-4.1"
    input_per_million_usd = 2.0
    output_per_million_usd = 8.0

    [[cost.backends]]                                  # a paid API backend, on top of its device time
    backend = "some-api-video"
    per_second_usd = 0.05                              # of media made
    per_clip_usd = 0.0

    [[cost.throughput]]                                # assumed until measured here (bench/gpu_backends.py)
    backend = "diffusers"
    device = "NVIDIA H200"
    seconds_per_frame = 0.5
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Price = Annotated[float, Field(ge=0)]


class ModelRate(BaseModel):
    """What an LLM model's tokens cost."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(description="Model name as the call log records it (MICRODRAMA_MODEL or [llm] model).")
    input_per_million_usd: float = Field(0.0, ge=0, description="Price of a million prompt tokens.")
    output_per_million_usd: float = Field(0.0, ge=0, description="Price of a million completion tokens.")


class BackendRate(BaseModel):
    """What a paid API backend charges per artifact it makes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: str = Field(description="Backend name, as `microdrama backends` lists it.")
    per_second_usd: float = Field(0.0, ge=0, description="Price of one second of media made.")
    per_clip_usd: float = Field(0.0, ge=0, description="Price of one call (one shot, line or cue).")


class ThroughputFigure(BaseModel):
    """A backend's speed where no render here has measured it yet, e.g. from bench/gpu_backends.py
    (seconds per call / frames per call)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: str = Field(description="Backend name.")
    device: str = Field("cpu", description="Device name, as the ledger records it ('cpu' or the GPU's name).")
    seconds_per_frame: float = Field(gt=0, description="Backend seconds per frame of media made.")


class CostOptions(BaseModel):
    """The `[cost]` table: rates in US dollars, and the budget of one render."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: str = Field("USD", min_length=1, max_length=8, description="Label printed with the money.")
    budget_usd: float | None = Field(
        None, ge=0, description="Most one render may spend: once the projected spend would pass it, no new "
        "non-cached work is scheduled (cached work still is); a later render continues.")
    device_hour_usd: dict[str, Price] = Field(
        default_factory=dict, description="Price of an hour of backend time by device name ('cpu', or a GPU "
        "name such as 'NVIDIA H200', as `microdrama cost` lists the devices).")
    models: tuple[ModelRate, ...] = Field((), description="Prices of LLM tokens, by model.")
    backends: tuple[BackendRate, ...] = Field((), description="Prices of paid API backends, by backend.")
    throughput: tuple[ThroughputFigure, ...] = Field(
        (), description="Backend speeds the estimate assumes until a render here has measured them.")

    def device_rate(self, device: str) -> float:
        return self.device_hour_usd.get(device, 0.0)

    def price(self, backend: str, device: str, backend_seconds: float, media_seconds: float) -> float:
        """One backend call: its device time at the hourly rate, plus what a paid API backend
        charges for the clip and its seconds of media."""
        api = self.backend_rate(backend)
        return backend_seconds / 3600 * self.device_rate(device) + api.per_clip_usd + api.per_second_usd * media_seconds

    def tokens_price(self, model: str, prompt_tokens: int, completion_tokens: int) -> float:
        rate = self.model_rate(model)
        return (prompt_tokens * rate.input_per_million_usd + completion_tokens * rate.output_per_million_usd) / 1e6

    def model_rate(self, model: str) -> ModelRate:
        return next((rate for rate in self.models if rate.model == model), ModelRate(model=model))

    def backend_rate(self, backend: str) -> BackendRate:
        return next((rate for rate in self.backends if rate.backend == backend), BackendRate(backend=backend))
