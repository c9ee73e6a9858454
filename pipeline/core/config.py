"""Run settings: one typed object, built once by the CLI (flags over environment over the series'
microdrama.toml) and handed to the graph as its runtime context. Nodes never read os.environ.

Everything is checked when the settings load, before anything renders: every table by its model
below, each backend's options by that backend's own `Options` model, and backend names against the
registry (importing a backend class is cheap: torch and the like load on its first render). All
problems are reported at once, one a line, as `<path>/microdrama.toml:<line>: <table>.<field>:
<message>`; a problem with an environment variable or a flag names it instead of a line.

    # episodes/<slug>/microdrama.toml
    [run]
    planner = "rules"           # or "llm": the LLM shot planner and continuity reviewer
    render_concurrency = 2      # parallel branches: shots rendered, scenes and episodes planned
    render_attempts = 2
    subtitles = "burned"        # into the picture; "soft" (a subtitle track), "both" or "none"
    episode_minutes = 3         # cut a long screenplay into episodes of about 3 minutes
    executor = "local"          # or "ray": backend calls run on Ray actors (README: Rendering on a cluster)
    ray_address = "auto"        # an existing cluster ("auto", "ray://host:10001"); unset: a local Ray

    [llm]                       # endpoint and key come from OPENAI_BASE_URL / OPENAI_API_KEY
    model = "qwen2.5:14b"
    agents = [{ agent = "writer", model = "gpt-4.1" }]

    [backends]
    video = "animatic"          # any registered video backend
    voice = "auto"              # piper where it speaks the language, else espeak
    music = "synth"
    sfx = "foley"               # sound effects and ambience beds

    [backends.options.animatic]  # options of one backend, checked by its Options model
    caption = false

    [audit]                     # thresholds of the consistency audit (AuditOptions below)
    clip_model = "/models/clip-vit-base-patch32"
    syncnet_weights = "/models/syncnet_v2.model"  # lip sync; VGG's weights: research use only

    [backends.actors.diffusers]  # executor = "ray": the Ray actors of one backend
    actors = 2                  # each loads the model once and takes many requests
    num_gpus = 1

    [[backends.routes]]         # first matching route wins; a route whose backend cannot load
    shot_types = ["CU", "MCU"]  # (no extra, no weights) falls back to `video`, and says so
    video = "diffusers"
    options = { model = "/models/wan2.1-i2v-480p", mode = "i2v" }
    lipsync = "wav2lip"         # then the mouths of the lines seen spoken are moved to their takes
    lipsync_options = { checkpoint = "/models/wav2lip/wav2lip_gan.pth" }
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from microdrama.agents.llm import ENVIRONMENT as LLM_ENVIRONMENT
from microdrama.agents.llm import LLM, LLMSettings
from .errors import ConfigError, Problem
from .limits import MAX_EPISODE_MINUTES
from .models import ShotType
from .rates import CostOptions

CONFIG_FILE = "microdrama.toml"
# The mastering target (edit.ffmpeg.LOUDNESS_TARGET_LUFS; a test keeps them equal): core imports
# no stage package at import, and edit.ffmpeg would bring numpy.
LOUDNESS_TARGET_LUFS = -16.0
ENV_PREFIX = "MICRODRAMA_"  # MICRODRAMA_<RUN SETTING>, e.g. MICRODRAMA_RENDER_ATTEMPTS=3


# --- the tables --------------------------------------------------------------------------------


class RunOptions(BaseModel):
    """The `[run]` table; each setting may also come from MICRODRAMA_<NAME> or a CLI flag."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    planner: Literal["rules", "llm"] = Field(
        "rules", description="rules: the deterministic shot planner; llm: the LLM shot planner and "
        "continuity reviewer.")
    render_concurrency: int = Field(
        2, ge=1, description="Parallel branches: shots rendered, scenes and episodes planned.")
    render_attempts: int = Field(2, ge=1, description="Tries per backend call before a shot is recorded as failed.")
    continuity_rounds: int = Field(
        2, ge=0, description="LLM planner: rounds of re-planning scenes with continuity findings.")
    allow_failed: bool = Field(False, description="Assemble an episode even when some of its shots failed.")
    subtitles: Literal["burned", "soft", "both", "none"] = Field(
        "burned", description="How an episode carries its subtitles: burned into the picture, soft (a "
        "subtitle track the player can switch), both, or none.")
    episode_minutes: float | None = Field(
        None, gt=0, le=MAX_EPISODE_MINUTES, description="Cut a long screenplay at scene boundaries into "
        "episodes of about this many minutes (else the title page's Episode-Minutes:, else its sections).")
    executor: Literal["local", "ray"] = Field(
        "local", description="local: backends run in this process; ray: on Ray actors, per [backends.actors].")
    ray_address: str | None = Field(
        None, min_length=1, max_length=500, description='The Ray cluster: "auto" (the one this machine belongs '
        'to), "ray://host:10001", or unset for a Ray started on this machine for the run.')
    ray_artifacts: Literal["auto", "shared", "driver"] = Field(
        "auto", description="Where a Ray worker's artifact goes: shared (the worker writes into the series "
        "folder's cache, mounted at the same path), driver (it returns the bytes and this process writes them), "
        "auto (shared where the worker sees the series folder).")


