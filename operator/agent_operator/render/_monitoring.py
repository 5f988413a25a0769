"""Prometheus Operator objects: a ServiceMonitor for the agent's metrics and a PrometheusRule with
its alerts. The metric names below are the contract with the agent runtime (docs/rendering.md)."""

from __future__ import annotations

from typing import Any, Final

from ..api import AgentDeployment
from ._meta import AGENT_LABEL, REVISION_LABEL, SERVICE_ROLE_LABEL, agent_labels, object_meta

TASKS_TOTAL: Final = "agent_tasks_total"
"""Counter of finished tasks, labelled status="succeeded" or status="failed"."""
TASK_DURATION: Final = "agent_task_duration_seconds"
"""Histogram of task wall-clock time."""
SPEND_TOTAL: Final = "agent_spend_usd_total"
"""Counter of model and tool spend in US dollars."""

# prometheus-operator turns the Service labels listed in targetLabels into metric labels,
# replacing characters Prometheus does not allow with "_".
AGENT_METRIC_LABEL: Final = "agentoperator_dev_agent"
REVISION_METRIC_LABEL: Final = "agentoperator_dev_revision"

RATE_WINDOW: Final = "5m"
FAILED: Final = 'status="failed"'


def _metrics_port_name(agent: AgentDeployment) -> str | None:
    """The named container port that serves metrics, or None when it does not resolve."""
    observability = agent.spec.observability
    if observability is None or observability.metrics is None:
        return None
    wanted = observability.metrics.port
    for port in agent.spec.container.ports or []:
        if wanted in (port.name, port.container_port):
            return port.name
    return None


def service_monitor(agent: AgentDeployment) -> dict[str, Any] | None:
    """Scrapes every pod once, through its revision's Service, so series carry the revision.
    None when spec.observability.metrics is unset or names no container port."""
    port = _metrics_port_name(agent)
    observability = agent.spec.observability
    if port is None or observability is None or observability.metrics is None:
        return None
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {AGENT_LABEL: agent.metadata.name, SERVICE_ROLE_LABEL: "revision"}},
        "targetLabels": [AGENT_LABEL, REVISION_LABEL],
        "endpoints": [{"port": port, "path": observability.metrics.path}],
    }
    if agent.metadata.namespace:
        spec["namespaceSelector"] = {"matchNames": [agent.metadata.namespace]}
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": object_meta(agent, agent.metadata.name, agent_labels(agent)),
        "spec": spec,
    }


def _selector(agent: AgentDeployment, extra: str = "") -> str:
    parts = [f'{AGENT_METRIC_LABEL}="{agent.metadata.name}"']
    if agent.metadata.namespace:
        parts.append(f'namespace="{agent.metadata.namespace}"')
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _alert(
    name: str, expr: str, severity: str, summary: str, description: str, for_: str | None
) -> dict[str, Any]:
    rule: dict[str, Any] = {"alert": name, "expr": expr}
    if for_ is not None:
        rule["for"] = for_
    rule["labels"] = {"severity": severity}
    rule["annotations"] = {"summary": summary, "description": description}
    return rule


def alert_rules(agent: AgentDeployment) -> list[dict[str, Any]]:
    """One alert per configured threshold, in a fixed order."""
    name = agent.metadata.name
    by_revision = f"sum by ({REVISION_METRIC_LABEL})"
    rules: list[dict[str, Any]] = []
    alerts = agent.spec.observability.alerts if agent.spec.observability else None
    if alerts is not None and alerts.error_rate_percent is not None:
        failed = f"rate({TASKS_TOTAL}{_selector(agent, FAILED)}[{RATE_WINDOW}])"
        total = f"rate({TASKS_TOTAL}{_selector(agent)}[{RATE_WINDOW}])"
        threshold = _number(alerts.error_rate_percent)
        rules.append(
            _alert(
                "AgentHighErrorRate",
                f"100 * {by_revision} ({failed}) / {by_revision} ({total}) > {threshold}",
                "critical",
                f"Agent {name} fails more than {threshold}% of its tasks",
                "Revision {{ $labels."
                + REVISION_METRIC_LABEL
                + " }} fails {{ $value | humanize }}% of tasks.",
                "5m",
            )
        )
    if alerts is not None and alerts.p95_latency_ms is not None:
        seconds = _number(alerts.p95_latency_ms / 1000)
        buckets = f"rate({TASK_DURATION}_bucket{_selector(agent)}[{RATE_WINDOW}])"
        rules.append(
            _alert(
                "AgentHighLatency",
                f"histogram_quantile(0.95, sum by ({REVISION_METRIC_LABEL}, le) ({buckets})) > {seconds}",
                "warning",
                f"Agent {name} p95 task latency is above {alerts.p95_latency_ms}ms",
                "Revision {{ $labels."
                + REVISION_METRIC_LABEL
                + " }} p95 is {{ $value | humanizeDuration }}.",
                "10m",
            )
        )
    if alerts is not None and alerts.task_failures_per_hour is not None:
        failures = f"increase({TASKS_TOTAL}{_selector(agent, FAILED)}[1h])"
        rules.append(
            _alert(
                "AgentTaskFailures",
                f"sum({failures}) >= {alerts.task_failures_per_hour}",
                "warning",
                f"Agent {name} failed {alerts.task_failures_per_hour} or more tasks in the last hour",
                "{{ $value | humanize }} tasks failed in the last hour.",
                None,
            )
        )
    budget = agent.spec.runtime.budget if agent.spec.runtime else None
    if budget is not None and budget.daily_usd is not None:
        spent = f"sum(increase({SPEND_TOTAL}{_selector(agent)}[24h]))"
        warn_at = _number(budget.daily_usd * budget.alert_at_percent / 100)
        cap = _number(budget.daily_usd)
        rules.append(
            _alert(
                "AgentBudgetNearlySpent",
                f"{spent} > {warn_at}",
                "warning",
                f"Agent {name} spent over {budget.alert_at_percent}% of its ${cap} daily budget",
                "${{ $value | humanize }} spent in the last 24 hours.",
                None,
            )
        )
        rules.append(
            _alert(
                "AgentBudgetExhausted",
                f"{spent} >= {cap}",
                "critical",
                f"Agent {name} reached its ${cap} daily budget",
                "${{ $value | humanize }} spent in the last 24 hours; the agent stops taking work.",
                None,
            )
        )
    return rules


def prometheus_rule(agent: AgentDeployment) -> dict[str, Any] | None:
    """The agent's alerts; None when no threshold is configured."""
    rules = alert_rules(agent)
    if not rules:
        return None
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": object_meta(agent, agent.metadata.name, agent_labels(agent)),
        "spec": {"groups": [{"name": f"agent-operator.{agent.metadata.name}", "rules": rules}]},
    }
