"""The spend cap that fails closed, end to end: the operator on the real control plane measures
spend from a real Prometheus scraping the loopback GenAI exporter every second.

Spend is played as bursts of a known number of tasks (a known number of tokens, so of dollars),
so every threshold is crossed on purpose, not by a race with the measurement interval. Midnight
is crossed by writing a time to the operator's budget clock file (--budget-clock-file), never by
waiting for it. Every wait polls status, Deployments or Events; nothing is timed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from tests.integration.agents.conftest import BUDGET_CLOCK_FILE, Agents
from tests.integration.agents.rollout_support import (
    agentctl,
    canary_manifest,
    image,
    status_of,
    wait_stable_ready,
    wait_status,
)
from tests.support.cluster import ClusterInfo
from tests.support.genai_exporter import GenAiExporter, Traffic
from tests.support.operator import OperatorProcess, agent_manifest, condition
from tests.support.prometheus import PrometheusServer, genai_metrics, prometheus
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration
__all__ = ["genai_metrics", "prometheus"]  # fixtures, imported for this module

PRICES = [{"model": "gpt-x", "inputPerMillionTokens": 2.5, "outputPerMillionTokens": 10}]
TASK = Traffic(tasks=0)
"""1200 input and 300 output tokens a task: $0.003 + $0.003 = $0.006 a task at PRICES."""
USD_PER_TASK = 0.006
IDLE = Traffic(tasks=0)
"""Series exported at 0, nothing spent: a counter must exist before it grows."""


@pytest.fixture
def budget_clock() -> Iterator[Any]:
    """Sets the operator's budget clock; the system clock again after the test."""

    def set_clock(moment: str) -> None:
        BUDGET_CLOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
        BUDGET_CLOCK_FILE.write_text(moment + "\n")

    yield set_clock
    BUDGET_CLOCK_FILE.unlink(missing_ok=True)


@pytest.fixture
def played(genai_metrics: GenAiExporter, namespace: str) -> Iterator[list[tuple[str, str]]]:
    """(agent, revision) the exporter plays; stopped after the test."""
    served: list[tuple[str, str]] = []
    yield served
    for agent, revision in served:
        genai_metrics.serve(namespace, agent, revision, None)


def _budgeted(
    name: str, namespace: str, prom: PrometheusServer, daily: float, **extra: Any
) -> dict[str, Any]:
    body = agent_manifest(name, namespace)
    body["spec"]["runtime"]["budget"] = {
        "dailyUSD": daily,
        "alertAtPercent": 80,
        "intervalSeconds": 5,
        **extra,
    }
    body["spec"]["analysis"] = {
        "prometheus": {"address": prom.address, "timeoutSeconds": 2},
        "metrics": [{"name": "errorRate", "max": 0.5}],
        "cost": {"prices": PRICES},
    }
    return body


def _replicas(apps_v1: client.AppsV1Api, namespace: str, name: str) -> dict[str, int]:
    deployments = apps_v1.list_namespaced_deployment(
        namespace, label_selector=f"agentoperator.dev/agent={name}"
    )
    return {d.metadata.name: d.spec.replicas for d in deployments.items}


def _reasons(core_v1: client.CoreV1Api, namespace: str, name: str) -> list[str]:
    events = core_v1.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}").items
    return [e.reason for e in events]


def _event(core_v1: client.CoreV1Api, namespace: str, name: str, reason: str) -> str:
    events = core_v1.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}").items
    return next(e.message for e in events if e.reason == reason)


def _measured(revision: str) -> Any:
    """Spend measured with the revision's series in Prometheus (at 0): a burst after that is an
    increase, not the first sample of a counter that Prometheus would take as its baseline."""

    def check(status: dict[str, Any]) -> bool:
        rows = (status.get("budget") or {}).get("revisions") or []
        return any(r.get("revision") == revision for r in rows)

    return check


def _state(state: str) -> Any:
    return lambda s: (s.get("budget") or {}).get("state") == state


