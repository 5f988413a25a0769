"""Rollback written the way the Argo CD action writes it (no toRevision), planned by the real
planner against stores that carry exactly what the cluster would: the operator must pick the target
itself from the ControllerRevisions it wrote."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from agent_operator.controller.plan import Observation, plan_reconcile
from tests.support.argocd_lua import GITOPS_DIR, LuaScript

ROLLBACK = LuaScript.from_file(GITOPS_DIR / "argocd-actions" / "rollback.lua")
T0 = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)


def _agent(image: str, budget: int) -> dict[str, Any]:
    return {
        "apiVersion": "agentoperator.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": {"name": "bot", "namespace": "agents", "uid": "u-1", "generation": 1},
        "spec": {
            "environment": "development",
            "replicas": 2,
            "container": {"image": f"registry.example.com/{image}@sha256:" + "a" * 64},
            "runtime": {"maxIterations": budget},
        },
    }


class Store:
    """What the API server stores for one agent: the agent, its children and its history.

    Deployments become fully available as soon as they are written (pods are not the point here).
    """

    def __init__(self, agent: dict[str, Any]) -> None:
        self.agent = agent
        self.children: dict[tuple[str, str], dict[str, Any]] = {}
        self.history: dict[str, dict[str, Any]] = {}
        self.now = T0

    def reconcile(self) -> None:
        self.now += timedelta(seconds=10)
        plan = plan_reconcile(
            Observation(
                agent=copy.deepcopy(self.agent),
                children=tuple(copy.deepcopy(list(self.children.values()))),
                history=tuple(copy.deepcopy(list(self.history.values()))),
                now=self.now,
            )
        )
        for obj in plan.apply:
            obj = copy.deepcopy(obj)
            if obj["kind"] == "ControllerRevision":
                self.history[obj["metadata"]["name"]] = obj
                continue
            if obj["kind"] == "Deployment":
                n = obj["spec"]["replicas"]
                obj["status"] = {"replicas": n, "readyReplicas": n, "availableReplicas": n}
            self.children[(obj["kind"], obj["metadata"]["name"])] = obj
        for ref in plan.delete:
            if ref.kind.kind == "ControllerRevision":
                self.history.pop(ref.name, None)
            else:
                self.children.pop((ref.kind.kind, ref.name), None)
        if plan.status is not None:
            self.agent["status"] = plan.status

    def settle(self) -> None:
        for _ in range(30):
            self.reconcile()
            if self.agent["status"].get("phase") == "Available" and not self.agent["status"].get(
                "canaryRevision"
            ):
                return
        raise AssertionError(self.agent["status"])

    def roll_to(self, image: str, budget: int) -> str:
        generation = self.agent["metadata"]["generation"] + 1
        self.agent["spec"] = _agent(image, budget)["spec"]
        self.agent["metadata"]["generation"] = generation
        self.settle()
        revision: str = self.agent["status"]["stableRevision"]
        return revision

    def kinds(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: obj for (k, name), obj in self.children.items() if k == kind}


def test_argocd_rollback_without_to_revision_returns_to_the_previous_stable_and_its_config() -> None:
    store = Store(_agent("one", 10))
    store.settle()
    store.roll_to("two", 20)
    second = store.agent["status"]["stableRevision"]
    (second_config,) = (
        name
        for name, obj in store.kinds("ConfigMap").items()
        if obj["metadata"]["labels"].get("agentoperator.dev/revision") == second
    )
    store.roll_to("three", 30)
    third = store.agent["status"]["stableRevision"]
    assert len({second, third}) == 2

    store.agent = ROLLBACK.run(store.agent)
    store.settle()

    status = store.agent["status"]
    assert status["stableRevision"] == second, status
    assert status["rollout"]["rollbackFrom"] == third
    assert set(store.kinds("Deployment")) == {f"bot-{second}"}
    assert second_config in store.kinds("ConfigMap")
    deployment = store.kinds("Deployment")[f"bot-{second}"]
    assert "registry.example.com/two@" in str(deployment["spec"]["template"])
    assert not status.get("commandProblems")
