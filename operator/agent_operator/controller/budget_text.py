"""Every condition, event and message text of the spend cap (the budget's part of status.py)."""

from __future__ import annotations

from collections.abc import Sequence

from ..api.budget import BudgetStatus, OnUnknown
from ..budget import BudgetVerdict, Window
from ..rollout.types import Command, Event
from .conditions import Cond


def _usd(value: float) -> str:
    return f"${value:,.2f}"


def _until(window: Window) -> str:
    return f"{window.end:%Y-%m-%dT%H:%MZ}"


def spent_text(verdict: BudgetVerdict, window: Window) -> str:
    if verdict.spent is None:
        return f"spend not measured yet in window {window.describe()}; cap {_usd(verdict.cap)}"
    percent = verdict.percent or 0.0
    return (
        f"spent {_usd(verdict.spent)} ({percent:.0f}%) of the {_usd(verdict.cap)} daily cap in window "
        f"{window.describe()}"
    )


def budget_conditions(
    verdict: BudgetVerdict, window: Window, on_unknown: OnUnknown, alert_at_percent: int
) -> list[Cond]:
    spent = spent_text(verdict, window)
    over_alert = verdict.state in ("Warning", "Exhausted")
    exhausted = verdict.state == "Exhausted"
    conditions = [
        Cond(
            "BudgetWarning",
            "True" if over_alert else "False",
            "AlertThresholdReached" if over_alert else "BelowAlertThreshold",
            f"{spent}; alert at {alert_at_percent}%",
        ),
        Cond(
            "BudgetExhausted",
            "True" if exhausted else "False",
            "DailyCapReached" if exhausted else "WithinDailyCap",
            f"{spent}; every revision scaled to 0 until the window resets at {_until(window)} "
            "(or agentctl budget NAME --override USD --for DURATION); the spec is unchanged"
            if exhausted
            else spent,
        ),
    ]
    if verdict.unknown is not None:
        then = (
            "onUnknown: Suspend, so every revision is scaled to 0 until spend is known"
            if on_unknown == "Suspend"
            else f"onUnknown: Hold keeps the last decision ({verdict.state}); "
            "the cap neither trips nor resets"
        )
        conditions.append(
            Cond(
                "BudgetUnknown",
                "True",
                "SpendUnknown",
                f"spend cannot be measured: {verdict.unknown}; {then}",
            )
        )
    else:
        conditions.append(Cond("BudgetUnknown", "False", "SpendMeasured", spent))
    return conditions


def budget_events(
    stored: BudgetStatus | None,
    status: BudgetStatus,
    verdict: BudgetVerdict,
    window: Window,
    new_override: Command | None,
) -> list[Event]:
    """Events for what changed since the stored status: thresholds crossed, a reset, an outage."""
    events: list[Event] = []
    before = stored.state if stored is not None else "Ok"
    spent = spent_text(verdict, window)
    if new_override is not None and status.override is not None:
        events.append(
            Event(
                "Normal",
                "BudgetOverride",
                f"{new_override.by or 'an unknown user'} raised the daily cap to "
                f"{_usd(status.override.cap_usd)} until {status.override.until}",
            )
        )
    if verdict.state == "Exhausted" and before != "Exhausted":
        events.append(
            Event("Warning", "BudgetExhausted", f"{spent}: every revision scaled to 0 until {_until(window)}")
        )
    elif verdict.state == "Warning" and before == "Ok":
        events.append(Event("Warning", "BudgetWarning", spent))
    if before == "Exhausted" and verdict.state != "Exhausted":
        raised = stored is not None and verdict.cap > stored.cap_usd
        why = "the cap was raised" if raised else "a new window started"
        events.append(Event("Normal", "BudgetReset", f"{why}: {spent}; revisions scale back up"))
    had_unknown = stored is not None and stored.unknown is not None
    if verdict.unknown is not None and not had_unknown:
        events.append(Event("Warning", "BudgetUnknown", f"spend cannot be measured: {verdict.unknown}"))
    elif verdict.unknown is None and had_unknown:
        events.append(Event("Normal", "BudgetKnown", f"spend is measured again: {spent}"))
    return events


def override_ignored(why: str) -> Event:
    return Event("Warning", "CommandIgnored", f"budget override ignored: {why}")


def override_refused(commands: Sequence[Command]) -> Event:
    latest = max((c for c in commands if c.verb == "budget"), key=lambda c: c.at)
    return Event(
        "Warning",
        "CommandRefused",
        f"budget override claiming to be by {latest.by or 'an unknown user'} refused: its identity proof "
        "does not verify (the admission webhook did not stamp it); issue it again with agentctl budget "
        "--override once the webhook answers",
    )
