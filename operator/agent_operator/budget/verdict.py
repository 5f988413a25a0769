"""The budget verdict: spend against the cap, a pure function of numbers and times.

Spend is measured off the reconcile workers (:mod:`.measure`) and stored in status; every
reconcile decides from the latest numbers of the current window, the cap in force (``dailyUSD``
or an override) and whether the latest measurement failed. Rules (docs/budget.md):

- at ``alertAtPercent`` of the cap: Warning; at 100%: Exhausted, and every revision scales to 0;
- a canary whose projection (spend + burn rate x rest of the window) passes its share of the cap
  (the cap x its weight) fails its rollout before it can exhaust the whole budget;
- no numbers (Prometheus unreachable, or none yet in this window) never trip nor reset the cap:
  the last decision holds; ``onUnknown: Suspend`` scales to 0 while spend is unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ..api.budget import BudgetState, OnUnknown
from .window import Window


@dataclass(frozen=True)
class Spend:
    """US dollars per revision since the window started, and burn rates in dollars per second."""

    spent: Mapping[str, float] = field(default_factory=dict)
    burn: Mapping[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.spent.values())

    @property
    def total_burn(self) -> float:
        return sum(self.burn.values())

    def projected(self, revision: str | None, remaining_seconds: float) -> float:
        """Spend at the end of the window at today's burn rate (all revisions when None)."""
        if revision is None:
            return self.total + self.total_burn * remaining_seconds
        return self.spent.get(revision, 0.0) + self.burn.get(revision, 0.0) * remaining_seconds


@dataclass(frozen=True)
class Override:
    """A cap raised until ``until`` by ``by``."""

    cap: float
    until: datetime
    by: str


@dataclass(frozen=True)
class CanaryShare:
    """The canary in flight and the weight its step asks for."""

    revision: str
    weight: int


@dataclass(frozen=True)
class BudgetInput:
    daily_usd: float
    alert_at_percent: int
    on_unknown: OnUnknown
    window: Window
    now: datetime
    spend: Spend | None
    """The latest numbers measured in ``window``; None when there are none."""
    unknown: str | None = None
    """Why the latest measurement failed; None when it succeeded (or none ran yet)."""
    held: BudgetState = "Ok"
    """The state last decided (from status), kept while there are no numbers."""
    override: Override | None = None
    canary: CanaryShare | None = None
    measured_at: datetime | None = None
    """When ``spend`` was measured: projections run from then, so that the same numbers give the
    same verdict (and status) at every reconcile until the next measurement."""

    @property
    def remaining_seconds(self) -> float:
        return self.window.remaining_seconds(self.measured_at or self.now)


@dataclass(frozen=True)
class BudgetVerdict:
    state: BudgetState
    cap: float
    """The cap in force."""
    spent: float | None
    projected: float | None
    suspend: bool
    """Every revision scales to 0 (Exhausted, or unknown with onUnknown: Suspend)."""
    unknown: str | None = None
    override: Override | None = None
    """The override in force, if any."""
    canary_over: str | None = None
    """Why the canary fails its rollout (its projection passes its share); None when it fits."""
    shares: Mapping[str, float] = field(default_factory=dict)
    """During a canary: each revision's share of the cap."""

    @property
    def percent(self) -> float | None:
        return None if self.spent is None else 100.0 * self.spent / self.cap


def _state(spent: float, cap: float, alert_at_percent: int) -> BudgetState:
    if spent >= cap:
        return "Exhausted"
    if spent * 100 >= cap * alert_at_percent:
        return "Warning"
    return "Ok"


def _canary_over(inp: BudgetInput, spend: Spend, cap: float) -> tuple[str | None, dict[str, float]]:
    canary = inp.canary
    if canary is None or not 0 < canary.weight < 100:
        return None, {}
    share = cap * canary.weight / 100
    others = {r: cap - share for r in spend.spent if r != canary.revision}
    projected = spend.projected(canary.revision, inp.remaining_seconds)
    if projected <= share:
        return None, {canary.revision: share, **others}
    burn_per_hour = spend.burn.get(canary.revision, 0.0) * 3600
    why = (
        f"projected spend ${projected:.2f} by the window's end passes its ${share:.2f} share of the "
        f"${cap:.2f} daily cap ({canary.weight}% weight; ${spend.spent.get(canary.revision, 0.0):.2f} spent, "
        f"burning ${burn_per_hour:.2f}/h)"
    )
    return why, {canary.revision: share, **others}


def decide(inp: BudgetInput) -> BudgetVerdict:
    """What the budget means now; see the module docstring for the rules."""
    override = inp.override if inp.override is not None and inp.now < inp.override.until else None
    cap = max(inp.daily_usd, override.cap) if override is not None else inp.daily_usd
    spend = inp.spend
    if spend is None:
        # Nothing measured in this window: neither trip nor reset; the last decision holds.
        state: BudgetState = inp.held
        spent = projected = None
        canary_over, shares = None, dict[str, float]()
    else:
        spent = spend.total
        state = _state(spent, cap, inp.alert_at_percent)
        if inp.unknown is not None and state == "Exhausted" and inp.held != "Exhausted":
            # Numbers from before the outage do not trip the cap, even under a lower cap.
            state = inp.held
        projected = spend.projected(None, inp.remaining_seconds)
        canary_over, shares = _canary_over(inp, spend, cap)
    suspend = state == "Exhausted" or (inp.unknown is not None and inp.on_unknown == "Suspend")
    return BudgetVerdict(
        state=state,
        cap=cap,
        spent=spent,
        projected=projected,
        suspend=suspend,
        unknown=inp.unknown,
        override=override,
        canary_over=canary_over if inp.unknown is None else None,
        shares=shares,
    )
