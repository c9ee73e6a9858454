"""The series folder: where each file of a series lives, and the only code that reads or writes
the plan files.

    episodes/<slug>/
        series.yaml            the bible (Series)
        screenplay.fountain    the screenplay the plan came from
        plan/eNN.yaml          one Episode per file
        state/                 graph checkpoints, last good plan copies, LLM call log
        cache/                 content-addressed render artifacts
        out/                   assembled episodes, subtitles, audits

Plan files are validated on every load; an invalid hand edit raises an InputError naming the file,
line and field. Loading only reads: the last good copy under state/last-good/ is written by the
planner's saves and by `keep_last_good`, which the whole-plan check calls once the plan passes
every blocking rule (pipeline/plan/approval.py), so neither a format error nor a rule error ever
replaces it. `places` finds the file and line of each id, to place rule findings like format
errors are placed.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from collections.abc import Iterable
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from . import fast_yaml
from .errors import InputError, Problem
from .layout import SeriesPaths
from .models import Episode, Series
from .paths import check_write

M = TypeVar("M", bound=BaseModel)

SYNOPSIS_FILE = "synopsis.md"  # a series written from a synopsis keeps it here

SLUG_RULE = "lowercase letters, digits and '-', starting with a letter or digit"


def check_slug(slug: str) -> str:
    """Return `slug` if it is a safe folder name; refuse separators, '..' and anything else."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", slug or ""):
        raise InputError(None, Problem(f"series slug {slug!r} is not allowed: use {SLUG_RULE}", field="slug"))
    return slug


