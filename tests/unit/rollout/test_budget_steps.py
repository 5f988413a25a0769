"""The spend cap in the rollout machine: the kill switch's path, and a canary over its share."""

from __future__ import annotations

from test_machine import canary, deployed, reasons, settle

from agent_operator.rollout.types import BUDGET_SHARE_EXCEEDED

EXHAUSTED = ("BudgetExhausted", "spent $10.00 (100%) of the $10.00 daily cap")


def test_an_exhausted_budget_scales_every_revision_to_zero_and_keeps_the_rollout() -> None:
    sim = deployed(canary({"setWeight": 50}, {"pause": {"durationSeconds": 30}}))
    sim.desired = "v2"
    sim.reconcile()
    step = sim.state.step_index
    sim.budget_suspend = EXHAUSTED
    plan = sim.reconcile(seconds=1000)
    assert (plan.phase, plan.reason, plan.message) == ("Suspended", *EXHAUSTED)
    assert plan.replicas == {"v1": 0, "v2": 0}
    assert plan.state.step_index == step
    assert plan.state.canary_revision == "v2", "the rollout resumes where it was"


def test_the_agent_comes_back_when_the_budget_lets_it() -> None:
    sim = deployed(canary({"setWeight": 50}))
    sim.budget_suspend = EXHAUSTED
    assert sim.reconcile().replicas == {"v1": 0}
    sim.budget_suspend = None
    plan = sim.run_until("Available")
    assert plan.replicas == {"v1": 4}


def test_spec_suspend_keeps_its_own_reason_over_the_budget() -> None:
    sim = deployed(canary({"setWeight": 50}))
    sim.suspend = True
    sim.budget_suspend = EXHAUSTED
    assert sim.reconcile().reason == "Suspended"


def test_a_canary_over_its_share_is_rolled_back() -> None:
    sim = deployed(canary({"setWeight": 10}, {"pause": {}}))
    sim.desired = "v2"
    settle(sim, "AwaitingApproval")
    sim.budget_canary_over = ("v2", "projected spend $30.00 passes its $10.00 share")
    plan = sim.reconcile()
    assert (plan.phase, plan.reason) == ("Degraded", BUDGET_SHARE_EXCEEDED)
    assert plan.replicas == {"v1": 4}
    assert "RolledBack" in reasons(plan)
    assert plan.state.failed_revision == "v2"
    assert sim.history[-1].revision == "v2"
    assert sim.reconcile().events == ()


def test_a_verdict_about_another_revision_is_ignored() -> None:
    sim = deployed(canary({"setWeight": 10}, {"pause": {}}))
    sim.desired = "v2"
    settle(sim, "AwaitingApproval")
    sim.budget_canary_over = ("v9", "a revision no longer in flight")
    assert sim.reconcile().reason == "AwaitingApproval"


def test_without_auto_rollback_the_canary_freezes_once() -> None:
    sim = deployed(canary({"setWeight": 10}, {"pause": {}}, auto_rollback=False))
    sim.desired = "v2"
    settle(sim, "AwaitingApproval")
    sim.budget_canary_over = ("v2", "over its share")
    plan = sim.reconcile()
    assert (plan.phase, plan.reason) == ("Degraded", BUDGET_SHARE_EXCEEDED)
    assert reasons(plan) == [BUDGET_SHARE_EXCEEDED]
    assert sim.reconcile().events == ()
