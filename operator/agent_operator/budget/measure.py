"""Spend from the metric contract (docs/metrics.md), by revision, in two kinds of query.

- spent: ``increase`` of the priced token counters (or the user's cost counter) since the window
  started, summed by revision over every revision of the agent, deleted ones included;
- burn: ``rate`` of the same counters over the last few minutes, dollars per second.

Prices multiply each model and token type's tokens; a revision missing from one term's result
simply spent nothing on it, so the terms are added here, not in PromQL (where ``+`` would drop
the revisions one side lacks). The only I/O is the client's ``query``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..analysis.measure import Querier
from ..analysis.queries import MODEL_LABEL, TOKEN_TYPE_LABEL, TOKEN_USAGE
from ..analysis.templates import AGENT_LABEL, NAMESPACE_LABEL, REVISION_LABEL
from ..api.analysis import Cost
from ..prom import InvalidQuery, PrometheusAuthError, PrometheusUnreachable
from .verdict import Spend

_PER_MILLION = 1_000_000
MIN_RANGE_SECONDS = 1


class SpendError(Exception):
    """Spend cannot be read as configured (a query Prometheus rejects, wrong credentials)."""


class SpendUnknown(Exception):
    """Prometheus did not answer: spend is unknown, which is not zero."""


@dataclass(frozen=True)
class SpendQuery:
    """Where to look: the agent, and the ranges of the two kinds of query in seconds."""

    namespace: str
    agent: str
    elapsed_seconds: int
    burn_seconds: int


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _terms(cost: Cost, target: SpendQuery) -> list[tuple[str, float]]:
    """(series selector, dollars per unit of its increase) for every priced term."""
    agent = f"{NAMESPACE_LABEL}={_quote(target.namespace)},{AGENT_LABEL}={_quote(target.agent)}"
    if cost.metric is not None:
        return [(f"{cost.metric}{{{agent}}}", 1.0)]
    terms = []
    for price in cost.prices or []:
        for token_type, per_million in (
            ("input", price.input_per_million_tokens),
            ("output", price.output_per_million_tokens),
        ):
            matchers = f'{agent},{MODEL_LABEL}={_quote(price.model)},{TOKEN_TYPE_LABEL}="{token_type}"'
            terms.append((f"{TOKEN_USAGE}_sum{{{matchers}}}", per_million / _PER_MILLION))
    return terms


def spend_queries(cost: Cost, target: SpendQuery) -> list[tuple[str, str, float]]:
    """(kind, PromQL, dollars per unit) of every query one measurement sends."""
    spent_range = f"{max(MIN_RANGE_SECONDS, target.elapsed_seconds)}s"
    burn_range = f"{target.burn_seconds}s"
    out = []
    for series, price in _terms(cost, target):
        if price == 0:
            continue
        out.append(("spent", f"sum by ({REVISION_LABEL}) (increase({series}[{spent_range}]))", price))
        out.append(("burn", f"sum by ({REVISION_LABEL}) (rate({series}[{burn_range}]))", price))
    return out


def measure_spend(client: Querier, cost: Cost, target: SpendQuery) -> Spend:
    """Spend and burn per revision; SpendUnknown when Prometheus does not answer, SpendError
    when it refuses the query or the credentials."""
    totals: dict[str, dict[str, float]] = {"spent": {}, "burn": {}}
    for kind, promql, price in spend_queries(cost, target):
        try:
            samples = client.query(promql)
        except PrometheusUnreachable as exc:
            raise SpendUnknown(str(exc)) from exc
        except InvalidQuery as exc:
            raise SpendError(f"Prometheus rejected the spend query: {exc}") from exc
        except PrometheusAuthError as exc:
            raise SpendError(f"{exc}; check spec.analysis.prometheus.secretName") from exc
        for sample in samples:
            revision = sample.labels.get(REVISION_LABEL, "")
            if sample.value != sample.value or sample.value < 0:  # NaN or a reset artefact
                continue
            bucket = totals[kind]
            bucket[revision] = bucket.get(revision, 0.0) + sample.value * price
    return Spend(spent=totals["spent"], burn=totals["burn"])
