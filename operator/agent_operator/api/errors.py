"""Turns pydantic validation errors into one-line, kubectl-style messages.

A user sees ``spec.rollout.canary.steps[2].setWeight: must be between 0 and 100``, never a
pydantic dump or a traceback. The model is walked along each error's location so that the path
uses wire names and range errors can name both bounds.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo


@dataclass(frozen=True)
class ApiError:
    """One problem with an input object: where it is, and what is allowed instead."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def format_validation_error(exc: ValidationError, model: type[BaseModel]) -> list[ApiError]:
    """Every error of ``exc`` (raised validating ``model``) as an :class:`ApiError`."""
    errors: list[ApiError] = []
    seen: set[tuple[str, str]] = set()
    for err in exc.errors(include_url=False):
        path, field, parent = _resolve(model, err["loc"])
        message = _message(err, field, parent)
        if (path, message) not in seen:
            seen.add((path, message))
            errors.append(ApiError(path, message))
    return errors


def _unwrap(tp: Any) -> list[Any]:
    """The concrete types behind Optional, unions and Annotated."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(tp):
            if arg is not type(None):
                out.extend(_unwrap(arg))
        return out
    return [tp]


def _model_in(tp: Any) -> type[BaseModel] | None:
    for t in _unwrap(tp):
        if isinstance(t, type) and issubclass(t, BaseModel):
            return t
    return None


def _container_item(tp: Any, segment: str | int) -> Any | None:
    for t in _unwrap(tp):
        origin = typing.get_origin(t)
        args = typing.get_args(t)
        if origin is list and isinstance(segment, int):
            return args[0]
        if origin is dict and isinstance(segment, str):
            return args[1]
    return None


def _field_by_wire_name(model: type[BaseModel], name: str) -> tuple[str, FieldInfo] | None:
    for py_name, info in model.model_fields.items():
        if name in (info.alias, py_name):
            return info.alias or py_name, info
    return None


def _resolve(
    model: type[BaseModel], loc: tuple[str | int, ...]
) -> tuple[str, FieldInfo | None, type[BaseModel] | None]:
    """Path string for ``loc``, the field it ends on and that field's model.

    Segments pydantic adds for union members and validators (``int``, ``function-after[...]``)
    do not name anything in the model and are dropped.
    """
    path = ""
    current: Any = model
    field: FieldInfo | None = None
    parent: type[BaseModel] | None = model
    for segment in loc:
        as_model = _model_in(current)
        if isinstance(segment, str) and as_model is not None:
            found = _field_by_wire_name(as_model, segment)
            if found is not None:
                wire, field = found
                parent = as_model
                current = field.annotation
                path = f"{path}.{wire}" if path else wire
                continue
            if as_model.model_config.get("extra") == "forbid":
                # An unknown key: keep it in the path so the user sees which one.
                path = f"{path}.{segment}" if path else segment
                parent, field, current = as_model, None, None
                continue
        item = _container_item(current, segment) if current is not None else None
        if item is not None:
            path = f"{path}[{segment}]" if isinstance(segment, int) else f"{path}.{segment}"
            current, field = item, None
            continue
        if isinstance(segment, int):
            path = f"{path}[{segment}]"
        # Otherwise a union tag or validator name: not part of the user's path.
    return path, field, parent


def _bounds(field: FieldInfo | None) -> tuple[Any, Any]:
    low: Any = None
    high: Any = None
    for meta in field.metadata if field else []:
        if isinstance(meta, annotated_types.Ge | annotated_types.Gt):
            low = meta.ge if isinstance(meta, annotated_types.Ge) else meta.gt
        if isinstance(meta, annotated_types.Le | annotated_types.Lt):
            high = meta.le if isinstance(meta, annotated_types.Le) else meta.lt
    return low, high


def _allowed_fields(model: type[BaseModel] | None) -> str:
    if model is None:
        return ""
    names = sorted(info.alias or name for name, info in model.model_fields.items())
    return "; allowed fields: " + ", ".join(names)


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _message(err: Any, field: FieldInfo | None, parent: type[BaseModel] | None) -> str:
    kind: str = err["type"]
    ctx: dict[str, Any] = err.get("ctx") or {}
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field" + _allowed_fields(parent)
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        low, high = _bounds(field)
        if low is not None and high is not None:
            return f"must be between {_number(low)} and {_number(high)}"
        if kind == "greater_than_equal":
            return f"must be at least {_number(ctx['ge'])}"
        if kind == "greater_than":
            return f"must be greater than {_number(ctx['gt'])}"
        if kind == "less_than_equal":
            return f"must be at most {_number(ctx['le'])}"
        return f"must be less than {_number(ctx['lt'])}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be a whole number"
    if kind in ("float_type", "float_parsing"):
        return "must be a number"
    if kind in ("bool_type", "bool_parsing"):
        return "must be true or false"
    if kind == "string_type":
        return "must be a string"
    if kind == "list_type":
        return "must be a list"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be an object (a mapping of fields)"
    if kind == "string_too_short":
        return "must not be empty" if ctx.get("min_length") == 1 else str(err["msg"]).lower()
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)"
    if kind == "string_pattern_mismatch":
        return f"must match the pattern {ctx.get('pattern')}"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    msg = str(err["msg"])
    return msg[:1].lower() + msg[1:]
