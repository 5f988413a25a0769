"""Observability, alerting, rollout and evaluation checks."""

from __future__ import annotations

from ..api.agent import Observability, Rollout
from ._context import CheckContext
from ._types import CheckDefinition, Outcome, levels

OBS = "spec.observability"


def _observability(ctx: CheckContext) -> Observability:
    return ctx.spec.observability or Observability()


def check_metrics(ctx: CheckContext) -> Outcome:
    metrics = _observability(ctx).metrics
    if metrics is None:
        return Outcome.failed("no Prometheus metrics endpoint", f"{OBS}.metrics")
    ports = ctx.spec.container.ports or []
    port = metrics.port
    declared = (
        any(p.name == port for p in ports)
        if isinstance(port, str)
        else any(p.container_port == port for p in ports)
    )
    if not declared:
        return Outcome.failed(
            f"metrics port {port!r} is not declared in spec.container.ports, so nothing can scrape it",
            f"{OBS}.metrics.port",
        )
    return Outcome.passed(f"metrics served on port {port} at {metrics.path}")


def check_structured_logs(ctx: CheckContext) -> Outcome:
    logs = _observability(ctx).logs
    path = f"{OBS}.logs"
    if logs is None:
        return Outcome.failed("log format not declared", f"{path}.format")
    if logs.format != "json":
        return Outcome.failed(f"logs are {logs.format}, not json", f"{path}.format")
    if logs.level == "debug":
        return Outcome.advisory(
            "json logs, but at debug level: noisy and likely to capture prompts", f"{path}.level"
        )
    return Outcome.passed("json logs")


def check_log_redaction(ctx: CheckContext) -> Outcome:
    logs = _observability(ctx).logs
    path = f"{OBS}.logs.redact"
    if logs is None:
        return Outcome.failed("log redaction not declared", path)
    if not logs.redact:
        return Outcome.failed(
            "logs are not redacted: prompts, credentials and personal data reach the log store", path
        )
    return Outcome.passed("logs are redacted")


def check_tracing(ctx: CheckContext) -> Outcome:
    tracing = _observability(ctx).tracing
    if tracing is None:
        return Outcome.failed("no tracing", f"{OBS}.tracing")
    if tracing.sampling_rate == 0:
        return Outcome.failed("samplingRate is 0: no task is traced", f"{OBS}.tracing.samplingRate")
    return Outcome.passed(f"{tracing.sampling_rate:.0%} of tasks traced")


def check_audit(ctx: CheckContext) -> Outcome:
    audit = _observability(ctx).audit
    if audit is None or not audit.enabled:
        return Outcome.failed("no audit trail of tool calls and approvals", f"{OBS}.audit.enabled")
    return Outcome.passed("every action is audited")


def check_alerts(ctx: CheckContext) -> Outcome:
    alerts = _observability(ctx).alerts
    path = f"{OBS}.alerts"
    if alerts is None or alerts.error_rate_percent is None:
        return Outcome.failed("no error-rate alert", f"{path}.errorRatePercent")
    caps = ctx.capabilities
    if caps is not None and not caps.prometheus_rule:
        return Outcome.advisory(
            "alert thresholds are declared but the cluster has no PrometheusRule CRD, so nothing fires", path
        )
    return Outcome.passed(f"alerts at {alerts.error_rate_percent:g}% errors")


def check_canary(ctx: CheckContext) -> Outcome:
    if ctx.spec.replicas == 0:
        return Outcome.skipped("replicas is 0: there is no traffic to split")
    rollout = ctx.spec.rollout
    path = "spec.rollout"
    if rollout is None or rollout.strategy != "Canary":
        shown = rollout.strategy if rollout else "RollingUpdate (default)"
        return Outcome.failed(
            f"strategy is {shown}: a new revision gets all traffic without a trial", f"{path}.strategy"
        )
    steps = rollout.canary.steps if rollout.canary else []
    partial = [s.set_weight for s in steps if s.set_weight is not None and 0 < s.set_weight < 100]
    if not partial:
        return Outcome.failed("the canary has no step with a partial weight (1-99)", f"{path}.canary.steps")
    return Outcome.passed(f"canary through {', '.join(f'{w}%' for w in partial)}")


def check_rollback_plan(ctx: CheckContext) -> Outcome:
    rollout = ctx.spec.rollout or Rollout()
    if not rollout.auto_rollback:
        return Outcome.failed("autoRollback is off: a failing revision stays", "spec.rollout.autoRollback")
    if rollout.revision_history_limit < 2:
        return Outcome.failed(
            "revisionHistoryLimit below 2 keeps no previous revision to roll back to",
            "spec.rollout.revisionHistoryLimit",
        )
    return Outcome.passed(f"automatic rollback, {rollout.revision_history_limit} revisions kept")


def check_evaluation(ctx: CheckContext) -> Outcome:
    evaluation = ctx.spec.evaluation
    if evaluation is None:
        return Outcome.failed("no evaluation suite gates releases", "spec.evaluation")
    if evaluation.min_score <= 0:
        return Outcome.failed("minScore is 0: the gate passes every revision", "spec.evaluation.minScore")
    rollout = ctx.spec.rollout
    steps = rollout.canary.steps if rollout and rollout.strategy == "Canary" and rollout.canary else []
    if not any(s.evaluate is not None for s in steps):
        return Outcome.failed(
            "spec.evaluation is defined but no canary step runs it", "spec.rollout.canary.steps"
        )
    return Outcome.passed(f"the canary runs the evaluation suite (minScore {evaluation.min_score:g})")