class RouteTable(BaseModel):
    """One `[[backends.routes]]` entry."""

    model_config = ConfigDict(extra="forbid")

    video: str = Field(description="A registered video backend.")
    shot_types: list[ShotType] = Field(default_factory=list, description="Shot types it takes; empty: all.")
    options: dict[str, Any] = Field(default_factory=dict, description="That backend's options.")
    lipsync: str | None = Field(None, description="A registered lipsync backend run over these shots' picture "
                                                 "(the lines seen spoken); unset: none.")
    lipsync_options: dict[str, Any] = Field(default_factory=dict, description="That lipsync backend's options.")


class ActorResources(BaseModel):
    """One `[backends.actors.<backend>]` table: the Ray actors that run that backend."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    actors: int = Field(1, ge=1, le=256, description="Actors of this backend; each loads it once.")
    num_gpus: float = Field(0, ge=0, le=64, description="GPUs each actor holds (fractions share one).")
    num_cpus: float | None = Field(
        None, ge=0, le=256, description="CPUs each actor holds; unset: Ray's default for actors.")
    memory_mb: int | None = Field(None, ge=1, description="Memory each actor reserves, in MB.")


class BackendsTable(BaseModel):
    """The `[backends]` table."""

    model_config = ConfigDict(extra="forbid")

    video: str = "animatic"
    voice: str = "auto"
    music: str = "synth"
    sfx: str = "foley"
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    routes: list[RouteTable] = Field(default_factory=list)
    actors: dict[str, ActorResources] = Field(
        default_factory=dict, description="Ray actors per backend (executor = \"ray\").")


class AuditOptions(BaseModel):
    """Thresholds of the audit (the `[audit]` table). The defaults were calibrated on the bundled
    example and the test fixture: a clean render passes with margin and each planted defect fails.
    Frozen, so that the default instance is safely shared."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    analysis_short_side: int = Field(
        72, ge=16, le=1080, description="Short side in pixels of the frames the picture checks work on.")
    shot_match_min_psnr_db: float = Field(
        50.0, description="Least PSNR between the episode's frame and the shot segment's own frame at the "
        "shot's first and last frame. The episode is a stream copy of its segments, so the right frame is "
        "identical (100 dB); two shots of one framing differing only in the animatic's caption measure 46 dB.")
    black_luma: float = Field(
        0.10, ge=0, le=1, description="Luma (0..1) under which a pixel is black (FFmpeg blackdetect's pix_th).")
    black_share: float = Field(
        0.99, ge=0, le=1, description="Share of black pixels that makes a frame black; a shot is black when all "
        "its kept frames are. Above blackdetect's 0.98 so that a title card (light text on black) passes.")
    frozen_max_change: float = Field(
        2.0, ge=0, description="Mean absolute difference (0..255) from a shot's first frame under which a shot "
        "with a camera move counts as frozen. A still picture re-encoded at a keyframe differs by about 0.6; "
        "the slowest move of the bundled example by 6.7.")
    duplicate_min_psnr_db: float = Field(
        35.0, description="PSNR between two consecutive shots' kept frames from which they count as one "
        "picture (a warning).")
    colour_max_delta_e: float = Field(
        35.0, ge=0, description="Largest CIE76 difference of the mean Lab colour across a cut within a scene "
        "before a warning.")
    palette_tolerance: int = Field(
        18, ge=0, le=255, description="Largest per-channel difference for a pixel to match a colour of a "
        "character's animatic signature.")
    palette_min_share: float = Field(
        0.01, ge=0, le=1, description="Share of the frame that a framed character's main signature colour must "
        "cover in an animatic shot.")
    clip_model: str | None = Field(
        None, description="Local folder of a CLIP-type model (a transformers CLIPModel saved with its image "
        "processor) for character identity in shots drawn by neural video backends.")
    clip_outlier_z: float = Field(
        3.5, gt=0, description="Modified z-score (Iglewicz and Hoaglin) of a shot's CLIP distance to the "
        "character's keyframe, against the character's other shots, above which the shot is an outlier "
        "(a warning).")
    line_search_s: float = Field(
        1.0, gt=0, description="How far from its planned start a line is looked for in the mix, in seconds.")
    line_part_s: float = Field(0.1, gt=0, description="Length in seconds of the parts a line is compared in.")
    line_heard_correlation: float = Field(
        0.3, gt=0, le=1, description="Correlation of a part of the line's own audio with the mix there from which "
        "the part counts as heard.")
    line_min_heard: float = Field(
        0.2, ge=0, le=1, description="Share of a line's voiced energy heard under which the line is silent.")
    line_min_complete: float = Field(
        0.8, ge=0, le=1, description="Share of a line's speech, from its start to its last voiced part, heard "
        "through to the last part heard, under which the line is truncated (its end is missing).")
    silence_dbfs: float = Field(-60.0, description="RMS level under which a line's own audio is silence.")
    subtitle_max_offset_s: float = Field(
        0.1, ge=0, description="Largest distance in seconds between a subtitle cue and its line's measured audio "
        "(a cue's end may be a frame later still: cues lie on the frame grid).")
    av_max_drift_s: float = Field(
        0.1, ge=0, description="Largest difference of audio and video length, and largest shift of the last "
        "line from its planned place, in seconds.")
    loudness_target_lufs: float = Field(LOUDNESS_TARGET_LUFS, description="Integrated loudness target.")
    loudness_tolerance_lu: float = Field(1.0, ge=0, description="Allowed distance from the loudness target.")
    true_peak_max_db: float = Field(-1.0, description="True-peak ceiling in dBTP.")
    effect_search_s: float = Field(
        1.0, gt=0, description="How far from its planned frame a sound effect is looked for in the mix, in seconds.")
    effect_min_gain_db: float = Field(
        -12.0, description="Least level, in dB against its own, at which a sound effect's (or an ambience "
        "bed's) audio is found in the mix at its place (the part of the mix that is the clip, whatever else "
        "plays): under it the clip is missing or buried.")
    effect_min_z: float = Field(
        6.0, gt=0, description="How far (in standard deviations) the clip's gain at its place must stand above "
        "its gains at shifted places, where it is not (chance: a quiet bed under loud music correlates with it "
        "a little anywhere).")
    dialogue_over_ambience_min_db: float = Field(
        10.0, description="Least margin in dB between a line's level and the ambience beds under it, before "
        "ducking (ducking only adds to it): less, and the ambience masks the dialogue.")
    syncnet_weights: Path | None = Field(
        None, description="Local copy of SyncNet's syncnet_v2.model (a state dict; relative paths start at the series "
        "folder) to measure lip sync in shots drawn by neural video or given a lip-sync pass; unset: those checks "
        "are skipped. Never downloaded. The weights are VGG's (University of Oxford), for research use only.")
    sync_max_offset_frames: int = Field(
        1, ge=0, le=15, description="Largest audio-video offset, in frames at SyncNet's 25 fps, that SyncNet may find "
        "in a line with confidence before an error. One frame (40 ms) is the search's step and lies inside what "
        "ITU-R BT.1359 finds detectable either way (sound 45 ms early, 125 ms late).")
    sync_min_confidence: float = Field(
        3.0, ge=0, description="SyncNet confidence (LSE-C: median minus least mean distance over the offsets) under "
        "which its offset means little (a warning, not a verdict on the sync): a conventional cut, not calibrated "
        "on this project's renders.")
    mouth_min_change: float = Field(
        2.0, ge=0, description="Mean absolute change (0..255) of a speaking animatic character's mouth region "
        "across its line under which the mouth is still.")
    fix_rounds: int = Field(
        0, ge=0, le=10, description="Rounds of re-rendering, with the next seed, the shots whose audit failures a "
        "re-roll can fix (`render --fix` sets 1 when this is 0). 0 for the animatic, which is deterministic.")


