"""Convergence, not loops: fields the apiserver normalises away cost one write, then none.

Kubernetes drops zero values of ``omitempty`` fields (a probe's ``initialDelaySeconds: 0``, a
pod's ``hostNetwork: false``) and canonicalises quantities (``1000m`` reads back as ``1``). The
operator must not mistake that for somebody's edit and rewrite the Deployment on every reconcile.
"""

from __future__ import annotations

import pytest

from tests.integration.agents.conftest import Agents
from tests.support.operator import OperatorProcess, agent_manifest, condition
from tests.support.wait import wait_for

from .test_lifecycle import wait_ready

pytestmark = pytest.mark.integration


def _deployment_writes(operator: OperatorProcess) -> float:
    return sum(
        operator.metric_sum("agent_operator_api_requests_total", verb=verb, kind="Deployment")
        for verb in ("patch", "create")
    )


def _settled(operator: OperatorProcess, history: list[float]) -> tuple[bool, list[float]]:
    history.append(operator.writes())
    recent = history[-3:]
    return len(recent) == 3 and len(set(recent)) == 1, recent


def test_fields_the_apiserver_normalises_cost_one_write_then_none(
    agents: Agents, namespace: str, operator: OperatorProcess
) -> None:
    quiet: list[float] = []
    wait_for(lambda: _settled(operator, quiet), "operator writes settled", timeout=90, interval=1.0)
    before = _deployment_writes(operator)

    manifest = agent_manifest("normalised", namespace)
    container = manifest["spec"]["container"]
    container["probes"]["liveness"]["initialDelaySeconds"] = 0
    container["resources"] = {"requests": {"cpu": "1000m", "memory": "0.5Gi"}, "limits": {"memory": "1Gi"}}
    manifest["spec"]["podTemplate"] = {"hostNetwork": False, "automountServiceAccountToken": False}
    agents.create(manifest)
    wait_ready(agents, "normalised")
    history: list[float] = []
    wait_for(lambda: _settled(operator, history), "operator writes settled", timeout=90, interval=1.0)
    assert _deployment_writes(operator) - before == 1, "the Deployment is written exactly once"

    writes = operator.writes()
    reconciles = operator.metric_sum(
        "agent_operator_reconciles_total", namespace=namespace, agent="normalised"
    )
    # Two full reconciles, as a resync would run them; the second proves a first no-op was no fluke.
    for touch in ("1", "2"):
        agents.patch("normalised", {"metadata": {"annotations": {"test/touch": touch}}})
        target = reconciles + int(touch)
        wait_for(
            lambda target=target: (
                operator.metric_sum(
                    "agent_operator_reconciles_total", namespace=namespace, agent="normalised"
                )
                >= target,
                None,
            ),
            "a reconcile after the touch",
            timeout=60,
        )
    assert operator.writes() == writes, "a reconcile of the unchanged agent wrote something"
    assert condition(agents.get("normalised"), "DriftLoop") == {}
