"""Turns the PATH arguments of a command into parsed documents.

A PATH is a file, a directory (searched recursively for *.yaml, *.yml and *.json, hidden directories
skipped) or ``-`` for standard input.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..api import ApiError
from ..loader import Document, DocumentError, decode, parse_documents

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"


@dataclass
class Inputs:
    """Everything read from the PATH arguments."""

    documents: list[Document] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """One line per unreadable path or file."""


MAX_INPUT_BYTES = 16 * 2**20
"""The apiserver refuses objects over ~1.5 MiB; a file far larger is not a set of manifests."""


def expand(paths: Sequence[str]) -> tuple[list[str], list[str]]:
    """The files the PATH arguments name, in a stable order, and a problem line per unusable PATH."""
    files: list[str] = []
    problems: list[str] = []
    for raw in paths:
        if raw == STDIN:
            files.append(STDIN)
            continue
        path = Path(raw)
        if path.is_dir():
            found = _manifests_under(path)
            if not found:
                problems.append(
                    f"{raw}: no {', '.join('*' + s for s in MANIFEST_SUFFIXES)} files in this directory"
                )
            files.extend(str(f) for f in found)
        elif path.is_file():
            files.append(raw)
        elif path.exists():
            problems.append(f"{raw}: not a regular file (use - to read standard input)")
        else:
            problems.append(f"{raw}: no such file or directory")
    return files, problems


def _manifests_under(directory: Path) -> list[Path]:
    found = []
    for candidate in directory.rglob("*"):
        relative = candidate.relative_to(directory).parts
        if any(part.startswith(".") for part in relative[:-1]):
            continue
        if candidate.suffix.lower() in MANIFEST_SUFFIXES and candidate.is_file():
            found.append(candidate)
    return sorted(found)


def read_file(name: str) -> list[Document]:
    """The documents of one file, or ``-`` for standard input; a DocumentError when unreadable."""
    try:
        if name == STDIN:
            raw = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        else:
            with Path(name).open("rb") as stream:
                raw = stream.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise DocumentError(name, [_cannot_read(exc)]) from None
    if len(raw) > MAX_INPUT_BYTES:
        raise DocumentError(
            name, [ApiError("", f"larger than {MAX_INPUT_BYTES // 2**20} MiB; not a manifest")]
        )
    text = decode(raw, name)
    return parse_documents(text, name, json_only=name.lower().endswith(".json"))


def _cannot_read(exc: OSError) -> ApiError:
    return ApiError("", f"cannot read: {exc.strerror or type(exc).__name__}")


def read_all(paths: Sequence[str]) -> Inputs:
    """Every document under ``paths``; problems are collected rather than raised."""
    files, problems = expand(paths)
    inputs = Inputs(problems=problems)
    for name in files:
        try:
            inputs.documents.extend(read_file(name))
        except DocumentError as exc:
            inputs.problems.extend(exc.lines())
    return inputs
