"""Loading plan files fast: libyaml's parser (through PyYAML) with YAML 1.2 scalars.

ruamel's round-trip loader keeps the line of every node and the comments, which costs about 17
times libyaml's parse of the same text; a plan is loaded by every command, but lines are needed
only to report an error, and comments only to write. So a load tries this loader first and
falls back to the round-trip one for any file this loader does not take as it is (store.py).

Both must read the same data from the same text. ruamel reads YAML 1.2, PyYAML 1.1, whose
implicit scalars differ (`yes`, `on` and `no` are booleans, `010` is octal 8, `1:30` is 90):
this loader resolves plain scalars with the YAML 1.2 patterns ruamel uses. What ruamel refuses
and PyYAML would let through (a repeated key) is refused here too; merge keys are left to ruamel.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the pure-Python parser where libyaml is missing

_CORE_1_2 = {  # tag -> (pattern, first characters); the patterns of ruamel.yaml's resolver for 1.2
    "tag:yaml.org,2002:bool": (r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    "tag:yaml.org,2002:float": (r"""^(?:
         [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""", "-+0123456789."),
    "tag:yaml.org,2002:int": (r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0o?[0-7_]+
        |[-+]?[0-9_]+
        |[-+]?0x[0-9a-fA-F_]+)$""", "-+0123456789"),
}


class NotFast(Exception):
    """The text holds something this loader leaves to the round-trip loader."""


class PlanLoader(_BASE):  # type: ignore[misc, valid-type]
    """A safe loader that reads plain scalars as YAML 1.2 does and refuses repeated keys."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        if any(key.tag == "tag:yaml.org,2002:merge" for key, _ in node.value):
            raise NotFast("merge key")
        mapping = super().construct_mapping(node, deep=deep)
        if len(mapping) != len(node.value):
            raise NotFast("a key is repeated")
        return mapping

    def construct_yaml_int(self, node: Any) -> int:
        """1.2 integers: `0o` is octal and a leading zero is not; no sexagesimal."""
        text = self.construct_scalar(node).replace("_", "")
        sign = -1 if text.startswith("-") else 1
        text = text.lstrip("+-")
        for prefix, base in (("0b", 2), ("0x", 16), ("0o", 8)):
            if text.startswith(prefix):
                return sign * int(text[2:], base)
        return sign * int(text)


PlanLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag not in _CORE_1_2]
    for first, resolvers in _BASE.yaml_implicit_resolvers.items()
}
for _tag, (_pattern, _first) in _CORE_1_2.items():
    PlanLoader.add_implicit_resolver(_tag, re.compile(_pattern, re.X), list(_first))
PlanLoader.add_constructor("tag:yaml.org,2002:int", PlanLoader.construct_yaml_int)


def load(text: str) -> Any:
    """The data in `text`; NotFast for anything the round-trip loader should read (or report)."""
    try:
        return yaml.load(text, Loader=PlanLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise NotFast(str(exc)) from None


def compose(text: str) -> Any:
    """The node tree of `text` (each node knows its line: `start_mark.line`, 0-based), with plain
    scalars tagged as YAML 1.2 reads them; NotFast where libyaml cannot parse it."""
    try:
        return yaml.compose(text, Loader=PlanLoader)
    except yaml.YAMLError as exc:
        raise NotFast(str(exc)) from None


class PlanDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """libyaml's emitter writing what ruamel's safe dumper wrote (the plan files' bytes must not
    change with the writer): plain scalars quoted exactly where YAML 1.2 needs it, and double
    quotes, not single, for a quoted string holding an apostrophe or a line break."""


PlanDumper.yaml_implicit_resolvers = PlanLoader.yaml_implicit_resolvers
_ANALYSIS = yaml.emitter.Emitter(None, allow_unicode=True)  # only its scalar analysis (Python: rare strings)


def _represent_str(dumper: PlanDumper, value: str) -> Any:
    style = None
    if ("'" in value or "\n" in value) and not _ANALYSIS.analyze_scalar(value).allow_block_plain:
        style = '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


PlanDumper.add_representer(str, _represent_str)


WIDTH = 4096  # no folded lines: long prompts stay on one line, without trailing spaces


def _same_as_ruamel(value: Any) -> bool:
    """Whether libyaml writes this as ruamel does: it escapes characters beyond the BMP (emoji)
    where ruamel writes them, and folds a scalar longer than the width at other spaces."""
    if isinstance(value, str):
        return len(value) <= WIDTH // 2 and (value.isascii() or max(value) <= "\uffff")
    if isinstance(value, dict):
        return all(_same_as_ruamel(k) and _same_as_ruamel(v) for k, v in value.items())
    if isinstance(value, list):
        return all(map(_same_as_ruamel, value))
    return True


def dump(data: Any) -> str:
    """Plan data in block style, keys in their order, text unescaped, no line folded; NotFast
    for data the round-trip library must write (its bytes would differ here)."""
    if not _same_as_ruamel(data):
        raise NotFast("a string libyaml would write otherwise")
    return yaml.dump(data, Dumper=PlanDumper, default_flow_style=False, allow_unicode=True, sort_keys=False,
                     width=WIDTH)
