"""The runtime guardrails as the agent process receives them: a per-revision immutable ConfigMap
plus AGENT_* environment variables summarising it.

The ConfigMap is named by a hash of its content, so a revision's pods always read the config they
were rolled out with, and rolling back the code rolls back the config with it.
"""

from __future__ import annotations

from typing import Any, Final

from ..api import API_VERSION, AgentDeployment
from ._hashing import canonical_json, short_hash
from ._meta import object_meta, revision_labels

CONFIG_KEY: Final = "runtime.json"
CONFIG_DIR: Final = "/etc/agent"
CONFIG_FILE: Final = f"{CONFIG_DIR}/{CONFIG_KEY}"
MODEL_KEY_DIR: Final = "/var/run/secrets/agent-model"
MODEL_KEY_FILE: Final = f"{MODEL_KEY_DIR}/api-key"


def runtime_document(agent: AgentDeployment) -> dict[str, Any]:
    """Everything the agent process needs to apply its guardrails, without any credential."""
    spec = agent.spec
    doc: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "AgentRuntimeConfig",
        "agent": {"name": agent.metadata.name, "environment": spec.environment},
    }
    if spec.runtime is not None:
        doc["runtime"] = spec.runtime.to_wire()
    if spec.model is not None:
        model = spec.model.to_wire()
        # The reference to the Secret is the operator's business; the agent gets a file path.
        model.pop("apiKeySecret", None)
        if spec.model.api_key_secret is not None:
            model["apiKeyFile"] = MODEL_KEY_FILE
        doc["model"] = model
    observability = spec.observability
    if observability is not None:
        for section in ("logs", "tracing", "audit"):
            value = getattr(observability, section)
            if value is not None:
                doc[section] = value.to_wire()
    return doc


def runtime_config_data(agent: AgentDeployment) -> str:
    """The ConfigMap's single data value: the runtime document as canonical JSON."""
    return canonical_json(runtime_document(agent))


def runtime_config_name(agent: AgentDeployment) -> str:
    """`<agent>-runtime-<hash of content>`: a new name for every new content."""
    return f"{agent.metadata.name}-runtime-{short_hash(runtime_config_data(agent))}"


def runtime_config_map(agent: AgentDeployment, revision: str) -> dict[str, Any]:
    """The immutable ConfigMap of one revision."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": object_meta(agent, runtime_config_name(agent), revision_labels(agent, revision)),
        "immutable": True,
        "data": {CONFIG_KEY: runtime_config_data(agent)},
    }


def _number(value: float) -> str:
    """Numbers as a runtime parses them: 50.0 becomes "50", 0.1 stays "0.1"."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _flag(value: bool) -> str:
    return "true" if value else "false"


def runtime_env(agent: AgentDeployment, revision: str) -> list[dict[str, Any]]:
    """AGENT_* (and standard OTEL_*) variables for the settings that are set, in a fixed order."""
    spec = agent.spec
    values: list[tuple[str, str]] = [
        ("AGENT_NAME", agent.metadata.name),
        ("AGENT_REVISION", revision),
        ("AGENT_ENVIRONMENT", spec.environment),
        ("AGENT_CONFIG_FILE", CONFIG_FILE),
    ]
    runtime = spec.runtime
    if runtime is not None:
        values.append(("AGENT_SECURITY_LEVEL", runtime.security_level))
        if runtime.timeout_seconds is not None:
            values.append(("AGENT_TIMEOUT_SECONDS", str(runtime.timeout_seconds)))
        if runtime.max_iterations is not None:
            values.append(("AGENT_MAX_ITERATIONS", str(runtime.max_iterations)))
        if runtime.retry is not None:
            values.append(("AGENT_RETRY_LIMIT", str(runtime.retry.limit)))
        limits = runtime.rate_limit
        if limits is not None:
            if limits.requests_per_minute is not None:
                values.append(("AGENT_REQUESTS_PER_MINUTE", str(limits.requests_per_minute)))
            if limits.tokens_per_minute is not None:
                values.append(("AGENT_TOKENS_PER_MINUTE", str(limits.tokens_per_minute)))
            if limits.max_concurrency is not None:
                values.append(("AGENT_MAX_CONCURRENCY", str(limits.max_concurrency)))
        budget = runtime.budget
        if budget is not None:
            if budget.daily_usd is not None:
                values.append(("AGENT_DAILY_BUDGET_USD", _number(budget.daily_usd)))
            if budget.monthly_usd is not None:
                values.append(("AGENT_MONTHLY_BUDGET_USD", _number(budget.monthly_usd)))
    model = spec.model
    if model is not None:
        values.append(("AGENT_MODEL_PROVIDER", model.provider))
        values.append(("AGENT_MODEL_NAME", model.name))
        if model.endpoint is not None:
            values.append(("AGENT_MODEL_ENDPOINT", model.endpoint))
        if model.api_key_secret is not None:
            values.append(("AGENT_MODEL_API_KEY_FILE", MODEL_KEY_FILE))
    observability = spec.observability
    if observability is not None:
        if observability.logs is not None:
            values.append(("AGENT_LOG_FORMAT", observability.logs.format))
            values.append(("AGENT_LOG_LEVEL", observability.logs.level))
            values.append(("AGENT_LOG_REDACT", _flag(observability.logs.redact)))
        if observability.audit is not None:
            values.append(("AGENT_AUDIT_ENABLED", _flag(observability.audit.enabled)))
        if observability.tracing is not None:
            values.append(("OTEL_SERVICE_NAME", agent.metadata.name))
            values.append(("OTEL_EXPORTER_OTLP_ENDPOINT", observability.tracing.otlp_endpoint))
            values.append(("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"))
            values.append(("OTEL_TRACES_SAMPLER_ARG", _number(observability.tracing.sampling_rate)))
    return [{"name": name, "value": value} for name, value in values]
