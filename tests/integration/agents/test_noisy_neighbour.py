"""Noisy neighbours: 200 broken agents in one namespace do not keep a good agent in another from
becoming Ready, and each broken one says truthfully why it is stuck.

The broken agents (tests/support/neighbours.py) are specs the CRD admits but the apiserver refuses
at apply time (Stalled ApplyRejected) and agents waiting for a Secret that never appears (Stalled
SecretsMissing). The good agent is created right after the burst, while the operator still has the
broken ones queued: its first reconcile must not wait behind their retries. How long it takes is
measured by benchmarks/noisy_neighbour_bench.py, not asserted here.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from kubernetes import client

from tests.integration.agents.conftest import Agents
from tests.support.neighbours import admitted_kinds, broken_agents, create_concurrently, stall_reasons
from tests.support.operator import OperatorProcess, agent_manifest, condition
from tests.support.wait import wait_for

from .test_lifecycle import wait_ready

pytestmark = pytest.mark.integration

BROKEN = 200


def test_a_good_agent_becomes_ready_next_to_200_broken_ones_that_each_say_why(
    operator: OperatorProcess,
    custom_objects: client.CustomObjectsApi,
    make_namespace: Callable[..., str],
) -> None:
    noisy, quiet = make_namespace(), make_namespace()
    kinds = admitted_kinds(custom_objects, noisy)
    broken = broken_agents(noisy, kinds, BROKEN)
    create_concurrently(custom_objects, noisy, [body for body, _ in broken.values()])

    good = Agents(custom_objects, quiet)
    good.create(agent_manifest("good", quiet))
    ready = wait_ready(good, "good", timeout=120)
    assert condition(ready, "Stalled").get("status") == "False"

    expected = {name: reason for name, (_, reason) in broken.items()}

    def all_truthful() -> tuple[bool, dict[str, str]]:
        seen = stall_reasons(custom_objects, noisy)
        wrong = {
            name: f"{seen.get(name)} (want {want})"
            for name, want in expected.items()
            if seen.get(name) != want
        }
        return not wrong, dict(list(wrong.items())[:10]) | {"wrong": str(len(wrong))}

    wait_for(all_truthful, f"all {BROKEN} broken agents Stalled with their true reason", timeout=150)
    operator.assert_running()