def check_live_gate(ctx: CheckContext) -> Outcome:
    """An evaluation or a metrics analysis must judge the canary; pod readiness alone does not."""
    rollout = ctx.spec.rollout
    steps = rollout.canary.steps if rollout and rollout.strategy == "Canary" and rollout.canary else []
    evaluated = ctx.spec.evaluation is not None and any(s.evaluate is not None for s in steps)
    analysis = ctx.spec.analysis
    analyzed = analysis is not None and (analysis.background is not None or any(s.analyze for s in steps))
    if analyzed and not evaluated and _observability(ctx).metrics is None:
        return Outcome.failed(
            "spec.analysis reads metrics the agent does not expose: without spec.observability.metrics "
            "no ServiceMonitor scrapes it, so every analysis is inconclusive",
            f"{OBS}.metrics",
        )
    gates = [name for name, on in (("evaluation", evaluated), ("metrics analysis", analyzed)) if on]
    if not gates:
        return Outcome.failed(
            "no live gate: neither an evaluate step nor a metrics analysis judges the canary",
            "spec.rollout.canary.steps",
        )
    return Outcome.passed(f"the canary is judged by {' and '.join(gates)}")


DEFINITIONS: tuple[CheckDefinition, ...] = (
    CheckDefinition(
        "observability.metrics",
        "Prometheus metrics exposed",
        "observability",
        "spec.observability.metrics, whose port must be a port declared in spec.container.ports",
        "Declare the port (spec.container.ports: [{name: metrics, containerPort: 9090}]) and set "
        "spec.observability.metrics: {port: metrics, path: /metrics}.",
        levels("required", "required", "warning"),
        check_metrics,
    ),
    CheckDefinition(
        "observability.structuredLogs",
        "Structured (JSON) logs",
        "observability",
        "spec.observability.logs.format (debug level gives a warning)",
        "Set spec.observability.logs: {format: json, level: info}.",
        levels("required", "required", "warning"),
        check_structured_logs,
    ),
    CheckDefinition(
        "observability.logRedaction",
        "Logs redacted",
        "observability",
        "spec.observability.logs.redact",
        "Set spec.observability.logs.redact: true.",
        levels("required", "required", "warning"),
        check_log_redaction,
    ),
    CheckDefinition(
        "observability.tracing",
        "Tracing enabled",
        "observability",
        "spec.observability.tracing with a samplingRate above 0",
        'Set spec.observability.tracing: {otlpEndpoint: "http://otel-collector.observability:4317", '
        "samplingRate: 0.1}.",
        levels("warning", "warning", "off"),
        check_tracing,
    ),
    CheckDefinition(
        "observability.audit",
        "Audit trail enabled",
        "observability",
        "spec.observability.audit.enabled",
        "Set spec.observability.audit: {enabled: true}.",
        levels("required", "required", "off"),
        check_audit,
    ),
    CheckDefinition(
        "alerts.configured",
        "Alerts configured",
        "observability",
        "spec.observability.alerts.errorRatePercent, and whether the cluster has the PrometheusRule CRD that "
        "turns thresholds into alerts",
        "Set spec.observability.alerts: {errorRatePercent: 5, p95LatencyMs: 2000}; install the Prometheus "
        "Operator so the PrometheusRule is rendered.",
        levels("required", "warning", "off"),
        check_alerts,
    ),
    CheckDefinition(
        "rollout.canary",
        "Canary rollout",
        "rollout",
        "spec.rollout.strategy and canary steps with a partial weight (skipped at 0 replicas)",
        "Set spec.rollout: {strategy: Canary, canary: {steps: [{setWeight: 10}, "
        "{pause: {durationSeconds: 300}}, {evaluate: {}}, {setWeight: 50}]}}.",
        levels("required", "warning", "off"),
        check_canary,
    ),
    CheckDefinition(
        "rollout.rollbackPlan",
        "Rollback plan",
        "rollout",
        "spec.rollout.autoRollback and spec.rollout.revisionHistoryLimit (at least 2); defaults count",
        "Keep spec.rollout.autoRollback: true and revisionHistoryLimit of at least 2, for example 10.",
        levels("required", "required", "off"),
        check_rollback_plan,
    ),
    CheckDefinition(
        "evaluation.suite",
        "Evaluation suite gates the rollout",
        "evaluation",
        "spec.evaluation (minScore above 0) and an evaluate step in the canary",
        "Set spec.evaluation: {image: registry.example.com/bot-evals@sha256:<digest>, minScore: 0.9} and add "
        "{evaluate: {}} to spec.rollout.canary.steps.",
        levels("required", "warning", "off"),
        check_evaluation,
    ),
    CheckDefinition(
        "rollout.liveGate",
        "A live gate judges the canary",
        "rollout",
        "an evaluate step with spec.evaluation, or spec.analysis run by an analyze step or in the background "
        "on metrics spec.observability.metrics exposes",
        "Add {analyze: {windowSeconds: 300, intervalSeconds: 60, count: 3}} to spec.rollout.canary.steps "
        "with spec.analysis (docs/metrics.md), or an {evaluate: {}} step with spec.evaluation.",
        levels("warning", "off", "off"),
        check_live_gate,
    ),
)
