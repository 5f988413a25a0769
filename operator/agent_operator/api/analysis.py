"""Canary analysis on live metrics: where Prometheus is, what to measure and what passes.

``spec.analysis`` holds the checks; an ``analyze`` canary step runs them for a while, and
``spec.analysis.background`` runs them during every step. Semantics: docs/metrics.md.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field, field_validator, model_validator

from ..analysis.templates import TemplateError, validate_template
from .base import INT32_MAX, MAX_SAFE_INTEGER, ApiModel, cel_rules, list_map

BUILTIN_METRICS: Final = ("errorRate", "latencyP95", "costPerTask", "tokensPerTask", "toolCallsPerTask")
"""Checks the operator knows how to query from the OpenTelemetry GenAI metrics."""
MAX_METRICS: Final = 20
OnInconclusive = Literal["Pause", "Fail", "Pass"]
OnFailure = Literal["Rollback", "Pause"]

_PROM_NAME = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"
_BUILTIN_CEL = "[" + ", ".join(f"'{m}'" for m in BUILTIN_METRICS) + "]"


class PrometheusSource(ApiModel):
    """The Prometheus (or compatible: Thanos, Mimir, VictoriaMetrics) the checks query."""

    address: str = Field(pattern=r"^https?://[^\s]+$", max_length=2048)
    """Base URL, such as http://prometheus.monitoring:9090."""
    secret_name: str | None = Field(default=None, max_length=253)
    """Secret in the agent's namespace with `token` (bearer), or `username` and `password`
    (basic auth), and optionally `ca.crt`. Its values never appear in status, Events or logs."""
    timeout_seconds: int = Field(default=10, ge=1, le=120)
    """Per-query timeout."""


class ModelPrice(ApiModel):
    """What one model costs, in US dollars per million tokens."""

    model: str = Field(min_length=1, max_length=256)
    """Value of the gen_ai_request_model label."""
    input_per_million_tokens: float = Field(ge=0)
    """Price of a million input tokens."""
    output_per_million_tokens: float = Field(ge=0)
    """Price of a million output tokens."""


class Cost(ApiModel):
    """How cost per task is derived: token usage times a price per model, or a spend counter."""

    model_config = cel_rules(
        (
            "[has(self.prices), has(self.metric)].filter(x, x).size() == 1",
            "set exactly one of prices, metric",
        ),
    )

    prices: list[ModelPrice] | None = Field(
        default=None, min_length=1, max_length=50, json_schema_extra=list_map("model")
    )
    """Price per model; tokens of models not listed cost nothing, so list every model used."""
    metric: str | None = Field(default=None, pattern=_PROM_NAME, max_length=200)
    """A counter of spend the agent exports (e.g. agent_spend_usd_total), used instead of prices."""

    @model_validator(mode="after")
    def _exactly_one(self) -> Cost:
        if (self.prices is None) == (self.metric is None):
            raise ValueError("set exactly one of prices, metric")
        return self

    @field_validator("prices")
    @classmethod
    def _unique_models(cls, prices: list[ModelPrice] | None) -> list[ModelPrice] | None:
        models = [p.model for p in prices or []]
        if len(set(models)) != len(models):
            raise ValueError("each model is priced once")
        return prices


class MetricCheck(ApiModel):
    """One check: a built-in metric or a PromQL template, and the bounds the canary must keep."""

    model_config = cel_rules(
        (
            "has(self.max) || has(self.maxIncrease) || has(self.maxDelta)",
            "set at least one of max, maxIncrease, maxDelta",
        ),
        (f"self.name in {_BUILTIN_CEL} || has(self.query)", "a metric that is not built in needs a query"),
    )

    name: str = Field(pattern=r"^[a-zA-Z][-a-zA-Z0-9]*$", max_length=63)
    """errorRate, latencyP95, costPerTask, tokensPerTask, toolCallsPerTask, or your own name."""
    query: str | None = Field(default=None, max_length=4096)
    """PromQL template replacing the built-in query: {{selector}} (or {{namespace}}, {{agent}},
    {{revision}}) and {{window}} are filled in for canary and stable."""
    max: float | None = None
    """Absolute bound: the canary value must not exceed it."""
    max_increase: float | None = Field(default=None, ge=0)
    """Relative bound, in percent over the stable value measured over the same window."""
    max_delta: float | None = Field(default=None, ge=0)
    """Relative bound: the canary may exceed the stable value by at most this much."""
    min_samples: int | None = Field(default=None, ge=0, le=INT32_MAX)
    """Overrides spec.analysis.minSamples for this check."""
    on_failure: OnFailure | None = None
    """Overrides spec.analysis.onFailure: Pause to watch a new check before it may roll back."""

    @model_validator(mode="after")
    def _bounded_and_queryable(self) -> MetricCheck:
        if self.max is None and self.max_increase is None and self.max_delta is None:
            raise ValueError("set at least one of max, maxIncrease, maxDelta")
        if self.name not in BUILTIN_METRICS and self.query is None:
            raise ValueError("a metric that is not built in needs a query")
        if self.query is not None:
            try:
                validate_template(self.query)
            except TemplateError as exc:
                raise ValueError(f"metric {self.name}: query: {exc}") from exc
        return self


