"""Rollout progress survives a round trip through status (and therefore a restart)."""

from __future__ import annotations

from datetime import UTC, datetime

from agent_operator.controller.status_codec import state_from_status, state_to_status
from agent_operator.rollout.types import Approval, EvaluationRecord, RolloutState

T0 = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)


def test_round_trip() -> None:
    state = RolloutState(
        stable_revision="aaaaaaaaaa",
        canary_revision="bbbbbbbbbb",
        step_index=3,
        step_started_at=T0,
        rollout_started_at=T0,
        restart_baseline=2,
        failed_revision="cccccccccc",
        rollback_override=None,
        rollback_from=None,
        approval=Approval("bbbbbbbbbb", 2, "alice", T0),
        evaluation=EvaluationRecord("bbbbbbbbbb", 1, "Passed", T0, 0.95, "ok"),
        approvals=(Approval("bbbbbbbbbb", 2, "alice", T0),),
        evaluations=(EvaluationRecord("bbbbbbbbbb", 1, "Passed", T0, 0.95, "ok"),),
        handled_commands=(("approve", T0),),
        failure_reason="ProgressDeadlineExceeded",
        blocked_revision="dddddddddd",
        message="pausing",
    )
    assert state_from_status(state_to_status(state)) == state


def test_missing_or_hand_edited_status_degrades_to_defaults() -> None:
    assert state_from_status(None) == RolloutState()
    broken = {
        "rollout": {"stepStartedAt": "yesterday", "approval": {"at": "nope"}, "evaluation": {"result": "?"}}
    }
    state = state_from_status(broken)
    assert state.step_started_at is None
    assert state.approval is None
    assert state.evaluation is None
