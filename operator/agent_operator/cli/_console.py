"""Where output goes, and whether it may be coloured."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import TextIO

_STYLES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


def wants_colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@dataclass
class Console:
    """Standard output for results, standard error for notes and problems."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    colour: bool = False

    @classmethod
    def for_terminal(cls) -> Console:
        return cls(sys.stdout, sys.stderr, wants_colour(sys.stdout))

    def style(self, text: str, *styles: str) -> str:
        if not self.colour or not styles:
            return text
        codes = ";".join(_STYLES[s] for s in styles)
        return f"\033[{codes}m{text}\033[0m"

    def print(self, text: str = "") -> None:
        print(text, file=self.out)

    def problem(self, line: str) -> None:
        print(line, file=self.err)

    def note(self, line: str) -> None:
        print(f"note: {line}", file=self.err)
