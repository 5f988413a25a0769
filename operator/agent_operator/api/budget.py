"""The spend cap: what status says about spend against ``spec.runtime.budget.dailyUSD``.

The spec side (:class:`~agent_operator.api.agent.Budget`) lives with the runtime guardrails it is
part of; this module holds the status the operator writes (docs/budget.md).
"""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field

from .base import ApiModel

BudgetState = Literal["Ok", "Warning", "Exhausted"]
OnUnknown = Literal["Hold", "Suspend"]
DEFAULT_TIMEZONE = "UTC"


def check_timezone(name: str) -> str:
    """``name`` when it is an IANA time zone this machine knows, else ValueError with a fix."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as UTC, Europe/Berlin or America/New_York"
        ) from None
    return name


class RevisionSpendStatus(ApiModel):
    """One revision's spend in the current window."""

    revision: str
    """The revision."""
    spent_usd: float = Field(alias="spentUSD", ge=0)
    """US dollars spent since the window started."""
    burn_usd_per_hour: float = Field(default=0, alias="burnUSDPerHour", ge=0)
    """Current burn rate."""
    share_usd: float | None = Field(default=None, alias="shareUSD", ge=0)
    """During a canary: the revision's share of the cap, in proportion to its weight."""
    projected_usd: float | None = Field(default=None, alias="projectedUSD", ge=0)
    """Spend plus burn rate times the rest of the window."""


class BudgetOverrideStatus(ApiModel):
    """A cap raised for a while by `agentctl budget NAME --override USD --for DURATION`."""

    cap_usd: float = Field(alias="capUSD", gt=0)
    """The cap in force while the override lasts."""
    by: str = ""
    """Who issued it."""
    at: str
    """When it was issued (RFC 3339): identifies the command."""
    until: str
    """When it ends (RFC 3339)."""


class BudgetStatus(ApiModel):
    """Spend against the daily cap, measured from Prometheus every budget.intervalSeconds."""

    state: BudgetState = "Ok"
    """Ok, Warning (alertAtPercent reached) or Exhausted (every revision scaled to 0)."""
    window_start: str
    """Start of the current daily window (RFC 3339), midnight in budget.timezone."""
    window_end: str
    """End of the current window: the cap resets then."""
    cap_usd: float = Field(alias="capUSD", gt=0)
    """The cap in force: dailyUSD, or an active override."""
    spent_usd: float | None = Field(default=None, alias="spentUSD", ge=0)
    """Spend of every revision since the window started; unset until measured in this window."""
    projected_usd: float | None = Field(default=None, alias="projectedUSD", ge=0)
    """Spend plus the current burn rate times the rest of the window."""
    measured_at: str | None = None
    """When the numbers shown were measured (RFC 3339); a later measurement that finds the same
    numbers keeps it, so an idle agent's budget costs no status writes."""
    revisions: list[RevisionSpendStatus] | None = Field(default=None, max_length=64)
    """Spend per revision."""
    unknown: str | None = Field(default=None, max_length=1024)
    """Why the last measurement failed (Prometheus unreachable); unset when it succeeded."""
    override: BudgetOverrideStatus | None = None
    """The latest override, while it lasts."""