class BackgroundAnalysis(ApiModel):
    """Checks run during every canary step; a failure acts at once, mid-step."""

    interval_seconds: int = Field(default=60, ge=10, le=3600)
    """Time between two measurements."""
    window_seconds: int = Field(default=300, ge=10, le=86400)
    """How far back each measurement looks."""


class Analysis(ApiModel):
    """Canary analysis against Prometheus."""

    prometheus: PrometheusSource
    """Where the metrics are."""
    metrics: list[MetricCheck] = Field(
        min_length=1, max_length=MAX_METRICS, json_schema_extra=list_map("name")
    )
    """The checks."""
    cost: Cost | None = None
    """How costPerTask is computed; required when costPerTask is checked."""
    min_samples: int = Field(default=20, ge=0, le=INT32_MAX)
    """Fewest tasks a revision must have handled in the window before its value counts."""
    on_inconclusive: OnInconclusive = "Pause"
    """Too little data or Prometheus unreachable: Pause, Fail, or Pass. Pass never promotes a
    canary that had no data at all."""
    on_failure: OnFailure = "Rollback"
    """A failed check: Rollback to stable, or Pause the rollout with the failing table in status."""
    background: BackgroundAnalysis | None = None
    """Also run the checks during every step."""

    @field_validator("metrics")
    @classmethod
    def _unique(cls, metrics: list[MetricCheck]) -> list[MetricCheck]:
        names = [m.name for m in metrics]
        if len(set(names)) != len(names):
            raise ValueError("metric names must be unique")
        return metrics

    @model_validator(mode="after")
    def _cost_configured(self) -> Analysis:
        if any(m.name == "costPerTask" and m.query is None for m in self.metrics) and self.cost is None:
            raise ValueError("costPerTask needs spec.analysis.cost (prices or metric)")
        return self


class AnalyzeStep(ApiModel):
    """Measures spec.analysis every interval, count times, over a trailing window."""

    window_seconds: int = Field(default=300, ge=10, le=86400)
    """How far back each measurement looks."""
    interval_seconds: int = Field(default=60, ge=10, le=3600)
    """Time between two measurements."""
    count: int = Field(default=3, ge=1, le=100)
    """Measurements that must all pass before the next step."""
    metrics: list[str] | None = Field(default=None, max_length=MAX_METRICS)
    """Names of the checks to run; all of spec.analysis.metrics when unset."""


def check_analysis_references(analysis: Analysis | None, steps: list[AnalyzeStep]) -> None:
    """Raises when an analyze step has nothing to run or names a check that does not exist."""
    if not steps:
        return
    if analysis is None:
        raise ValueError("an analyze step needs spec.analysis")
    known = {m.name for m in analysis.metrics}
    for step in steps:
        missing = sorted(set(step.metrics or ()) - known)
        if missing:
            raise ValueError(
                f"an analyze step names metrics spec.analysis does not define: {', '.join(missing)}"
            )


# --- status: what a measurement found (written by the rollout's status codec once wired) -------


class MetricResultStatus(ApiModel):
    """One check of one measurement."""

    name: str
    """The check."""
    verdict: Literal["Passed", "Failed", "Inconclusive"]
    """Passed, Failed or Inconclusive."""
    reason: str
    """WithinBounds, AboveMax, AboveMaxIncrease, AboveMaxDelta, NoData, InsufficientData,
    StableNoData or PrometheusUnreachable."""
    canary: float | None = None
    """The canary's value; unset without data."""
    stable: float | None = None
    """The stable revision's value over the same window; unset without data."""
    limit: float | None = None
    """The tightest bound in force."""
    threshold: str = ""
    """The bounds as configured, e.g. "max 0.05, +50% of stable"."""
    canary_samples: int = Field(default=0, ge=0, le=MAX_SAFE_INTEGER)
    """Tasks the canary handled in the window."""
    stable_samples: int = Field(default=0, ge=0, le=MAX_SAFE_INTEGER)
    """Tasks stable handled in the window."""


class AnalysisRunStatus(ApiModel):
    """One measurement of spec.analysis against a canary."""

    revision: str
    """The canary revision measured."""
    step: int | None = Field(default=None, ge=0, le=INT32_MAX)
    """The analyze step, or unset for background analysis."""
    measured_at: str
    """When (RFC 3339)."""
    verdict: Literal["Passed", "Failed", "Inconclusive"]
    """The measurement's verdict."""
    action: Literal["Continue", "Pause", "Rollback"]
    """What it means for the rollout."""
    reason: str
    """AnalysisPassed, AnalysisFailed, or the first inconclusive reason."""
    message: str = Field(default="", max_length=1024)
    """The failing or inconclusive checks, in words."""
    metrics: list[MetricResultStatus] = Field(default_factory=list, max_length=MAX_METRICS)
    """One row per check."""
