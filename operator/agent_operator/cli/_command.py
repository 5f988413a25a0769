"""What a subcommand module provides, so that ``main`` can register it without knowing its insides."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from ._console import Console


@dataclass(frozen=True)
class Command:
    """One ``agentctl`` subcommand."""

    name: str
    summary: str
    """One line for ``agentctl --help``."""
    description: str
    """The text of ``agentctl NAME --help``."""
    configure: Callable[[argparse.ArgumentParser], None]
    """Adds the command's arguments."""
    run: Callable[[argparse.Namespace, Console], int]
    """Does the work and returns the exit code."""


EXIT_OK = 0
"""Success; for validate, every required check passes."""
EXIT_NOT_READY = 1
"""validate: a required readiness check fails."""
EXIT_INVALID = 2
"""Unreadable input, an invalid object, a usage error or an internal error."""
