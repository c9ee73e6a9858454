"""Run settings: one typed object, built once by the CLI (flags over environment over the
series' microdrama.toml) and handed to the graph as its runtime context. Nodes never read
os.environ themselves."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError

CONFIG_FILE = "microdrama.toml"


@dataclass(frozen=True)
class Settings:
    series_dir: Path
    planner: Literal["rules", "llm"] = "rules"
    render_concurrency: int = 2
    allow_failed: bool = False

    @classmethod
    def load(cls, series_dir: Path, environ: dict[str, str] | None = None, **flags: Any) -> Settings:
        """Defaults < series_dir/microdrama.toml [run] < MICRODRAMA_* environment < CLI flags."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        path = Path(series_dir) / CONFIG_FILE
        if path.is_file():
            try:
                values.update(tomllib.loads(path.read_text(encoding="utf-8")).get("run", {}))
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{path}: {exc}") from None
        known = {f.name for f in fields(cls)} - {"series_dir"}
        for name in known:
            if (env := environ.get(f"MICRODRAMA_{name.upper()}")) is not None:
                values[name] = env
        values.update({k: v for k, v in flags.items() if v is not None})
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"{path}: unknown [run] settings {sorted(unknown)}; known: {sorted(known)}")
        settings = cls(series_dir=Path(series_dir))
        return replace(settings, **{k: _coerce(settings, k, v) for k, v in values.items()})


def _coerce(settings: Settings, name: str, value: Any) -> Any:
    default = getattr(settings, name)
    if isinstance(default, bool) and isinstance(value, str):
        return value.lower() in ("1", "true", "yes", "on")
    if isinstance(default, int) and not isinstance(default, bool):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"setting {name} must be an integer, got {value!r}") from None
    if name == "planner" and value not in ("rules", "llm"):
        raise ConfigError(f"setting planner must be 'rules' or 'llm', got {value!r}")
    return value
