"""Canary analysis against a real Prometheus scraping a loopback GenAI exporter every second.

Each scenario is its own agent with a stable and a canary revision; all of them send traffic from
module setup on, so the scenarios share the wait for the first scrapes. A measurement is polled
until the revisions have enough samples; the verdict itself is never timed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agent_operator.analysis.measure import AnalysisError, Revisions, measure
from agent_operator.analysis.verdict import AnalysisVerdict
from agent_operator.api.analysis import Analysis
from agent_operator.prom import PrometheusClient, RetryPolicy
from tests.support.genai_exporter import GenAiExporter, Traffic
from tests.support.prometheus import PrometheusServer, genai_metrics, prometheus
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration
__all__ = ["genai_metrics", "prometheus"]  # fixtures, imported for this module

NAMESPACE = "shop"
WINDOW = 20
MIN_SAMPLES = 200  # 8 s of traffic at 25 tasks/s
BASELINE = Traffic()
SCENARIOS: dict[str, Traffic | None] = {
    "good": BASELINE,
    "errors": Traffic(error_ratio=BASELINE.error_ratio * 3),
    "cost": Traffic(input_tokens=BASELINE.input_tokens * 2, output_tokens=BASELINE.output_tokens * 2),
    "silent": None,  # the canary never handles a task
}
PRICES = [{"model": "gpt-x", "inputPerMillionTokens": 2.5, "outputPerMillionTokens": 10}]


def _analysis(*metrics: dict[str, Any], **extra: Any) -> Analysis:
    spec: dict[str, Any] = {
        "prometheus": {"address": "http://unused:9090"},
        "metrics": list(metrics),
        "cost": {"prices": PRICES},
        "minSamples": MIN_SAMPLES,
        **extra,
    }
    return Analysis.model_validate(spec)


ALL_CHECKS = _analysis(
    {"name": "errorRate", "max": 0.2, "maxIncrease": 50, "maxDelta": 0.05},
    {"name": "latencyP95", "maxIncrease": 50},
    {"name": "costPerTask", "maxIncrease": 50},
    {"name": "tokensPerTask", "maxIncrease": 50},
    {"name": "toolCallsPerTask", "max": 10, "maxIncrease": 50},
)


def _revisions(agent: str) -> Revisions:
    return Revisions(
        NAMESPACE, agent, canary=f"{agent}-canary", stable=f"{agent}-stable", window_seconds=WINDOW
    )


@pytest.fixture(scope="module", autouse=True)
def traffic(genai_metrics: GenAiExporter) -> Iterator[None]:
    for agent, canary in SCENARIOS.items():
        genai_metrics.serve(NAMESPACE, agent, f"{agent}-stable", BASELINE)
        genai_metrics.serve(NAMESPACE, agent, f"{agent}-canary", canary)
    yield
    for agent in SCENARIOS:
        genai_metrics.serve(NAMESPACE, agent, f"{agent}-stable", None)
        genai_metrics.serve(NAMESPACE, agent, f"{agent}-canary", None)


@pytest.fixture
def client(prometheus: PrometheusServer) -> PrometheusClient:
    return PrometheusClient(prometheus.address, timeout_seconds=5, retry=RetryPolicy(attempts=2))


def _table(verdict: AnalysisVerdict) -> list[tuple[str, str, str, float | None, float | None, int, int]]:
    return [
        (r.name, r.verdict, r.reason, r.canary, r.stable, r.canary_samples, r.stable_samples)
        for r in verdict.results
    ]


def _settled(client: PrometheusClient, analysis: Analysis, agent: str) -> AnalysisVerdict:
    """The first measurement in which both revisions have enough samples for every check."""

    def probe() -> tuple[bool, Any]:
        verdict = measure(client, analysis, _revisions(agent))
        waiting = {"InsufficientData", "StableNoData", "NoData"}
        return not any(r.reason in waiting for r in verdict.results), _table(verdict)

    wait_for(probe, f"{agent}: {MIN_SAMPLES} tasks per revision in Prometheus", timeout=90, interval=1)
    return measure(client, analysis, _revisions(agent))


def test_a_good_canary_passes_every_builtin_check(client: PrometheusClient) -> None:
    verdict = _settled(client, ALL_CHECKS, "good")
    assert (verdict.verdict, verdict.action) == ("Passed", "Continue"), _table(verdict)
    by_name = {r.name: r for r in verdict.results}
    # The values are what the exporter sends: 2% errors, 1500 tokens and 2 tool calls a task,
    # $0.006 a task (1200 x $2.5/M + 300 x $10/M), and every task in the 1..2 s latency bucket.
    assert by_name["errorRate"].canary == pytest.approx(0.02, abs=0.01)
    assert by_name["tokensPerTask"].canary == pytest.approx(1500, rel=0.01)
    assert by_name["toolCallsPerTask"].canary == pytest.approx(2, rel=0.05)
    assert by_name["costPerTask"].canary == pytest.approx(0.006, rel=0.01)
    assert 1 <= (by_name["latencyP95"].canary or 0) <= 2
    assert all(r.canary_samples >= MIN_SAMPLES and r.stable_samples >= MIN_SAMPLES for r in verdict.results)


def test_three_times_the_error_rate_fails_and_rolls_back(client: PrometheusClient) -> None:
    analysis = _analysis({"name": "errorRate", "maxIncrease": 50})
    verdict = _settled(client, analysis, "errors")
    assert (verdict.verdict, verdict.action, verdict.reason) == ("Failed", "Rollback", "AnalysisFailed")
    row = verdict.results[0]
    assert row.reason == "AboveMaxIncrease"
    assert row.stable is not None
    assert row.canary == pytest.approx(3 * row.stable, rel=0.2)
    assert "more than 50% over stable" in verdict.message


def test_twice_the_cost_per_task_fails_max_increase_50(client: PrometheusClient) -> None:
    analysis = _analysis({"name": "costPerTask", "maxIncrease": 50}, {"name": "errorRate", "maxDelta": 0.05})
    verdict = _settled(client, analysis, "cost")
    assert (verdict.verdict, verdict.action) == ("Failed", "Rollback"), _table(verdict)
    cost, errors = verdict.results
    assert (cost.verdict, cost.reason) == ("Failed", "AboveMaxIncrease")
    assert cost.canary == pytest.approx(2 * (cost.stable or 0), rel=0.05)
    assert errors.verdict == "Passed"


def test_on_failure_pause_holds_instead_of_rolling_back(client: PrometheusClient) -> None:
    analysis = _analysis({"name": "costPerTask", "maxIncrease": 50, "onFailure": "Pause"})
    verdict = _settled(client, analysis, "cost")
    assert (verdict.verdict, verdict.action) == ("Failed", "Pause")


def test_no_data_is_inconclusive_and_never_continues(client: PrometheusClient) -> None:
    for on_inconclusive in ("Pause", "Pass"):
        analysis = _analysis({"name": "errorRate", "max": 0.1}, onInconclusive=on_inconclusive)
        verdict = measure(client, analysis, _revisions("silent"))
        assert (verdict.verdict, verdict.action, verdict.reason) == ("Inconclusive", "Pause", "NoData")
        assert verdict.results[0].canary is None


def test_a_custom_template_replaces_a_builtin_query(client: PrometheusClient) -> None:
    failures = (
        'sum(increase(gen_ai_client_operation_duration_seconds_count{{{selector}},error_type!=""}[{{window}}]))'
        " or vector(0)"
    )
    analysis = _analysis({"name": "failedTasks", "query": failures, "maxIncrease": 50})
    verdict = _settled(client, analysis, "errors")
    assert (verdict.verdict, verdict.results[0].reason) == ("Failed", "AboveMaxIncrease"), _table(verdict)
    good = _settled(client, analysis, "good")
    assert good.verdict == "Passed", _table(good)


def test_a_query_prometheus_rejects_names_the_metric(client: PrometheusClient) -> None:
    broken = "sum(rate(gen_ai_client_operation_duration_seconds_count{{{selector}}}[{{window}}])"
    analysis = _analysis({"name": "errorRate", "max": 0.1}, {"name": "loops", "query": broken, "max": 3})
    with pytest.raises(
        AnalysisError, match=r"^spec\.analysis\.metrics\[loops\]: Prometheus rejected the query: "
    ):
        measure(client, analysis, _revisions("good"))


def test_several_series_is_a_query_error_naming_the_metric(client: PrometheusClient) -> None:
    per_model = (
        "sum by (gen_ai_token_type) (increase(gen_ai_client_token_usage_sum{{{selector}}}[{{window}}]))"
    )
    analysis = _analysis({"name": "tokens", "query": per_model, "max": 1e9})
    with pytest.raises(AnalysisError, match=r"metrics\[tokens\]: .*returns 2 series; aggregate it to one"):
        _settled(client, analysis, "good")


def test_prometheus_down_is_inconclusive_then_recovers(
    prometheus: PrometheusServer, client: PrometheusClient
) -> None:
    analysis = _analysis({"name": "errorRate", "max": 0.2}, {"name": "tokensPerTask", "maxIncrease": 50})
    assert _settled(client, analysis, "good").verdict == "Passed"
    prometheus.stop()
    try:
        down = measure(client, analysis, _revisions("good"))
        assert (down.verdict, down.action, down.reason) == ("Inconclusive", "Pause", "PrometheusUnreachable")
        assert all(r.reason == "PrometheusUnreachable" for r in down.results)
        assert f"cannot reach {prometheus.address}" in down.message
    finally:
        prometheus.start()
    assert _settled(client, analysis, "good").verdict == "Passed"
