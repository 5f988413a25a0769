"""Verdicts as pure functions: one metric against its bounds, then the whole analysis.

A check passes only on data. No canary data, too few samples, or an unreachable Prometheus make
it Inconclusive; a relative bound whose stable side has no data is Inconclusive too, and says so.
The analysis never continues when no check saw canary data, whatever onInconclusive says.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Verdict = Literal["Passed", "Failed", "Inconclusive"]
Reason = Literal[
    "WithinBounds",
    "AboveMax",
    "AboveMaxIncrease",
    "AboveMaxDelta",
    "NoData",
    "InsufficientData",
    "StableNoData",
    "PrometheusUnreachable",
]
Action = Literal["Continue", "Pause", "Rollback"]
OnFailure = Literal["Rollback", "Pause"]
OnInconclusive = Literal["Pause", "Fail", "Pass"]


@dataclass(frozen=True)
class Bounds:
    """What one check allows. Relative bounds compare with stable over the same window."""

    max: float | None = None
    max_increase: float | None = None
    """Percent over stable."""
    max_delta: float | None = None
    min_samples: int = 0
    on_failure: OnFailure = "Rollback"

    @property
    def relative(self) -> bool:
        return self.max_increase is not None or self.max_delta is not None


@dataclass(frozen=True)
class Measurement:
    """One revision's value of a check and the tasks it is based on. value None: no data."""

    value: float | None
    samples: float = 0.0

    def enough(self, min_samples: int) -> bool:
        return self.value is not None and self.samples >= min_samples


@dataclass(frozen=True)
class MetricResult:
    """One row of the analysis table: what status, Events and agentctl show."""

    name: str
    verdict: Verdict
    reason: Reason
    canary: float | None
    stable: float | None
    canary_samples: int
    stable_samples: int
    limit: float | None
    """The tightest bound in force, in the metric's unit (None when it needs stable and stable
    has no data)."""
    threshold: str
    """The bounds as configured, e.g. "max 0.05, +50% of stable"."""
    message: str
    on_failure: OnFailure = "Rollback"


def _fmt(value: float | None) -> str:
    return "no data" if value is None else f"{value:.6g}"


def describe_bounds(bounds: Bounds) -> str:
    parts = []
    if bounds.max is not None:
        parts.append(f"max {_fmt(bounds.max)}")
    if bounds.max_increase is not None:
        parts.append(f"+{_fmt(bounds.max_increase)}% of stable")
    if bounds.max_delta is not None:
        parts.append(f"+{_fmt(bounds.max_delta)} over stable")
    return ", ".join(parts)


def _above(value: float, limit: float) -> bool:
    """Strictly above, ignoring float noise (1.5000000000000002 is not above 1.5)."""
    return value > limit and not math.isclose(value, limit, rel_tol=1e-9, abs_tol=1e-12)


