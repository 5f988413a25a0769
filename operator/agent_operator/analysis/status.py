"""A measurement as the status model stores it: the one conversion, for the status codec."""

from __future__ import annotations

from ..api.analysis import AnalysisRunStatus, MetricResultStatus
from .verdict import AnalysisVerdict

MESSAGE_LIMIT = 1024


def run_status(
    verdict: AnalysisVerdict, *, revision: str, step: int | None, measured_at: str
) -> AnalysisRunStatus:
    """The status entry of one measurement. Values are numbers computed by the operator's own
    queries; no label value from Prometheus is ever copied into it."""
    return AnalysisRunStatus(
        revision=revision,
        step=step,
        measured_at=measured_at,
        verdict=verdict.verdict,
        action=verdict.action,
        reason=verdict.reason,
        message=verdict.message[:MESSAGE_LIMIT],
        metrics=[
            MetricResultStatus(
                name=r.name,
                verdict=r.verdict,
                reason=r.reason,
                canary=r.canary,
                stable=r.stable,
                limit=r.limit,
                threshold=r.threshold,
                canary_samples=r.canary_samples,
                stable_samples=r.stable_samples,
            )
            for r in verdict.results
        ],
    )


def event_for(verdict: AnalysisVerdict, revision: str) -> tuple[str, str, str]:
    """(type, reason, message) of the Event recording one measurement."""
    if verdict.verdict == "Passed":
        return "Normal", "AnalysisPassed", f"analysis of revision {revision} passed: {verdict.message}"
    if verdict.verdict == "Failed":
        what = "rolls back" if verdict.action == "Rollback" else "pauses"
        return "Warning", "AnalysisFailed", f"revision {revision} {what}: {verdict.message}"[:MESSAGE_LIMIT]
    return (
        "Warning",
        "AnalysisInconclusive",
        f"analysis of revision {revision} is inconclusive ({verdict.reason}), "
        f"{'continuing' if verdict.action == 'Continue' else 'paused'}: {verdict.message}"[:MESSAGE_LIMIT],
    )