TABLES = ("run", "llm", "backends", "audit", "cost")  # the top-level tables of microdrama.toml


# --- the settings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """Send some shots to another video backend (with its own options), and optionally through a
    lip-sync pass after it."""

    video: str
    shot_types: tuple[str, ...] = ()  # empty: every shot type
    options: dict[str, Any] = field(default_factory=dict)
    lipsync: str | None = None
    lipsync_options: dict[str, Any] = field(default_factory=dict)

    def matches(self, shot_type: str) -> bool:
        return not self.shot_types or shot_type in self.shot_types


_BACKENDS = BackendsTable()


@dataclass(frozen=True)
class BackendSettings:
    video: str = _BACKENDS.video
    voice: str = _BACKENDS.voice
    music: str = _BACKENDS.music
    sfx: str = _BACKENDS.sfx
    options: dict[str, dict[str, Any]] = field(default_factory=dict)  # as written: part of cache keys
    routes: tuple[Route, ...] = ()

    def options_for(self, name: str) -> dict[str, Any]:
        return self.options.get(name, {})


_RUN = RunOptions()


@dataclass(frozen=True)
class Settings:
    series_dir: Path
    planner: Literal["rules", "llm"] = _RUN.planner
    render_concurrency: int = _RUN.render_concurrency
    render_attempts: int = _RUN.render_attempts
    continuity_rounds: int = _RUN.continuity_rounds
    allow_failed: bool = _RUN.allow_failed
    subtitles: Literal["burned", "soft", "both", "none"] = _RUN.subtitles
    episode_minutes: float | None = _RUN.episode_minutes
    executor: Literal["local", "ray"] = _RUN.executor
    ray_address: str | None = _RUN.ray_address
    ray_artifacts: Literal["auto", "shared", "driver"] = _RUN.ray_artifacts
    backends: BackendSettings = field(default_factory=BackendSettings)
    # Not part of BackendSettings: how many actors run a backend does not change what it makes.
    actors: dict[str, ActorResources] = field(default_factory=dict)
    audit: AuditOptions = field(default_factory=AuditOptions)
    cost: CostOptions = field(default_factory=CostOptions)
    llm: LLMSettings = field(default_factory=LLMSettings)
    # A ready client (tests inject a ScriptedLLM); None builds an OpenAI client from `llm`.
    llm_client: LLM | None = None
    # The open executor of a running render (render/executors: Project.render opens it from
    # `executor`); None: backend calls run in this process.
    open_executor: Any = None

    @classmethod
    def load(cls, series_dir: Path, environ: Mapping[str, str] | None = None, **flags: Any) -> Settings:
        """Defaults < series_dir/microdrama.toml < MICRODRAMA_* environment < CLI flags, all of it
        checked here; raises InvalidSettings (a ConfigError) naming every problem."""
        environ = os.environ if environ is None else environ
        llm_timeout_s = flags.pop("llm_timeout_s", None)  # --llm-timeout: [llm] timeout_s; other flags are [run]'s
        series_dir = Path(series_dir)
        path = series_dir / CONFIG_FILE
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(_decode_error(path, exc)) from None
        check = _Check(path, text)
        for key in document:
            if key not in TABLES:
                hint = f" ({key} is a [run] setting)" if key in RunOptions.model_fields else _did_you_mean(key, TABLES)
                check.file((key,), f"unknown key; known tables: {', '.join(TABLES)}{hint}")
        tables = {name: check.table(document, name) for name in TABLES}
        run = check.run(tables["run"], environ, flags)
        backends = check.backends(tables["backends"])
        actors = check.actors(tables["backends"])
        audit = check.audit(tables["audit"], series_dir)
        cost = check.model(CostOptions, tables["cost"], ("cost",))
        llm = check.llm(tables["llm"], environ, llm_timeout_s)
        if check.problems:
            # The file's problems in line order, then the environment's and the flags'.
            raise InvalidSettings(sorted(check.problems, key=lambda p: (p.path != path, p.line or 0)))
        return cls(series_dir=series_dir, **run.model_dump(), backends=backends, actors=actors, audit=audit,
                   cost=cost, llm=llm)


class InvalidSettings(ConfigError):
    """Settings that do not load; `problems` has one entry per problem, each with its place."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# --- checking ----------------------------------------------------------------------------------


