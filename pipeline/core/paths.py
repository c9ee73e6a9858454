"""Paths stay inside the series folder.

Reads: a keyframe or voice reference clip named in series.yaml is a path relative to the series
folder; one that is absolute, climbs with '..', or resolves (through symlinks) outside the folder
is refused. The continuity rule (plan/checks.py) reports it at review with file, line and field;
`series_file` refuses it again where a render reads the file (render/requests.py), so nothing
outside the folder is read even when the check was bypassed.

Writes: a series' own folders (plan/, state/, cache/, out/; keyframes/ and screenplay/ where
they are written) may be symlinks, but only to somewhere inside the series folder. A write through
one that leads outside is refused with one line: every writing command refuses to start when
plan/, state/, cache/ or out/ leads outside (`check_series_folders`, where the series lock is
taken, before anything is created or swept), and each atomic write, the cache and assembly check
the folder they write into (`check_write`). Reading the screenplay through a symlink is fine.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath

from .errors import InputError, Problem

# The folders every writing command may write into, checked before it starts.
WRITTEN_FOLDERS = ("plan", "state", "cache", "out")
# All the folders a series writes into, directly under its folder (keyframes: `microdrama
# keyframes`; screenplay/: a synopsis run's screenplays), checked at each write.
SERIES_SUBFOLDERS = (*WRITTEN_FOLDERS, "keyframes", "screenplay")
# A folder holding one of these is a series folder (at least one exists from the first `plan` on).
SERIES_MARKERS = ("series.yaml", "screenplay.fountain", "synopsis.md", "microdrama.toml")


def reference_problem(root: Path | None, relative: str) -> str | None:
    """Why `relative` (a path from series.yaml) may not be read, or None when it names a place
    inside the series folder `root`. Without a root only the path's text is judged."""
    if "\0" in relative:
        return f"{relative!r} is not a usable path (it holds a NUL character)"
    if PurePath(relative).is_absolute():
        return f"{relative!r} is an absolute path; name a file inside the series folder, relative to it"
    if ".." in PurePath(relative).parts:
        return f"{relative!r} climbs out with '..'; name a file inside the series folder, relative to it"
    if root is None:
        return None
    folder = Path(root).resolve()
    target = (Path(root) / relative).resolve()
    if not target.is_relative_to(folder):
        return f"{relative!r} resolves to {target}, outside the series folder (through a symlink); " \
               "put the file itself inside the folder"
    return None


def series_file(root: Path, relative: str, field: str | None = None) -> Path:
    """The file `relative` names inside the series folder, resolved; InputError (naming series.yaml
    and `field`) when it is absolute, climbs with '..' or resolves outside the folder. It need not
    exist."""
    problem = reference_problem(root, relative)
    if problem is not None:
        raise InputError(Path(root) / "series.yaml", Problem(problem + " (refused: nothing outside the "
                                                             "series folder is read)", field=field))
    return (Path(root) / relative).resolve()


def _escape(root: Path, folder: Path) -> str | None:
    """Why writing into `folder` (below `root`) would leave the series folder, or None."""
    if not (folder.exists() or folder.is_symlink()):
        return None
    target = folder.resolve()
    if target.is_relative_to(Path(root).resolve()):
        return None
    return f"{folder.relative_to(root)}/ leads outside the series folder (to {target}); refusing to write " \
           "through it: make it a real folder, or a link to a place inside the series folder"


def check_series_folders(root: Path) -> None:
    """Refuse (InputError) when plan/, state/, cache/ or out/ leads outside the series folder."""
    for name in WRITTEN_FOLDERS:
        if problem := _escape(Path(root), Path(root) / name):
            raise InputError(Path(root) / name, problem)


def _series_roots(path: Path) -> list[Path]:
    """The series folders `path` lies in, by its path's text: the parent of an ancestor named like
    a series subfolder, when it holds a series file."""
    return [folder.parent for folder in path.parents
            if folder.name in SERIES_SUBFOLDERS and any((folder.parent / m).exists() for m in SERIES_MARKERS)]


def check_write(path: Path, root: Path | None = None) -> None:
    """Refuse (InputError) to write `path` when the folder it goes into leads outside its series
    folder: `root` when given, else every series folder its path lies in. Call it before creating
    any folder on the way (creating one through such a link is already a write outside)."""
    path = Path(os.path.abspath(path))
    for series in [Path(os.path.abspath(root))] if root is not None else _series_roots(path):
        if not path.is_relative_to(series) or path.parent.resolve().is_relative_to(series.resolve()):
            continue
        for folder in reversed(path.parents):  # outermost first: name the folder that leaves, e.g. out/
            if folder.is_relative_to(series) and folder != series and (problem := _escape(series, folder)):
                raise InputError(folder, problem)
        raise InputError(path, f"{path.parent} leads outside the series folder {series}; refusing to write there")
