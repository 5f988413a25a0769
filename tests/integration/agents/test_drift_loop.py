"""The DriftLoop guard on the real control plane: a child rewritten with unchanged content again and
again is reported, counted and then left alone.

A loop caused by the apiserver normalising a field is exactly what the operator must not have (and
test_convergence proves it has none), so the loop here is made the one deterministic way: a second
writer that keeps changing a label the operator owns. The operator reverts each edit with the same
content; the revert that makes it more than 4 same-content writes of the object in 10 minutes trips
the guard.
"""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from agent_operator.controller.driftloop import DEFAULT_MAX_WRITES
from tests.integration.agents.conftest import Agents
from tests.support.operator import OperatorProcess, agent_manifest, condition
from tests.support.wait import wait_for

from .test_lifecycle import wait_ready

pytestmark = pytest.mark.integration

LABEL = "app.kubernetes.io/component"


def test_a_child_rewritten_again_and_again_trips_the_guard_and_is_then_left_alone(
    agents: Agents, namespace: str, operator: OperatorProcess, core_v1: client.CoreV1Api
) -> None:
    agents.create(agent_manifest("fought", namespace))
    wait_ready(agents, "fought")
    owned = core_v1.read_namespaced_service_account("fought", namespace).metadata.labels[LABEL]

    def label() -> str:
        return str(core_v1.read_namespaced_service_account("fought", namespace).metadata.labels[LABEL])

    def edit(value: str) -> None:
        core_v1.patch_namespaced_service_account(
            "fought", namespace, {"metadata": {"labels": {LABEL: value}}}
        )

    # The create was the first write of this content; each revert is one more.
    for round_ in range(DEFAULT_MAX_WRITES):
        edit(f"edited-{round_}")
        wait_for(lambda: (label() == owned, label()), f"edit {round_} reverted", timeout=60)

    def looping() -> tuple[bool, dict[str, Any]]:
        cond = condition(agents.get("fought"), "DriftLoop")
        return cond.get("status") == "True", cond

    cond = wait_for(looping, "DriftLoop=True on the agent", timeout=60)
    assert cond["reason"] == "WriteLoop"
    assert "ServiceAccount/fought" in cond["message"]
    assert "edited" not in cond["message"]
    assert (
        operator.metric_sum("agent_operator_drift_loops_total", namespace=namespace, kind="ServiceAccount")
        == 1
    )

    # Held back: the next edit survives a full reconcile of the agent.
    edit("edited-last")
    reconciles = operator.metric_sum("agent_operator_reconciles_total", namespace=namespace, agent="fought")
    agents.patch("fought", {"metadata": {"annotations": {"test/touch": "1"}}})
    wait_for(
        lambda: (
            operator.metric_sum("agent_operator_reconciles_total", namespace=namespace, agent="fought")
            > reconciles,
            None,
        ),
        "a reconcile after the touch",
        timeout=60,
    )
    assert label() == "edited-last"
    assert condition(agents.get("fought"), "DriftLoop").get("status") == "True"
