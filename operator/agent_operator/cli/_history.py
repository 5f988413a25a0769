"""Revision history for humans: the ``history`` table, revision references and spec diffs.

Pure functions of ControllerRevisions (parsed by :func:`agent_operator.controller.history.parse_history`)
and the agent's status; no API calls.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from ..controller.history import Revision
from ..controller.scheduled_codec import reeval_state, scores_to_wire
from ..controller.status_codec import analysis_to_wire, read_status, state_from_status
from ..reeval import ScoreRecord
from ..rollout.types import AnalysisRun


@dataclass(frozen=True)
class HistoryRow:
    """One line of ``agentctl history``."""

    number: int
    revision: str
    role: str
    """"stable", "canary" or "" for a revision that runs nowhere."""
    created: str
    outcome: str
    reason: str
    approved_by: str
    score: float | None
    image: str
    analysis: tuple[AnalysisRun, ...] = ()
    """Its canary's latest measurements of spec.analysis, oldest first."""
    scheduled: tuple[ScoreRecord, ...] = ()
    """Its last scheduled re-evaluations while it served, oldest first."""

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "revision": self.revision,
            "role": self.role or None,
            "created": self.created,
            "outcome": self.outcome or None,
            "reason": self.reason or None,
            "approvedBy": self.approved_by or None,
            "score": self.score,
            "image": self.image or None,
            "analysis": [analysis_to_wire(r) for r in self.analysis] or None,
            "scheduledScores": scores_to_wire(self.scheduled) or None,
        }

    @property
    def analysis_text(self) -> str:
        """The last measurement in a word, with the failing checks."""
        if not self.analysis:
            return "-"
        last = self.analysis[-1].verdict
        bad = [r.name for r in last.results if r.verdict != "Passed"]
        return last.verdict + (f" ({', '.join(bad)})" if bad else "")


HISTORY_HEADERS = (
    "NUMBER", "REVISION", "CREATED", "OUTCOME", "REASON", "APPROVED BY", "SCORE", "SCHEDULED", "ANALYSIS",
    "IMAGE",
)  # fmt: skip


def format_trend(scores: Sequence[ScoreRecord]) -> str:
    """Scheduled scores oldest first, e.g. ``0.95 0.93 0.61!``: ``!`` marks a run that failed
    (below minScore, the Job failed, or timed out); a run without a score shows its result."""
    if not scores:
        return "-"
    return " ".join(
        (f"{s.score:g}" if s.score is not None else s.result) + ("!" if s.regressed else "") for s in scores
    )


def history_rows(history: Mapping[str, Revision], status: Mapping[str, Any]) -> list[HistoryRow]:
    """Every revision, oldest first. The current canary has no outcome annotation yet, so its gates
    come from the status the operator keeps while it rolls out."""
    state = state_from_status(dict(status))
    schedule = reeval_state(read_status(dict(status)))
    rows = []
    for rev in sorted(history.values(), key=lambda r: r.number):
        approvals, evaluations = rev.annotations.approvals, rev.annotations.evaluations
        analysis = rev.annotations.analysis
        if rev.revision == state.canary_revision and not analysis:
            analysis = state.analysis_runs
        if rev.revision == state.canary_revision and not approvals and not evaluations:
            approvals, evaluations = state.approvals, state.evaluations
            if state.evaluation is not None and not evaluations:
                evaluations = (state.evaluation,)
        role = (
            "canary"
            if rev.revision == state.canary_revision
            else "stable"
            if rev.revision == state.stable_revision
            else ""
        )
        scores = [e.score for e in evaluations if e.score is not None]
        scheduled = rev.annotations.scores
        if rev.revision == schedule.revision and schedule.scores:
            scheduled = schedule.scores  # status is written in the same reconcile, and never skipped
        rows.append(
            HistoryRow(
                number=rev.number,
                revision=rev.revision,
                role=role,
                created=rev.created,
                outcome=rev.annotations.outcome or "",
                reason=rev.annotations.reason,
                approved_by=next((a.by for a in reversed(approvals) if a.by), ""),
                score=scores[-1] if scores else None,
                image=str(
                    ((rev.body.get("data") or {}).get("spec") or {}).get("container", {}).get("image", "")
                ),
                analysis=analysis,
                scheduled=scheduled,
            )
        )
    return rows


def format_history(rows: Sequence[HistoryRow]) -> str:
    body = [
        (
            str(r.number),
            f"{r.revision} ({r.role})" if r.role else r.revision,
            r.created or "-",
            r.outcome or ("InProgress" if r.role == "canary" else "-"),
            r.reason or "-",
            r.approved_by or "-",
            format_score(r.score),
            format_trend(r.scheduled),
            r.analysis_text,
            r.image or "-",
        )
        for r in rows
    ]
    return format_table(HISTORY_HEADERS, body)


def format_score(score: float | None) -> str:
    return "-" if score is None else f"{score:g}"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns left-aligned and three spaces apart, like ``kubectl get``."""
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    lines = [
        "   ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (headers, *rows)
    ]
    return "\n".join(lines) + "\n"


class UnknownRevision(ValueError):
    """A revision reference matches nothing, or more than one revision."""


def resolve_revision(history: Mapping[str, Revision], ref: str) -> Revision:
    """The revision a user means by ``ref``: a history number (``3``), or a revision hash or an
    unambiguous prefix of one. A number wins over a hash prefix made only of digits."""
    ref = ref.strip()
    if not ref:
        raise UnknownRevision("an empty revision reference")
    if ref.isdigit():
        by_number = [r for r in history.values() if r.number == int(ref)]
        if by_number:
            return by_number[0]
    matches = sorted((r for r in history.values() if r.revision.startswith(ref)), key=lambda r: r.number)
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        names = ", ".join(f"{r.number} ({r.revision})" for r in matches)
        raise UnknownRevision(f"revision {ref!r} is ambiguous: it matches {names}")
    known = ", ".join(str(r.number) for r in sorted(history.values(), key=lambda r: r.number)) or "none"
    raise UnknownRevision(f"no revision {ref!r} in history (numbers: {known})")


def spec_yaml(rev: Revision) -> str:
    """The spec snapshot as YAML with sorted keys, so a diff shows changes and not reordering."""
    spec = (rev.body.get("data") or {}).get("spec") or {}
    return yaml.safe_dump(spec, sort_keys=True, default_flow_style=False, allow_unicode=True)


def spec_diff(old: Revision, new: Revision) -> str:
    """A unified diff of two spec snapshots; empty when they are identical."""
    lines = difflib.unified_diff(
        spec_yaml(old).splitlines(keepends=True),
        spec_yaml(new).splitlines(keepends=True),
        fromfile=f"revision {old.number} ({old.revision})",
        tofile=f"revision {new.number} ({new.revision})",
    )
    return "".join(lines)
