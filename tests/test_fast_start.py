"""The commands that only read import no LangGraph: they read the state the last run recorded
(graph/last_state.py), and a record that is no longer current is never trusted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from microdrama.pipeline.app import Project
from microdrama.pipeline.core.config import Settings
from microdrama.pipeline.graph import last_state

GRAPH_MODULES = ("langgraph", "langchain_core", "langsmith")
# What the plan, the media and the agents need; `--help` needs none of it.
HEAVY_MODULES = ("pydantic", "numpy", "PIL", "yaml", "ruamel", "openai", "microdrama.pipeline.app")

# Runs the CLI in a fresh interpreter and prints which of the given modules it imported.
PROBE = """
import sys
from microdrama.pipeline import cli
watched = set(sys.argv[1].split(","))
sys.argv = ["microdrama", *sys.argv[2:]]
try:
    cli.main()
except SystemExit:
    pass
print("IMPORTED", sorted(m for m in sys.modules if m in watched or m.split(".")[0] in watched))
"""


def imported_modules(watched: tuple[str, ...], *args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, ",".join(watched), *args], capture_output=True, text=True,
                          timeout=120)
    line = next(l for l in done.stdout.splitlines() if l.startswith("IMPORTED"))
    return eval(line.removeprefix("IMPORTED "))


def imported_graph_modules(*args: str) -> list[str]:
    return sorted({m.split(".")[0] for m in imported_modules(GRAPH_MODULES, *args)})


def test_help_imports_only_the_command_line():
    assert imported_modules(HEAVY_MODULES, "--help") == []


@pytest.mark.parametrize("command", ["render", "edit", "new"])
def test_a_command_help_imports_only_the_command_line(command):
    # Typer converts a command's parameters through pydantic (typer/_adapters.py): that one is Typer's.
    assert imported_modules(tuple(m for m in HEAVY_MODULES if m != "pydantic"), command, "--help") == []


@pytest.mark.parametrize("command", [["--help"], ["status"], ["review"], ["schema", "episode"], ["backends"]])
def test_reading_commands_import_no_graph_library(rendered, command):
    args = [*command, str(rendered)] if command[0] in ("status", "review") else command
    assert imported_graph_modules(*args) == []


def test_the_last_render_is_read_from_its_record(rendered):
    with Project(Settings.load(rendered)) as project:
        recorded = project.last_render()
    assert recorded is not None and recorded.renders
    assert (rendered / "state" / "last-render.json").is_file()


def test_a_record_older_than_the_newest_checkpoint_is_not_trusted(rendered):
    record = rendered / "state" / "last-render.json"
    data = json.loads(record.read_text())
    thread = data["thread"]
    assert last_state.read(rendered / "state", rendered / "state" / "checkpoints.sqlite", "render", thread)
    data["checkpoint"], data["values"] = "0-older", {"renders": []}
    record.write_text(json.dumps(data))
    assert last_state.read(rendered / "state", rendered / "state" / "checkpoints.sqlite", "render", thread) is None
    with Project(Settings.load(rendered)) as project:  # read through LangGraph from the database instead
        assert project.last_render().renders
