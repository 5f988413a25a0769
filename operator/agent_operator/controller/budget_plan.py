"""The planner's budget step: stored spend + the latest measurement in, the verdict out, with the
status block, conditions, events and the next measurement to run.

Pure. Enforced when the agent has ``spec.runtime.budget.dailyUSD`` and ``spec.analysis`` says
where spend is measured (``prometheus`` and ``cost``); otherwise the budget is only rendered into
the runtime config, as before, and this step adds nothing. Times here are the budget clock's
(the operator's clock, injectable so that tests can move midnight without sleeping).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..api.agent import AgentDeployment, Budget
from ..api.analysis import Analysis, Cost, PrometheusSource
from ..api.budget import (
    DEFAULT_TIMEZONE,
    BudgetOverrideStatus,
    BudgetStatus,
    RevisionSpendStatus,
)
from ..budget import BudgetInput, BudgetVerdict, CanaryShare, Override, Spend, Window, decide, window_at
from ..budget.measure import SpendQuery
from ..rollout.types import Command, Event
from .budget_runner import SpendJob, SpendResult
from .budget_text import budget_conditions, budget_events, override_ignored, override_refused
from .conditions import Cond
from .timefmt import format_time, parse_time

DEFAULT_INTERVAL_SECONDS = 60
BURN_WINDOW_SECONDS = (60, 900)
"""Burn rate range: three measurement intervals, within these bounds."""


@dataclass(frozen=True)
class BudgetPlan:
    verdict: BudgetVerdict | None = None
    status: BudgetStatus | None = None
    conditions: tuple[Cond, ...] = ()
    events: tuple[Event, ...] = ()
    job: SpendJob | None = None
    requeue_after: float | None = None

    @property
    def suspend(self) -> tuple[str, str] | None:
        """(reason, message) for the rollout machine when every revision must be at 0."""
        if self.verdict is None or not self.verdict.suspend:
            return None
        exhausted = next((c for c in self.conditions if c.type == "BudgetExhausted"), None)
        if self.verdict.state == "Exhausted" and exhausted is not None:
            return ("BudgetExhausted", exhausted.message)
        unknown = next((c for c in self.conditions if c.type == "BudgetUnknown"), None)
        return ("BudgetUnknown", unknown.message if unknown else "spend is unknown")


def _enforced(agent: AgentDeployment) -> tuple[Budget, float, Analysis, Cost] | None:
    """The budget, its daily cap, and where spend is measured, when the cap is enforced."""
    runtime = agent.spec.runtime
    budget = runtime.budget if runtime else None
    analysis = agent.spec.analysis
    if budget is None or budget.daily_usd is None or analysis is None or analysis.cost is None:
        return None
    return budget, budget.daily_usd, analysis, analysis.cost


def budget_fingerprint(budget: Budget, prometheus: PrometheusSource, cost: Cost) -> str:
    """Identifies how spend is measured: a result measured under another spec is not used."""
    parts = [prometheus.to_wire(), cost.to_wire(), budget.timezone or DEFAULT_TIMEZONE]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _stored_spend(stored: BudgetStatus | None, window: Window) -> Spend | None:
    if stored is None or stored.spent_usd is None or parse_time(stored.window_start) != window.start:
        return None
    rows = stored.revisions or []
    return Spend(
        spent={r.revision: r.spent_usd for r in rows},
        burn={r.revision: r.burn_usd_per_hour / 3600 for r in rows},
    )


REFUSED = "its identity proof does not verify"
"""An override written around the admission webhook (down, or Ignore): the name in it proves
nothing, so it is refused like any unverified command (rollout/_commands.py)."""


def _override(
    stored: BudgetStatus | None, commands: tuple[Command, ...], now: datetime
) -> tuple[BudgetOverrideStatus | None, Command | None, str | None]:
    """The override to record: the stored one, or a newer command acted on now (its duration
    counts from now, the moment the operator first sees it, so it is acted on once). Also the new
    command, and why it was ignored when it cannot be used."""
    kept = stored.override if stored is not None else None
    latest = max((c for c in commands if c.verb == "budget"), key=lambda c: c.at, default=None)
    seen = parse_time(kept.at) if kept is not None else None
    if latest is None or (seen is not None and latest.at <= seen):
        return kept, None, None
    if not latest.verified:
        return kept, None, REFUSED
    if latest.usd is None or latest.for_seconds is None or latest.for_seconds <= 0:
        return (
            kept,
            None,
            "it needs usd > 0 and forSeconds > 0 (agentctl budget NAME --override USD --for 4h)",
        )
    record = BudgetOverrideStatus(
        cap_usd=latest.usd,
        by=latest.by,
        at=format_time(latest.at),
        until=format_time(now + timedelta(seconds=latest.for_seconds)),
    )
    return record, latest, None


def _usable(result: SpendResult | None, fingerprint: str, window: Window) -> SpendResult | None:
    """The runner's latest measurement when it measured this window under this spec."""
    if result is None or result.job.fingerprint != fingerprint or result.job.window_start != window.start:
        return None
    return result


