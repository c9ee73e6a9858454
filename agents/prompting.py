"""Prompt templates: one file per agent task in the `microdrama.prompts` package, with language
variants beside it (`shot_planner.md`, `shot_planner.zh.md`, `shot_planner.zh-Hant.md`).

Placeholders are `string.Template`'s: `$name` or `${name}`, and `$$` for a literal dollar sign.
Chosen over `str.format` because prompts are full of JSON examples whose braces must stay as
written.

    prompt = load_prompt("shot_planner", language="zh")
    text = prompt.render(scene=scene_yaml, bible=bible_yaml)
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from microdrama.pipeline.core.errors import MicrodramaError

PROMPTS_PACKAGE = "microdrama.prompts"
TASK_NAME = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)*")


class PromptError(MicrodramaError):
    """A prompt template is missing or malformed, or was rendered without one of its values."""


@dataclass(frozen=True)
class Prompt:
    """One loaded template; `name` is the file it came from, for messages."""

    task: str
    name: str
    text: str

    @property
    def placeholders(self) -> frozenset[str]:
        return frozenset(string.Template(self.text).get_identifiers())

    def render(self, **values: object) -> str:
        """The text with every placeholder filled; a missing value is an error, extra ones are
        allowed (a language variant may leave one out)."""
        missing = sorted(self.placeholders - values.keys())
        if missing:
            raise PromptError(
                f"prompt {self.name} needs {', '.join('$' + name for name in missing)}; "
                f"given: {', '.join(sorted(values)) or 'nothing'}"
            )
        return string.Template(self.text).substitute(values)


def load_prompt(
    task: str, language: str | None = None, *, source: Traversable | Path | None = None
) -> Prompt:
    """The template for `task` in `language` (e.g. "zh-Hant", then "zh"), else the default file.
    `source` is the folder to read from; the `microdrama.prompts` package unless given."""
    if not TASK_NAME.fullmatch(task):
        raise PromptError(f"invalid prompt task name {task!r}: use lowercase letters, digits, '_' and '.'")
    root = source if source is not None else resources.files(PROMPTS_PACKAGE)
    names = _candidate_names(task, language)
    for name in names:
        file = root.joinpath(name)
        if file.is_file():
            text = file.read_text(encoding="utf-8")
            _check_placeholders(name, text)
            return Prompt(task, name, text)
    raise PromptError(f"no prompt template for task {task!r}: looked for {', '.join(names)} in {root}")


def _candidate_names(task: str, language: str | None) -> list[str]:
    names = []
    if language:
        names.append(f"{task}.{language}.md")
        primary = language.split("-")[0].lower()
        if primary != language:
            names.append(f"{task}.{primary}.md")
    names.append(f"{task}.md")
    return names


def _check_placeholders(name: str, text: str) -> None:
    """Refuse a stray `$` at load time, naming its line, rather than at the first render."""
    for match in string.Template.pattern.finditer(text):
        if match.group("invalid") is not None:
            line = text.count("\n", 0, match.start("invalid")) + 1
            raise PromptError(
                f"prompt {name}, line {line}: '$' must start a placeholder ($name or ${{name}}); "
                "write $$ for a literal dollar sign"
            )
