"""Restart safety and zero writes: no state lives only in the operator's memory, and an
unchanged agent costs no write requests."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from tests.integration.agents.conftest import Agents
from tests.support.operator import OperatorProcess, agent_manifest, condition
from tests.support.wait import wait_for

from .test_lifecycle import live_objects, wait_ready

pytestmark = pytest.mark.integration


def test_operator_killed_mid_reconcile_converges_after_restart(
    agents: Agents, namespace: str, operator: OperatorProcess, apps_v1: client.AppsV1Api
) -> None:
    agents.create(agent_manifest("phoenix", namespace))
    # Kill as soon as the first child exists: the reconcile that creates them is in flight.
    wait_for(
        lambda: (bool(apps_v1.list_namespaced_deployment(namespace).items), None),
        "the first Deployment of the agent",
        timeout=60,
        interval=0.05,
    )
    operator.kill()
    agents.patch(
        "phoenix", {"spec": {"container": {"image": "registry.example.com/support-bot@sha256:" + "d" * 64}}}
    )
    operator.start()
    ready = wait_ready(agents, "phoenix", timeout=120)
    deployments = apps_v1.list_namespaced_deployment(
        namespace, label_selector="agentoperator.dev/agent=phoenix"
    ).items
    assert [d.metadata.name for d in deployments] == [f"phoenix-{ready['status']['stableRevision']}"]
    assert deployments[0].spec.template.spec.containers[0].image.endswith("d" * 64)


def _versions(api_client: client.ApiClient, agents: Agents, namespace: str, name: str) -> dict[str, Any]:
    versions = {
        f"{k}/{n}": o["metadata"]["resourceVersion"]
        for (k, n), o in live_objects(api_client, namespace, name).items()
    }
    versions["AgentDeployment"] = agents.get(name)["metadata"].get("generation")
    return versions


def test_resync_of_an_unchanged_agent_issues_no_writes(
    agents: Agents, namespace: str, operator: OperatorProcess, api_client: client.ApiClient
) -> None:
    agents.create(agent_manifest("steady", namespace))
    wait_ready(agents, "steady")

    history: list[float] = []

    def settled() -> tuple[bool, list[float]]:
        # Quiet for three probes in a row: earlier tests' namespaces may still be winding down.
        history.append(operator.writes())
        recent = history[-3:]
        ready = condition(agents.get("steady"), "Ready").get("status") == "True"
        return ready and len(recent) == 3 and len(set(recent)) == 1, recent

    writes_before = wait_for(settled, "operator writes settled", timeout=90, interval=1.0)[-1]
    versions_before = _versions(api_client, agents, namespace, "steady")
    reconciles_before = operator.metric_sum(
        "agent_operator_reconciles_total", namespace=namespace, agent="steady"
    )

    # An annotation nobody renders: it triggers watch events and a full reconcile, nothing else.
    agents.patch("steady", {"metadata": {"annotations": {"test/touch": "1"}}})
    wait_for(
        lambda: (
            operator.metric_sum("agent_operator_reconciles_total", namespace=namespace, agent="steady")
            >= reconciles_before + 1,
            operator.metric_sum("agent_operator_reconciles_total", namespace=namespace, agent="steady"),
        ),
        "a reconcile after the touch",
        timeout=60,
    )
    # Everything the operator wrote since it started, across all agents, did not move.
    assert operator.writes() == writes_before
    assert _versions(api_client, agents, namespace, "steady") == versions_before
    # kopf left nothing of its own on the object either.
    annotations = agents.get("steady")["metadata"].get("annotations") or {}
    assert not [k for k in annotations if k.startswith(("kopf.", "agentoperator.dev/last-handled"))]
