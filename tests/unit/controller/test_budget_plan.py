"""The budget step of the planner, on observations built by hand: measurement scheduling, the
kill switch's path, the window reset, overrides with identity, an outage, and zero writes on a
replan."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from test_plan import agent_body

from agent_operator.api.analysis import Analysis
from agent_operator.budget import Spend
from agent_operator.controller.admission import stamp_command_identity
from agent_operator.controller.analysis_runner import AnalysisResult, MeasureJob, fingerprint
from agent_operator.controller.budget_runner import SpendJob, SpendResult
from agent_operator.controller.command_proof import derive_key
from agent_operator.controller.commands import command_annotation
from agent_operator.controller.plan import Observation, ReconcilePlan, plan_reconcile
from agent_operator.rollout import AnalysisRequest

NOW = datetime(2026, 12, 2, 12, 0, 0, tzinfo=UTC)
PROM = {"address": "http://prometheus.example:9090"}
PRICES = [{"model": "gpt-x", "inputPerMillionTokens": 2.5, "outputPerMillionTokens": 10}]


def budgeted(rollout: dict[str, Any] | None = None, **budget: Any) -> dict[str, Any]:
    extra = {"rollout": rollout} if rollout is not None else {}
    body = agent_body(
        **extra,
        runtime={"budget": {"dailyUSD": 10, "alertAtPercent": 80, "intervalSeconds": 30, **budget}},
        analysis={
            "prometheus": PROM,
            "metrics": [{"name": "errorRate", "max": 0.1}],
            "cost": {"prices": PRICES},
        },
    )
    return body


class Cluster:
    """The agent's stored status and children, carried from plan to plan as the controller does."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.children: dict[tuple[str, str], dict[str, Any]] = {}
        self.history: dict[str, dict[str, Any]] = {}
        self.result: SpendResult | None = None
        self.now = NOW

    def observation(self) -> Observation:
        return Observation(
            agent=self.body,
            children=tuple(self.children.values()),
            history=tuple(self.history.values()),
            now=self.now,
            spend=self.result,
        )

    def reconcile(self) -> ReconcilePlan:
        plan = plan_reconcile(self.observation())
        for obj in plan.apply:
            target = self.history if obj["kind"] == "ControllerRevision" else None
            if target is not None:
                target[obj["metadata"]["name"]] = obj
            else:
                self.children[(obj["kind"], obj["metadata"]["name"])] = obj
        if plan.status is not None:
            self.body = {**self.body, "status": plan.status}
        return plan

    def measure(self, job: SpendJob | None, spent: float | None, unknown: str | None = None) -> None:
        assert job is not None, "a measurement is due"
        spend = None if spent is None else Spend({"r1": spent}, burn={"r1": 0.5 / 3600})
        self.result = SpendResult(job, self.now, spend=spend, unknown=unknown)

    @property
    def budget(self) -> dict[str, Any]:
        return dict(self.body["status"]["budget"])

    def condition(self, type_: str) -> dict[str, Any]:
        return next(c for c in self.body["status"]["conditions"] if c["type"] == type_)

    def replicas(self) -> dict[str, int]:
        return {
            name: obj["spec"]["replicas"]
            for (kind, name), obj in self.children.items()
            if kind == "Deployment"
        }


def reasons(plan: ReconcilePlan) -> list[str]:
    return [e.reason for e in plan.events]


def test_an_agent_without_spec_analysis_cost_has_no_enforced_budget() -> None:
    plan = plan_reconcile(Observation(agent=agent_body(runtime={"budget": {"dailyUSD": 10}}), now=NOW))
    assert plan.status is not None
    assert "budget" not in plan.status
    assert plan.spend is None
    assert not [c for c in plan.status["conditions"] if c["type"].startswith("Budget")]


def test_the_first_measurement_is_due_at_once_for_the_whole_window() -> None:
    cluster = Cluster(budgeted())
    plan = cluster.reconcile()
    assert plan.spend is not None
    assert plan.spend.window_start == datetime(2026, 12, 2, tzinfo=UTC)
    assert plan.spend.query.elapsed_seconds == 12 * 3600
    assert (plan.spend.query.namespace, plan.spend.query.agent) == ("agents", "bot")
    assert cluster.budget["state"] == "Ok"
    assert "spentUSD" not in cluster.budget


