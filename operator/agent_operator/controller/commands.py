"""Human commands (approve, promote, abort, retry, rollback) carried by annotations.

agentctl writes one annotation per verb, ``agentoperator.dev/command.<verb>``, holding a small
JSON document with the time it was issued. Keeping commands in the object, not in a request to
the operator, means they survive operator restarts and show up in `kubectl get -o yaml`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, cast, get_args

from ..rollout.types import Command
from .timefmt import format_time, parse_time

COMMAND_PREFIX = "agentoperator.dev/command."
Verb = Literal["approve", "promote", "abort", "retry", "rollback"]
VERBS: tuple[str, ...] = get_args(Verb)


def command_annotation(
    verb: Verb,
    *,
    at: datetime,
    by: str,
    revision: str | None = None,
    step: int | None = None,
    full: bool = False,
    to_revision: int | None = None,
) -> dict[str, str]:
    """The annotation agentctl sets for a command."""
    body: dict[str, Any] = {"at": format_time(at), "by": by}
    if revision:
        body["revision"] = revision
    if step is not None:
        body["step"] = step
    if full:
        body["full"] = True
    if to_revision is not None:
        body["toRevision"] = to_revision
    return {COMMAND_PREFIX + verb: json.dumps(body, sort_keys=True, separators=(",", ":"))}


def parse_commands(annotations: Mapping[str, str] | None) -> tuple[tuple[Command, ...], list[str]]:
    """Commands found in the annotations, and a note for each one that is malformed."""
    commands: list[Command] = []
    problems: list[str] = []
    for key, raw in sorted((annotations or {}).items()):
        if not key.startswith(COMMAND_PREFIX):
            continue
        verb = key[len(COMMAND_PREFIX) :]
        if verb not in VERBS:
            problems.append(f"annotation {key}: unknown command; known: {', '.join(VERBS)}")
            continue
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("not an object")
            at = parse_time(body.get("at"))
            if at is None:
                raise ValueError("'at' is missing or not an RFC 3339 time")
            to_revision = body.get("toRevision")
            step = body.get("step")
            commands.append(
                Command(
                    verb=cast(Verb, verb),
                    at=at,
                    by=str(body.get("by") or ""),
                    revision=body.get("revision"),
                    step=int(step) if step is not None else None,
                    full=bool(body.get("full", False)),
                    to_revision=int(to_revision) if to_revision is not None else None,
                )
            )
        except (ValueError, TypeError) as exc:
            problems.append(f"annotation {key}: ignored, {exc}")
    return tuple(commands), problems
