"""The budget verdict as a table: spend, cap, override, outage and canary share in, decision out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent_operator.budget import BudgetInput, CanaryShare, Override, Spend, decide, window_at

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
WINDOW = window_at(NOW, "UTC")
HOUR = 3600.0


def _inp(**changes: Any) -> BudgetInput:
    base = BudgetInput(
        daily_usd=100.0,
        alert_at_percent=80,
        on_unknown="Hold",
        window=WINDOW,
        now=NOW,
        spend=Spend({"stable": 10.0}),
        measured_at=NOW,
    )
    return replace(base, **changes)


@pytest.mark.parametrize(
    ("case", "inp", "state", "suspend"),
    [
        ("well below the alert", _inp(), "Ok", False),
        ("just below the alert", _inp(spend=Spend({"a": 79.99})), "Ok", False),
        ("at the alert percent", _inp(spend=Spend({"a": 80.0})), "Warning", False),
        ("summed over revisions", _inp(spend=Spend({"a": 50.0, "b": 30.0})), "Warning", False),
        ("just below the cap", _inp(spend=Spend({"a": 99.99})), "Warning", False),
        ("at the cap", _inp(spend=Spend({"a": 100.0})), "Exhausted", True),
        ("a deleted revision counts", _inp(spend=Spend({"old": 60.0, "new": 45.0})), "Exhausted", True),
        (
            "alert at 100% warns only at the cap",
            _inp(alert_at_percent=100, spend=Spend({"a": 99})),
            "Ok",
            False,
        ),
        (
            "an override lifts the cap",
            _inp(spend=Spend({"a": 120.0}), override=Override(150.0, NOW + timedelta(hours=1), "alice")),
            "Warning",
            False,
        ),
        (
            "an expired override is no override",
            _inp(spend=Spend({"a": 120.0}), override=Override(150.0, NOW, "alice")),
            "Exhausted",
            True,
        ),
        (
            "an override below dailyUSD never lowers the cap",
            _inp(spend=Spend({"a": 60.0}), override=Override(50.0, NOW + timedelta(hours=1), "bob")),
            "Ok",
            False,
        ),
        ("nothing measured yet holds Ok", _inp(spend=None), "Ok", False),
        (
            "nothing measured in a new window holds Exhausted",
            _inp(spend=None, held="Exhausted"),
            "Exhausted",
            True,
        ),
        ("a new window's first numbers reset", _inp(spend=Spend({"a": 0.0}), held="Exhausted"), "Ok", False),
        (
            "unreachable with no numbers: Hold keeps Exhausted",
            _inp(spend=None, held="Exhausted", unknown="connection refused"),
            "Exhausted",
            True,
        ),
        (
            "unreachable with no numbers: Hold keeps running",
            _inp(spend=None, held="Ok", unknown="connection refused"),
            "Ok",
            False,
        ),
        (
            "unreachable: Suspend scales to zero",
            _inp(spend=None, held="Ok", unknown="timeout", on_unknown="Suspend"),
            "Ok",
            True,
        ),
        (
            "unreachable: earlier numbers never trip the cap",
            _inp(spend=Spend({"a": 120.0}), held="Warning", unknown="timeout"),
            "Warning",
            False,
        ),
        (
            "unreachable: earlier numbers keep an exhausted cap",
            _inp(spend=Spend({"a": 120.0}), held="Exhausted", unknown="timeout"),
            "Exhausted",
            True,
        ),
    ],
)
def test_state(case: str, inp: BudgetInput, state: str, suspend: bool) -> None:
    verdict = decide(inp)
    assert (verdict.state, verdict.suspend) == (state, suspend), case


def test_spend_and_projection_sum_every_revision() -> None:
    # 12 hours left at noon: $1/h on each of two revisions adds $24.
    spend = Spend({"a": 10.0, "b": 20.0}, burn={"a": 1 / HOUR, "b": 1 / HOUR})
    verdict = decide(_inp(spend=spend))
    assert verdict.spent == pytest.approx(30.0)
    assert verdict.projected == pytest.approx(54.0)
    assert verdict.percent == pytest.approx(30.0)


def test_projection_runs_from_the_measurement_not_from_now() -> None:
    spend = Spend({"a": 10.0}, burn={"a": 1 / HOUR})
    early = decide(_inp(spend=spend, now=NOW + timedelta(hours=2)))
    assert early.projected == pytest.approx(22.0)


@pytest.mark.parametrize(
    ("case", "weight", "spent", "burn_per_hour", "over"),
    [
        # Cap $100, noon: 12 hours left. A 10% canary's share is $10.
        ("within its share", 10, 1.0, 0.5, False),
        ("exactly its share", 10, 4.0, 0.5, False),
        ("3x its share", 10, 2.0, 2.333, True),
        ("spent past its share already", 10, 10.5, 0.0, True),
        ("a 50% canary has a bigger share", 50, 2.0, 2.333, False),
        ("weight 0: no share to judge", 0, 2.0, 5.0, False),
        ("weight 100: the canary is the whole agent", 100, 2.0, 50.0, False),
    ],
)
def test_canary_share(case: str, weight: int, spent: float, burn_per_hour: float, over: bool) -> None:
    spend = Spend(
        {"stable": 5.0, "canary": spent}, burn={"stable": 0.1 / HOUR, "canary": burn_per_hour / HOUR}
    )
    verdict = decide(_inp(spend=spend, canary=CanaryShare("canary", weight)))
    assert (verdict.canary_over is not None) == over, (case, verdict.canary_over)
    if over:
        assert "share" in (verdict.canary_over or "")


def test_canary_shares_split_the_cap_by_weight() -> None:
    verdict = decide(_inp(spend=Spend({"stable": 1.0, "canary": 1.0}), canary=CanaryShare("canary", 25)))
    assert verdict.shares == {"canary": 25.0, "stable": 75.0}


def test_no_canary_verdict_while_spend_is_unknown() -> None:
    spend = Spend({"canary": 50.0}, burn={"canary": 10 / HOUR})
    verdict = decide(_inp(spend=spend, canary=CanaryShare("canary", 10), unknown="timeout", held="Ok"))
    assert verdict.canary_over is None


def test_a_canary_over_its_share_is_caught_before_the_cap() -> None:
    """The rule's point: with a 10% canary burning 3x its share, the canary is over its share
    while total spend is still far below the cap."""
    spend = Spend({"stable": 10.0, "canary": 1.0}, burn={"stable": 2 / HOUR, "canary": 2.5 / HOUR})
    verdict = decide(_inp(spend=spend, canary=CanaryShare("canary", 10)))
    assert verdict.canary_over is not None
    assert verdict.state == "Ok"
