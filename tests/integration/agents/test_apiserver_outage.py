"""The operator after a 10 s apiserver outage, on the real control plane: the process the tests
started is killed and started again with the same flags (tests/support/outage.py; a kubelet
stand-in restarts controller-manager and scheduler, which exit when they lose their lease).

The operator's watches resume from their resourceVersions; changes made right after the return,
before its watches are back, still reach it; a new agent becomes Ready; /healthz reports no watch
down once it has caught up. Times are printed for the benchmarks' record, not asserted."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest
from kubernetes import client

from tests.integration.agents.conftest import Agents
from tests.support import ClusterInfo
from tests.support.operator import OperatorProcess, agent_manifest
from tests.support.outage import ControlPlane, apiserver_outage
from tests.support.wait import wait_for

from .test_lifecycle import wait_ready

pytestmark = pytest.mark.integration


def _health(operator: OperatorProcess) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{operator.health_port}/healthz", timeout=5) as resp:
        body: dict[str, Any] = json.loads(resp.read())
    return body


def test_after_an_apiserver_outage_new_and_existing_agents_catch_up(
    cluster: ClusterInfo,
    agents: Agents,
    namespace: str,
    operator: OperatorProcess,
    apps_v1: client.AppsV1Api,
) -> None:
    if not cluster.local:
        pytest.skip("stopping the apiserver needs the local cluster (make cluster-up)")
    agents.create(agent_manifest("before", namespace))
    ready = wait_ready(agents, "before")
    serving = f"before-{ready['status']['stableRevision']}"

    with apiserver_outage(10, control_plane=ControlPlane.local()) as outage:
        pass
    # Right away, while the operator's watches may still be reconnecting: a human deletes a child
    # of an existing agent, and a new agent is created.
    apps_v1.delete_namespaced_deployment(serving, namespace)
    agents.create(agent_manifest("after", namespace))

    wait_ready(agents, "after", timeout=120)
    new_ready = time.time() - outage.returned_at

    def restored() -> tuple[bool, str]:
        found = apps_v1.list_namespaced_deployment(namespace, field_selector=f"metadata.name={serving}").items
        return bool(found) and (found[0].status.available_replicas or 0) > 0, f"{len(found)} found"

    wait_for(restored, f"the deleted Deployment {serving} restored and available", timeout=120)
    existing_back = time.time() - outage.returned_at

    def caught_up() -> tuple[bool, dict[str, Any]]:
        cache = _health(operator)["reconciler"]  # kopf answers {probe id: what it returned}
        return not cache["watchesDown"] and not cache["stale"], cache

    wait_for(caught_up, "the operator's /healthz: no watch down, nothing stale", timeout=60)
    operator.assert_running()
    down = outage.returned_at - outage.stopped_at
    print(
        f"\napiserver outage {outage.seconds:.0f}s: back after {down:.1f}s; "
        f"control plane leading again {outage.recovered_at - outage.returned_at:.1f}s later; new agent Ready "
        f"{new_ready:.1f}s and deleted child restored {existing_back:.1f}s after the apiserver's return; "
        f"restarted by the kubelet stand-in: {outage.restarted}"
    )