def _deploy(agents: Agents, genai: GenAiExporter, played: list[tuple[str, str]], body: dict[str, Any]) -> str:
    """Create the agent, wait for it to serve and for its first spend measurement."""
    name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
    agents.create(body)
    stable = wait_stable_ready(agents, name)
    genai.serve(namespace, name, stable, IDLE)
    played.append((name, stable))
    wait_status(agents, name, "a spend measurement with the revision's series", _measured(stable), 120)
    return stable


def _all_at(apps_v1: client.AppsV1Api, namespace: str, name: str, want: int) -> dict[str, int]:
    def probe() -> tuple[bool, dict[str, int]]:
        replicas = _replicas(apps_v1, namespace, name)
        return bool(replicas) and set(replicas.values()) == {want}, replicas

    result: dict[str, int] = wait_for(probe, f"every Deployment of {name} at {want} replicas", timeout=120)
    return result


def test_warning_at_80_percent_zero_replicas_at_the_cap_and_back_at_the_window_reset(
    agents: Agents,
    namespace: str,
    operator: OperatorProcess,
    apps_v1: client.AppsV1Api,
    core_v1: client.CoreV1Api,
    genai_metrics: GenAiExporter,
    prometheus: PrometheusServer,
    played: list[tuple[str, str]],
    budget_clock: Any,
) -> None:
    budget_clock("2026-12-02T12:00:00Z")
    body = _budgeted("spender", namespace, prometheus, daily=1.0)
    stable = _deploy(agents, genai_metrics, played, body)
    generation = agents.get("spender")["metadata"]["generation"]

    # 145 tasks: $0.87 of $1.00.
    genai_metrics.burst(namespace, "spender", stable, 145, TASK)
    status = wait_status(agents, "spender", "BudgetWarning", _state("Warning"), 120)
    assert condition({"status": status}, "BudgetWarning")["status"] == "True"
    assert condition({"status": status}, "BudgetExhausted")["status"] == "False"
    # increase() extrapolates to the end of its range: young series read a little high (fails closed).
    assert status["budget"]["spentUSD"] == pytest.approx(145 * USD_PER_TASK, rel=0.15)
    assert "BudgetWarning" in _reasons(core_v1, namespace, "spender")
    assert operator.metric_sum("agent_operator_budget_warning", namespace=namespace, agent="spender") == 1
    assert set(_replicas(apps_v1, namespace, "spender").values()) == {2}

    # 40 more: $1.11, past the cap. Every revision goes to zero, by the kill switch's path.
    genai_metrics.burst(namespace, "spender", stable, 40, TASK)
    status = wait_status(agents, "spender", "phase Suspended", lambda s: s.get("phase") == "Suspended", 120)
    _all_at(apps_v1, namespace, "spender", 0)
    exhausted = condition({"status": status}, "BudgetExhausted")
    assert (exhausted["status"], exhausted["reason"]) == ("True", "DailyCapReached")
    assert "of the $1.00 daily cap in window 2026-12-02 00:00-24:00 UTC" in exhausted["message"]
    assert condition({"status": status}, "Ready")["reason"] == "BudgetExhausted"
    assert "BudgetExhausted" in _reasons(core_v1, namespace, "spender")
    assert operator.metric_sum("agent_operator_budget_exhausted", namespace=namespace, agent="spender") == 1
    agent = agents.get("spender")
    assert agent["metadata"]["generation"] == generation, "the spec is never edited"
    assert agent["spec"]["suspend"] is False

    # Midnight: a new window, nothing spent in it yet. The agent comes back by itself.
    budget_clock("2026-12-03T00:00:01Z")
    status = wait_status(
        agents, "spender", "back after the reset", lambda s: (s.get("budget") or {}).get("state") == "Ok", 120
    )
    assert status["budget"]["windowStart"] == "2026-12-03T00:00:00Z"
    _all_at(apps_v1, namespace, "spender", 2)
    assert "BudgetReset" in _reasons(core_v1, namespace, "spender")
    wait_stable_ready(agents, "spender")


