"""Canaries judged on live metrics, end to end: the operator on the real control plane measures a
real Prometheus that scrapes the loopback GenAI exporter every second.

The agents' pods are KWOK pods with no containers, so the exporter plays their metrics, labelled
with the revision names the operator created (read from status). Every wait polls the agent's
status or Events; nothing is timed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from tests.integration.agents.conftest import Agents
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
from tests.support.operator import condition
from tests.support.prometheus import PrometheusServer, genai_metrics, prometheus
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration
__all__ = ["genai_metrics", "prometheus"]  # fixtures, imported for this module

BASELINE = Traffic()
PRICES = [{"model": "gpt-x", "inputPerMillionTokens": 2.5, "outputPerMillionTokens": 10}]
ANALYZE = {"analyze": {"intervalSeconds": 10, "windowSeconds": 20, "count": 1}}


@pytest.fixture
def traffic(genai_metrics: GenAiExporter, namespace: str) -> Iterator[dict[tuple[str, str], Traffic | None]]:
    """(agent, revision) -> traffic the exporter plays; everything stops after the test."""
    served: dict[tuple[str, str], Traffic | None] = {}
    yield served
    for agent, revision in served:
        genai_metrics.serve(namespace, agent, revision, None)


def _spec_analysis(prom: PrometheusServer, metrics: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "prometheus": {"address": prom.address, "timeoutSeconds": 2},
        "metrics": metrics,
        "cost": {"prices": PRICES},
        "minSamples": 50,
        **extra,
    }


def _start(
    agents: Agents,
    genai: GenAiExporter,
    served: dict[tuple[str, str], Traffic | None],
    namespace: str,
    name: str,
    steps: list[dict[str, Any]],
    analysis: dict[str, Any],
    canary: Traffic | None,
) -> tuple[str, str]:
    """Deploy stable with baseline traffic, then a new image; the canary plays ``canary``.
    Returns (stable, canary) revision names."""
    body = canary_manifest(name, namespace, steps, replicas=2)
    body["spec"]["analysis"] = analysis
    agents.create(body)
    stable = wait_stable_ready(agents, name)
    genai.serve(namespace, name, stable, BASELINE)
    served[(name, stable)] = BASELINE
    agents.patch(name, {"spec": {"container": {"image": image("b")}}})
    status = wait_status(agents, name, "a canary revision", lambda s: s.get("canaryRevision"))
    revision = str(status["canaryRevision"])
    served[(name, revision)] = canary
    if canary is not None:
        genai.serve(namespace, name, revision, canary)
    return stable, revision


def _reasons(core_v1: client.CoreV1Api, namespace: str, name: str) -> list[str]:
    events = core_v1.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}").items
    return [e.reason for e in events]


def _rows(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    run = (status.get("rollout") or {}).get("analysis") or {}
    return {m["name"]: m for m in run.get("metrics") or []}


def _rolled_back(revision: str) -> Any:
    def check(status: dict[str, Any]) -> bool:
        rollout = status.get("rollout") or {}
        return rollout.get("failedRevision") == revision and not status.get("canaryRevision")

    return check


def test_a_good_canary_is_promoted_on_live_metrics(
    agents: Agents,
    namespace: str,
    cluster: ClusterInfo,
    core_v1: client.CoreV1Api,
    genai_metrics: GenAiExporter,
    prometheus: PrometheusServer,
    traffic: dict[tuple[str, str], Traffic | None],
) -> None:
    analysis = _spec_analysis(
        prometheus,
        [
            {"name": "errorRate", "maxIncrease": 50, "maxDelta": 0.02},
            {"name": "costPerTask", "maxIncrease": 50},
        ],
    )
    _, canary = _start(
        agents, genai_metrics, traffic, namespace, "good", [{"setWeight": 50}, ANALYZE], analysis, BASELINE
    )
    status = wait_status(
        agents, "good", "the canary promoted", lambda s: s.get("stableRevision") == canary, 180
    )
    rows = _rows(status)
    assert {r["verdict"] for r in rows.values()} == {"Passed"}, rows
    assert rows["errorRate"]["canarySamples"] >= 50
    assert "AnalysisPassed" in _reasons(core_v1, namespace, "good")
    history = agentctl(cluster, namespace, "history", "good").stdout
    assert f"analysis of {canary}" in history, history
    shown = agentctl(cluster, namespace, "status", "good").stdout
    assert "errorRate" in shown, shown
    assert "Passed" in shown, shown


def test_background_analysis_rolls_back_three_times_the_error_rate_mid_step(
    agents: Agents,
    namespace: str,
    core_v1: client.CoreV1Api,
    genai_metrics: GenAiExporter,
    prometheus: PrometheusServer,
    traffic: dict[tuple[str, str], Traffic | None],
) -> None:
    analysis = _spec_analysis(
        prometheus,
        [{"name": "errorRate", "maxIncrease": 50}],
        background={"intervalSeconds": 10, "windowSeconds": 20},
    )
    steps = [{"setWeight": 50}, {"pause": {"durationSeconds": 3600}}]
    bad = Traffic(error_ratio=BASELINE.error_ratio * 3)
    _, canary = _start(agents, genai_metrics, traffic, namespace, "noisy", steps, analysis, bad)
    status = wait_status(agents, "noisy", "the canary rolled back", _rolled_back(canary), 180)
    assert (status["phase"], status["rollout"]["failureReason"]) == ("Degraded", "AnalysisFailed")
    row = _rows(status)["errorRate"]
    assert (row["verdict"], row["reason"]) == ("Failed", "AboveMaxIncrease")
    seen = _reasons(core_v1, namespace, "noisy")
    assert "AnalysisFailed" in seen
    assert "RolledBack" in seen
    # Mid-step: the hour-long pause of step 1 was never completed.
    assert seen.count("StepCompleted") == 1, seen


def test_twice_the_cost_per_task_fails_max_increase_50(
    agents: Agents,
    namespace: str,
    genai_metrics: GenAiExporter,
    prometheus: PrometheusServer,
    traffic: dict[tuple[str, str], Traffic | None],
) -> None:
    analysis = _spec_analysis(prometheus, [{"name": "costPerTask", "maxIncrease": 50}])
    costly = Traffic(input_tokens=BASELINE.input_tokens * 2, output_tokens=BASELINE.output_tokens * 2)
    _, canary = _start(
        agents, genai_metrics, traffic, namespace, "costly", [{"setWeight": 50}, ANALYZE], analysis, costly
    )
    status = wait_status(agents, "costly", "the canary rolled back", _rolled_back(canary), 180)
    row = _rows(status)["costPerTask"]
    assert (row["verdict"], row["reason"]) == ("Failed", "AboveMaxIncrease")
    assert row["canary"] == pytest.approx(2 * row["stable"], rel=0.1)


def test_a_custom_promql_template_judges_the_canary(
    agents: Agents,
    namespace: str,
    genai_metrics: GenAiExporter,
    prometheus: PrometheusServer,
    traffic: dict[tuple[str, str], Traffic | None],
) -> None:
    failures = (
        'sum(increase(gen_ai_client_operation_duration_seconds_count{{{selector}},error_type!=""}[{{window}}]))'
        " or vector(0)"
    )
    analysis = _spec_analysis(prometheus, [{"name": "failedTasks", "query": failures, "maxIncrease": 50}])
    bad = Traffic(error_ratio=BASELINE.error_ratio * 3)
    _, canary = _start(
        agents, genai_metrics, traffic, namespace, "custom", [{"setWeight": 50}, ANALYZE], analysis, bad
    )
    status = wait_status(agents, "custom", "the canary rolled back", _rolled_back(canary), 180)
    row = _rows(status)["failedTasks"]
    assert (row["verdict"], row["reason"]) == ("Failed", "AboveMaxIncrease")


def test_no_data_pauses_with_insufficient_data_and_is_never_promoted(
    agents: Agents,
    namespace: str,
    core_v1: client.CoreV1Api,
    genai_metrics: GenAiExporter,
    prometheus: PrometheusServer,
    traffic: dict[tuple[str, str], Traffic | None],
) -> None:
    analysis = _spec_analysis(prometheus, [{"name": "errorRate", "maxIncrease": 50}])
    stable, _ = _start(
        agents, genai_metrics, traffic, namespace, "silent", [{"setWeight": 50}, ANALYZE], analysis, None
    )
    wait_status(agents, "silent", "Paused with InsufficientData", _paused_with("InsufficientData"), 120)

    def inconclusive_twice() -> tuple[bool, int]:
        count = len(_inconclusive_events(core_v1, namespace))
        return count >= 2, count

    wait_for(inconclusive_twice, "two inconclusive measurements", timeout=120)
    status = status_of(agents, "silent")
    assert status["stableRevision"] == stable
    assert status["phase"] == "Paused"
    assert "Promoted" not in _reasons(core_v1, namespace, "silent")


def _paused_with(reason: str) -> Any:
    def check(status: dict[str, Any]) -> bool:
        ready = condition({"status": status}, "Ready")
        return status.get("phase") == "Paused" and ready.get("reason") == reason

    return check


def _inconclusive_events(core_v1: client.CoreV1Api, namespace: str) -> list[Any]:
    events = core_v1.list_namespaced_event(namespace, field_selector="involvedObject.name=silent").items
    return [e for e in events if e.reason == "AnalysisInconclusive" for _ in range(e.count or 1)]


def test_on_failure_pause_holds_the_canary_with_the_failing_table(
    agents: Agents,
    namespace: str,
    cluster: ClusterInfo,
    genai_metrics: GenAiExporter,
    prometheus: PrometheusServer,
    traffic: dict[tuple[str, str], Traffic | None],
) -> None:
    analysis = _spec_analysis(prometheus, [{"name": "costPerTask", "maxIncrease": 50, "onFailure": "Pause"}])
    costly = Traffic(input_tokens=BASELINE.input_tokens * 2, output_tokens=BASELINE.output_tokens * 2)
    _, canary = _start(
        agents, genai_metrics, traffic, namespace, "held", [{"setWeight": 50}, ANALYZE], analysis, costly
    )
    status = wait_status(
        agents, "held", "held by the failed check",
        lambda s: s.get("phase") == "Paused" and _rows(s).get("costPerTask", {}).get("verdict") == "Failed",
        180,
    )  # fmt: skip
    assert status["canaryRevision"] == canary
    assert not (status.get("rollout") or {}).get("failedRevision")
    shown = agentctl(cluster, namespace, "status", "held").stdout
    assert "costPerTask" in shown, shown
    assert "AboveMaxIncrease" in shown, shown


def test_a_broken_template_stalls_naming_the_metric(
    agents: Agents,
    namespace: str,
    genai_metrics: GenAiExporter,
    prometheus: PrometheusServer,
    traffic: dict[tuple[str, str], Traffic | None],
) -> None:
    broken = {"name": "loopScore", "query": "sum(rate(nope{ {{selector}} }[{{window}}])) by (", "max": 1}
    analysis = _spec_analysis(prometheus, [broken])
    _start(
        agents, genai_metrics, traffic, namespace, "broken", [{"setWeight": 50}, ANALYZE], analysis, BASELINE
    )

    def stalled() -> tuple[bool, dict[str, Any]]:
        cond = condition(agents.get("broken"), "Stalled")
        return cond.get("status") == "True" and cond.get("reason") == "AnalysisError", cond

    cond = wait_for(stalled, "Stalled with AnalysisError", timeout=120)
    assert "spec.analysis.metrics[loopScore]" in cond["message"], cond


def test_prometheus_stopped_mid_analysis_pauses_and_resumes(
    agents: Agents,
    namespace: str,
    genai_metrics: GenAiExporter,
    prometheus: PrometheusServer,
    traffic: dict[tuple[str, str], Traffic | None],
) -> None:
    analysis = _spec_analysis(prometheus, [{"name": "errorRate", "maxIncrease": 50, "maxDelta": 0.02}])
    steps = [{"setWeight": 50}, {"analyze": {"intervalSeconds": 10, "windowSeconds": 20, "count": 3}}]
    # Ten times the baseline's tasks: a window cut short by the outage still holds enough errors
    # (one per tick, not one per ten) that canary and stable, which behave alike, measure alike.
    busy = Traffic(tasks=50)
    _, canary = _start(agents, genai_metrics, traffic, namespace, "outage", steps, analysis, busy)
    wait_status(
        agents,
        "outage",
        "a passing measurement",
        lambda s: (s.get("rollout") or {}).get("analysisPassed"),
        120,
    )
    prometheus.stop()
    try:
        status = wait_status(
            agents, "outage", "Paused with PrometheusUnreachable",
            _paused_with("PrometheusUnreachable"),
            120,
        )  # fmt: skip
        assert status["stableRevision"] != canary
    finally:
        prometheus.start()
    wait_status(agents, "outage", "the canary promoted", lambda s: s.get("stableRevision") == canary, 180)