def judge(name: str, bounds: Bounds, canary: Measurement, stable: Measurement | None) -> MetricResult:
    """The verdict of one check."""
    stable = stable or Measurement(None)

    def result(verdict: Verdict, reason: Reason, limit: float | None, message: str) -> MetricResult:
        return MetricResult(
            name=name,
            verdict=verdict,
            reason=reason,
            canary=canary.value,
            stable=stable.value,
            canary_samples=round(canary.samples),
            stable_samples=round(stable.samples),
            limit=limit,
            threshold=describe_bounds(bounds),
            message=message,
            on_failure=bounds.on_failure,
        )

    if canary.value is None:
        return result("Inconclusive", "NoData", bounds.max, f"{name}: the canary has no data in the window")
    if canary.samples < bounds.min_samples:
        return result(
            "Inconclusive",
            "InsufficientData",
            bounds.max,
            f"{name}: the canary handled {canary.samples:.0f} tasks,"
            f" fewer than the {bounds.min_samples} needed",
        )
    limits: list[tuple[float, Reason, str]] = []
    if bounds.max is not None:
        limits.append((bounds.max, "AboveMax", f"above max {_fmt(bounds.max)}"))
    stable_ok = stable.enough(bounds.min_samples)
    if bounds.relative and stable_ok and stable.value is not None:
        if bounds.max_increase is not None:
            limit = stable.value * (1 + bounds.max_increase / 100)
            limits.append((limit, "AboveMaxIncrease", f"more than {_fmt(bounds.max_increase)}% over stable"))
        if bounds.max_delta is not None:
            limit = stable.value + bounds.max_delta
            limits.append((limit, "AboveMaxDelta", f"more than {_fmt(bounds.max_delta)} over stable"))
    tightest = min((lim for lim, _, _ in limits), default=None)
    for limit, reason, why in limits:
        if _above(canary.value, limit):
            return result(
                "Failed",
                reason,
                tightest,
                f"{name} is {_fmt(canary.value)}, {why} ({_fmt(stable.value)}); limit {_fmt(limit)}"
                if reason != "AboveMax"
                else f"{name} is {_fmt(canary.value)}, {why}",
            )
    if bounds.relative and not stable_ok:
        what = (
            "no data"
            if stable.value is None
            else f"{stable.samples:.0f} tasks, fewer than the {bounds.min_samples} needed"
        )
        return result(
            "Inconclusive",
            "StableNoData",
            tightest,
            f"{name}: stable has {what}, so the canary cannot be compared with it",
        )
    return result("Passed", "WithinBounds", tightest, f"{name} is {_fmt(canary.value)}, within bounds")


def unreachable(name: str, bounds: Bounds, why: str) -> MetricResult:
    """The row of a check that could not be measured because Prometheus did not answer."""
    return MetricResult(
        name=name,
        verdict="Inconclusive",
        reason="PrometheusUnreachable",
        canary=None,
        stable=None,
        canary_samples=0,
        stable_samples=0,
        limit=bounds.max,
        threshold=describe_bounds(bounds),
        message=f"{name}: {why}",
        on_failure=bounds.on_failure,
    )


@dataclass(frozen=True)
class AnalysisVerdict:
    """What one measurement of all checks means for the rollout."""

    verdict: Verdict
    action: Action
    reason: str
    """Failed, or the first inconclusive reason (InsufficientData, PrometheusUnreachable...)."""
    message: str
    results: tuple[MetricResult, ...]


def decide(results: Sequence[MetricResult], on_inconclusive: OnInconclusive = "Pause") -> AnalysisVerdict:
    """Failed checks act by their onFailure (Rollback wins over Pause); inconclusive ones by
    onInconclusive. Continue needs at least one check that passed on data."""
    rows = tuple(results)
    failed = [r for r in rows if r.verdict == "Failed"]
    unsure = [r for r in rows if r.verdict == "Inconclusive"]
    passed = [r for r in rows if r.verdict == "Passed"]

    def rollback_or_pause(bad: Sequence[MetricResult]) -> Action:
        return "Rollback" if any(r.on_failure == "Rollback" for r in bad) else "Pause"

    if failed:
        message = "; ".join(r.message for r in failed)
        return AnalysisVerdict("Failed", rollback_or_pause(failed), "AnalysisFailed", message, rows)
    if not unsure and passed:
        return AnalysisVerdict("Passed", "Continue", "AnalysisPassed", "every check passed", rows)
    reason = unsure[0].reason if unsure else "NoData"
    message = "; ".join(r.message for r in unsure) or "no checks ran"
    if on_inconclusive == "Fail" and unsure:
        return AnalysisVerdict("Failed", rollback_or_pause(unsure), reason, message, rows)
    if on_inconclusive == "Pass" and passed:
        return AnalysisVerdict("Inconclusive", "Continue", reason, message + " (onInconclusive: Pass)", rows)
    # Pause, or Pass without a single check measured on data: never promote on no data.
    return AnalysisVerdict("Inconclusive", "Pause", reason, message, rows)


RunsOutcome = Literal["Measure", "Continue", "Pause", "Rollback"]


def runs_outcome(actions: Sequence[Action], count: int) -> RunsOutcome:
    """An analyze step's state after the measurements so far: the first measurement that does not
    continue decides; ``count`` continuing measurements complete the step."""
    for action in actions:
        if action != "Continue":
            return action
    return "Continue" if len(actions) >= count else "Measure"
