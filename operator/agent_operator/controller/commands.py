"""The one reader and writer of command annotations (approve, promote, abort, retry, rollback,
budget).

agentctl (and the Argo CD actions) write one annotation per verb, ``agentoperator.dev/command.<verb>``,
holding a small JSON document with the time it was issued. Keeping commands in the object, not in a
request to the operator, means they survive operator restarts and show up in `kubectl get -o yaml`.
Fields this version does not know (written by a newer agentctl) are kept in ``Command.unknown`` and
written back unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from ..render import COMMAND_PREFIX
from ..rollout.types import VERBS, Command, Verb
from .command_proof import PROOF_FIELD
from .timefmt import format_time, parse_time

__all__ = [
    "COMMAND_PREFIX",
    "VERBS",
    "CommandError",
    "Verb",
    "command_annotation",
    "decode_command",
    "encode_command",
    "parse_commands",
    "restamp",
]

_KNOWN: Final = ("at", "by", "revision", "step", "full", "toRevision", "usd", "forSeconds", PROOF_FIELD)
"""The proof is not carried through a rewrite: whoever rewrites a command must sign it again."""

Verifier = Callable[[str, str], bool]
"""(annotation key, raw value) -> whether its identity proof verifies."""
Signer = Callable[[str, Mapping[str, Any]], str]
"""(annotation key, body without proof) -> the proof."""


class CommandError(ValueError):
    """A command annotation that cannot be acted on; the message says why."""


def encode_command(command: Command) -> dict[str, str]:
    """The annotation carrying ``command``."""
    body: dict[str, Any] = {**command.unknown, "at": format_time(command.at), "by": command.by}
    if command.revision:
        body["revision"] = command.revision
    if command.step is not None:
        body["step"] = command.step
    if command.full:
        body["full"] = True
    if command.to_revision is not None:
        body["toRevision"] = command.to_revision
    if command.usd is not None:
        body["usd"] = command.usd
    if command.for_seconds is not None:
        body["forSeconds"] = command.for_seconds
    return {COMMAND_PREFIX + command.verb: json.dumps(body, sort_keys=True, separators=(",", ":"))}


def command_annotation(
    verb: Verb,
    *,
    at: datetime,
    by: str,
    revision: str | None = None,
    step: int | None = None,
    full: bool = False,
    to_revision: int | None = None,
    usd: float | None = None,
    for_seconds: int | None = None,
) -> dict[str, str]:
    """The annotation agentctl sets for a command."""
    return encode_command(Command(verb, at, by, revision or None, step, full, to_revision, usd, for_seconds))


def _verb(key: str) -> Verb:
    verb = key[len(COMMAND_PREFIX) :]
    for known in VERBS:
        if verb == known:
            return known
    raise CommandError(f"annotation {key}: unknown command; known: {', '.join(VERBS)}")


def _optional_int(body: Mapping[str, Any], field: str) -> int | None:
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise CommandError(f"'{field}' must be a whole number, not {json.dumps(value)}")
    return value


def _optional_usd(body: Mapping[str, Any]) -> float | None:
    value = body.get("usd")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise CommandError(f"'usd' must be a positive number, not {json.dumps(value)}")
    return float(value)


def decode_command(key: str, raw: str) -> Command:
    """The command in annotation ``key``; :class:`CommandError` says why it cannot be read."""
    verb = _verb(key)
    try:
        body = json.loads(raw)
    except ValueError:
        raise CommandError(f"annotation {key}: ignored, not JSON") from None
    try:
        if not isinstance(body, dict):
            raise CommandError("not an object")
        at = parse_time(body.get("at")) if isinstance(body.get("at"), str) else None
        if at is None:
            raise CommandError("'at' is missing or not an RFC 3339 time")
        revision = body.get("revision")
        if revision is not None and not isinstance(revision, str):
            raise CommandError(f"'revision' must be a string, not {json.dumps(revision)}")
        by = body.get("by")
        return Command(
            verb=verb,
            at=at,
            by=by if isinstance(by, str) else "",
            revision=revision or None,
            step=_optional_int(body, "step"),
            full=body.get("full") is True,
            to_revision=_optional_int(body, "toRevision"),
            usd=_optional_usd(body),
            for_seconds=_optional_int(body, "forSeconds"),
            unknown={k: v for k, v in body.items() if k not in _KNOWN},
        )
    except CommandError as exc:
        raise CommandError(f"annotation {key}: ignored, {exc}") from None


def parse_commands(
    annotations: Mapping[str, str] | None, verify: Verifier | None = None
) -> tuple[tuple[Command, ...], list[str]]:
    """Commands found in the annotations, and a note for each one that is malformed. With
    ``verify``, each command says whether its identity proof verifies."""
    commands: list[Command] = []
    problems: list[str] = []
    for key, raw in sorted((annotations or {}).items()):
        if not key.startswith(COMMAND_PREFIX):
            continue
        try:
            command = decode_command(key, raw)
        except CommandError as exc:
            problems.append(str(exc))
            continue
        commands.append(command if verify is None else replace(command, verified=verify(key, raw)))
    return tuple(commands), problems


def restamp(key: str, raw: str, username: str, sign: Signer | None = None) -> str | None:
    """The annotation with ``by`` replaced by ``username`` and, with ``sign``, a fresh proof over
    all of it; None when it is malformed (left for the operator to report) or already reads so."""
    try:
        command = decode_command(key, raw)
    except CommandError:
        return None
    rewritten = encode_command(replace(command, by=username))[key]
    if sign is not None:
        body: dict[str, Any] = json.loads(rewritten)
        body[PROOF_FIELD] = sign(key, body)
        rewritten = json.dumps(body, sort_keys=True, separators=(",", ":"))
    if rewritten == raw or (sign is None and command.by == username):
        return None
    return rewritten
