"""A reply's token budget (max_tokens), sized from the bounds of the JSON schema it must fill.

Without a cap a local server generates until the timeout; with a fixed cap a long bible is cut
off while a short answer wastes nothing. The schema's bounds (maxItems, maxLength, enums) give the
longest valid reply, so the budget is that reply's size in tokens: a reply that needs more is
invalid anyway, and a model that loops is stopped soon after the last valid token.
"""

from __future__ import annotations

import json
from typing import Any

# Characters per token, low on purpose: English runs near 4 per token, Chinese near 1.3, and JSON
# punctuation near 1; 2 keeps a long reply in either language inside its budget.
CHARS_PER_TOKEN = 2
# For a list or a string the schema leaves unbounded (every agent's schema bounds them: see the
# tests), so a budget is finite all the same.
UNBOUNDED_ITEMS = 20
UNBOUNDED_CHARS = 2000
# Whitespace and formatting a JSON-mode reply may add around the values.
SLACK = 1.15
MIN_TOKENS = 256


def max_tokens(schema: dict[str, Any]) -> int:
    """Tokens enough for the longest reply `schema` allows."""
    chars = _chars(schema, schema.get("$defs", {}))
    return max(MIN_TOKENS, round(chars / CHARS_PER_TOKEN * SLACK))


def _chars(node: dict[str, Any], defs: dict[str, Any]) -> int:
    """The longest JSON text, in characters, of a value of `node`."""
    if "$ref" in node:
        return _chars(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    if "enum" in node:
        return max(len(json.dumps(value, ensure_ascii=False)) for value in node["enum"])
    if "const" in node:
        return len(json.dumps(node["const"], ensure_ascii=False))
    for union in ("anyOf", "oneOf"):
        if union in node:
            return max(_chars(option, defs) for option in node[union])
    kind = node.get("type")
    if isinstance(kind, list):
        return max(_chars({**node, "type": k}, defs) for k in kind)
    if kind == "object":
        properties = node.get("properties", {})
        return 2 + sum(len(name) + 4 + _chars(value, defs) for name, value in properties.items())
    if kind == "array":
        items = node.get("maxItems", UNBOUNDED_ITEMS)
        return 2 + items * (1 + _chars(node.get("items", {}), defs))
    if kind == "string":
        return 2 + node.get("maxLength", UNBOUNDED_CHARS)
    if kind in ("number", "integer"):
        return 12
    if kind == "boolean":
        return 5
    return 4  # null
