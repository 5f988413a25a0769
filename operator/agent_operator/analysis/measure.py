"""One measurement of spec.analysis: query canary and stable, then judge.

The only I/O is the ``query`` method of the client it is given (agent_operator.prom). Per
measurement it sends 2 queries for the task counts (canary, stable) plus 2 per check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..api.analysis import Analysis, MetricCheck, PrometheusSource
from ..prom import (
    InvalidQuery,
    PromAuth,
    PrometheusAuthError,
    PrometheusClient,
    PrometheusUnreachable,
    Sample,
    single_value,
)
from .queries import Builder, builder_for, tasks
from .templates import Target
from .verdict import AnalysisVerdict, Bounds, Measurement, MetricResult, decide, judge, unreachable


class Querier(Protocol):
    def query(self, promql: str, *, at: float | None = None) -> list[Sample]: ...


class AnalysisError(Exception):
    """The analysis cannot run as configured (a query Prometheus rejects, wrong credentials):
    a Stalled condition, not a verdict. The message names the metric and never holds results."""

    def __init__(self, metric: str, message: str) -> None:
        super().__init__(f"spec.analysis.metrics[{metric}]: {message}")
        self.metric = metric


@dataclass(frozen=True)
class Revisions:
    """Where to look: the agent, its canary and stable revisions, and the window."""

    namespace: str
    agent: str
    canary: str
    stable: str | None
    window_seconds: int

    def target(self, revision: str) -> Target:
        return Target(self.namespace, self.agent, revision, self.window_seconds)


def client_for(source: PrometheusSource, secret_data: Mapping[str, str] | None) -> PrometheusClient:
    """The client for spec.analysis.prometheus; ``secret_data`` is the ``data`` of the Secret it
    names (None when it names none). Raises ValueError naming the Secret key, never its value."""
    auth = PromAuth.from_secret_data(secret_data) if secret_data is not None else None
    if source.secret_name is not None and secret_data is None:
        raise ValueError(f"spec.analysis.prometheus.secretName: Secret {source.secret_name} was not read")
    return PrometheusClient(source.address, auth=auth, timeout_seconds=source.timeout_seconds)


def bounds_of(check: MetricCheck, analysis: Analysis) -> Bounds:
    return Bounds(
        max=check.max,
        max_increase=check.max_increase,
        max_delta=check.max_delta,
        min_samples=analysis.min_samples if check.min_samples is None else check.min_samples,
        on_failure=check.on_failure or analysis.on_failure,
    )


def selected(analysis: Analysis, names: Sequence[str] | None) -> list[MetricCheck]:
    """The checks a step runs: the named ones, in spec order, or all."""
    return [m for m in analysis.metrics if names is None or m.name in names]


def _value(client: Querier, name: str, promql: str, at: float | None) -> float | None:
    try:
        return single_value(client.query(promql, at=at))
    except InvalidQuery as exc:
        raise AnalysisError(name, f"Prometheus rejected the query: {exc}") from exc
    except PrometheusAuthError as exc:
        raise AnalysisError(name, f"{exc}; check spec.analysis.prometheus.secretName") from exc


def _measure(
    client: Querier, name: str, build: Builder, target: Target, samples: float | None, at: float | None
) -> Measurement:
    return Measurement(_value(client, name, build(target), at), samples or 0.0)


def measure(
    client: Querier,
    analysis: Analysis,
    revisions: Revisions,
    *,
    names: Sequence[str] | None = None,
    at: float | None = None,
) -> AnalysisVerdict:
    """Measure the selected checks once and decide. Unreachable Prometheus gives Inconclusive
    rows; a rejected query or credentials raise AnalysisError naming the metric."""
    checks = selected(analysis, names)
    canary_target = revisions.target(revisions.canary)
    stable_target = revisions.target(revisions.stable) if revisions.stable else None
    results: list[MetricResult] = []
    try:
        canary_tasks = _value(client, "tasks", tasks(canary_target), at)
        stable_tasks = _value(client, "tasks", tasks(stable_target), at) if stable_target else None
        for check in checks:
            build = builder_for(check, analysis.cost)
            bounds = bounds_of(check, analysis)
            canary = _measure(client, check.name, build, canary_target, canary_tasks, at)
            stable = (
                _measure(client, check.name, build, stable_target, stable_tasks, at)
                if stable_target
                else None
            )
            results.append(judge(check.name, bounds, canary, stable))
    except PrometheusUnreachable as exc:
        done = {r.name for r in results}
        results.extend(
            unreachable(c.name, bounds_of(c, analysis), str(exc)) for c in checks if c.name not in done
        )
    return decide(results, analysis.on_inconclusive)
