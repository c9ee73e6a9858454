"""The project's errors, one class per party at fault.

The CLI turns any of these into one clear line (MICRODRAMA_DEBUG=1 shows the traceback); graph
nodes catch only `RenderError`. Anything else is a bug and is allowed to crash.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path


class MicrodramaError(Exception):
    """Base of the errors that the CLI reports as one line rather than a traceback."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file: where it is and what to do."""

    message: str
    line: int | None = None
    field: str | None = None
    path: Path | str | None = None

    def __str__(self) -> str:
        where = str(self.path) if self.path else "<input>"
        if self.line is not None:
            where += f":{self.line}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class InputError(MicrodramaError):
    """A screenplay, synopsis or plan file the user must fix; names the file, line and field."""

    def __init__(self, path: Path | str | None, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = Problem(problems)
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems = [p if p.path else replace(p, path=path) for p in problems]
        super().__init__("\n".join(str(p) for p in self.problems))


class ConfigError(MicrodramaError):
    """The run is configured wrongly (a missing endpoint, an unknown backend name, ...)."""


class BackendUnavailable(MicrodramaError):
    """A backend cannot run here; the message says what to install or configure."""

    def __init__(self, backend: str, reason: str):
        self.backend = backend
        self.reason = reason
        super().__init__(f"backend {backend!r} is unavailable: {reason}")


class RenderError(MicrodramaError):
    """A backend failed on one shot, line or cue; the graph records it and carries on."""

    def __init__(self, target: str, backend: str, reason: str):
        self.target = target
        self.backend = backend
        self.reason = reason
        super().__init__(f"{target}: {backend} failed: {reason}")


class FFmpegError(MicrodramaError):
    """FFmpeg exited non-zero; carries the argv and the tail of its stderr."""

    def __init__(self, argv: list[str], returncode: int, stderr: str):
        self.argv = argv
        self.returncode = returncode
        self.stderr_tail = "\n".join(stderr.strip().splitlines()[-15:])
        super().__init__(
            f"ffmpeg exited with {returncode}: {' '.join(argv[:12])}"
            f"{' ...' if len(argv) > 12 else ''}\n{self.stderr_tail}"
        )


class SeriesLocked(MicrodramaError):
    """Another process is writing this series; one line naming its pid and command."""

    def __init__(self, series: Path | str, pid: int | None = None, command: str | None = None,
                 since: str | None = None):
        self.series = series
        self.pid = pid
        self.command = command
        self.since = since
        if pid is None:
            who = "another process"
        else:
            details = ", ".join(part for part in (" ".join((command or "").split()),
                                                  f"since {since}" if since else "") if part)
            who = f"pid {pid}" + (f" ({details})" if details else "")
        super().__init__(f"{series} is being written by {who}; wait for it to finish or stop it")