def test_warning_then_exhausted_then_back_at_the_window_reset() -> None:
    cluster = Cluster(budgeted())
    plan = cluster.reconcile()
    cluster.measure(plan.spend, 8.5)
    plan = cluster.reconcile()
    assert reasons(plan).count("BudgetWarning") == 1
    assert cluster.condition("BudgetWarning")["status"] == "True"
    assert cluster.condition("BudgetExhausted")["status"] == "False"
    assert plan.requeue_after is not None
    assert plan.requeue_after <= 30
    deployments = cluster.replicas()
    assert set(deployments.values()) == {2}

    cluster.now += timedelta(seconds=30)
    plan = cluster.reconcile()
    cluster.measure(plan.spend, 10.2)
    plan = cluster.reconcile()
    assert "BudgetExhausted" in reasons(plan)
    assert set(cluster.replicas().values()) == {0}, "every revision at zero"
    status = cluster.body["status"]
    assert (status["phase"], cluster.condition("Ready")["reason"]) == ("Suspended", "BudgetExhausted")
    exhausted = cluster.condition("BudgetExhausted")
    assert exhausted["status"] == "True"
    assert "$10.20" in exhausted["message"]
    assert "2026-12-02 00:00-24:00 UTC" in exhausted["message"]
    assert all(obj["kind"] != "AgentDeployment" for obj in plan.apply)

    # A replan with nothing new writes nothing and says nothing.
    again = cluster.reconcile()
    assert (again.status, again.events, again.apply) == (None, (), ())

    # Midnight: the old numbers no longer count, but nothing resets until the new window is measured.
    cluster.now = datetime(2026, 12, 3, 0, 0, 5, tzinfo=UTC)
    plan = cluster.reconcile()
    assert set(cluster.replicas().values()) == {0}
    assert plan.spend is not None
    assert plan.spend.window_start == datetime(2026, 12, 3, tzinfo=UTC)
    cluster.measure(plan.spend, 0.01)
    plan = cluster.reconcile()
    assert "BudgetReset" in reasons(plan)
    assert set(cluster.replicas().values()) == {2}
    assert cluster.condition("BudgetExhausted")["status"] == "False"


def test_an_outage_neither_trips_nor_resets_and_says_so() -> None:
    cluster = Cluster(budgeted())
    cluster.measure(cluster.reconcile().spend, 10.5)
    cluster.reconcile()
    assert set(cluster.replicas().values()) == {0}
    cluster.now = datetime(2026, 12, 3, 0, 0, 5, tzinfo=UTC)
    plan = cluster.reconcile()
    cluster.measure(plan.spend, None, unknown="Prometheus unreachable: connection refused")
    plan = cluster.reconcile()
    assert "BudgetUnknown" in reasons(plan)
    assert set(cluster.replicas().values()) == {0}, "no reset on no data"
    unknown = cluster.condition("BudgetUnknown")
    assert unknown["status"] == "True"
    assert "onUnknown: Hold" in unknown["message"]


def test_on_unknown_suspend_scales_to_zero_while_spend_is_unknown() -> None:
    cluster = Cluster(budgeted(onUnknown="Suspend"))
    cluster.measure(cluster.reconcile().spend, None, unknown="Prometheus unreachable: timeout")
    cluster.reconcile()
    assert set(cluster.replicas().values()) == {0}
    assert cluster.condition("Ready")["reason"] == "BudgetUnknown"
    cluster.now += timedelta(seconds=30)
    cluster.measure(cluster.reconcile().spend, 1.0)
    plan = cluster.reconcile()
    assert "BudgetKnown" in reasons(plan)
    assert set(cluster.replicas().values()) == {2}


def test_an_override_lifts_the_cap_once_with_the_identity_recorded() -> None:
    cluster = Cluster(budgeted())
    cluster.measure(cluster.reconcile().spend, 10.5)
    cluster.reconcile()
    assert set(cluster.replicas().values()) == {0}
    at = NOW - timedelta(seconds=1)
    annotation = command_annotation("budget", at=at, by="alice@example.com", usd=25, for_seconds=3600)
    cluster.body = {**cluster.body, "metadata": {**cluster.body["metadata"], "annotations": annotation}}
    plan = cluster.reconcile()
    assert "BudgetOverride" in reasons(plan)
    assert "alice@example.com" in next(e.message for e in plan.events if e.reason == "BudgetOverride")
    assert set(cluster.replicas().values()) == {2}
    override = cluster.budget["override"]
    assert (override["capUSD"], override["by"], override["until"]) == (
        25,
        "alice@example.com",
        "2026-12-02T13:00:00Z",
    )
    assert cluster.budget["capUSD"] == 25
    assert cluster.reconcile().events == ()

    # It ends on its own; the same annotation is never acted on again.
    cluster.now += timedelta(hours=1, seconds=1)
    plan = cluster.reconcile()
    cluster.measure(plan.spend, 10.6)
    plan = cluster.reconcile()
    assert "BudgetOverride" not in reasons(plan)
    assert set(cluster.replicas().values()) == {0}


def test_a_malformed_override_is_ignored_with_a_warning() -> None:
    cluster = Cluster(budgeted())
    annotation = command_annotation("budget", at=NOW, by="bob", usd=25)
    cluster.body = {**cluster.body, "metadata": {**cluster.body["metadata"], "annotations": annotation}}
    plan = cluster.reconcile()
    ignored = [e for e in plan.events if e.reason == "CommandIgnored"]
    assert ignored
    assert "forSeconds" in ignored[0].message


