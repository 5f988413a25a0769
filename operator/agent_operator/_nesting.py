"""How deep YAML text nests, read from the characters before any YAML library sees them.

The loader refuses absurd nesting with its own message whatever the installed parser does: libyaml
composes recursively in C (old versions crash on a deep document), newer PyYAML versions refuse at a
limit of their own with their own words. This scan is a cheap upper bound of the collection depth:

- flow collections (``[``, ``{``) count one level each;
- a block line counts two levels for every shallower indentation above it (a mapping and the sequence
  that is its value can share a column) plus one for each block indicator on the line itself
  (``- - - x`` nests three sequences, ``- key: v`` a mapping inside a sequence item);
- quoted scalars, comments and block scalars (``|``, ``>``) are skipped, so brackets inside strings
  never count.

Real manifests estimate well under 40; the bound only has to stay above the true depth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_OPENERS = "[{"
_CLOSERS = "]}"
# After these (or at the start of a line) a quote or a bracket starts a node; elsewhere, in block
# context, it is part of a plain scalar (`a: x[1]`, `:[:` as a key).
_NODE_START = "-?:,[{"


@dataclass
class _Scan:
    limit: int
    flow: int = 0
    quote: str = ""
    indents: list[int] = field(default_factory=list)
    block_base: int = 0
    block_scalar_parent: int | None = None
    """Lines indented more than this column belong to a block scalar."""
    found: tuple[int, int] | None = None

    def deeper(self, depth: int, line: int, column: int) -> bool:
        if depth > self.limit and self.found is None:
            self.found = (line, column)
        return self.found is not None


def first_too_deep(text: str, limit: int) -> tuple[int, int] | None:
    """(line, column), from 1, where ``text`` may nest more than ``limit`` collections, or None."""
    scan = _Scan(limit)
    for number, line in enumerate(text.splitlines(), start=1):
        if _scan_line(scan, line, number):
            return scan.found
    return None


def _indentation(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _scan_line(scan: _Scan, line: str, number: int) -> bool:
    stripped = line.strip()
    indent = _indentation(line)
    if scan.block_scalar_parent is not None:
        if not stripped or indent > scan.block_scalar_parent:
            return False
        scan.block_scalar_parent = None
    if not scan.quote and scan.flow == 0:
        if not stripped or stripped.startswith("#"):
            return False
        if line.startswith(("---", "...")):
            scan.indents.clear()
            scan.block_base = 0
            return False
        while scan.indents and scan.indents[-1] >= indent:
            scan.indents.pop()
        scan.block_base = 2 * len(scan.indents) + 1
        scan.indents.append(indent)
        if scan.deeper(scan.block_base, number, indent + 1):
            return True
    return _scan_characters(scan, line, number, indent)


def _scan_characters(scan: _Scan, line: str, number: int, indent: int) -> bool:
    in_block = not scan.quote and scan.flow == 0
    indicators = 0
    owner = indent  # column of the innermost block node that starts on this line
    previous = ""  # last significant character outside a scalar
    i = 0
    while i < len(line):
        char = line[i]
        if scan.quote:
            i = _skip_quoted(scan, line, i)
            previous = "x"
            continue
        nxt = line[i + 1] if i + 1 < len(line) else " "
        if char == "#" and (i == 0 or line[i - 1] in " \t"):
            break
        if char in "'\"" and _starts_node(previous):
            if previous in ("", "-", "?", ":") and scan.flow == 0:
                owner = i  # a quoted key owns a block scalar after it, as a plain one does
            scan.quote = char
            i += 1
            continue
        if char in _OPENERS and (scan.flow or _starts_node(previous)):
            scan.flow += 1
            if scan.deeper(scan.block_base + indicators + scan.flow, number, i + 1):
                return True
            previous = char
        elif char in _CLOSERS and scan.flow:
            scan.flow -= 1
            previous = char
        elif scan.flow and char == ":":
            previous = char  # a flow mapping's value may be quoted
        elif scan.flow == 0 and char in "-?:" and nxt in " \t" and (char == ":" or _starts_node(previous)):
            indicators += 1
            owner = i if char != ":" else owner
            if scan.deeper(scan.block_base + indicators, number, i + 1):
                return True
            previous = char
        elif in_block and scan.flow == 0 and char in "|>" and previous in ("", ":", "-", "?"):
            if _is_block_scalar_header(line[i:]):
                scan.block_scalar_parent = owner
                return False
            previous = char
        elif char not in " \t":
            if previous in ("", "-", "?", ":") and scan.flow == 0:
                owner = i
            previous = "x" if char not in "," else char
        i += 1
    return False


def _starts_node(previous: str) -> bool:
    return previous == "" or previous in _NODE_START


def _is_block_scalar_header(rest: str) -> bool:
    """``|``, ``>`` with optional chomping/indentation indicators, then only a comment or nothing."""
    head, _, _ = rest.partition(" #")
    return all(c in "+-0123456789" for c in head.strip()[1:])


def _skip_quoted(scan: _Scan, line: str, i: int) -> int:
    """The index after the closing quote on this line, or the line's end (the scalar continues)."""
    while i < len(line):
        char = line[i]
        if scan.quote == '"' and char == "\\":
            i += 2
            continue
        if char == scan.quote:
            if scan.quote == "'" and line[i + 1 : i + 2] == "'":
                i += 2
                continue
            scan.quote = ""
            return i + 1
        i += 1
    return i
