"""Answer models bounded for one call: the same model, with some fields' constraints set from the
request (how many episodes, which line ids a scene has), so the JSON schema the server decodes
against cannot express an answer the request makes wrong."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, Field, create_model

M = TypeVar("M", bound=BaseModel)


def with_bounds(model: type[M], annotations: dict[str, Any] | None = None, **constraints: dict[str, Any]) -> type[M]:
    """A subclass of `model` under the same name (the schema's name the server sees) whose
    fields named in `constraints` get those Field constraints (min_length, max_length, ...), and
    those in `annotations` another type, each keeping its description and default."""
    annotations = annotations or {}
    fields: dict[str, Any] = {}
    for name in {*constraints, *annotations}:
        info = model.model_fields[name]
        default = ... if info.is_required() else info.get_default(call_default_factory=True)
        fields[name] = (annotations.get(name, info.annotation),
                        Field(default, description=info.description, **constraints.get(name, {})))
    return create_model(model.__name__, __base__=model, __doc__=model.__doc__, **fields)