def test_a_result_from_an_older_spec_or_window_is_not_used() -> None:
    cluster = Cluster(budgeted())
    job = cluster.reconcile().spend
    assert job is not None
    cluster.result = SpendResult(replace(job, fingerprint="other"), NOW, spend=Spend({"r1": 50.0}))
    cluster.reconcile()
    assert cluster.budget["state"] == "Ok"
    assert set(cluster.replicas().values()) == {2}


def test_measuring_the_same_numbers_again_writes_nothing() -> None:
    cluster = Cluster(budgeted())
    cluster.measure(cluster.reconcile().spend, 2.0)
    cluster.reconcile()
    measured = cluster.budget["measuredAt"]
    for _ in range(3):
        cluster.now += timedelta(seconds=30)
        plan = cluster.reconcile()
        assert plan.spend is not None, "the next measurement is due"
        cluster.measure(plan.spend, 2.0)
        again = cluster.reconcile()
        assert (again.status, again.events, again.apply) == (None, (), ())
    assert cluster.budget["measuredAt"] == measured
    cluster.now += timedelta(seconds=30)
    cluster.measure(cluster.reconcile().spend, 2.5)
    assert cluster.reconcile().status is not None, "new numbers are written"


def test_after_a_restart_the_first_measurement_is_due_at_once() -> None:
    cluster = Cluster(budgeted())
    cluster.measure(cluster.reconcile().spend, 2.0)
    cluster.reconcile()
    cluster.result = None  # a new operator process: the runner's memory is empty
    cluster.now += timedelta(seconds=5)
    plan = cluster.reconcile()
    assert plan.spend is not None
    assert plan.spend.due <= cluster.now
    assert cluster.budget["spentUSD"] == 2.0, "the stored numbers hold meanwhile"


def test_a_budget_override_is_acted_on_only_when_its_identity_proof_verifies() -> None:
    """With the webhook, every command carries a proof (controller/command_proof.py): an override
    written past it, naming anyone, does not lift the cap; the same override stamped by the webhook
    does."""
    key = derive_key(b"webhook tls key")
    cluster = Cluster(budgeted())
    cluster.measure(cluster.reconcile().spend, 10.5)
    cluster.reconcile()
    assert set(cluster.replicas().values()) == {0}
    at = NOW - timedelta(seconds=1)
    forged = command_annotation("budget", at=at, by="cluster-admin", usd=25, for_seconds=3600)
    meta = cluster.body["metadata"]
    cluster.body = {**cluster.body, "metadata": {**meta, "annotations": forged}}
    plan = plan_reconcile(replace(cluster.observation(), command_keys=(key,)))
    assert "BudgetOverride" not in reasons(plan)
    assert "CommandRefused" in reasons(plan)
    assert plan.status is None or "override" not in (plan.status.get("budget") or {})

    stamped = stamp_command_identity({"metadata": {**meta, "annotations": forged}}, None, "alice", key)
    cluster.body = {**cluster.body, "metadata": {**meta, "annotations": {**forged, **stamped}}}
    plan = plan_reconcile(replace(cluster.observation(), command_keys=(key,)))
    assert "BudgetOverride" in reasons(plan)
    assert "alice" in next(e.message for e in plan.events if e.reason == "BudgetOverride")


def test_the_cap_is_measured_and_enforced_even_while_canary_analysis_is_broken() -> None:
    """A canary whose analysis query Prometheus rejects stalls the rollout, but the spend cap keeps
    being measured, and once spent it scales every revision to zero: it fails closed."""
    body = budgeted(
        rollout={"strategy": "Canary", "canary": {"steps": [{"analyze": {"intervalSeconds": 10}}]}}
    )
    body["status"] = {"stableRevision": "stable1", "canaryRevision": "canary1"}
    analysis = Analysis.model_validate(body["spec"]["analysis"])
    request = AnalysisRequest("canary1", "stable1", 1, NOW, 60)
    job = MeasureJob(fingerprint(analysis), analysis, request)
    broken = AnalysisResult(job.fingerprint, "canary1", error="Prometheus rejected the query", job=job)
    cluster = Cluster(body)

    def plan() -> ReconcilePlan:
        return plan_reconcile(replace(cluster.observation(), analysis=(broken,)))

    stalled = plan()
    assert stalled.status is not None
    assert any(c["reason"] == "AnalysisError" for c in stalled.status["conditions"])
    assert stalled.spend is not None, "the spend cap is still measured while analysis is broken"
    cluster.measure(stalled.spend, 10.5)
    exhausted = plan()
    assert exhausted.status is not None
    conditions = {c["type"]: c for c in exhausted.status["conditions"]}
    assert exhausted.status["phase"] == "Suspended", "every revision at zero (the kill switch's path)"
    assert conditions["BudgetExhausted"]["status"] == "True"
    assert conditions["Stalled"]["reason"] != "AnalysisError"
