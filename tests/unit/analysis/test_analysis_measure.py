"""measure(): which queries one measurement sends, and how Prometheus failures become rows or
errors. The querier answers from a table keyed by revision; the real Prometheus runs in
tests/integration/test_analysis_prometheus.py."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from agent_operator.analysis.measure import AnalysisError, Revisions, client_for, measure
from agent_operator.api.analysis import Analysis, PrometheusSource
from agent_operator.prom import InvalidQuery, PrometheusAuthError, PrometheusUnreachable, Sample

REVS = Revisions("shop", "bot", canary="c1", stable="s1", window_seconds=60)


class TableQuerier:
    """Answers a query by the revision it selects and whether it is the task count; fails on
    the query number ``fail_at`` with ``error``."""

    def __init__(
        self, values: dict[tuple[str, str], float | None], fail_at: int = -1, error: Exception | None = None
    ):
        self.values = values
        self.sent: list[str] = []
        self.fail_at = fail_at
        self.error = error

    def query(self, promql: str, *, at: float | None = None) -> list[Sample]:
        self.sent.append(promql)
        if len(self.sent) - 1 == self.fail_at and self.error is not None:
            raise self.error
        revision = "c1" if 'agentoperator_dev_revision="c1"' in promql else "s1"
        kind = (
            "tasks"
            if promql.startswith("sum(increase(gen_ai_client_operation_duration_seconds_count")
            and ("error_type" not in promql)
            and "execute_tool" not in promql
            else "value"
        )
        value = self.values.get((revision, kind))
        return [] if value is None else [Sample({}, value)]


def _analysis(*metrics: dict[str, Any], **extra: Any) -> Analysis:
    return Analysis.model_validate(
        {"prometheus": {"address": "http://p:9090"}, "metrics": list(metrics), "minSamples": 10, **extra}
    )


TWO = _analysis({"name": "errorRate", "max": 0.1}, {"name": "tokensPerTask", "maxIncrease": 50})
HEALTHY = {("c1", "tasks"): 50.0, ("s1", "tasks"): 50.0, ("c1", "value"): 0.05, ("s1", "value"): 0.05}


def test_queries_per_measurement_are_two_plus_two_per_check() -> None:
    querier = TableQuerier(HEALTHY)
    verdict = measure(querier, TWO, REVS)
    assert (verdict.verdict, verdict.action) == ("Passed", "Continue")
    assert len(querier.sent) == 2 + 2 * 2
    assert [r.canary_samples for r in verdict.results] == [50, 50]


def test_without_a_stable_revision_only_the_canary_is_queried() -> None:
    querier = TableQuerier(HEALTHY)
    verdict = measure(querier, TWO, Revisions("shop", "bot", "c1", None, 60))
    assert len(querier.sent) == 1 + 2
    assert [r.reason for r in verdict.results] == ["WithinBounds", "StableNoData"]


def test_a_subset_of_checks() -> None:
    querier = TableQuerier(HEALTHY)
    verdict = measure(querier, TWO, REVS, names=["tokensPerTask"])
    assert [r.name for r in verdict.results] == ["tokensPerTask"]


@pytest.mark.parametrize("fail_at", [0, 1, 3, 5])
def test_prometheus_lost_mid_measurement_makes_every_unmeasured_row_inconclusive(fail_at: int) -> None:
    querier = TableQuerier(
        HEALTHY, fail_at, PrometheusUnreachable("cannot reach http://p:9090: ProtocolError")
    )
    verdict = measure(querier, TWO, REVS)
    assert (verdict.verdict, verdict.action, verdict.reason) == (
        "Inconclusive",
        "Pause",
        "PrometheusUnreachable",
    )
    assert len(querier.sent) == fail_at + 1  # no query after the first failure
    measured = 0 if fail_at < 4 else 1
    assert [r.reason for r in verdict.results][measured:] == ["PrometheusUnreachable"] * (2 - measured)


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            InvalidQuery('parse error: unexpected "}"'),
            'Prometheus rejected the query: parse error: unexpected "}"',
        ),
        (PrometheusAuthError("http://p:9090 refused the credentials (HTTP 401)"), "secretName"),
    ],
)
def test_configuration_errors_name_the_metric(error: Exception, message: str) -> None:
    querier = TableQuerier(HEALTHY, 4, error)
    with pytest.raises(AnalysisError) as info:
        measure(querier, TWO, REVS)
    assert str(info.value).startswith("spec.analysis.metrics[tokensPerTask]: ")
    assert message in str(info.value)
    assert info.value.metric == "tokensPerTask"


def test_client_for_reads_the_secret_once_and_never_shows_it() -> None:
    token = base64.b64encode(b"s3cr3t").decode()
    source = PrometheusSource(address="https://prom:9090", secret_name="prom-auth", timeout_seconds=3)
    client = client_for(source, {"token": token})
    assert client.address == "https://prom:9090"
    assert "s3cr3t" not in repr(vars(client))
    assert client_for(PrometheusSource(address="http://prom:9090"), None).address == "http://prom:9090"
    with pytest.raises(ValueError, match=r"secretName: Secret prom-auth was not read"):
        client_for(source, None)
