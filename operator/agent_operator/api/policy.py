"""The ReadinessPolicy resource: which production-readiness checks an agent must pass."""

from __future__ import annotations

from typing import Final, Literal, get_args

from pydantic import Field, field_validator

from .agent import API_VERSION, Environment
from .base import INT32_MAX, INT32_MIN, ApiModel, list_map
from .core import LabelSelector
from .meta import ObjectMeta

Enforcement = Literal["Enforce", "Warn", "Audit"]
CheckLevel = Literal["required", "warning", "off"]
RuleSeverity = Literal["required", "warning"]
WideningKind = Literal[
    "egress", "humanOverride", "budget", "rateLimit", "securityLevel", "model", "loopCap", "timeout"
]
"""Kinds of change that widen an agent's blast radius (see agent_operator.widening)."""
WIDENING_KINDS: Final[tuple[WideningKind, ...]] = get_args(WideningKind)


class PolicySelector(ApiModel):
    """Which agents a policy judges. Every part that is set must match; an empty selector
    matches every agent."""

    environments: list[Environment] | None = None
    """spec.environment values the policy applies to."""
    namespace_selector: LabelSelector | None = None
    """Labels of the agent's namespace."""
    agent_selector: LabelSelector | None = None
    """Labels of the AgentDeployment."""


class PolicyLimits(ApiModel):
    """Numeric and boolean bounds the checks apply."""

    max_timeout_seconds: int | None = Field(default=None, ge=1, le=INT32_MAX)
    """runtime.timeout fails above this."""
    max_retry_limit: int | None = Field(default=None, ge=0, le=INT32_MAX)
    """runtime.retry fails above this."""
    require_image_digest: bool | None = None
    """image.pinned demands name@sha256:... rather than a tag."""
    min_replicas: int | None = Field(default=None, ge=0, le=INT32_MAX)
    """availability.replicas fails below this."""
    max_daily_budget_usd: float | None = Field(default=None, alias="maxDailyBudgetUSD", gt=0)
    """budget.cap fails above this daily cap."""
    allowed_registries: list[str] | None = None
    """image.pinned fails for images outside these registry prefixes."""
    min_security_level: Literal["low", "medium", "high", "critical"] | None = None
    """security.level fails below this runtime.securityLevel."""


class CustomRule(ApiModel):
    """A rule written in CEL over the AgentDeployment, available as `object`."""

    name: str = Field(min_length=1, pattern=r"^[a-zA-Z][-a-zA-Z0-9_.]*$")
    """Rule id, reported as custom.<name>."""
    expression: str = Field(min_length=1, max_length=1024)
    """CEL expression that is true when the agent complies, e.g. object.spec.replicas >= 2."""
    message: str = Field(min_length=1)
    """What is wrong when the expression is false, and how to fix it."""
    severity: RuleSeverity = "required"
    """required or warning."""


class ReadinessPolicySpec(ApiModel):
    """What a matching agent must pass, and what happens when it does not."""

    selector: PolicySelector = Field(default_factory=PolicySelector)
    """Agents the policy applies to."""
    priority: int = Field(default=0, ge=INT32_MIN, le=INT32_MAX)
    """When several policies match an agent, the highest priority wins (then the name)."""
    enforcement: Enforcement = "Enforce"
    """Enforce blocks non-compliant agents, Warn admits them with warnings, Audit only reports."""
    checks: dict[str, CheckLevel] | None = None
    """Per-check overrides: check id to required, warning or off."""
    limits: PolicyLimits | None = None
    """Bounds the checks apply."""
    rules: list[CustomRule] | None = Field(default=None, max_length=50, json_schema_extra=list_map("name"))
    """Custom CEL rules."""
    approval_required_for: list[WideningKind] | None = Field(
        default=None, max_length=len(WIDENING_KINDS), json_schema_extra={"x-kubernetes-list-type": "set"}
    )
    """Widening changes a new revision may only roll out with after `agentctl approve`: egress,
    humanOverride, budget, rateLimit, securityLevel, model, loopCap, timeout. Unset: the built-in
    profile's list (production: all of them; staging and development: none). [] gates nothing."""

    @field_validator("rules")
    @classmethod
    def _unique_rule_names(cls, rules: list[CustomRule] | None) -> list[CustomRule] | None:
        names = [r.name for r in rules or []]
        if len(set(names)) != len(names):
            raise ValueError("rule names must be unique")
        return rules

    @field_validator("approval_required_for")
    @classmethod
    def _unique_kinds(cls, kinds: list[WideningKind] | None) -> list[WideningKind] | None:
        if kinds is not None and len(set(kinds)) != len(kinds):
            raise ValueError("each widening kind may be listed once")
        return kinds


class ReadinessPolicy(ApiModel):
    """Cluster-wide production-readiness requirements for AgentDeployments."""

    api_version: Literal["agentoperator.dev/v1alpha1"] = API_VERSION
    """agentoperator.dev/v1alpha1"""
    kind: Literal["ReadinessPolicy"] = "ReadinessPolicy"
    """ReadinessPolicy"""
    metadata: ObjectMeta
    """Standard object metadata."""
    spec: ReadinessPolicySpec
    """The policy."""
