"""Reads YAML and JSON text into API models, turning every problem into one-line ApiErrors.

Shared by ``agentctl`` and the operator, so the same input fails the same way everywhere. Nothing
here echoes input values: error messages carry paths, positions and what is allowed, never what was
written (a misplaced credential must not end up in a CI log).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ._nesting import first_too_deep
from .api import AgentDeployment, ApiError, ReadinessPolicy, format_validation_error
from .api.agent import API_VERSION

M = TypeVar("M", bound=BaseModel)

# libyaml parses about ten times faster than the pure-Python loader; both are the safe subset.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

KNOWN_KINDS: dict[str, type[BaseModel]] = {
    "AgentDeployment": AgentDeployment,
    "ReadinessPolicy": ReadinessPolicy,
}


class DocumentError(Exception):
    """A document that cannot be read, or that is not a valid object of its kind."""

    def __init__(self, location: str, errors: list[ApiError]) -> None:
        super().__init__(location)
        self.location = location
        self.errors = errors

    def lines(self) -> list[str]:
        """One ``LOCATION: path: message`` line per problem."""
        return [f"{self.location}: {error}" for error in self.errors]

    def __str__(self) -> str:
        return "; ".join(self.lines())


@dataclass(frozen=True)
class Document:
    """One document of a (possibly multi-document) file."""

    source: str
    """File name, or ``-`` for standard input."""
    index: int
    """Position in the file, from 0; documents that are empty are not counted."""
    data: Any
    """The parsed content."""
    multi: bool = False
    """The file holds several documents, so locations name the index."""

    @property
    def location(self) -> str:
        return f"{self.source}#{self.index}" if self.multi else self.source

    @property
    def is_object(self) -> bool:
        """A mapping, as every Kubernetes object is; a bare list or scalar is not a manifest."""
        return isinstance(self.data, Mapping)

    @property
    def kind(self) -> str | None:
        kind = self.data.get("kind") if isinstance(self.data, Mapping) else None
        return kind if isinstance(kind, str) else None

    @property
    def name(self) -> str | None:
        meta = self.data.get("metadata") if isinstance(self.data, Mapping) else None
        name = meta.get("name") if isinstance(meta, Mapping) else None
        return name if isinstance(name, str) else None


def _problem(location: str, message: str) -> DocumentError:
    return DocumentError(location, [ApiError("", message)])


def decode(raw: bytes, source: str) -> str:
    """The UTF-8 text of a file's bytes; binary content is a DocumentError."""
    if b"\x00" in raw:
        raise _problem(source, "not a text file (it contains NUL bytes)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _problem(source, f"not UTF-8 text (invalid byte at offset {exc.start})") from None


def parse_documents(text: str, source: str, *, json_only: bool = False) -> list[Document]:
    """The non-empty documents of ``text``: YAML (multi-document) or, with ``json_only``, one JSON value.

    Syntax errors become a DocumentError naming line and column.
    """
    values = [_parse_json(text, source)] if json_only else list(_parse_yaml(text, source))
    values = [v for v in values if v is not None]
    multi = len(values) > 1
    return [Document(source, i, value, multi) for i, value in enumerate(values)]


def _parse_json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _problem(source, f"line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise _problem(source, "JSON nested too deeply") from None


MAX_NESTING = 100
"""Kubernetes objects nest a few dozen levels at most; far deeper input is an attack on the
parser (libyaml composes recursively in C and would crash the process)."""


def _check_shape(text: str, source: str) -> None:
    """Refuse what would blow up while composing or later: absurd nesting, judged from the text
    before any parser runs (so the answer does not depend on the installed PyYAML), then aliases
    (a few lines of anchors can expand to gigabytes once copied) and nesting again from the parser's
    events, which are iterative and cheap."""
    too_deep = first_too_deep(text, MAX_NESTING)
    if too_deep is not None:
        line, column = too_deep
        raise _problem(source, f"line {line}, column {column}: nested more than {MAX_NESTING} levels deep")
    depth = 0
    for event in yaml.parse(text, Loader=_YAML_LOADER):
        problem = None
        if isinstance(event, yaml.AliasEvent):
            problem = "YAML aliases (*name) are not accepted; write the value out"
        elif isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_NESTING:
                problem = f"nested more than {MAX_NESTING} levels deep"
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        if problem:
            mark = event.start_mark
            where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
            raise _problem(source, f"{where}{problem}")


def _parse_yaml(text: str, source: str) -> Iterator[Any]:
    try:
        _check_shape(text, source)
        yield from yaml.load_all(text, Loader=_YAML_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        # Only pyyaml's description of the problem: its snippet of the offending line could hold a secret.
        problem = exc.problem or exc.context or "invalid YAML"
        raise _problem(source, f"{where}YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        position = getattr(exc, "position", None)
        where = f"character {position}: " if isinstance(position, int) else ""
        reason = getattr(exc, "reason", None) or "invalid YAML"
        raise _problem(source, f"{where}YAML error: {reason}") from None
    except RecursionError:
        raise _problem(source, "YAML nested too deeply") from None


def to_model(data: object, model: type[M], location: str = "") -> M:
    """``data`` validated as ``model``; every problem becomes an ApiError in a DocumentError.

    Nothing but DocumentError escapes, whatever ``data`` is.
    """
    if not isinstance(data, Mapping):
        raise _problem(location, "must be an object (a mapping of fields)")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = format_validation_error(exc, model)
    except (ValueError, TypeError, RecursionError):
        # A validator tripping over a shape pydantic let through: report it, never crash.
        errors = [ApiError("", "is not a valid object of this kind")]
    raise DocumentError(location, _redact(errors, _literal_env_values(data)))


def load_agent(data: object, location: str = "") -> AgentDeployment:
    """An AgentDeployment from parsed YAML/JSON, or a DocumentError."""
    _expect_kind(data, "AgentDeployment", location)
    return to_model(data, AgentDeployment, location)


def load_policy(data: object, location: str = "") -> ReadinessPolicy:
    """A ReadinessPolicy from parsed YAML/JSON, or a DocumentError."""
    _expect_kind(data, "ReadinessPolicy", location)
    return to_model(data, ReadinessPolicy, location)


def _expect_kind(data: object, kind: str, location: str) -> None:
    if not isinstance(data, Mapping):
        raise _problem(location, "must be an object (a mapping of fields)")
    if data.get("kind") != kind:
        raise DocumentError(location, [ApiError("kind", f"must be {kind}")])
    if data.get("apiVersion") != API_VERSION:
        raise DocumentError(location, [ApiError("apiVersion", f"must be {API_VERSION}")])


def _literal_env_values(data: object) -> set[str]:
    """Every literal ``value`` of an env list anywhere in ``data``: the strings most likely to be secrets."""
    found: set[str] = set()
    seen: set[int] = set()
    stack: list[object] = [data]
    while stack:
        node = stack.pop()
        # YAML aliases can make a document share or even contain itself.
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, Mapping):
            env = node.get("env")
            if isinstance(env, list):
                for item in env:
                    value = item.get("value") if isinstance(item, Mapping) else None
                    if isinstance(value, str) and len(value) >= 4:
                        found.add(value)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _redact(errors: list[ApiError], secrets: set[str]) -> list[ApiError]:
    """Errors with any literal env value blanked out, should a validator have quoted one."""
    if not secrets:
        return errors
    cleaned: list[ApiError] = []
    for error in errors:
        message = error.message
        for secret in secrets:
            message = message.replace(secret, "<redacted>")
        cleaned.append(ApiError(error.path, message))
    return cleaned
