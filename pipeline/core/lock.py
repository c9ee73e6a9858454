"""One writer per series: an exclusive `flock` on `state/.lock`.

Every command that writes a series (plan, approve, render, ...) runs inside `series_lock`; a
second writer is refused at once with a `SeriesLocked` naming the holder's pid and command line.
Readers (status, review) never take the lock: they call `lock_holder`, which only reads the
holder record and never blocks.

    state/.lock          the locked file; never deleted (deleting a flocked file lets two
                         processes lock two different inodes)
    state/.lock.holder   {"pid", "command", "started"} of the holder, written once the lock is
                         held, removed before it is released

The kernel drops a flock when its holder's last descriptor closes, so a process killed with -9
frees the lock by itself. Its holder record stays behind, but a record whose pid is no live process
is ignored by `lock_holder` and overwritten by the next writer, so it never blocks anyone.

Taking the lock is a writer's first write, so two refusals are made here, each one line: a series
folder this process may not write (read-only, or another user's) is "the series folder is
read-only", and one whose plan/, state/, cache/ or out/ leads outside it through a symlink is
refused before anything is written or swept there (core/paths.py).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shlex
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .errors import InputError, Problem, SeriesLocked
from .paths import check_series_folders
from .store import atomic_write_text, pid_alive

LOCK_NAME = ".lock"
HOLDER_NAME = ".lock.holder"


def current_command(argv: list[str] | None = None) -> str:
    """The command line of this process for a holder record: 'microdrama render episodes/x --scene e01s02'."""
    argv = sys.argv if argv is None else argv
    program = Path(argv[0]).name if argv and argv[0] else "microdrama"
    if program in ("", "-c", "__main__.py", "cli.py"):
        program = "microdrama"
    return shlex.join([program, *argv[1:]])


@dataclass(frozen=True)
class Holder:
    """Who holds a series lock, as its holder recorded it."""

    pid: int
    command: str
    started: datetime  # local time, timezone-aware

    def since(self) -> str:
        """'10:31:05' today, '2025-03-02 10:31:05' on another day."""
        if self.started.date() == datetime.now(self.started.tzinfo).date():
            return self.started.strftime("%H:%M:%S")
        return self.started.strftime("%Y-%m-%d %H:%M:%S")


def _read_record(state_dir: Path) -> Holder | None:
    try:
        data = json.loads((Path(state_dir) / HOLDER_NAME).read_text(encoding="utf-8"))
        return Holder(pid=int(data["pid"]), command=str(data["command"]),
                      started=datetime.fromisoformat(data["started"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def lock_holder(state_dir: Path) -> Holder | None:
    """The live holder of the series lock, or None when it is free; never takes the lock, never blocks.

    It trusts the holder record, checked against the process table: a record left by a killed
    process reads as free. (If that dead pid has since been reused by an unrelated process, the
    record reads as held until the next writer replaces it; this is for display only, writers
    rely on the flock itself.)
    """
    holder = _read_record(state_dir)
    return holder if holder is not None and pid_alive(holder.pid) else None


# Locks this process holds: resolved lock path -> [descriptor, depth].
_held: dict[Path, list[int]] = {}
_held_guard = threading.Lock()


def _forget_in_child() -> None:
    # A forked child shares the parent's open file descriptions and so its flocks; drop our
    # references so that the lock goes when the parent releases it, and so that the child,
    # a different process, takes the lock afresh (and is refused while the parent holds it).
    global _held_guard
    for fd, _depth in _held.values():
        try:
            os.close(fd)
        except OSError:
            pass
    _held.clear()
    _held_guard = threading.Lock()


os.register_at_fork(after_in_child=_forget_in_child)


def _series_name(state_dir: Path) -> str:
    return str(Path(state_dir).parent)


def _refusal(state_dir: Path) -> SeriesLocked:
    # The holder writes its record just after taking the lock; give it a moment to appear.
    holder = None
    for _ in range(25):
        holder = lock_holder(state_dir)
        if holder is not None:
            break
        time.sleep(0.02)
    if holder is None:
        return SeriesLocked(_series_name(state_dir))
    return SeriesLocked(_series_name(state_dir), holder.pid, holder.command, holder.since())


def _write_record(state_dir: Path, command: str) -> None:
    record = {"pid": os.getpid(), "command": " ".join(command.split()),
              "started": datetime.now().astimezone().isoformat(timespec="seconds")}
    atomic_write_text(Path(state_dir) / HOLDER_NAME, json.dumps(record, ensure_ascii=False) + "\n")


def _refusal_to_write(state_dir: Path, exc: OSError) -> InputError | None:
    """The one line for a lock that cannot be written, or None for any other error."""
    root = Path(state_dir).parent
    name = Path(exc.filename or Path(state_dir) / LOCK_NAME)
    name = name.relative_to(root) if name.is_relative_to(root) else name
    if exc.errno == errno.ELOOP:
        return InputError(root / name, "is a symbolic link; remove it (the lock file is never a link)")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return InputError(root, Problem(f"the series folder is read-only: cannot write {name} ({exc.strerror}); "
                                        "commands that only read it (status, review) still work"))
    return None


@contextmanager
def series_lock(state_dir: Path, command: str) -> Iterator[None]:
    """Hold the series' writer lock for the body; raise SeriesLocked at once if another process has it.

    `state_dir` is the series' state/ folder (created if missing); `command` is the command line
    recorded for others to see, e.g. `current_command()`. The lock is released when the body
    ends, also when it raises.

    Re-entrant within one process: a nested `series_lock` on the same folder only counts a level
    and the outermost one releases. flock belongs to an open file description, so a second
    open-and-lock in the same process would conflict with the first and refuse the process its
    own lock; a command that takes the lock and then calls code that takes it again (approve
    inside plan, a save inside render) must go through. Threads of the process share it: they
    are all the same command.
    """
    state_dir = Path(state_dir)
    check_series_folders(state_dir.parent)  # nothing is created or swept through a link that leaves
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _refusal_to_write(state_dir, exc) or exc from None
    key = (state_dir / LOCK_NAME).resolve()
    refused = False
    with _held_guard:
        entry = _held.get(key)
        if entry is not None:
            entry[1] += 1
        else:
            try:
                fd = os.open(state_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o666)
            except OSError as exc:
                raise _refusal_to_write(state_dir, exc) or exc from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                refused = True
            else:
                try:
                    _write_record(state_dir, command)
                except OSError as exc:
                    os.close(fd)
                    raise _refusal_to_write(state_dir, exc) or exc from None
                except BaseException:
                    os.close(fd)
                    raise
                _held[key] = [fd, 1]
    if refused:
        raise _refusal(state_dir)
    try:
        yield
    finally:
        with _held_guard:
            entry = _held.get(key)
            if entry is not None:
                entry[1] -= 1
                if entry[1] == 0:
                    del _held[key]
                    (state_dir / HOLDER_NAME).unlink(missing_ok=True)  # still ours: we hold the lock
                    os.close(entry[0])
