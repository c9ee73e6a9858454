"""Approved snapshots: what a render reads.

Approval copies the plan files as they are (series.yaml and plan/eNN.yaml, byte for byte) with
the findings the reviewer saw into `state/approved/<digest>/`, where the digest hashes those
bytes. A snapshot is never written again; `state/approved/CURRENT` names the latest approval.
The plan files stay the only place a person edits the plan: a render reads a snapshot, and a plan
file edited since the approval is "edited since approval" until it is approved again.

    state/approved/<digest>/series.yaml
    state/approved/<digest>/plan/e01.yaml ...
    state/approved/<digest>/findings.json     the findings shown at approval
    state/approved/CURRENT                    the digest of the latest approval
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .errors import InputError, Problem
from .models import Episode, Finding, Scene, Series, Shot
from .paths import check_write
from .store import M, SeriesFolder, atomic_write_text, parse_model

CURRENT = "CURRENT"
FINDINGS = "findings.json"


def plan_files(folder: SeriesFolder) -> list[Path]:
    """The files that make up the plan: the bible, then each episode in id order."""
    return [folder.series_path, *(folder.episode_path(e) for e in folder.episode_ids())]


def plan_digest(folder: SeriesFolder) -> str:
    """Hash of the plan files' bytes and names: any edit, an added or removed episode included,
    gives another digest."""
    digest = hashlib.sha256()
    for path in plan_files(folder):
        if path.is_file():
            digest.update(str(path.relative_to(folder.root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def approved_dir(folder: SeriesFolder) -> Path:
    return folder.state_dir / "approved"


def current_digest(folder: SeriesFolder) -> str | None:
    """The latest approval's digest, or None when nothing was approved."""
    marker = approved_dir(folder) / CURRENT
    if not marker.is_file():
        return None
    digest = marker.read_text(encoding="utf-8").strip()
    return digest if (approved_dir(folder) / digest).is_dir() else None


def edited_since_approval(folder: SeriesFolder) -> bool:
    current = current_digest(folder)
    return current is not None and plan_digest(folder) != current


def write_snapshot(folder: SeriesFolder, findings: list[Finding]) -> str:
    """Freeze the plan files as approved and make them the current approval. The caller has
    validated them. Writing the same plan twice keeps the first snapshot as it is."""
    digest = plan_digest(folder)
    target = approved_dir(folder) / digest
    if not target.is_dir():
        check_write(target, folder.root)  # state/approved may not lead outside the folder
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{digest}."))
        try:
            for path in plan_files(folder):
                copy = staging / path.relative_to(folder.root)
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, copy)
            (staging / FINDINGS).write_text(
                json.dumps([f.model_dump(mode="json") for f in findings], ensure_ascii=False, indent=1),
                encoding="utf-8")
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    atomic_write_text(approved_dir(folder) / CURRENT, digest + "\n")
    return digest


def snapshot_digests(folder: SeriesFolder) -> list[str]:
    """Every approval kept in the folder."""
    root = approved_dir(folder)
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) if root.is_dir() else []


@dataclass(frozen=True)
class Snapshot:
    """An approved plan, read-only, with lookups by id."""

    digest: str
    series: Series
    episodes: tuple[Episode, ...]
    findings: tuple[Finding, ...]
    _scenes: dict[str, tuple[Episode, Scene]] = field(repr=False, compare=False)
    _shots: dict[str, tuple[Scene, Shot]] = field(repr=False, compare=False)

    def episode(self, episode_id: str) -> Episode:
        return next(e for e in self.episodes if e.id == episode_id)

    def scene(self, scene_id: str) -> Scene:
        return self._scenes[scene_id][1]

    def shot(self, shot_id: str) -> tuple[Scene, Shot]:
        """The shot and the scene that holds it."""
        return self._shots[shot_id]

    def has(self, plan_id: str) -> bool:
        return plan_id in self._scenes or plan_id in self._shots or any(e.id == plan_id for e in self.episodes)


def load_snapshot(folder: SeriesFolder, digest: str) -> Snapshot:
    return _load(folder.root.resolve(), digest)


@lru_cache(maxsize=8)
def _load(root: Path, digest: str) -> Snapshot:
    """Parsed once per process: every render branch looks its shot up in the same snapshot."""
    folder = SeriesFolder(root)
    base = approved_dir(folder) / digest
    if not base.is_dir():
        raise InputError(base, Problem("no such approval; run `microdrama approve` again"))

    def parse(copy: Path, model: type[M]) -> M:
        """A file of the snapshot; where the plan file's kept data is of the same bytes (the plan
        is unchanged since it was approved), from there."""
        raw = copy.read_bytes()
        return parse_model(raw.decode("utf-8"), model, copy, folder.parsed.data(root / copy.relative_to(base), raw))

    series = parse(base / "series.yaml", Series)
    episodes = tuple(parse(p, Episode) for p in sorted((base / "plan").glob("e*.yaml")))
    findings_file = base / FINDINGS
    findings = tuple(Finding.model_validate(f) for f in json.loads(findings_file.read_text(encoding="utf-8"))) \
        if findings_file.is_file() else ()
    scenes = {s.id: (e, s) for e in episodes for s in e.scenes}
    shots = {k.id: (s, k) for e in episodes for s in e.scenes for k in s.shots}
    return Snapshot(digest, series, episodes, findings, scenes, shots)
