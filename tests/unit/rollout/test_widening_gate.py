"""A revision that widens the blast radius waits for a human at step 0, whatever its steps say."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from rollout_sim import T0, Sim, status_of

from agent_operator.api.agent import Rollout
from agent_operator.rollout import Command, RolloutPlan, plan_rollout
from agent_operator.widening import Widening

EGRESS = Widening("egress", "spec.network.egress.allowedDomains", "[api.openai.com]", "+evil.io")
MODEL = Widening("model", "spec.model.name", "gpt-4o", "gpt-5")


def reasons(plan: RolloutPlan) -> list[str]:
    return [e.reason for e in plan.events]


def deployed(rollout: Rollout) -> Sim:
    sim = Sim(rollout, 4, "v1")
    sim.run_until("Available")
    return sim


def test_a_rolling_update_that_widens_waits_at_step_0_with_no_pod_of_it_running() -> None:
    sim = deployed(Rollout(strategy="RollingUpdate"))
    sim.desired, sim.widenings = "v2", (EGRESS,)
    plan = sim.reconcile()
    assert (plan.phase, plan.reason, plan.state.step_index) == ("Progressing", "AwaitingApproval", 0)
    assert plan.replicas == {"v1": 4, "v2": 0}
    awaiting = next(e for e in plan.events if e.reason == "AwaitingApproval")
    assert awaiting.type == "Warning"
    assert "spec.network.egress.allowedDomains: [api.openai.com] -> +evil.io" in awaiting.message
    assert "at step 1 of 2 (approve widening)" in plan.message
    assert "it widens spec.network.egress.allowedDomains" in plan.message
    assert status_of(plan.state)["rollout"]["widenings"] == [
        {"kind": "egress", "path": EGRESS.path, "before": EGRESS.before, "after": "+evil.io"}
    ]
    for _ in range(5):  # no timer, no deadline: it waits for a human
        plan = sim.reconcile(seconds=3600)
        assert (plan.reason, plan.events, plan.requeue_after) == ("AwaitingApproval", (), None)

    sim.commands = [Command("approve", sim.now, by="alice", revision="v2", step=0)]
    plan = sim.reconcile()
    assert reasons(plan)[:2] == ["Approved", "StepCompleted"]
    sim.widenings = ()  # as the controller computes it once v2 is stable: nothing over itself
    plan = sim.run_until("Available")
    promoted = next(p for p in sim.plans if "Promoted" in reasons(p))
    assert [(a.by, a.step) for a in promoted.history[0].approvals] == [("alice", 0)]
    assert plan.state.widenings == ()


def test_a_canary_that_widens_waits_before_its_first_setweight() -> None:
    sim = deployed(Rollout.model_validate({"strategy": "Canary", "canary": {"steps": [{"setWeight": 50}]}}))
    sim.desired, sim.widenings = "v2", (MODEL,)
    plan = sim.reconcile()
    assert (plan.reason, plan.replicas) == ("AwaitingApproval", {"v1": 4, "v2": 0})
    sim.commands = [Command("approve", sim.now, by="bob")]
    sim.reconcile()
    plan = sim.run_until("Available")
    assert plan.complete


def test_no_widening_no_gate() -> None:
    sim = deployed(Rollout(strategy="RollingUpdate"))
    sim.desired = "v2"
    plan = sim.reconcile()
    assert plan.reason == "Promoting"


def test_the_gate_is_fixed_when_the_canary_starts() -> None:
    """A policy edited mid-rollout must not shift the step index under the canary."""
    sim = deployed(Rollout.model_validate({"strategy": "Canary", "canary": {"steps": [{"pause": {}}]}}))
    sim.desired, sim.widenings = "v2", (EGRESS,)
    sim.reconcile()
    sim.widenings = ()
    plan = sim.reconcile()
    assert (plan.reason, plan.state.step_index, plan.state.widenings) == ("AwaitingApproval", 0, (EGRESS,))
    sim.commands = [Command("approve", T0 + timedelta(days=1), by="alice", step=0)]
    plan = sim.reconcile()
    # The spec's own indefinite pause is next, and still waits.
    assert (plan.reason, plan.state.step_index) == ("AwaitingApproval", 1)


def test_a_newer_revision_starts_over_with_its_own_gate() -> None:
    sim = deployed(Rollout(strategy="RollingUpdate"))
    sim.desired, sim.widenings = "v2", (EGRESS,)
    sim.reconcile()
    sim.desired, sim.widenings = "v3", ()
    plan = sim.reconcile()
    assert "Superseded" in reasons(plan)
    assert plan.state.widenings == ()
    assert plan.reason == "Promoting"


def test_an_approval_of_the_gate_does_not_release_a_later_pause() -> None:
    sim = deployed(Rollout.model_validate({"strategy": "Canary", "canary": {"steps": [{"pause": {}}]}}))
    sim.desired, sim.widenings = "v2", (EGRESS,)
    sim.reconcile()
    sim.commands = [Command("approve", T0 + timedelta(days=1), by="alice", revision="v2", step=1)]
    plan = sim.reconcile()
    assert reasons(plan) == ["CommandIgnored"]
    assert plan.state.step_index == 0


def test_an_unverified_approval_is_refused_once_and_releases_nothing() -> None:
    sim = deployed(Rollout(strategy="RollingUpdate"))
    sim.desired, sim.widenings = "v2", (EGRESS,)
    sim.reconcile()
    forged = Command("approve", T0 + timedelta(days=1), by="cluster-admin", verified=False)
    inp = replace(sim.input(), commands=(forged,))
    plan = plan_rollout(inp)
    assert [e.reason for e in plan.events] == ["CommandRefused"]
    assert (plan.events[0].type, plan.reason, plan.state.approval) == ("Warning", "AwaitingApproval", None)
    assert (
        "claiming to be by cluster-admin refused: its identity proof does not verify"
        in plan.events[0].message
    )
    again = plan_rollout(replace(inp, state=plan.state))
    assert again.events == ()
    assert again.state.step_index == 0
