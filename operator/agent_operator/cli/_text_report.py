"""The text form of readiness reports: a header per agent, then one line per check."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._console import Console

if TYPE_CHECKING:
    from ..policy import CheckResult, ReadinessReport

MARKS = {"fail": ("✗", "red"), "warn": ("!", "yellow"), "pass": ("✓", "green"), "skip": ("-", "dim")}
"""Mark and colour per check status."""

_ORDER = ("fail", "warn", "pass", "skip")
"""Failures first: they are what the reader came for."""


def format_report(location: str, report: ReadinessReport, console: Console) -> str:
    lines = [_header(location, report, console)]
    width = max((len(c.id) for c in report.checks), default=0)
    for status in _ORDER:
        for check in report.checks:
            if check.status == status:
                lines.extend(_check_lines(check, width, console))
    return "\n".join(lines) + "\n"


def _header(location: str, report: ReadinessReport, console: Console) -> str:
    failing = len(report.missing_required)
    warnings = len(report.warnings)
    if report.ready:
        verdict = console.style("READY", "bold", "green")
    else:
        verdict = console.style(f"NOT READY ({_plural(failing, 'required check')} failing)", "bold", "red")
    extra = f", {_plural(warnings, 'warning')}" if warnings else ""
    name = console.style(report.agent, "bold")
    return (
        f"{location}: {name}  policy {report.policy} ({report.enforcement})"
        f"  score {report.score}/100  {verdict}{extra}"
    )


def _check_lines(check: CheckResult, width: int, console: Console) -> list[str]:
    mark, colour = MARKS.get(check.status, ("?", "bold"))
    text = check.message or check.title
    where = f" [{check.path}]" if check.path and check.status in ("fail", "warn") else ""
    line = f"  {console.style(mark, colour)} {check.id.ljust(width)}  {text}{where}"
    if check.status == "skip":
        line = console.style(line, "dim") if console.colour else line
    lines = [line]
    if check.status in ("fail", "warn") and check.remediation:
        lines.append(f"      {console.style('fix:', 'cyan')} {check.remediation}")
    return lines


def format_summary(reports: Sequence[ReadinessReport], console: Console) -> str:
    ready = sum(1 for r in reports if r.ready)
    not_ready = len(reports) - ready
    summary = f"{_plural(len(reports), 'agent')}: {ready} ready, {not_ready} not ready"
    return console.style(summary, "bold")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