def slugify(text: str) -> str:
    """ASCII slug of a title; empty when the title has no Latin letters or digits."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:64].strip("-")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()


def pid_alive(pid: int) -> bool:
    """Whether `pid` is a live process on this machine (a zombie counts as live until reaped)."""
    if pid <= 0:  # os.kill(0, ...) and negative pids address process groups
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return True  # unknown: assume alive, so nothing of its is deleted
    return True


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder and rename: readers never see half a file.

    The temporary is `.<name>.<pid>.<random>.tmp`; the pid lets `sweep_atomic_temporaries` tell a
    dead run's leftover from a live writer's file. Refused (InputError) when the folder it goes
    into is a series subfolder linked outside the series folder (core/paths.py)."""
    check_write(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    os.fchmod(fd, FILE_MODE)  # mkstemp makes 0600 files; a plan or an episode is for sharing
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


_ATOMIC_TEMP = re.compile(r"\..+\.(?P<pid>\d+)\.[a-z0-9_]{8}\.tmp")  # mkstemp's 8 random characters


def sweep_atomic_temporaries(folder: Path) -> int:
    """Remove `atomic_write_bytes` temporaries in `folder` (not below it) whose pid is no live
    process; return how many. Temporaries without a pid in their name are left alone."""
    removed = 0
    for path in Path(folder).glob(".*.tmp") if Path(folder).is_dir() else []:
        match = _ATOMIC_TEMP.fullmatch(path.name)
        if match and path.is_file() and not pid_alive(int(match["pid"])):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


# --- YAML with line numbers --------------------------------------------------------------------


def dump_yaml(model: BaseModel) -> str:
    return dump_yaml_data(model.model_dump(mode="json", exclude_none=True))


def dump_yaml_data(data: dict[str, Any]) -> str:
    """Plan data (a model's JSON dump, maybe not valid yet) as its plan file holds it: written by
    libyaml where it writes the same bytes as ruamel's safe dumper, else by that (about 9 times
    slower: it was a third of a feature film's plan time)."""
    try:
        return fast_yaml.dump(data)
    except fast_yaml.NotFast:
        pass
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    yaml.sort_base_mapping_type_on_output = False
    yaml.width = fast_yaml.WIDTH
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()


def _line_of(node: Any, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the deepest node along a pydantic error location in a ruamel tree."""
    line = None
    for key in loc:
        if isinstance(node, CommentedMap) and key in node:
            line = node.lc.key(key)[0] + 1
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and key < len(node):
            line = node.lc.item(key)[0] + 1
            node = node[key]
        else:
            break
    return line


def _field_path(data: Any, loc: tuple[Any, ...]) -> str:
    """'scenes[0].shots[2] (e01s01k03).type': the error's place, with ids where the YAML has them."""
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(key, int):
            label = f"[{key}]"
            if isinstance(node, list) and key < len(node):
                node = node[key]
                if isinstance(node, dict) and isinstance(node.get("id"), str):
                    label += f" ({node['id']})"
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return "".join(parts) or "(file)"


def decode_utf8(raw: bytes, path: Path | str) -> str:
    """The text of a plan file; bytes that are not UTF-8 are an InputError naming the line."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(path, Problem(f"not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start}); "
                                       "save the file as UTF-8", line=line)) from None


@lru_cache(maxsize=512)
def _yaml_tree(text: str) -> Any:
    """The round-trip tree of a plan file's text, parsed once per process: one command reads the
    same files several times (review, approval, placing findings), and ruamel's pure-Python parser
    was most of a feature's plan time. Callers only read the tree."""
    return YAML(typ="rt").load(text)


@lru_cache(maxsize=512)
def _fast_data(text: str) -> Any:
    """A plan file's data, read once per process (a command loads the plan several times: a
    feature film's 47 files five times in `plan --yes`). Only ever validated into new models,
    never handed out, so no caller can change the cached copy."""
    return fast_yaml.load(text)


def parse_model(text: str, model: type[M], path: Path | str, data: Any = None) -> M:
    """Parse YAML text into `model`, turning YAML and validation errors into an InputError.

    The fast loader reads a valid file (or `data` is what it read before: `ParsedData`); any file
    it refuses or whose data does not validate is read again by the round-trip loader, which
    gives each error its line (core/fast_yaml.py)."""
    try:
        data = _fast_data(text) if data is None else data
        if isinstance(data, dict):
            return model.model_validate(data)
    except (fast_yaml.NotFast, ValidationError):
        pass
    try:
        data = _yaml_tree(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise InputError(path, Problem(f"not valid YAML: {exc.problem or exc}", line=line)) from None
    if not isinstance(data, dict):
        raise InputError(path, Problem(f"expected a YAML mapping of {model.__name__} fields", line=1))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(err["msg"], line=_line_of(data, err["loc"]), field=_field_path(data, err["loc"]))
            for err in exc.errors()
        ]
        raise InputError(path, problems) from None


@dataclass(frozen=True)
class Place:
    """Where an object with an id lies in the plan files: the file (relative to the series
    folder, e.g. 'plan/e01.yaml'), the 1-based line where the object starts, and its field path
    ('scenes[0] (e01s01).shots[1] (e01s01k02)'; None for an episode, which is its whole file)."""

    file: str
    line: int | None
    field: str | None


STR_TAG = "tag:yaml.org,2002:str"


def _node_id(node: Any) -> str | None:
    """The string `id` of a mapping node, if it has one."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "id" and isinstance(value, yaml.ScalarNode) and value.tag == STR_TAG:
                return value.value
    return None


def _id_places(node: Any, file: str, field: str = "") -> list[tuple[str, Place]]:
    """Every mapping with a string `id` below `node` (a libyaml node tree), in file order."""
    found: list[tuple[str, Place]] = []
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            found += _id_places(value, file, f"{field}.{key.value}" if field else str(key.value))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            label = f"{field}[{index}]"
            if (item_id := _node_id(item)) is not None:
                label += f" ({item_id})"
                found.append((item_id, Place(file, item.start_mark.line + 1, label)))
            found += _id_places(item, file, label)
    return found


def plan_places(files: dict[str, str]) -> dict[str, list[Place]]:
    """Each id in plan files (name relative to the series folder -> text) and where it lies, every
    occurrence in file order. In series.yaml only the bible's characters and locations count
    (its episode outlines repeat the episode ids); in an episode file, the episode, its scenes,
    shots and dialogue lines. A file that is not valid YAML places nothing."""
    return _by_id(_file_places(file, text) for file, text in files.items())


def _by_id(per_file: Iterable[Iterable[tuple[str, Place]]]) -> dict[str, list[Place]]:
    places: dict[str, list[Place]] = {}
    for found in per_file:
        for plan_id, place in found:
            places.setdefault(plan_id, []).append(place)
    return places


@lru_cache(maxsize=512)
def _file_places(file: str, text: str) -> tuple[tuple[str, Place], ...]:
    """The ids of one plan file's text and their places, found once per process (one command
    places findings several times). Read with libyaml's composer: the lines are all that is
    needed, and ruamel's round trip took a quarter of a feature film's plan time."""
    try:
        root = fast_yaml.compose(text)
    except fast_yaml.NotFast:
        return ()
    if not isinstance(root, yaml.MappingNode):
        return ()
    if file == "series.yaml":
        return tuple(hit for key, value in root.value if key.value in ("characters", "locations")
                     for hit in _id_places(value, file, key.value))
    found = _id_places(root, file)
    if (episode_id := _node_id(root)) is not None:
        id_key = next(key for key, _ in root.value if key.value == "id")
        found.insert(0, (episode_id, Place(file, id_key.start_mark.line + 1, None)))
    return tuple(found)


class ParsedData:
    """The plan files' data, and where each id lies in them, as JSON under state/parsed/, by
    the digest of each file's bytes.

    Every command loads the whole plan, and YAML is slow to read even through libyaml: a
    12-episode season's 13 files take 0.26 s, their JSON 0.006 s. A file whose bytes are those of
    its JSON's digest is read from there; any other is parsed as YAML. Only a plan that passes
    every rule is kept (with the last good copies), so status, which keeps nothing, reads the
    JSON of the plan the latest review, approval or render checked."""

    VERSION = "2"  # bump when what is kept of a text changes (its data: core/fast_yaml.py; its places)

    def __init__(self, root: Path, state_dir: Path):
        self.root, self.folder = root, state_dir / "parsed"
        self._entries: dict[Path, dict[str, Any]] = {}  # the JSON of each file, as read or written

    def _entry(self, path: Path) -> Path:
        return self.folder / (path.relative_to(self.root).as_posix().replace("/", "--") + ".json")

    @staticmethod
    def _digest(raw: bytes) -> str:
        return hashlib.blake2b(raw, digest_size=16).hexdigest()

    def _current(self, path: Path, raw: bytes) -> dict[str, Any] | None:
        """The JSON of the file at `path` if it holds the data of `raw`."""
        if path not in self._entries:
            try:
                self._entries[path] = json.loads(self._entry(path).read_bytes())
            except (OSError, ValueError):
                self._entries[path] = {}
        entry = self._entries[path]
        current = entry.get("version") == self.VERSION and entry.get("digest") == self._digest(raw)
        return entry if current else None

    def data(self, path: Path, raw: bytes) -> Any:
        """The data of `raw` as the JSON of the file at `path` holds it, or None (no JSON, or
        one of other bytes). `raw` may be another copy of the file: an approved snapshot's."""
        entry = self._current(path, raw)
        return entry["data"] if entry else None

    def places(self, path: Path, raw: bytes) -> list[tuple[str, Place]] | None:
        """The ids of `raw` and their places (`plan_places`) as the file's JSON holds them."""
        entry = self._current(path, raw)
        return [(plan_id, Place(*place)) for plan_id, place in entry["places"]] if entry else None

    def keep(self, path: Path, raw: bytes) -> None:
        """Write the file's JSON unless it is current. Data JSON cannot hold as it is (a date,
        a key that is not a string) is not kept: that file is always read as YAML."""
        if self._current(path, raw):
            return
        try:
            text = raw.decode("utf-8")
            data = _fast_data(text)
        except (UnicodeDecodeError, fast_yaml.NotFast):
            return
        places = [(plan_id, [place.file, place.line, place.field])
                  for plan_id, place in _file_places(path.relative_to(self.root).as_posix(), text)]
        entry = {"version": self.VERSION, "digest": self._digest(raw), "data": data, "places": places}
        dumped = json.dumps(entry, ensure_ascii=False)
        if json.loads(dumped)["data"] == data:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self._entry(path), dumped)
            self._entries[path] = entry


