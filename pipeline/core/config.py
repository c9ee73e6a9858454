"""Run settings: one typed object, built once by the CLI (flags over environment over the series'
microdrama.toml) and handed to the graph as its runtime context. Nodes never read os.environ.

    # episodes/<slug>/microdrama.toml
    [run]
    planner = "rules"           # or "llm": the LLM shot planner and continuity reviewer
    render_concurrency = 2      # parallel branches: shots rendered, scenes and episodes planned
    render_attempts = 2

    [llm]                       # endpoint and key come from OPENAI_BASE_URL / OPENAI_API_KEY
    model = "qwen2.5:14b"
    agents = [{ agent = "writer", model = "gpt-4.1" }]

    [backends]
    video = "animatic"          # any registered video backend
    voice = "auto"              # piper where it speaks the language, else espeak
    music = "synth"

    [backends.options.animatic]  # options of one backend, checked by its Options model
    burn_subtitles = true

    [audit]                     # thresholds of the consistency audit (see audit.AuditOptions)
    clip_model = "/models/clip-vit-base-patch32"

    [[backends.routes]]         # first matching route wins; a route whose backend cannot load
    shot_types = ["CU", "MCU"]  # (no extra, no weights) falls back to `video`, and says so
    video = "diffusers"
    options = { model = "/models/wan2.1-i2v-480p", mode = "i2v" }
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from microdrama.agents.llm import LLM, LLMSettings
from .errors import ConfigError

CONFIG_FILE = "microdrama.toml"


@dataclass(frozen=True)
class Route:
    """Send some shots to another video backend (with its own options)."""

    video: str
    shot_types: tuple[str, ...] = ()  # empty: every shot type
    options: dict[str, Any] = field(default_factory=dict)

    def matches(self, shot_type: str) -> bool:
        return not self.shot_types or shot_type in self.shot_types


@dataclass(frozen=True)
class BackendSettings:
    video: str = "animatic"
    voice: str = "auto"
    music: str = "synth"
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    routes: tuple[Route, ...] = ()

    def options_for(self, name: str) -> dict[str, Any]:
        return self.options.get(name, {})


@dataclass(frozen=True)
class Settings:
    series_dir: Path
    planner: Literal["rules", "llm"] = "rules"
    render_concurrency: int = 2
    render_attempts: int = 2
    continuity_rounds: int = 2
    allow_failed: bool = False
    backends: BackendSettings = field(default_factory=BackendSettings)
    audit: dict[str, Any] = field(default_factory=dict)  # [audit] thresholds, checked by AuditOptions
    llm: LLMSettings = field(default_factory=LLMSettings)
    # A ready client (tests inject a ScriptedLLM); None builds an OpenAI client from `llm`.
    llm_client: LLM | None = None

    @classmethod
    def load(cls, series_dir: Path, environ: dict[str, str] | None = None, **flags: Any) -> Settings:
        """Defaults < series_dir/microdrama.toml < MICRODRAMA_* environment < CLI flags."""
        environ = os.environ if environ is None else environ
        path = Path(series_dir) / CONFIG_FILE
        document: dict[str, Any] = {}
        if path.is_file():
            try:
                document = tomllib.loads(path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{path}: {exc}") from None
        values = dict(document.get("run", {}))
        known = {f.name for f in fields(cls)} - {"series_dir", "backends", "audit", "llm", "llm_client"}
        for name in known:
            if (env := environ.get(f"MICRODRAMA_{name.upper()}")) is not None:
                values[name] = env
        values.update({k: v for k, v in flags.items() if v is not None})
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"{path}: unknown [run] settings {sorted(unknown)}; known: {sorted(known)}")
        settings = cls(series_dir=Path(series_dir), backends=_backends(document.get("backends", {}), path),
                       audit=dict(document.get("audit", {})), llm=LLMSettings.load(environ, path))
        return replace(settings, **{k: _coerce(settings, k, v) for k, v in values.items()})


def _backends(table: dict[str, Any], path: Path) -> BackendSettings:
    known = {f.name for f in fields(BackendSettings)}
    unknown = set(table) - known
    if unknown:
        raise ConfigError(f"{path}: unknown [backends] settings {sorted(unknown)}; known: {sorted(known)}")
    routes = []
    for number, route in enumerate(table.get("routes", []), start=1):
        extra = set(route) - {"video", "shot_types", "options"}
        if "video" not in route or extra:
            raise ConfigError(f"{path}: [[backends.routes]] #{number} needs `video` and may have "
                              f"`shot_types` and `options` (got {sorted(route)})")
        routes.append(Route(route["video"], tuple(route.get("shot_types", ())), dict(route.get("options", {}))))
    return BackendSettings(**{**table, "routes": tuple(routes)})


def _coerce(settings: Settings, name: str, value: Any) -> Any:
    default = getattr(settings, name)
    if isinstance(default, bool):
        return value.lower() in ("1", "true", "yes", "on") if isinstance(value, str) else bool(value)
    if isinstance(default, int):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"setting {name} must be an integer, got {value!r}") from None
    if name == "planner" and value not in ("rules", "llm"):
        raise ConfigError(f"setting planner must be 'rules' or 'llm', got {value!r}")
    return value