def test_an_override_lifts_the_cap_with_the_identity_recorded(
    agents: Agents,
    namespace: str,
    cluster: ClusterInfo,
    apps_v1: client.AppsV1Api,
    core_v1: client.CoreV1Api,
    genai_metrics: GenAiExporter,
    prometheus: PrometheusServer,
    played: list[tuple[str, str]],
    budget_clock: Any,
) -> None:
    budget_clock("2026-12-02T12:00:00Z")
    stable = _deploy(agents, genai_metrics, played, _budgeted("lifted", namespace, prometheus, daily=1.0))
    genai_metrics.burst(namespace, "lifted", stable, 185, TASK)
    wait_status(agents, "lifted", "Exhausted", _state("Exhausted"), 120)
    _all_at(apps_v1, namespace, "lifted", 0)

    issued = json.loads(
        agentctl(
            cluster, namespace, "budget", "lifted", "--override", "5", "--for", "1h", "-o", "json"
        ).stdout
    )
    who = issued["recordedBy"]
    assert who, issued
    assert issued["identitySource"] == "SelfSubjectReview"
    status = wait_status(
        agents, "lifted", "the cap lifted", lambda s: (s.get("budget") or {}).get("capUSD") == 5, 120
    )
    _all_at(apps_v1, namespace, "lifted", 2)
    override = status["budget"]["override"]
    assert (override["capUSD"], override["by"]) == (5, who)
    assert who in _event(core_v1, namespace, "lifted", "BudgetOverride")
    shown = agentctl(cluster, namespace, "budget", "lifted").stdout
    assert f"override   $5.00 by {who}" in shown, shown
    assert "spent      $1." in shown, shown
    assert "projected  $" in shown, shown


def test_a_canary_burning_three_times_its_share_is_rolled_back_before_the_budget_is_hit(
    agents: Agents,
    namespace: str,
    core_v1: client.CoreV1Api,
    genai_metrics: GenAiExporter,
    prometheus: PrometheusServer,
    played: list[tuple[str, str]],
    budget_clock: Any,
) -> None:
    # An hour before midnight: a $10 cap, a 20% canary's share is $2, so 3x its share is a burn
    # of $6 in the hour left: $0.00167/s, a task every 3.6 s.
    budget_clock("2026-12-02T23:00:00Z")
    body = canary_manifest("burner", namespace, [{"setWeight": 20}, {"pause": {}}], replicas=5)
    budgeted = _budgeted("burner", namespace, prometheus, daily=10.0)
    body["spec"]["runtime"] = budgeted["spec"]["runtime"]
    body["spec"]["analysis"] = budgeted["spec"]["analysis"]
    stable = _deploy(agents, genai_metrics, played, body)
    agents.patch("burner", {"spec": {"container": {"image": image("b")}}})
    status = wait_status(
        agents,
        "burner",
        "a canary at 20%",
        lambda s: s.get("canaryRevision") and s.get("desiredWeight") == 20,
        180,
    )
    canary = str(status["canaryRevision"])
    three_times = 3 * 2.0 / 3600 / USD_PER_TASK * 0.2  # tasks a 0.2 s tick
    genai_metrics.serve(namespace, "burner", canary, Traffic(tasks=three_times))
    played.append(("burner", canary))

    def rolled_back(s: dict[str, Any]) -> bool:
        return (s.get("rollout") or {}).get("failedRevision") == canary and not s.get("canaryRevision")

    status = wait_status(agents, "burner", "the canary rolled back", rolled_back, 240)
    assert status["rollout"]["failureReason"] == "BudgetShareExceeded"
    assert status["budget"]["state"] == "Ok"
    assert status["budget"]["spentUSD"] < 10.0
    assert "passes its $2.00 share of the $10.00 daily cap" in status["rollout"]["message"]
    seen = _reasons(core_v1, namespace, "burner")
    assert "RolledBack" in seen
    assert "BudgetExhausted" not in seen
    assert status_of(agents, "burner")["stableRevision"] == stable
