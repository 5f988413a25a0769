"""A child the apiserver refuses: the agent says so at once, the operator does not hammer the
apiserver with the same refused body, and a good agent next to it is unaffected.

Call counts come from the apiserver's own ``apiserver_request_total``, so they include every
attempt the client made, retries and all."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.integration.agents.conftest import Agents
from tests.support.kube import apiserver_requests
from tests.support.neighbours import REFUSED_AT_APPLY
from tests.support.operator import OperatorProcess, agent_manifest, condition
from tests.support.wait import wait_for

from .test_lifecycle import wait_ready

pytestmark = pytest.mark.integration


def apply_answers(api_client: client.ApiClient, resource: str, code: str) -> float:
    """How many server-side applies of ``resource`` the apiserver answered with ``code``."""
    wanted = {"resource": resource, "verb": "APPLY", "code": code}
    return sum(
        value
        for labels, value in apiserver_requests(api_client)
        if all(labels.get(k) == v for k, v in wanted.items())
    )


def _create_first_admitted(agents: Agents, namespace: str) -> tuple[str, str]:
    refused: list[str] = []
    for overrides, resource, code in REFUSED_AT_APPLY:
        try:
            agents.create(agent_manifest("refused", namespace, **overrides))
        except ApiException as exc:
            if exc.status != 422:
                raise
            refused.append(resource)
            continue
        return resource, code
    pytest.fail(f"the CRD now refuses every spec in REFUSED_AT_APPLY ({refused}): add one it admits")


def test_a_refused_child_stalls_the_agent_with_one_call_and_spares_its_neighbour(
    agents: Agents, namespace: str, operator: OperatorProcess, api_client: client.ApiClient
) -> None:
    baseline = {(r, c): apply_answers(api_client, r, c) for _, r, c in REFUSED_AT_APPLY}
    resource, code = _create_first_admitted(agents, namespace)
    agents.create(agent_manifest("neighbour", namespace))

    def stalled() -> tuple[bool, dict[str, Any]]:
        cond = condition(agents.get("refused"), "Stalled")
        return cond.get("status") == "True" and cond.get("reason") == "ApplyRejected", cond

    stall = wait_for(stalled, "Stalled=True reason ApplyRejected on the refused agent", timeout=60)
    assert "valueUnstructured" not in stall["message"]
    assert "Sometimes" not in stall["message"]
    assert apply_answers(api_client, resource, code) == baseline[(resource, code)] + 1
    wait_ready(agents, "neighbour")

    # Another reconcile with the same spec (an annotation changes nothing the apply depends on)
    # does not send the refused body again.
    def reconciles() -> float:
        return operator.metric_sum("agent_operator_reconciles_total", namespace=namespace, agent="refused")

    before = reconciles()
    agents.patch("refused", {"metadata": {"annotations": {"test/touch": "1"}}})
    wait_for(lambda: (reconciles() > before, reconciles()), "a reconcile after the touch", timeout=60)
    assert apply_answers(api_client, resource, code) == baseline[(resource, code)] + 1

    # Fixing the spec is retried at once and clears the stall.
    fixed = agent_manifest("refused", namespace)["spec"]
    agents.patch("refused", {"spec": dict.fromkeys(("network", "podTemplate")) | fixed})
    ready = wait_ready(agents, "refused")
    assert condition(ready, "Stalled").get("status") == "False"
