"""evaluate(): run every check and custom rule of a policy against one agent and score the result."""

from __future__ import annotations

from typing import Any

from ..api import AgentDeployment
from ..render import ClusterCapabilities, render
from ._context import CheckContext, RenderUnavailable
from ._effective import EffectivePolicy
from ._profiles import builtin_policy
from ._registry import CHECKS
from ._rules import judge
from ._types import CheckResult, Outcome, ReadinessReport, Severity, Status

REQUIRED_WEIGHT = 3
WARNING_WEIGHT = 1


def score(results: list[CheckResult]) -> int:
    """Weighted share of applicable results that pass, 0-100, rounded half up.

    Required results weigh 3, warning results 1; skipped results do not count. Nothing applicable
    scores 100.
    """
    applicable = [r for r in results if r.status != "skip"]
    total = sum(_weight(r.severity) for r in applicable)
    if total == 0:
        return 100
    passed = sum(_weight(r.severity) for r in applicable if r.status == "pass")
    return (200 * passed + total) // (2 * total)


def _weight(severity: Severity) -> int:
    return REQUIRED_WEIGHT if severity == "required" else WARNING_WEIGHT


def _status(outcome: Outcome, severity: Severity) -> Status:
    if outcome.kind == "fail":
        return "fail" if severity == "required" else "warn"
    if outcome.kind == "advisory":
        return "warn"
    return outcome.kind


def _render(
    agent: AgentDeployment, capabilities: ClusterCapabilities | None
) -> tuple[list[dict[str, Any]] | None, str | None]:
    try:
        return render(agent, capabilities), None
    except Exception as exc:
        # A renderer bug must surface as failed checks, not a crash. Only the exception type is
        # shown: its text could quote a spec value.
        return None, f"the renderer failed ({type(exc).__name__}); this is a bug in agent-operator"


def evaluate(
    agent: AgentDeployment,
    policy: EffectivePolicy | None = None,
    capabilities: ClusterCapabilities | None = None,
) -> ReadinessReport:
    """Judge ``agent`` by ``policy`` (its environment's built-in profile when None).

    ``capabilities`` describes the target cluster; None means unknown, and checks that depend on
    it (FQDN egress, alert rules) then report what the spec asks for without judging enforcement.
    """
    policy = policy or builtin_policy(agent.spec.environment)
    objects, render_error = _render(agent, capabilities)
    ctx = CheckContext.build(agent, policy.limits, capabilities, objects, render_error)
    results: list[CheckResult] = []
    for check in CHECKS.values():
        level = policy.level(check.id)
        if level == "off":
            continue
        try:
            outcome = check.run(ctx)
        except RenderUnavailable as exc:
            outcome = Outcome.failed(f"the rendered pod is not available: {exc}")
        results.append(
            CheckResult(
                id=check.id,
                title=check.title,
                severity=level,
                status=_status(outcome, level),
                message=outcome.message,
                path=outcome.path,
                remediation=check.remediation,
            )
        )
    if policy.rules:
        wire = agent.to_wire()
        for rule in policy.rules:
            outcome = judge(rule, wire)
            results.append(
                CheckResult(
                    id=rule.id,
                    title=f"Custom rule {rule.name}",
                    severity=rule.severity,
                    status=_status(outcome, rule.severity),
                    message=outcome.message,
                    path="",
                    remediation=rule.message,
                )
            )
    meta = agent.metadata
    return ReadinessReport(
        agent=f"{meta.namespace}/{meta.name}" if meta.namespace else meta.name,
        policy=policy.name,
        enforcement=policy.enforcement,
        ready=not any(r.status == "fail" for r in results),
        score=score(results),
        checks=results,
        missing_required=[r.id for r in results if r.status == "fail"],
        warnings=[r.id for r in results if r.status == "warn"],
    )
