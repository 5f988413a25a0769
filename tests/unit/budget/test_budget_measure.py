"""Spend queries from the metric contract, and how their answers add up per revision."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent_operator.api.analysis import Cost
from agent_operator.budget.measure import SpendError, SpendQuery, SpendUnknown, measure_spend, spend_queries
from agent_operator.controller.budget_clock import FileClock
from agent_operator.prom import InvalidQuery, PrometheusUnreachable, Sample

TARGET = SpendQuery("agents", "bot", elapsed_seconds=3600, burn_seconds=180)
PRICES = Cost.model_validate(
    {"prices": [{"model": "gpt-x", "inputPerMillionTokens": 2.5, "outputPerMillionTokens": 10}]}
)


def test_priced_tokens_give_a_spent_and_a_burn_query_per_model_and_type() -> None:
    queries = spend_queries(PRICES, TARGET)
    assert [(kind, price) for kind, _, price in queries] == [
        ("spent", 2.5e-6),
        ("burn", 2.5e-6),
        ("spent", 1e-5),
        ("burn", 1e-5),
    ]
    spent = queries[0][1]
    assert spent.startswith("sum by (agentoperator_dev_revision) (increase(gen_ai_client_token_usage_sum{")
    assert 'namespace="agents",agentoperator_dev_agent="bot"' in spent
    assert 'gen_ai_request_model="gpt-x",gen_ai_token_type="input"' in spent
    assert spent.endswith("[3600s]))")
    assert queries[1][1].endswith("[180s]))")
    assert "rate(" in queries[1][1]


def test_a_cost_metric_is_read_as_dollars() -> None:
    queries = spend_queries(Cost(metric="agent_spend_usd_total"), TARGET)
    assert [(k, p) for k, _, p in queries] == [("spent", 1.0), ("burn", 1.0)]
    assert "increase(agent_spend_usd_total{" in queries[0][1]


def test_a_free_model_sends_no_query() -> None:
    free = Cost.model_validate(
        {"prices": [{"model": "m", "inputPerMillionTokens": 0, "outputPerMillionTokens": 1}]}
    )
    assert [k for k, _, _ in spend_queries(free, TARGET)] == ["spent", "burn"]


class Answers:
    """Prometheus answers by the kind of query (a stand-in for its HTTP API, not for Kubernetes)."""

    def __init__(
        self, spent: dict[str, float], burn: dict[str, float], error: Exception | None = None
    ) -> None:
        self.spent, self.burn, self.error = spent, burn, error

    def query(self, promql: str, *, at: float | None = None) -> list[Sample]:
        if self.error is not None:
            raise self.error
        values = self.burn if "rate(" in promql else self.spent
        return [Sample({"agentoperator_dev_revision": r}, v) for r, v in values.items()]


def test_terms_add_up_per_revision_including_revisions_one_term_lacks() -> None:
    # Each query answers the same token counts: input and output are priced differently.
    spend = measure_spend(Answers({"a": 1_000_000, "b": 2_000_000}, {"a": 100.0}), PRICES, TARGET)
    assert spend.spent == pytest.approx({"a": 12.5, "b": 25.0})
    assert spend.burn == pytest.approx({"a": 100 * 12.5e-6})
    assert spend.total == pytest.approx(37.5)


def test_nan_is_no_spend() -> None:
    spend = measure_spend(Answers({"a": float("nan")}, {}), PRICES, TARGET)
    assert spend.spent == {}


def test_unreachable_is_unknown_not_zero() -> None:
    with pytest.raises(SpendUnknown):
        measure_spend(Answers({}, {}, PrometheusUnreachable("connection refused")), PRICES, TARGET)


def test_a_rejected_query_is_an_error() -> None:
    with pytest.raises(SpendError, match="rejected"):
        measure_spend(Answers({}, {}, InvalidQuery("parse error")), PRICES, TARGET)


def test_the_file_clock_runs_from_the_time_written(tmp_path: Path) -> None:
    real = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    path = tmp_path / "clock"
    clock = FileClock(path, system=lambda: real)
    assert clock() == real, "no file: the system clock"
    path.write_text("2026-12-02T23:59:50Z\n")
    written = real - timedelta(seconds=4)
    os.utime(path, (written.timestamp(), written.timestamp()))
    assert clock() == datetime(2026, 12, 2, 23, 59, 54, tzinfo=UTC)
    path.write_text("not a time")
    os.utime(path, (real.timestamp(), real.timestamp() + 1))
    assert clock() == real, "an unreadable time: the system clock"
