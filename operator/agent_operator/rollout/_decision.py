"""The accumulator one reconcile's decision is built in, and the lifecycle moves every rule shares
(supersede, fail, promote a canary)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .types import (
    AnalysisRequest,
    Event,
    HistoryUpdate,
    RevisionObservation,
    RevisionOutcome,
    RolloutInput,
    RolloutState,
)


@dataclass
class Decision:
    """State as it evolves during one call, plus what the call has to tell the controller."""

    inp: RolloutInput
    state: RolloutState
    events: list[Event] = field(default_factory=list)
    history: list[HistoryUpdate] = field(default_factory=list)
    record_revision: str | None = None
    measure: list[AnalysisRequest] = field(default_factory=list)

    def update(self, **changes: Any) -> None:
        self.state = replace(self.state, **changes)

    def emit(self, type_: Literal["Normal", "Warning"], reason: str, message: str) -> None:
        self.events.append(Event(type_, reason, message))

    def observed(self, revision: str | None) -> RevisionObservation:
        if revision is None:
            return RevisionObservation("")
        return self.inp.revisions.get(revision, RevisionObservation(revision))

    def record_outcome(self, revision: str, outcome: RevisionOutcome, reason: str) -> None:
        gates = self.state.canary_revision == revision
        self.history.append(
            HistoryUpdate(
                revision,
                outcome,
                reason,
                approvals=self.state.approvals if gates else (),
                evaluations=self.state.evaluations if gates else (),
                analysis=self.state.analysis_runs if gates else (),
            )
        )

    def clear_canary(self, **also: Any) -> None:
        """Forget the in-flight canary; a frozen failure belongs to it and goes with it. The latest
        measurement stays, so status keeps showing the table that rolled a canary back."""
        changes: dict[str, Any] = {
            "canary_revision": None,
            "step_index": 0,
            "step_started_at": None,
            "rollout_started_at": None,
            "restart_baseline": 0,
            "approval": None,
            "evaluation": None,
            "approvals": (),
            "evaluations": (),
            "analysis_passed": 0,
            "analysis_measured_at": None,
            "background_measured_at": None,
            "analysis_runs": (),
            "widenings": (),
        }
        if self.state.failed_revision is None:
            changes.update(failure_reason=None, message="")
        changes.update(also)
        self.update(**changes)


def supersede_canary(d: Decision, keep: str | None, why: str) -> None:
    """Remove an in-flight canary other than ``keep`` and record it as Superseded."""
    canary = d.state.canary_revision
    if canary is None or canary == keep:
        return
    d.record_outcome(canary, "Superseded", why)
    d.emit("Normal", "Superseded", f"revision {canary} stopped at step {d.state.step_index}: {why}")
    d.clear_canary()


def fail_canary(d: Decision, outcome: RevisionOutcome, reason: str, message: str, roll_back: bool) -> None:
    """The canary failed: with ``roll_back`` it is removed and stable returns to full size in this
    very plan; without, the rollout freezes where it is for a human to decide."""
    canary = d.state.canary_revision
    assert canary is not None
    stable = d.state.stable_revision
    if not roll_back:
        d.emit(
            "Warning",
            reason,
            f"revision {canary} failed at step {d.state.step_index} ({message}); autoRollback is off, "
            "so the rollout is frozen until agentctl abort, retry or promote",
        )
        d.update(failure_reason=reason, message=message)
        return
    d.record_outcome(canary, outcome, f"{reason}: {message}")
    if outcome == "Aborted":
        d.emit("Warning", "Aborted", f"revision {canary} aborted ({message}); stable {stable} back to 100%")
    else:
        d.emit(
            "Warning",
            "RolledBack",
            f"revision {canary} failed ({reason}: {message}); canary removed and stable {stable} "
            f"back to {d.inp.replicas} replicas",
        )
    d.clear_canary(failed_revision=canary, failure_reason=reason, message=message)


def promote_canary(d: Decision, step_count: int) -> None:
    canary = d.state.canary_revision
    assert canary is not None
    old = d.state.stable_revision
    d.record_outcome(canary, "Promoted", f"completed {step_count} steps")
    if old is not None and old != canary:
        d.record_outcome(old, "Superseded", f"replaced by {canary}")
    d.emit("Normal", "Promoted", f"revision {canary} promoted to stable at 100%; {old} removed")
    d.clear_canary(stable_revision=canary)