Loc = tuple[str | int, ...]


class _Check:
    """Collects the problems of one load, each placed at its file line, variable or flag."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines = _KeyLines(text)
        self.problems: list[Problem] = []
        self.classes: dict[str, type | Exception] = {}

    # where a problem is

    def file(self, loc: Loc, message: str) -> None:
        self.problems.append(Problem(message, line=self.lines.line(loc), field=_dotted(loc), path=self.path))

    def elsewhere(self, source: str, loc: Loc, message: str) -> None:
        self.problems.append(Problem(message, field=_dotted(loc), path=source))

    def validate(self, model: type[BaseModel], value: Any, prefix: Loc, source: str | None = None,
                 show_input: bool = True) -> BaseModel | None:
        """`model` from `value`, or None with its problems recorded (placed in the file at `prefix`
        + the error's place, or at `source`)."""
        try:
            return model.model_validate(value)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                loc = prefix + tuple(error["loc"])
                message = _message(error, model, tuple(error["loc"]), show_input)
                if source is None:
                    self.file(loc, message)
                else:
                    self.elsewhere(source, loc, message)
            return None

    def model(self, model: type[BaseModel], value: Any, prefix: Loc) -> Any:
        parsed = self.validate(model, value, prefix)
        return model() if parsed is None else parsed

    def table(self, document: dict[str, Any], name: str) -> dict[str, Any]:
        value = document.get(name, {})
        if not isinstance(value, dict):
            self.file((name,), f"must be a table ([{name}]), got {_toml_type(value)}")
            return {}
        return value

    # the tables

    def run(self, table: dict[str, Any], environ: Mapping[str, str], flags: dict[str, Any]) -> RunOptions:
        """Each layer is checked on its own, so that a bad file value is reported even where the
        environment overrides it."""
        values = dict(table)
        self.validate(RunOptions, table, ("run",))
        for name in RunOptions.model_fields:
            variable = ENV_PREFIX + name.upper()
            if (value := environ.get(variable)) is not None:
                values[name] = value
                self.validate(RunOptions, {name: value}, ("run",), source=f"environment variable {variable}")
        for name, value in flags.items():
            if value is None:
                continue
            values[name] = value
            self.validate(RunOptions, {name: value}, ("run",), source=f"flag --{name.replace('_', '-')}")
        try:
            return RunOptions.model_validate(values)
        except ValidationError:  # recorded above
            return RunOptions()

    def backends(self, table: dict[str, Any]) -> BackendSettings:
        parsed = self.validate(BackendsTable, table, ("backends",))
        # Names and options are checked on the raw table, so that one malformed entry does not
        # hide the problems of the others.
        options = table.get("options", {})
        options = options if isinstance(options, dict) else {}
        # The selected backends, and the animatic, which draws title cards whatever the settings say.
        selected = {"animatic": ("backends",)}
        for kind in ("video", "voice", "music", "sfx"):
            name = table.get(kind, getattr(_BACKENDS, kind))
            if isinstance(name, str) and not (kind == "voice" and name == "auto"):
                cls = self.backend(name, kind, ("backends", kind))
                if cls is not None:
                    selected[name] = ("backends", kind)
        for name, loc in selected.items():
            if name not in options and (cls := self.backend(name, None, loc)) is not None:
                self.defaults(cls, loc, name)
        for name, values in options.items():
            cls = self.backend(name, None, ("backends", "options", name))
            if cls is not None and isinstance(values, dict):
                self.validate(cls.Options, values, ("backends", "options", name))
        routes = table.get("routes", [])
        for number, route in enumerate(routes if isinstance(routes, list) else []):
            if not isinstance(route, dict) or not isinstance(route.get("video"), str):
                continue
            cls = self.backend(route["video"], "video", ("backends", "routes", number, "video"))
            if cls is not None and isinstance(route.get("options", {}), dict):
                self.validate(cls.Options, route.get("options", {}), ("backends", "routes", number, "options"))
            if isinstance(route.get("lipsync"), str):
                cls = self.backend(route["lipsync"], "lipsync", ("backends", "routes", number, "lipsync"))
                if cls is not None and isinstance(route.get("lipsync_options", {}), dict):
                    self.validate(cls.Options, route.get("lipsync_options", {}),
                                  ("backends", "routes", number, "lipsync_options"))
        if parsed is None:
            return BackendSettings()
        return BackendSettings(
            video=parsed.video, voice=parsed.voice, music=parsed.music, sfx=parsed.sfx,
            options={name: dict(values) for name, values in table.get("options", {}).items()},
            routes=tuple(Route(route.video, tuple(t.value for t in route.shot_types), dict(raw.get("options", {})),
                               route.lipsync, dict(raw.get("lipsync_options", {})))
                         for route, raw in zip(parsed.routes, table.get("routes", []), strict=True)),
        )

    def audit(self, table: dict[str, Any], series_dir: Path) -> AuditOptions:
        """The [audit] table, the SyncNet weights it names found from the series folder. Whether
        they are there is the audit's question, as a route's model is the render's: a series
        folder whose models are elsewhere still loads."""
        audit = self.model(AuditOptions, table, ("audit",))
        if audit.syncnet_weights is None:
            return audit
        return audit.model_copy(update={"syncnet_weights": series_dir / audit.syncnet_weights.expanduser()})

    def actors(self, table: dict[str, Any]) -> dict[str, ActorResources]:
        """`[backends.actors.<name>]`: each name a registered backend (the tables themselves are
        checked with the rest of [backends])."""
        actors = table.get("actors", {})
        found = {}
        for name, values in (actors if isinstance(actors, dict) else {}).items():
            if self.backend(name, None, ("backends", "actors", name)) is not None and isinstance(values, dict):
                try:
                    found[name] = ActorResources.model_validate(values)
                except ValidationError:  # recorded by backends()
                    pass
        return found

    def backend(self, name: str, kind: str | None, loc: Loc) -> type | None:
        """The registered backend class called `name` (of `kind`, when given), or None."""
        try:
            cls = self.backend_class(name)
        except ConfigError:
            self.file(loc, f"unknown backend {name!r}; known{f' {kind}' if kind else ''} backends: "
                           f"{', '.join(self.backend_names(kind))}{_did_you_mean(name, self.backend_names(None))}")
            return None
        except ImportError as exc:
            self.file(loc, f"backend {name!r} cannot be imported: {exc}")
            return None
        if kind is not None and cls.kind != kind:
            self.file(loc, f"backend {name!r} makes {cls.kind}, not {kind}; known {kind} backends: "
                           f"{', '.join(self.backend_names(kind))}")
            return None
        return cls

    def backend_class(self, name: str) -> type:
        """The registry's class, looked up once per load (a lookup reads the entry points)."""
        from ..render.backends import backend_class  # the registry imports no torch: backends do, later

        if name not in self.classes:
            try:
                self.classes[name] = backend_class(name)
            except (ConfigError, ImportError) as exc:
                self.classes[name] = exc
        if isinstance(found := self.classes[name], Exception):
            raise found
        return found

    def backend_names(self, kind: str | None) -> list[str]:
        """The registered backends (that make `kind`, when given; "auto" is a voice too)."""
        from ..render.backends import backend_names

        def makes(name: str) -> bool:
            try:
                return self.backend_class(name).kind == kind
            except (ConfigError, ImportError):
                return False

        names = backend_names()
        if kind is None:
            return names
        return [name for name in names if makes(name)] + (["auto"] if kind == "voice" else [])

    def defaults(self, cls: type, loc: Loc, name: str) -> None:
        """A selected backend without an options table must do with its defaults."""
        try:
            cls.Options.model_validate({})
        except ValidationError as exc:
            needed = [_dotted(tuple(e["loc"])) for e in exc.errors() if e["type"] == "missing"]
            details = f"needs {', '.join(needed)}" if needed else "needs options"
            self.file(loc, f"backend {name!r} {details}: set {'it' if len(needed) == 1 else 'them'} "
                           f"in [backends.options.{name}]")

    def llm(self, table: dict[str, Any], environ: Mapping[str, str], timeout_s: float | None = None) -> LLMSettings:
        """The `[llm]` table as LLMSettings.load reads it (no key in the file), placed, with the
        --llm-timeout flag over it; values are never shown, since an endpoint URL may carry a
        credential."""
        problems = len(self.problems)
        if "api_key" in table:
            self.file(("llm", "api_key"), "not allowed here: a key in a file ends up in backups and version "
                                          "control. Remove it and set OPENAI_API_KEY in the environment instead.")
        else:
            self.validate(LLMSettings, table, ("llm",), show_input=False)
        for variable, name in LLM_ENVIRONMENT.items():
            if environ.get(variable):
                self.validate(LLMSettings, {name: environ[variable]}, ("llm",),
                              source=f"environment variable {variable}", show_input=False)
        flag = None if timeout_s is None else self.validate(
            LLMSettings, {"timeout_s": timeout_s}, ("llm",), source="flag --llm-timeout")
        if len(self.problems) > problems:
            return LLMSettings()
        try:
            settings = LLMSettings.load(environ, self.path)
        except ConfigError as exc:  # what only the table and the environment together get wrong
            self.problems.append(Problem(str(exc), field="llm", path=self.path))
            return LLMSettings()
        return settings if flag is None else settings.model_copy(update={"timeout_s": flag.timeout_s})


def _message(error: Mapping[str, Any], model: type[BaseModel], loc: Loc, show_input: bool) -> str:
    """One pydantic error in words: an unknown key lists the known ones."""
    if error["type"] == "extra_forbidden":
        known = _known_keys(model, loc[:-1])
        key = str(loc[-1])
        return (f"unknown key; known: {', '.join(known)}{_did_you_mean(key, known)}" if known
                else "unknown key")
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if show_input and isinstance(value, str | int | float | bool) and error["type"] != "missing":
        message += f" (got {value!r})"
    return message


def _known_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """The field names of the model found at `loc` inside `model` (lists and dicts stepped through)."""
    annotation: Any = model
    for part in loc:
        annotation = _step(annotation, part)
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return sorted(info.alias or name for name, info in annotation.model_fields.items())
    return []


def _step(annotation: Any, part: str | int) -> Any:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        info = annotation.model_fields.get(str(part))
        return info.annotation if info else None
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset) and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _unwrap(annotation: Any) -> Any:
    """X from X | None (and from Annotated[X, ...])."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            return _unwrap(options[0])
    return annotation


def _did_you_mean(word: str, known: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _dotted(loc: Loc) -> str:
    """`backends.routes#1.options.model`: array entries counted from 1, as in the file."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"#{part + 1}"
        else:
            name = part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else f'"{part}"'
            out += f".{name}" if out else name
    return out