# --- the folder --------------------------------------------------------------------------------


class SeriesFolder(SeriesPaths):
    """Paths (core/layout.py) and plan-file I/O of one series folder."""

    def __init__(self, root: Path):
        super().__init__(root)
        self._read: dict[Path, bytes] = {}  # the plan files as the latest load_plan read them
        self.parsed = ParsedData(self.root, self.state_dir)

    def _last_good(self, path: Path) -> Path:
        return self.state_dir / "last-good" / path.relative_to(self.root)

    def sources_digest(self, sources: list[str]) -> str:
        """Hash of source files (screenplays or a synopsis) named relative to the folder."""
        digest = hashlib.sha256()
        for source in sources:
            digest.update(source.encode("utf-8") + b"\0" + (self.root / source).read_bytes() + b"\0")
        return digest.hexdigest()[:16]

    def screenplays(self) -> list[Path]:
        """The screenplay files of the series: one file, or one file per episode in screenplay/."""
        single = self.root / "screenplay.fountain"
        if single.is_file():
            return [single]
        return sorted((self.root / "screenplay").glob("*.fountain"))

    # Every plan file goes through these two, so every file gets the same validation and the
    # same last-good protection. Loading writes nothing: a file that parses may still break a
    # rule, and only a plan that passes them all is a good one (`keep_last_good`).
    def _load(self, path: Path, model: type[M]) -> M:
        if not path.is_file():
            raise InputError(path, "file not found; run `microdrama plan` first")
        raw = path.read_bytes()
        try:
            loaded = parse_model(decode_utf8(raw, path), model, path, self.parsed.data(path, raw))
        except InputError as exc:
            backup = self._last_good(path)
            if not backup.is_file():
                raise
            kept = Problem(f"nothing was overwritten; the last good version is kept at {backup}")
            raise InputError(path, [*exc.problems, kept]) from None
        self._read[path] = raw
        return loaded

    def _save(self, path: Path, model: BaseModel) -> None:
        text = dump_yaml(model)
        atomic_write_text(path, text)
        atomic_write_text(self._last_good(path), text)

    def load_series(self) -> Series:
        return self._load(self.series_path, Series)

    def save_series(self, series: Series) -> None:
        self._save(self.series_path, series)

    def load_episode(self, episode_id: str) -> Episode:
        episode = self._load(self.episode_path(episode_id), Episode)
        if episode.id != episode_id:
            raise InputError(
                self.episode_path(episode_id),
                Problem(f"id is {episode.id!r} but the file is named {episode_id}.yaml", line=1, field="id"),
            )
        return episode

    def save_episode(self, episode: Episode) -> None:
        self._save(self.episode_path(episode.id), episode)

    def save_edit(self, episode: Episode) -> None:
        """Write a person's edit of an episode (`microdrama edit`, the studio): the plan file
        only. Like a hand edit, it becomes the last good copy once it passes every rule."""
        atomic_write_text(self.episode_path(episode.id), dump_yaml(episode))

    def load_plan(self) -> tuple[Series, list[Episode]]:
        """The bible and every episode plan, each validated; all problems reported at once."""
        problems: list[Problem] = []
        series, episodes = None, []
        self._read = {}
        try:
            series = self.load_series()
        except InputError as exc:
            problems += exc.problems
        for episode_id in self.episode_ids():
            try:
                episodes.append(self.load_episode(episode_id))
            except InputError as exc:
                problems += exc.problems
        if problems:
            self._read = {}  # nothing of an invalid plan is ever kept as good
            raise InputError(None, problems)
        return series, episodes

    def keep_last_good(self) -> None:
        """Make the plan files, as the latest `load_plan` read them (the text that was checked,
        not what is on disk by now), the last good copies under state/last-good/, and their data
        the parsed copies (`ParsedData`). Call it only for a plan that passes every blocking rule."""
        try:
            for path, raw in self._read.items():
                self.parsed.keep(path, raw)
                backup = self._last_good(path)
                if not backup.is_file() or backup.read_bytes() != raw:
                    atomic_write_bytes(backup, raw)
        except OSError as exc:  # a read-only folder: review still reads, nothing is kept
            if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise

    def places(self) -> dict[str, list[Place]]:
        """Where each id lies (`plan_places`), in the plan files as the latest `load_plan` read
        them, or as they are on disk when nothing was loaded yet."""
        read = self._read or {path: path.read_bytes()
                              for path in [self.series_path, *map(self.episode_path, self.episode_ids())]
                              if path.is_file()}
        return _by_id(self.parsed.places(path, raw)
                      or _file_places(path.relative_to(self.root).as_posix(), raw.decode("utf-8", errors="replace"))
                      for path, raw in read.items())