def _keep_unchanged(stored: BudgetStatus | None, new: BudgetStatus) -> BudgetStatus:
    """``new``, or with the stored measurement time and projections when a later measurement found
    the same numbers: an idle agent's budget costs no status write per measurement."""
    if stored is None:
        return new

    def numbers(b: BudgetStatus) -> object:
        rows = [(r.revision, r.spent_usd, r.burn_usd_per_hour, r.share_usd) for r in b.revisions or []]
        return (b.state, b.window_start, b.cap_usd, b.spent_usd, rows, b.unknown, b.override)

    if numbers(stored) != numbers(new):
        return new
    return new.model_copy(
        update={
            "measured_at": stored.measured_at,
            "projected_usd": stored.projected_usd,
            "revisions": stored.revisions,
        }
    )


def plan_budget(
    agent: AgentDeployment,
    stored: BudgetStatus | None,
    result: SpendResult | None,
    commands: tuple[Command, ...],
    canary: CanaryShare | None,
    now: datetime,
) -> BudgetPlan:
    """Step 2a of the planner: the budget's verdict and what to write about it."""
    enforced = _enforced(agent)
    if enforced is None:
        return BudgetPlan()
    budget, daily_usd, analysis, cost = enforced
    on_unknown = budget.on_unknown or "Hold"
    window = window_at(now, budget.timezone or DEFAULT_TIMEZONE)
    interval = budget.interval_seconds or DEFAULT_INTERVAL_SECONDS
    fingerprint = budget_fingerprint(budget, analysis.prometheus, cost)
    # The schedule runs from the runner's latest measurement (kept in memory, so measuring costs no
    # status write); after a restart, or in a new window, the first measurement is due at once.
    latest = _usable(result, fingerprint, window)
    spend = _stored_spend(stored, window)
    unknown = stored.unknown if stored is not None else None
    measured_at = parse_time(stored.measured_at) if stored is not None else None
    due = window.start
    if latest is not None:
        measured_at = latest.measured_at
        unknown = latest.unknown
        spend = latest.spend if latest.spend is not None else spend
        due = latest.measured_at + timedelta(seconds=interval)
    override, new_override, ignored = _override(stored, commands, now)
    until = parse_time(override.until) if override is not None else None
    verdict = decide(
        BudgetInput(
            daily_usd=daily_usd,
            alert_at_percent=budget.alert_at_percent,
            on_unknown=on_unknown,
            window=window,
            now=now,
            spend=spend,
            unknown=unknown,
            held=stored.state if stored is not None else "Ok",
            override=Override(override.cap_usd, until, override.by) if override and until else None,
            canary=canary,
            measured_at=measured_at,
        )
    )
    status = _keep_unchanged(stored, _status(verdict, window, spend, measured_at, override))
    events = budget_events(stored, status, verdict, window, new_override)
    if ignored is REFUSED:
        events.append(override_refused(commands))
    elif ignored is not None:
        events.append(override_ignored(ignored))
    elapsed = int(window.elapsed_seconds(now))
    burn = min(max(3 * interval, BURN_WINDOW_SECONDS[0]), BURN_WINDOW_SECONDS[1])
    job = None
    if now >= due:
        query = SpendQuery(agent.metadata.namespace or "", agent.metadata.name, elapsed, burn)
        job = SpendJob(fingerprint, window.start, due, analysis.prometheus, cost, query)
    wake = [(due - now).total_seconds(), window.remaining_seconds(now) + 1]
    if until is not None and until > now:
        wake.append((until - now).total_seconds() + 1)
    return BudgetPlan(
        verdict=verdict,
        status=status,
        conditions=tuple(
            budget_conditions(verdict, window, budget.on_unknown or "Hold", budget.alert_at_percent)
        ),
        events=tuple(events),
        job=job,
        requeue_after=min(t for t in wake if t > 0) if any(t > 0 for t in wake) else None,
    )


def _status(
    verdict: BudgetVerdict,
    window: Window,
    spend: Spend | None,
    measured_at: datetime | None,
    override: BudgetOverrideStatus | None,
) -> BudgetStatus:
    remaining = window.remaining_seconds(measured_at) if measured_at else 0.0
    rows = None
    if spend is not None:
        revisions = sorted(set(spend.spent) | set(spend.burn))
        rows = [
            RevisionSpendStatus(
                revision=r,
                spent_usd=round(spend.spent.get(r, 0.0), 6),
                burn_usd_per_hour=round(spend.burn.get(r, 0.0) * 3600, 6),
                share_usd=round(verdict.shares[r], 6) if r in verdict.shares else None,
                projected_usd=round(spend.projected(r, remaining), 6),
            )
            for r in revisions
        ][:64]
    return BudgetStatus(
        state=verdict.state,
        window_start=format_time(window.start),
        window_end=format_time(window.end),
        cap_usd=verdict.cap,
        spent_usd=None if verdict.spent is None else round(verdict.spent, 6),
        projected_usd=None if verdict.projected is None else round(verdict.projected, 6),
        measured_at=format_time(measured_at) if measured_at else None,
        revisions=rows or None,
        unknown=verdict.unknown,
        override=override,
    )
