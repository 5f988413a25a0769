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
