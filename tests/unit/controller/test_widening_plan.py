"""The planner end to end: widenings gate the rollout and hold the shared egress until an
approval whose identity proof verifies; a forged one is refused."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from agent_operator.api import ReadinessPolicy
from agent_operator.controller.admission import stamp_command_identity
from agent_operator.controller.command_proof import derive_key
from agent_operator.controller.commands import COMMAND_PREFIX
from agent_operator.controller.plan import Observation, ReconcilePlan, plan_reconcile

NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)
KEY = derive_key(b"webhook tls key")
APPROVE = f"{COMMAND_PREFIX}approve"
POLICY = ReadinessPolicy.model_validate(
    {
        "metadata": {"name": "gate"},
        "spec": {"enforcement": "Audit", "approvalRequiredFor": ["egress", "model"]},
    }
)


def agent_body(cidrs: list[str], model: str = "gpt-4o") -> dict[str, Any]:
    return {
        "apiVersion": "agentoperator.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": {"name": "bot", "namespace": "agents", "uid": "u-1", "generation": 1, "annotations": {}},
        "spec": {
            "environment": "development",
            "replicas": 2,
            "container": {"image": "registry.example.com/bot@sha256:" + "a" * 64},
            "model": {"provider": "openai", "name": model},
            "network": {"egress": {"allowedCIDRs": cidrs}},
        },
    }


class Cluster:
    """Plays the controller: applies each plan's objects and status, makes pods available."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.children: dict[tuple[str, str], dict[str, Any]] = {}
        self.history: dict[str, dict[str, Any]] = {}
        self.now = NOW
        self.plans: list[ReconcilePlan] = []

    def reconcile(self) -> ReconcilePlan:
        self.now += timedelta(seconds=10)
        obs = Observation(
            agent=self.body,
            children=tuple(self.children.values()),
            history=tuple(self.history.values()),
            policies=(POLICY,),
            now=self.now,
            command_keys=(KEY,),
        )
        plan = plan_reconcile(obs)
        for ref in plan.delete:
            self.children.pop((ref.kind.kind, ref.name), None)
        for obj in plan.apply:
            obj = copy.deepcopy(obj)
            if obj["kind"] == "ControllerRevision":
                self.history[obj["metadata"]["name"]] = obj
                continue
            if obj["kind"] == "Deployment":
                n = obj["spec"]["replicas"]
                obj["status"] = {"replicas": n, "readyReplicas": n, "availableReplicas": n}
            self.children[(obj["kind"], obj["metadata"]["name"])] = obj
        if plan.status is not None:
            self.body = {**self.body, "status": plan.status}
        self.plans.append(plan)
        return plan

    def settle(self, rounds: int = 8) -> list[str]:
        reasons: list[str] = []
        for _ in range(rounds):
            reasons.extend(e.reason for e in self.reconcile().events)
        return reasons

    def edit(self, body: dict[str, Any]) -> None:
        self.body = {**body, "metadata": self.body["metadata"], "status": self.body.get("status")}

    def annotate(self, key: str, raw: str) -> None:
        meta = copy.deepcopy(self.body["metadata"])
        meta["annotations"][key] = raw
        self.body = {**self.body, "metadata": meta}

    def egress_cidrs(self) -> list[str]:
        policy = self.children[("NetworkPolicy", "bot")]
        return sorted(
            peer["ipBlock"]["cidr"]
            for rule in policy["spec"].get("egress", [])
            for peer in rule["to"]
            if "ipBlock" in peer
        )

    @property
    def rollout(self) -> dict[str, Any]:
        return dict(self.body["status"].get("rollout") or {})


def _signed_approval(body: dict[str, Any], at: str, revision: str | None = None) -> str:
    raw = json.dumps({"at": at, "by": "whoever", **({"revision": revision} if revision else {})})
    new = {"metadata": {**body["metadata"], "annotations": {APPROVE: raw}}}
    return stamp_command_identity(new, None, "alice@example.com", KEY)[APPROVE]


def test_an_egress_widening_holds_the_network_policy_until_a_verified_approval() -> None:
    cluster = Cluster(agent_body(["10.1.0.0/16"]))
    cluster.settle()
    assert cluster.body["status"]["phase"] == "Available"
    assert cluster.egress_cidrs() == ["10.1.0.0/16"]

    cluster.edit(agent_body(["10.1.0.0/16", "192.168.0.0/24"]))
    reasons = cluster.settle(3)
    assert reasons.count("AwaitingApproval") == 1
    assert cluster.egress_cidrs() == ["10.1.0.0/16"], "the widening must not reach the NetworkPolicy"
    assert cluster.rollout["widenings"] == [
        {
            "kind": "egress",
            "path": "spec.network.egress.allowedCIDRs",
            "before": "[10.1.0.0/16]",
            "after": "+192.168.0.0/24",
        }
    ]
    ready = next(c for c in cluster.body["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False"

    # Written around the webhook: no proof, refused, nothing released.
    cluster.annotate(APPROVE, json.dumps({"at": "2026-11-21T13:00:00Z", "by": "cluster-admin"}))
    reasons = cluster.settle(2)
    assert reasons == ["CommandRefused"]
    assert cluster.egress_cidrs() == ["10.1.0.0/16"]

    cluster.annotate(APPROVE, _signed_approval(cluster.body, "2026-11-21T14:00:00Z"))
    reasons = cluster.settle(2)
    assert "Approved" in reasons
    approved = next(e for p in cluster.plans for e in p.events if e.reason == "Approved")
    assert approved.message.startswith("alice@example.com approved the egress widening of revision ")
    assert cluster.egress_cidrs() == ["10.1.0.0/16", "192.168.0.0/24"]
    assert "widenings" not in cluster.rollout
    assert cluster.rollout["approvedEgress"] == {"allowedCIDRs": ["10.1.0.0/16", "192.168.0.0/24"]}
    assert cluster.body["status"]["phase"] == "Available"

    # Narrowing applies at once, no approval needed.
    cluster.edit(agent_body(["10.1.0.0/16"]))
    assert "AwaitingApproval" not in cluster.settle(2)
    assert cluster.egress_cidrs() == ["10.1.0.0/16"]


def test_a_new_revision_that_widens_waits_at_step_0_and_its_approval_releases_the_egress_too() -> None:
    cluster = Cluster(agent_body(["10.1.0.0/16"]))
    cluster.settle()
    stable = cluster.body["status"]["stableRevision"]
    cluster.edit(agent_body(["10.1.0.0/16", "192.168.0.0/24"], model="gpt-5"))
    cluster.settle(3)
    status = cluster.body["status"]
    canary = status["canaryRevision"]
    assert canary
    assert status["stableRevision"] == stable
    assert [w["kind"] for w in cluster.rollout["widenings"]] == ["egress", "model"]
    assert cluster.egress_cidrs() == ["10.1.0.0/16"]
    assert cluster.children[("Deployment", f"bot-{canary}")]["spec"]["replicas"] == 0

    cluster.annotate(APPROVE, _signed_approval(cluster.body, "2026-11-21T14:00:00Z", revision=canary))
    cluster.settle(10)
    status = cluster.body["status"]
    assert (status["stableRevision"], status.get("canaryRevision"), status["phase"]) == (
        canary,
        None,
        "Available",
    )
    assert cluster.egress_cidrs() == ["10.1.0.0/16", "192.168.0.0/24"]
    record = cluster.history[f"bot-{canary}"]["metadata"]["annotations"]
    gates = json.loads(record["agentoperator.dev/gates"])
    assert [(a["by"], a["step"]) for a in gates["approvals"]] == [("alice@example.com", 0)]
