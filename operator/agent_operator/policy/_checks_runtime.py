"""Runtime guardrail checks: timeouts, retries, circuit breaker, rate limits, loop guard, budget,
human override."""

from __future__ import annotations

from ..api.agent import Runtime
from ._context import CheckContext
from ._types import CheckDefinition, Outcome, levels

R = "spec.runtime"


def _runtime(ctx: CheckContext) -> Runtime:
    return ctx.spec.runtime or Runtime()


def check_timeout(ctx: CheckContext) -> Outcome:
    timeout = _runtime(ctx).timeout_seconds
    path = f"{R}.timeoutSeconds"
    if timeout is None:
        return Outcome.failed("no task timeout: a stuck agent loop runs forever", path)
    ceiling = ctx.limits.max_timeout_seconds
    if ceiling is not None and timeout > ceiling:
        return Outcome.failed(f"timeoutSeconds {timeout} exceeds the policy's maximum of {ceiling}", path)
    return Outcome.passed(f"tasks time out after {timeout}s")


def check_retry(ctx: CheckContext) -> Outcome:
    retry = _runtime(ctx).retry
    path = f"{R}.retry"
    if retry is None:
        return Outcome.failed("no retry policy for failed model and tool calls", path)
    if retry.limit < 1:
        return Outcome.failed("retry.limit is 0: a single transient failure fails the task", f"{path}.limit")
    ceiling = ctx.limits.max_retry_limit
    if ceiling is not None and retry.limit > ceiling:
        return Outcome.failed(
            f"retry.limit {retry.limit} exceeds the policy's maximum of {ceiling}", f"{path}.limit"
        )
    if retry.backoff is None:
        return Outcome.failed(
            "retries have no backoff: bare retries hammer a struggling provider", f"{path}.backoff"
        )
    if not retry.backoff.jitter:
        return Outcome.failed(
            "backoff has no jitter: retries from many pods arrive together", f"{path}.backoff.jitter"
        )
    return Outcome.passed(f"up to {retry.limit} retries with jittered exponential backoff")


def check_circuit_breaker(ctx: CheckContext) -> Outcome:
    breaker = _runtime(ctx).circuit_breaker
    if breaker is None:
        return Outcome.failed("no circuit breaker around model and tool calls", f"{R}.circuitBreaker")
    return Outcome.passed(
        f"circuit opens after {breaker.failure_threshold} failures for {breaker.recovery_seconds}s"
    )


def check_rate_limit(ctx: CheckContext) -> Outcome:
    limit = _runtime(ctx).rate_limit
    path = f"{R}.rateLimit"
    if limit is None:
        return Outcome.failed(
            "no rate limit: a burst of tasks runs into the provider's quota (HTTP 429)", path
        )
    if limit.requests_per_minute is None and limit.tokens_per_minute is None:
        return Outcome.failed("rateLimit sets neither requestsPerMinute nor tokensPerMinute", path)
    if limit.max_concurrency is None:
        return Outcome.failed(
            "rateLimit.maxConcurrency is unset: excess tasks are not queued", f"{path}.maxConcurrency"
        )
    return Outcome.passed(f"rate limited with at most {limit.max_concurrency} concurrent tasks per pod")


def check_loop_guard(ctx: CheckContext) -> Outcome:
    iterations = _runtime(ctx).max_iterations
    if iterations is None:
        return Outcome.failed("no iteration cap: a looping agent fails open", f"{R}.maxIterations")
    return Outcome.passed(f"a task stops after {iterations} iterations")


def check_budget(ctx: CheckContext) -> Outcome:
    budget = _runtime(ctx).budget
    path = f"{R}.budget.dailyUSD"
    if budget is None or budget.daily_usd is None:
        return Outcome.failed(
            "no daily spend cap: a runaway loop spends without limit until someone notices", path
        )
    ceiling = ctx.limits.max_daily_budget_usd
    if ceiling is not None and budget.daily_usd > ceiling:
        return Outcome.failed(
            f"dailyUSD {budget.daily_usd:g} exceeds the policy's maximum of {ceiling:g}", path
        )
    return Outcome.passed(f"spend capped at {budget.daily_usd:g} USD a day")


def check_human_override(ctx: CheckContext) -> Outcome:
    override = _runtime(ctx).human_override
    rollout = ctx.spec.rollout
    steps = rollout.canary.steps if rollout and rollout.canary else []
    approval_pause = any(s.pause is not None and s.pause.duration_seconds is None for s in steps)
    found = []
    if override and override.contact:
        found.append(f"contact {override.contact}")
    if override and override.approval_required_for:
        found.append(f"{len(override.approval_required_for)} action(s) need approval")
    if approval_pause:
        found.append("the canary waits for approval")
    if not found:
        return Outcome.failed(
            "no human takeover: no contact, no approval-gated action and no approval pause",
            f"{R}.humanOverride",
        )
    return Outcome.passed("; ".join(found))


DEFINITIONS: tuple[CheckDefinition, ...] = (
    CheckDefinition(
        "runtime.timeout",
        "Task timeout set",
        "runtime",
        "spec.runtime.timeoutSeconds against limits.maxTimeoutSeconds",
        "Set spec.runtime.timeoutSeconds to the smallest window a task needs, for example 120; "
        "long defaults such as an hour hide stuck loops.",
        levels("required", "required", "warning"),
        check_timeout,
    ),
    CheckDefinition(
        "runtime.retry",
        "Retries bounded, with jittered backoff",
        "runtime",
        "spec.runtime.retry: limit between 1 and limits.maxRetryLimit, backoff set, jitter on",
        "Set spec.runtime.retry: {limit: 3, backoff: {initialSeconds: 1, maxSeconds: 30, jitter: true}}.",
        levels("required", "required", "warning"),
        check_retry,
    ),
    CheckDefinition(
        "runtime.circuitBreaker",
        "Circuit breaker configured",
        "runtime",
        "spec.runtime.circuitBreaker",
        "Set spec.runtime.circuitBreaker: {failureThreshold: 5, recoverySeconds: 30, successThreshold: 2}.",
        levels("warning", "warning", "off"),
        check_circuit_breaker,
    ),
    CheckDefinition(
        "runtime.rateLimit",
        "Rate and concurrency limited",
        "runtime",
        "spec.runtime.rateLimit: requestsPerMinute or tokensPerMinute, and maxConcurrency",
        "Set spec.runtime.rateLimit: {requestsPerMinute: 600, maxConcurrency: 20}, below your provider's "
        "quota.",
        levels("required", "warning", "off"),
        check_rate_limit,
    ),
    CheckDefinition(
        "runtime.loopGuard",
        "Loop guard set",
        "runtime",
        "spec.runtime.maxIterations",
        "Set spec.runtime.maxIterations, for example 25, so a looping agent fails closed.",
        levels("required", "warning", "warning"),
        check_loop_guard,
    ),
    CheckDefinition(
        "budget.cap",
        "Daily spend cap",
        "runtime",
        "spec.runtime.budget.dailyUSD against limits.maxDailyBudgetUSD",
        "Set spec.runtime.budget: {dailyUSD: 50, alertAtPercent: 80}; a cap, not just an alert, stops a "
        "runaway loop.",
        levels("required", "required", "warning"),
        check_budget,
    ),
    CheckDefinition(
        "override.human",
        "Human takeover planned",
        "runtime",
        "spec.runtime.humanOverride (contact or approvalRequiredFor) or a canary pause that waits for "
        "approval",
        "Set spec.runtime.humanOverride: {contact: oncall-agents, approvalRequiredFor: [send_email]}.",
        levels("required", "warning", "off"),
        check_human_override,
    ),
)
