"""An idle fleet costs the apiserver its watches and nothing else: reconciles and the safety
resync read the operator's watch cache, never the apiserver. Counted on the apiserver's own
``apiserver_request_total`` and on the operator's request counter; no timing assertion."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from kubernetes import client

from tests.integration.agents.conftest import Agents
from tests.support.kube import apiserver_requests
from tests.support.operator import OperatorProcess, agent_manifest
from tests.support.wait import wait_for

from .test_lifecycle import wait_ready

pytestmark = pytest.mark.integration

FLEET = 20
IDLE_SECONDS = 120
OPERATOR_RESOURCES = frozenset(
    {
        "agentdeployments",
        "readinesspolicies",
        "controllerrevisions",
        "secrets",
        "customresourcedefinitions",
        "namespaces",
        "pods",
        "deployments",
        "replicasets",
        "services",
        "configmaps",
        "serviceaccounts",
        "networkpolicies",
        "poddisruptionbudgets",
        "jobs",
        "events",
    }
)
"""Everything the operator reads or writes; nothing else in an idle test cluster touches these
except the tests themselves (the cluster's controllers read them through watches too)."""


APISERVER_OWN = frozenset({("LIST", "services", "cluster")})
"""The apiserver's own ClusterIP and NodePort repair loops list every Service every few minutes;
the operator's own request counter (checked too) covers its Service informer's lists."""


def _non_watch_requests(api_client: client.ApiClient) -> Counter[str]:
    counts: Counter[str] = Counter()
    for labels, value in apiserver_requests(api_client):
        if (labels.get("verb"), labels.get("resource"), labels.get("scope")) in APISERVER_OWN:
            continue
        if labels.get("resource") in OPERATOR_RESOURCES and labels.get("verb") not in ("WATCH", "CONNECT"):
            counts[f"{labels.get('verb')} {labels.get('resource')}/{labels.get('subresource', '')}"] += int(
                value
            )
    return counts


def _operator_requests(operator: OperatorProcess) -> float:
    total = operator.metric_sum("agent_operator_api_requests_total")
    return total - operator.metric_sum("agent_operator_api_requests_total", verb="watch")


def test_an_idle_fleet_sends_no_request_but_its_watches(
    agents: Agents,
    namespace: str,
    operator: OperatorProcess,
    api_client: client.ApiClient,
    core_v1: client.CoreV1Api,
) -> None:
    names = [f"idle-{i:02d}" for i in range(FLEET)]
    for name in names:
        agents.create(agent_manifest(name, namespace))
    for name in names:
        wait_ready(agents, name, timeout=180)

    def quiet() -> tuple[bool, str]:
        # Earlier tests' namespaces finish terminating first: the namespace controller's cleanup
        # would show up in the apiserver's counts.
        terminating = [
            n.metadata.name for n in core_v1.list_namespace().items if n.status.phase == "Terminating"
        ]
        return not terminating, f"terminating: {terminating}"

    wait_for(quiet, "no namespace terminating", timeout=180, interval=2)
    history: list[float] = []

    def settled() -> tuple[bool, list[float]]:
        history.append(_operator_requests(operator))
        return len(history) >= 3 and len(set(history[-3:])) == 1, history[-3:]

    wait_for(settled, "the operator's requests settled", timeout=120, interval=2)

    operator_before = _operator_requests(operator)
    apiserver_before = _non_watch_requests(api_client)
    time.sleep(IDLE_SECONDS)  # the measurement window itself, not a wait for a condition
    apiserver_after = _non_watch_requests(api_client)
    operator_after = _operator_requests(operator)

    moved = {k: apiserver_after[k] - apiserver_before.get(k, 0) for k in apiserver_after}
    moved = {k: v for k, v in moved.items() if v}
    assert operator_after - operator_before == 0, "the operator sent requests while its fleet was idle"
    assert moved == {}, f"non-watch requests to the operator's resources while idle: {moved}"
