"""The step state machine, transition by transition, with explicit clocks."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from rollout_sim import T0, Sim, assert_replan_is_quiet, status_of, stored_revision

from agent_operator.api.agent import Evaluation, Rollout
from agent_operator.rollout import (
    CRASH_LOOP_RESTARTS,
    Command,
    EvaluationObservation,
    RolloutPlan,
    RolloutState,
    plan_rollout,
)


def canary(*steps: dict[str, object], auto_rollback: bool = True) -> Rollout:
    return Rollout.model_validate(
        {
            "strategy": "Canary",
            "canary": {"steps": list(steps), "maxSurge": 1},
            "progressDeadlineSeconds": 300,
            "autoRollback": auto_rollback,
        }
    )


EVAL = Evaluation(image="eval@sha256:" + "0" * 64, min_score=0.8, timeout_seconds=100)


def deployed(rollout: Rollout, replicas: int = 4, **kw: object) -> Sim:
    sim = Sim(rollout, replicas, "v1", **kw)  # type: ignore[arg-type]
    sim.run_until("Available")
    return sim


def reasons(plan: RolloutPlan) -> list[str]:
    return [e.reason for e in plan.events]


def settle(sim: Sim, reason: str, limit: int = 30) -> RolloutPlan:
    for _ in range(limit):
        plan = sim.reconcile()
        if plan.reason == reason:
            return plan
    raise AssertionError(f"never reached {reason}: {sim.plans[-1]}")


# --- first deploy and steady state ---------------------------------------------------------------


def test_first_deploy_goes_straight_to_full_size() -> None:
    sim = Sim(canary({"setWeight": 50}), 3, "v1")
    plan = sim.reconcile()
    assert plan.replicas == {"v1": 3}
    assert (plan.phase, plan.record_revision, plan.state.stable_revision) == ("Pending", "v1", "v1")
    assert reasons(plan) == ["RolloutStarted"]
    assert plan.desired_weight is None
    assert plan.actual_weight is None
    plan = sim.reconcile()
    assert (plan.phase, plan.complete) == ("Available", True)


def test_desired_equal_to_stable_removes_everything_else() -> None:
    sim = deployed(canary({"setWeight": 50}, {"pause": {}}))
    sim.desired = "v2"
    settle(sim, "AwaitingApproval")
    sim.desired = "v1"
    plan = sim.reconcile()
    assert plan.replicas == {"v1": 4}
    assert reasons(plan) == ["Superseded"]
    assert plan.history[0].outcome == "Superseded"
    assert plan.phase == "Progressing"
    assert sim.run_until("Available").complete


# --- steps ---------------------------------------------------------------------------------------


def test_set_weight_then_timed_pause_then_promotion() -> None:
    sim = deployed(canary({"setWeight": 25}, {"pause": {"durationSeconds": 60}}))
    sim.desired = "v2"
    plan = sim.reconcile()
    assert reasons(plan) == ["RolloutStarted"]
    assert plan.record_revision == "v2"
    assert plan.replicas == {"v1": 4, "v2": 1}
    assert (plan.desired_weight, plan.actual_weight) == (25, 0)
    plan = settle(sim, "PauseStep")
    assert reasons(plan) == ["StepCompleted", "Paused"]
    assert plan.replicas == {"v1": 3, "v2": 1}
    assert (plan.desired_weight, plan.actual_weight) == (25, 25)
    assert plan.requeue_after == 60
    plan = sim.reconcile(seconds=59)
    assert (plan.reason, plan.requeue_after) == ("PauseStep", 1)
    plan = sim.reconcile(seconds=1)
    assert plan.reason == "Promoting"
    assert plan.desired_weight == 100
    plan = sim.run_until("Available")
    assert plan.state.stable_revision == "v2"
    promoted = [p for p in sim.plans if "Promoted" in reasons(p)]
    assert len(promoted) == 1
    outcomes = {(h.revision, h.outcome) for h in promoted[0].history}
    assert outcomes == {("v2", "Promoted"), ("v1", "Superseded")}


def test_pause_timer_counts_from_its_original_start_across_restarts() -> None:
    sim = deployed(canary({"setWeight": 50}, {"pause": {"durationSeconds": 100}}))
    sim.desired = "v2"
    plan = settle(sim, "PauseStep")
    started = plan.state.step_started_at
    # A restarted operator only has the persisted state: it picks up the same clock.
    restarted = plan_rollout(replace(sim.input(), now=started + timedelta(seconds=70)))
    assert restarted.reason == "PauseStep"
    assert restarted.requeue_after == 30
    assert restarted.events == ()
    done = plan_rollout(replace(sim.input(), now=started + timedelta(seconds=100)))
    assert done.reason == "Promoting"
    # spec.paused freezes the step but not the clock.
    sim.paused = True
    plan = sim.reconcile(seconds=200)
    assert (plan.phase, plan.state.step_index) == ("Paused", 1)
    sim.paused = False
    assert sim.reconcile().reason == "Promoting"


def test_indefinite_pause_waits_for_the_right_approval() -> None:
    sim = deployed(canary({"setWeight": 50}, {"pause": {}}))
    sim.desired = "v2"
    plan = settle(sim, "AwaitingApproval")
    assert "AwaitingApproval" in reasons(plan)
    assert plan.requeue_after is None
    sim.commands = [Command("approve", T0 + timedelta(hours=1), by="eve", revision="v9")]
    plan = sim.reconcile()
    assert (plan.reason, reasons(plan)) == ("AwaitingApproval", ["CommandIgnored"])
    sim.commands = [Command("approve", T0 + timedelta(hours=2), by="eve", revision="v2", step=0)]
    plan = sim.reconcile()
    assert (plan.reason, reasons(plan)) == ("AwaitingApproval", ["CommandIgnored"])
    sim.commands = [Command("approve", T0 + timedelta(hours=3), by="alice", revision="v2", step=1)]
    plan = sim.reconcile()
    assert reasons(plan) == ["Approved", "StepCompleted"]
    assert plan.state.approval is not None
    assert (plan.state.approval.by, plan.state.approval.step) == ("alice", 1)
    plan = sim.run_until("Available")
    promoted = next(p for p in sim.plans if "Promoted" in reasons(p))
    assert [a.by for a in promoted.history[0].approvals] == ["alice"]


def test_commands_are_acted_on_once() -> None:
    sim = deployed(canary({"setWeight": 50}, {"pause": {}}, {"pause": {}}))
    sim.desired = "v2"
    settle(sim, "AwaitingApproval")
    sim.commands = [Command("approve", T0 + timedelta(hours=1), by="alice")]
    assert "Approved" in reasons(sim.reconcile())
    # The same annotation seen again (every later reconcile) does not approve the next pause.
    for _ in range(3):
        plan = sim.reconcile()
        assert plan.events == ()
        assert plan.state.step_index == 2
    sim.commands = [Command("approve", T0 + timedelta(hours=2), by="bob")]
    assert sim.reconcile().state.step_index == 3


def _evaluating(min_score: float | None = None, **kw: object) -> Sim:
    step: dict[str, object] = {"evaluate": {} if min_score is None else {"minScore": min_score}}
    sim = deployed(canary({"setWeight": 50}, step, **kw), evaluation_spec=EVAL)  # type: ignore[arg-type]
    sim.desired = "v2"
    plan = settle(sim, "Evaluating")
    assert "EvaluationStarted" in reasons(plan)
    assert plan.run_evaluation
    assert plan.state.evaluation is not None
    assert plan.state.evaluation.result == "Running"
    assert plan.requeue_after == 101
    # While the job runs the controller keeps being asked to make sure it exists.
    sim.evaluation = EvaluationObservation(exists=True)
    plan = sim.reconcile()
    assert (plan.run_evaluation, plan.events) == (True, ())
    return sim


def test_evaluation_pass_with_a_score_goes_on() -> None:
    sim = _evaluating()
    sim.evaluation = EvaluationObservation(exists=True, succeeded=True, score=0.85)
    plan = sim.reconcile()
    assert reasons(plan)[:2] == ["EvaluationPassed", "StepCompleted"]
    assert not plan.run_evaluation
    assert plan.state.evaluations[0].score == 0.85
    sim.run_until("Available")
    promoted = next(p for p in sim.plans if "Promoted" in reasons(p))
    assert promoted.history[0].evaluations[0].result == "Passed"


@pytest.mark.parametrize(
    ("observation", "step_min", "reason"),
    [
        (EvaluationObservation(exists=True, succeeded=True, score=0.5), None, "EvaluationFailed"),
        (EvaluationObservation(exists=True, succeeded=True, score=0.85), 0.9, "EvaluationFailed"),
        (EvaluationObservation(exists=True, failed=True, message="exit 1"), None, "EvaluationFailed"),
        (EvaluationObservation(exists=True), None, "EvaluationTimedOut"),
    ],
)
def test_evaluation_failure_rolls_back(
    observation: EvaluationObservation, step_min: float | None, reason: str
) -> None:
    sim = _evaluating(step_min)
    sim.evaluation = observation
    plan = sim.reconcile(seconds=200 if reason == "EvaluationTimedOut" else 10)
    assert (plan.phase, plan.reason) == ("Degraded", reason)
    assert plan.replicas == {"v1": 4}
    assert reasons(plan) == ["EvaluationFailed", "RolledBack"]
    assert plan.history[0].outcome == "RolledBack"
    assert plan.history[0].evaluations[0].result in ("Failed", "TimedOut")
    assert "not retried until the spec changes or agentctl retry" in plan.message
    assert plan.state.failed_revision == "v2"


# --- failures ------------------------------------------------------------------------------------


def test_failure_without_auto_rollback_freezes_until_a_human_decides() -> None:
    sim = deployed(canary({"setWeight": 50}, auto_rollback=False))
    sim.desired = "v2"
    sim.broken.add("v2")
    sim.reconcile()
    plan = sim.reconcile(seconds=301)
    assert (plan.phase, plan.reason) == ("Degraded", "ProgressDeadlineExceeded")
    frozen = plan.replicas
    assert frozen["v2"] > 0
    for _ in range(3):
        again = sim.reconcile(seconds=400)
        assert (again.replicas, again.events) == (frozen, ())
    sim.commands = [Command("abort", T0 + timedelta(days=1), by="ops")]
    plan = sim.reconcile()
    assert reasons(plan) == ["Aborted"]
    assert plan.history[0].outcome == "Aborted"
    assert plan.replicas == {"v1": 4}
    assert plan.state.failed_revision == "v2"


def test_crash_loop_counts_restarts_since_the_rollout_started() -> None:
    sim = deployed(canary({"setWeight": 50}, {"pause": {}}))
    sim.desired = "v2"
    settle(sim, "AwaitingApproval")
    sim.revisions["v2"].restarts = CRASH_LOOP_RESTARTS - 1
    assert sim.reconcile().reason == "AwaitingApproval"
    sim.revisions["v2"].restarts = CRASH_LOOP_RESTARTS
    plan = sim.reconcile()
    assert (plan.phase, plan.reason) == ("Degraded", "CrashLoopBackOff")


def test_failed_revision_is_not_retried_until_retry_or_a_new_spec() -> None:
    sim = deployed(canary({"setWeight": 50}))
    sim.desired = "v2"
    sim.broken.add("v2")
    sim.run_until("Degraded", seconds=100)
    sim.broken.clear()
    for _ in range(3):
        plan = sim.reconcile(seconds=1000)
        assert (plan.phase, plan.replicas) == ("Degraded", {"v1": 4})
    sim.commands = [Command("retry", T0 + timedelta(days=1), by="ops")]
    plan = sim.reconcile()
    assert reasons(plan) == ["Retry", "RolloutStarted"]
    assert plan.state.step_index == 0
    assert sim.run_until("Available").state.stable_revision == "v2"


def test_a_new_spec_clears_the_failure() -> None:
    sim = deployed(canary({"setWeight": 50}))
    sim.desired = "v2"
    sim.broken.add("v2")
    sim.run_until("Degraded", seconds=100)
    sim.desired = "v3"
    plan = sim.reconcile()
    assert reasons(plan) == ["RolloutStarted"]
    assert plan.state.failed_revision is None


# --- spec changes, replicas, strategies ----------------------------------------------------------


def test_spec_changed_mid_rollout_restarts_from_step_0_against_the_same_stable() -> None:
    sim = deployed(canary({"setWeight": 25}, {"setWeight": 50}, {"pause": {}}))
    sim.desired = "v2"
    plan = settle(sim, "AwaitingApproval")
    sim.desired = "v3"
    plan = sim.reconcile()
    assert reasons(plan) == ["Superseded", "RolloutStarted"]
    assert [(h.revision, h.outcome) for h in plan.history] == [("v2", "Superseded")]
    assert (plan.state.stable_revision, plan.state.canary_revision, plan.state.step_index) == ("v1", "v3", 0)
    assert "v2" not in plan.replicas
    assert plan.record_revision == "v3"


def test_one_replica_weight_is_reported_as_approximate() -> None:
    sim = deployed(canary({"setWeight": 20}, {"pause": {}}), replicas=1)
    sim.desired = "v2"
    plan = sim.reconcile()
    assert plan.replicas == {"v1": 1, "v2": 1}
    assert "approximate with 1 replicas" in plan.message
    plan = settle(sim, "AwaitingApproval")
    assert plan.replicas == {"v1": 0, "v2": 1}
    assert (plan.desired_weight, plan.actual_weight) == (20, 100)


@pytest.mark.parametrize("weight", [0, 100])
def test_weight_0_and_100_steps(weight: int) -> None:
    sim = deployed(canary({"setWeight": weight}, {"pause": {}}))
    sim.desired = "v2"
    plan = settle(sim, "AwaitingApproval")
    expected = {"v1": 4, "v2": 0} if weight == 0 else {"v1": 0, "v2": 4}
    assert plan.replicas == expected
    assert plan.desired_weight == weight


def test_rolling_update_is_one_implicit_step() -> None:
    sim = deployed(Rollout(), replicas=4)
    sim.desired = "v2"
    plan = sim.reconcile()
    assert (plan.reason, plan.desired_weight) == ("Promoting", 100)
    assert sim.run_until("Available").state.stable_revision == "v2"


# --- commands ------------------------------------------------------------------------------------


def test_promote_skips_a_step_and_full_skips_everything() -> None:
    sim = deployed(
        canary({"setWeight": 25}, {"pause": {}}, {"evaluate": {}}, {"pause": {}}), evaluation_spec=EVAL
    )
    sim.desired = "v2"
    settle(sim, "AwaitingApproval")
    sim.commands = [Command("promote", T0 + timedelta(days=1), by="ops")]
    plan = sim.reconcile()
    assert (plan.state.step_index, plan.reason) == (2, "Evaluating")
    sim.commands = [Command("promote", T0 + timedelta(days=2), by="ops", full=True)]
    plan = sim.reconcile()
    assert (plan.state.step_index, plan.reason, plan.run_evaluation) == (4, "Promoting", False)
    assert sim.run_until("Available").state.stable_revision == "v2"


def _three_revisions() -> Sim:
    sim = deployed(canary({"setWeight": 50}))
    for revision in ("v2", "v3"):
        sim.desired = revision
        sim.run_until("Available")
    return sim


def test_rollback_is_one_plan_without_steps_and_holds_until_the_spec_moves() -> None:
    sim = _three_revisions()
    sim.commands = [Command("rollback", T0 + timedelta(days=1), by="ops", to_revision=1)]
    plan = sim.reconcile()
    assert plan.replicas == {"v1": 4}
    assert reasons(plan) == ["RolledBack"]
    assert [(h.revision, h.outcome) for h in plan.history] == [("v3", "RolledBack")]
    assert (plan.state.rollback_override, plan.state.rollback_from) == ("v1", "v3")
    for _ in range(3):
        plan = sim.reconcile()
        assert (plan.replicas, plan.events) == ({"v1": 4}, ())
    assert plan.phase == "Available"
    assert not plan.complete  # the spec still asks for v3
    assert "revert the spec" in plan.message
    # The user reverts Git: v1 is simply stable.
    sim.desired = "v1"
    plan = sim.reconcile()
    assert reasons(plan) == ["RollbackReleased"]
    assert plan.complete
    assert plan.state.rollback_override is None


def test_rollback_defaults_to_the_previous_stable_and_is_immediate_mid_rollout() -> None:
    sim = _three_revisions()
    sim.desired = "v4"
    sim.rollout = canary({"setWeight": 50}, {"evaluate": {}})
    sim.evaluation_spec = EVAL
    settle(sim, "Evaluating")
    sim.commands = [Command("rollback", T0 + timedelta(days=1), by="ops")]
    plan = sim.reconcile()
    assert plan.replicas == {"v2": 4}
    assert not plan.run_evaluation
    assert {(h.revision, h.outcome) for h in plan.history} == {("v3", "RolledBack"), ("v4", "RolledBack")}
    # A new spec releases the override and rolls normally against the rolled-back stable.
    sim.desired = "v5"
    plan = sim.reconcile()
    assert reasons(plan) == ["RollbackReleased", "RolloutStarted"]
    assert plan.state.stable_revision == "v2"


def test_rollback_to_an_unknown_revision_changes_nothing() -> None:
    sim = _three_revisions()
    before = sim.state
    sim.commands = [Command("rollback", T0 + timedelta(days=1), by="ops", to_revision=42)]
    plan = sim.reconcile()
    assert reasons(plan) == ["CommandIgnored"]
    assert plan.events[0].type == "Warning"
    assert plan.replicas == {"v3": 4}
    assert replace(plan.state, handled_commands=()) == replace(before, handled_commands=())


def test_rollback_applies_even_when_paused() -> None:
    sim = _three_revisions()
    sim.paused = True
    sim.commands = [Command("rollback", T0 + timedelta(days=1), by="ops")]
    plan = sim.reconcile()
    assert (plan.replicas, plan.phase, reasons(plan)) == ({"v2": 4}, "Paused", ["RolledBack"])
    assert sim.reconcile().replicas == {"v2": 4}


# --- suspend, paused, blocked --------------------------------------------------------------------


def test_suspend_scales_every_revision_to_zero_and_freezes_progress() -> None:
    sim = deployed(canary({"setWeight": 50}, {"pause": {"durationSeconds": 30}}))
    sim.desired = "v2"
    sim.reconcile()
    sim.suspend = True
    plan = sim.reconcile(seconds=1000)
    assert plan.phase == "Suspended"
    assert plan.replicas == {"v1": 0, "v2": 0}
    assert plan.state.step_index == 0


def test_paused_freezes_replicas_at_their_observed_values() -> None:
    sim = deployed(canary({"setWeight": 50}))
    sim.desired = "v2"
    sim.reconcile()
    sim.paused = True
    observed = {n: r.replicas for n, r in sim.revisions.items()}
    plan = sim.reconcile(seconds=1000)
    assert (plan.phase, plan.replicas, plan.desired_weight) == ("Paused", observed, 50)
    assert plan.state.step_index == 0


def test_blocked_keeps_stable_scales_the_canary_away_and_says_so_once() -> None:
    sim = deployed(canary({"setWeight": 50}, {"pause": {}}))
    sim.desired = "v2"
    settle(sim, "AwaitingApproval")
    sim.can_roll_out = False
    plan = sim.reconcile()
    assert (plan.phase, plan.replicas, reasons(plan)) == ("Blocked", {"v1": 4}, ["Blocked"])
    assert sim.reconcile().events == ()
    sim.can_roll_out = True
    plan = sim.reconcile()
    assert reasons(plan) == ["RolloutStarted"]
    assert plan.state.step_index == 0


def test_first_deploy_blocked_deploys_nothing() -> None:
    sim = Sim(canary(), 2, "v1", can_roll_out=False)
    plan = sim.reconcile()
    assert (plan.phase, plan.replicas) == ("Blocked", {})


# --- restart safety ------------------------------------------------------------------------------


def test_persisted_state_gives_the_same_decision_at_every_moment() -> None:
    """A restart at any reconcile of a full rollout, fed the persisted state, decides the same."""
    sim = deployed(
        canary({"setWeight": 25}, {"pause": {"durationSeconds": 30}}, {"pause": {}}, {"evaluate": {}}),
        evaluation_spec=EVAL,
    )
    sim.desired = "v2"
    settle(sim, "AwaitingApproval")
    sim.commands = [Command("approve", T0 + timedelta(days=1), by="alice")]
    settle(sim, "Evaluating")
    sim.evaluation = EvaluationObservation(exists=True, succeeded=True)
    sim.run_until("Available")
    assert len(sim.plans) > 10
    # Each plan was also checked by assert_replan_is_quiet inside the simulator; check a fresh
    # state-only restart (no in-memory anything) on the last one explicitly too.
    assert_replan_is_quiet(sim.input(), plan_rollout(sim.input()))


def test_history_entry_numbers_drive_the_default_rollback_target() -> None:
    history = [
        stored_revision("a", 1, served_as_stable=True),
        stored_revision("b", 2),  # a canary that never served
        stored_revision("c", 3, served_as_stable=True),
    ]
    sim = Sim(canary(), 2, "c", status=status_of(RolloutState(stable_revision="c")), stored_history=history)
    sim.commands = [Command("rollback", T0, by="ops")]
    assert sim.reconcile().replicas == {"a": 2}


# --- commands aimed at a revision or step that is no longer current ---------------------------


def test_stale_promote_for_another_revision_is_ignored() -> None:
    sim = deployed(
        canary({"setWeight": 25}, {"pause": {}}, {"evaluate": {}}, {"pause": {}}), evaluation_spec=EVAL
    )
    sim.desired = "v3"
    settle(sim, "AwaitingApproval")
    sim.commands = [Command("promote", T0 + timedelta(days=1), by="ops", revision="v2", full=True)]
    plan = sim.reconcile()
    assert plan.state.step_index == 1
    assert "CommandIgnored" in reasons(plan)


def test_promote_for_an_earlier_step_does_not_skip_the_next_one() -> None:
    sim = deployed(
        canary({"setWeight": 25}, {"pause": {}}, {"evaluate": {}}, {"pause": {}}), evaluation_spec=EVAL
    )
    sim.desired = "v3"
    settle(sim, "AwaitingApproval")
    sim.commands = [Command("promote", T0 + timedelta(days=1), by="ops", revision="v3", step=0)]
    plan = sim.reconcile()
    assert plan.state.step_index == 1
    assert "CommandIgnored" in reasons(plan)


def test_stale_abort_for_another_revision_is_ignored() -> None:
    sim = deployed(canary({"setWeight": 25}, {"pause": {}}))
    sim.desired = "v3"
    settle(sim, "AwaitingApproval")
    sim.commands = [Command("abort", T0 + timedelta(days=1), by="ops", revision="v2")]
    plan = sim.reconcile()
    assert "Aborted" not in reasons(plan)
    assert plan.state.canary_revision == "v3"