def _toml_type(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a float", str: "a string",
            list: "an array"}.get(type(value), type(value).__name__)


def _decode_error(path: Path, exc: tomllib.TOMLDecodeError) -> str:
    message = str(exc)
    if found := re.search(r"\s*\(at line (\d+), column (\d+)\)$", message):
        return f"{path}:{found.group(1)}: {message[:found.start()]} (column {found.group(2)})"
    return f"{path}: {message}"


# --- where keys are ----------------------------------------------------------------------------


class _KeyLines:
    """The line of each key and table header of a TOML text (tomllib keeps none). Paths are as
    tomllib's result nests them, with the entry index of an array of tables:
    `[[backends.routes]]` #2 then `video = ...` is ("backends", "routes", 1, "video"). Keys inside
    an inline table or array are not placed; `line` answers for them with the line of the key
    that holds the value."""

    def __init__(self, text: str):
        self.at: dict[Loc, int] = {}
        arrays: dict[Loc, int] = {}  # array-of-tables path -> entries so far
        table: Loc = ()
        state: tuple[int, str | None] | None = None  # inside a value that spans lines
        for number, line in enumerate(text.splitlines(), start=1):
            if state is not None:
                state = _scan_value(line, *state)
                continue
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            try:
                if stripped.startswith("[["):
                    keys, _ = _parse_key(stripped, 2)
                    path = _in_arrays(keys[:-1], arrays) + (keys[-1],)
                    arrays[path] = arrays.get(path, 0) + 1
                    table = path + (arrays[path] - 1,)
                    self.at.setdefault(path, number)
                    self.at.setdefault(table, number)
                elif stripped.startswith("["):
                    keys, _ = _parse_key(stripped, 1)
                    table = _in_arrays(keys, arrays)
                    self.at.setdefault(table, number)
                else:
                    keys, end = _parse_key(stripped, 0)
                    for k in range(1, len(keys) + 1):
                        self.at.setdefault(table + tuple(keys[:k]), number)
                    state = _scan_value(stripped[end + 1:], 0, None)
            except (ValueError, IndexError):  # not a key line after all: place nothing
                continue

    def line(self, loc: Loc) -> int | None:
        for k in range(len(loc), 0, -1):
            if loc[:k] in self.at:
                return self.at[loc[:k]]
        return None


