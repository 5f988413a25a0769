"""The one reader and writer of a ControllerRevision's outcome annotations.

``data`` of a ControllerRevision is immutable; annotations are not, which is why a revision's outcome,
whether it ever served as stable, and the gates its canary passed live there. Annotations under
``agentoperator.dev/`` this version does not know (written by a newer operator) are carried through
unchanged, so a downgrade followed by an upgrade loses nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from ..reeval import ScoreRecord
from ..render import APPLIED_HASH, GATES, OUTCOME, OUTCOME_AT, OUTCOME_REASON, PREFIX, SERVED_AS_STABLE
from ..rollout.types import AnalysisRun, Approval, EvaluationRecord
from .scheduled_codec import scores_from_wire, scores_to_wire
from .status_codec import (
    analysis_from_wire,
    analysis_to_wire,
    approval_from_wire,
    approval_to_wire,
    evaluation_from_wire,
    evaluation_to_wire,
)
from .timefmt import format_time, parse_time

_PREFIX: Final = PREFIX + "/"
SCHEDULED_SCORES: Final = f"{PREFIX}/scheduled-scores"
"""The last scores of the revision's scheduled re-evaluations (JSON list, oldest first)."""
KNOWN: Final = (OUTCOME, OUTCOME_REASON, OUTCOME_AT, SERVED_AS_STABLE, GATES, APPLIED_HASH, SCHEDULED_SCORES)
"""Read here, or (the applied-hash) recomputed on every write by :mod:`.diff`."""


@dataclass(frozen=True)
class HistoryAnnotations:
    """What a ControllerRevision's annotations say about its revision."""

    outcome: str | None = None
    """Promoted, Aborted, RolledBack or Superseded; None while it is still rolling out."""
    reason: str = ""
    at: datetime | None = None
    served_as_stable: bool = False
    """It was stable at some point: a candidate for a rollback without a target revision."""
    approvals: tuple[Approval, ...] = ()
    evaluations: tuple[EvaluationRecord, ...] = ()
    analysis: tuple[AnalysisRun, ...] = ()
    """The latest measurements of its canary (numbers and verdicts only)."""
    scores: tuple[ScoreRecord, ...] = ()
    """Its last scheduled re-evaluations while it served, oldest first."""
    unknown: Mapping[str, str] = field(default_factory=dict)
    """``agentoperator.dev/`` annotations of a newer operator, kept as they are."""


def parse_history_annotations(annotations: Mapping[str, str] | None) -> HistoryAnnotations:
    """Read the annotations; a hand-edited or malformed value degrades to "not recorded"."""
    raw = dict(annotations or {})
    approvals: list[Approval] = []
    evaluations: list[EvaluationRecord] = []
    analysis: list[AnalysisRun] = []
    try:
        gates = json.loads(raw.get(GATES) or "{}")
    except ValueError:
        gates = {}
    if isinstance(gates, dict):
        approvals = [a for a in map(approval_from_wire, gates.get("approvals") or []) if a is not None]
        evaluations = [e for e in map(evaluation_from_wire, gates.get("evaluations") or []) if e is not None]
        analysis = [r for r in map(analysis_from_wire, gates.get("analysis") or []) if r is not None]
    try:
        scores = scores_from_wire(json.loads(raw.get(SCHEDULED_SCORES) or "[]"))
    except ValueError:
        scores = ()
    return HistoryAnnotations(
        outcome=raw.get(OUTCOME) or None,
        reason=raw.get(OUTCOME_REASON, ""),
        at=parse_time(raw.get(OUTCOME_AT)),
        served_as_stable=raw.get(SERVED_AS_STABLE) == "true",
        approvals=tuple(approvals),
        evaluations=tuple(evaluations),
        analysis=tuple(analysis),
        scores=scores,
        unknown={k: v for k, v in raw.items() if k.startswith(_PREFIX) and k not in KNOWN},
    )


def history_annotations(value: HistoryAnnotations) -> dict[str, str]:
    """The annotations the operator owns on a ControllerRevision, unknown ones included."""
    out = dict(value.unknown)
    if value.outcome is not None:
        out[OUTCOME] = value.outcome
        out[OUTCOME_REASON] = value.reason
    if value.at is not None:
        out[OUTCOME_AT] = format_time(value.at)
    if value.served_as_stable:
        out[SERVED_AS_STABLE] = "true"
    if value.approvals or value.evaluations or value.analysis:
        gates: dict[str, list[dict[str, object]]] = {
            "approvals": [approval_to_wire(a) for a in value.approvals],
            "evaluations": [evaluation_to_wire(e) for e in value.evaluations],
        }
        if value.analysis:
            gates["analysis"] = [analysis_to_wire(r) for r in value.analysis]
        out[GATES] = json.dumps(gates, sort_keys=True, separators=(",", ":"))
    if value.scores:
        out[SCHEDULED_SCORES] = json.dumps(
            scores_to_wire(value.scores), sort_keys=True, separators=(",", ":")
        )
    return out