def _in_arrays(keys: list[str], arrays: dict[Loc, int]) -> Loc:
    """A table path with the current entry of each array of tables it passes through."""
    path: Loc = ()
    for key in keys:
        path += (key,)
        if path in arrays:
            path += (arrays[path] - 1,)
    return path


def _parse_key(text: str, start: int) -> tuple[list[str], int]:
    """A dotted key from text[start:]: its parts, and the index of what follows (`=` or `]`)."""
    parts, i = [], start
    while True:
        while i < len(text) and text[i] in " \t":
            i += 1
        if text[i] in "\"'":
            quote = text[i]
            j = i + 1
            while text[j] != quote:
                j += 2 if quote == '"' and text[j] == "\\" else 1
            parts.append(tomllib.loads(f"k = {text[i:j + 1]}")["k"])
            i = j + 1
        else:
            bare = re.compile(r"[A-Za-z0-9_-]+").match(text, i)
            if bare is None:
                raise ValueError(text)
            parts.append(bare.group())
            i = bare.end()
        while i < len(text) and text[i] in " \t":
            i += 1
        if text[i] != ".":
            if text[i] not in "=]":
                raise ValueError(text)
            return parts, i
        i += 1


def _scan_value(text: str, depth: int, quote: str | None) -> tuple[int, str | None] | None:
    """Follow a value through one line: the open brackets and the open multi-line string after
    it, or None when the value ends on this line."""
    i = 0
    while i < len(text):
        if quote is not None:
            if text.startswith(quote, i):
                i += len(quote)
                quote = None
            elif text[i] == "\\" and quote in ('"', '"""'):
                i += 2
            else:
                i += 1
            continue
        if text.startswith(('"""', "'''"), i):
            quote = text[i:i + 3]
            i += 3
            continue
        char = text[i]
        if char in "\"'":
            quote = char
        elif char == "#":
            break
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        i += 1
    if quote in ('"', "'"):
        quote = None  # a one-line string cannot go on (tomllib has parsed the text)
    return (depth, quote) if depth > 0 or quote else None
