"""The cron parser and fire-time search: table tests, plus a brute-force minute-by-minute reference
for random expressions, and the CRD pattern agreeing with the parser on every table entry."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_operator.cron import (
    CRON_PATTERN,
    Cron,
    CronError,
    last_fire,
    next_fire,
    parse_cron,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


VALID = [
    ("* * * * *", "2026-12-02T05:13:37", "2026-12-02T05:14:00"),
    ("0 3 * * *", "2026-12-02T05:13:00", "2026-12-03T03:00:00"),
    ("0 3 * * *", "2026-12-02T02:59:59", "2026-12-02T03:00:00"),
    ("0 3 * * *", "2026-12-02T03:00:00", "2026-12-03T03:00:00"),  # strictly after
    ("*/15 * * * *", "2026-12-02T05:13:00", "2026-12-02T05:15:00"),
    ("*/15 * * * *", "2026-12-02T05:59:00", "2026-12-02T06:00:00"),
    ("5/20 * * * *", "2026-12-02T05:46:00", "2026-12-02T06:05:00"),  # N/S = N-59/S
    ("0-10/5 * * * *", "2026-12-02T05:06:00", "2026-12-02T05:10:00"),
    ("0,30 9-17 * * 1-5", "2026-12-04T17:30:00", "2026-12-07T09:00:00"),  # Friday evening -> Monday
    ("0 0 1 * *", "2026-12-02T00:00:00", "2027-01-01T00:00:00"),
    ("0 0 29 2 *", "2026-03-01T00:00:00", "2028-02-29T00:00:00"),  # leap day
    ("0 0 * * 0", "2026-12-02T00:00:00", "2026-12-06T00:00:00"),  # Sunday as 0
    ("0 0 * * 7", "2026-12-02T00:00:00", "2026-12-06T00:00:00"),  # Sunday as 7
    ("0 0 13 * 5", "2026-12-02T00:00:00", "2026-12-04T00:00:00"),  # day OR weekday (Friday 4th)
    ("0 0 13 * *", "2026-12-02T00:00:00", "2026-12-13T00:00:00"),
    ("0 0 */10 * 5", "2026-12-02T00:00:00", "2026-12-11T00:00:00"),  # starts with *: AND (Vixie)
    ("0 0 * * */2", "2026-12-02T00:00:00", "2026-12-03T00:00:00"),  # starts with *: AND
    ("0 12 * 02 *", "2026-12-02T00:00:00", "2027-02-01T12:00:00"),  # leading zero
    ("59 23 31 12 *", "2026-12-31T23:58:00", "2026-12-31T23:59:00"),
    ("0  3 * * *", "2026-12-02T05:13:00", "2026-12-03T03:00:00"),  # runs of spaces separate
    ("0 0 30 2 *", "2026-12-02T00:00:00", None),  # never fires
]

INVALID = [
    ("", "has 0 fields"),
    ("* * * *", "has 4 fields"),
    ("* * * * * *", "has 6 fields"),
    ("60 * * * *", "minute field '60'"),
    ("* 24 * * *", "hour field '24'"),
    ("* * 0 * *", "day of month field '0'"),
    ("* * 32 * *", "day of month field '32'"),
    ("* * * 13 *", "month field '13'"),
    ("* * * 0 *", "month field '0'"),
    ("* * * * 8", "day of week field '8'"),
    ("*/0 * * * *", "minute field '*/0'"),
    ("*/100 * * * *", "minute field '*/100'"),
    ("5-1 * * * *", "minute range '5-1' runs backwards"),
    ("* 22-2 * * *", "hour range '22-2' runs backwards"),
    ("1,,2 * * * *", "minute field"),
    ("1- * * * *", "minute field"),
    ("-1 * * * *", "minute field"),
    ("* * * JAN *", "month field 'JAN'"),
    ("* * * * MON", "day of week field 'MON'"),
    ("@daily", "has 1 fields"),
    ("005 * * * *", "minute field '005'"),
    (" * * * * *", "single spaces"),
    ("* * * * * ", "single spaces"),
    ("*\t* * * *", "single spaces"),
    ("? * * * *", "minute field '?'"),
    ("L * * * *", "minute field 'L'"),
    ("1-2-3 * * * *", "minute field"),
    ("*/5/5 * * * *", "minute field"),
    ("0 " * 60 + "*", "longer than 100"),
]


@pytest.mark.parametrize(("expression", "after", "expected"), VALID)
def test_next_fire(expression: str, after: str, expected: str | None) -> None:
    fire = next_fire(parse_cron(expression), at(after))
    assert fire == (at(expected) if expected else None)


@pytest.mark.parametrize(("expression", "message"), INVALID)
def test_invalid_expressions_name_the_field(expression: str, message: str) -> None:
    with pytest.raises(CronError) as err:
        parse_cron(expression)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "expression", [e for e, _, _ in VALID] + [e for e, _ in INVALID if not e.startswith("0 0 0")]
)
def test_the_crd_pattern_and_rule_agree_with_the_parser(expression: str) -> None:
    """What the CRD's pattern admits, less the backwards ranges its CEL rule refuses, is exactly
    what the parser admits (the integration agreement test checks the apiserver itself)."""
    try:
        parse_cron(expression)
        parsed = True
    except CronError:
        parsed = False
    pattern = re.fullmatch(CRON_PATTERN, expression) is not None and len(expression) <= 100
    backwards = any(
        int(a) > int(b)
        for item in re.split(r"[ ,]+", expression)
        if "-" in (body := item.split("/")[0]) and re.fullmatch(r"\d+-\d+", body)
        for a, b in [body.split("-")]
    )
    assert parsed == (pattern and not backwards)


LAST = [
    # (expression, since, now, expected latest slot in (since, now])
    ("* * * * *", "2026-12-02T05:00:30", "2026-12-02T05:07:10", "2026-12-02T05:07:00"),
    ("* * * * *", "2026-12-02T05:07:00", "2026-12-02T05:07:59", None),  # the slot itself is excluded
    ("* * * * *", "2026-12-02T05:06:59", "2026-12-02T05:07:00", "2026-12-02T05:07:00"),  # now included
    ("0 3 * * *", "2026-11-01T00:00:00", "2026-12-02T05:00:00", "2026-12-02T03:00:00"),
    ("0 3 * * *", "2026-12-01T03:00:00", "2026-12-02T02:59:00", None),
    ("0 0 1 1 *", "2020-01-01T00:00:00", "2026-12-02T00:00:00", "2026-01-01T00:00:00"),
    ("0 0 30 2 *", "2020-01-01T00:00:00", "2026-12-02T00:00:00", None),
]


@pytest.mark.parametrize(("expression", "since", "now", "expected"), LAST)
def test_last_fire_is_the_one_slot_a_missed_run_catches_up(
    expression: str, since: str, now: str, expected: str | None
) -> None:
    assert last_fire(parse_cron(expression), at(since), at(now)) == (at(expected) if expected else None)


def _reference_matches(cron: Cron, moment: datetime) -> bool:
    """The definition, minute by minute."""
    return moment.minute in cron.minutes and moment.hour in cron.hours and cron.matches_day(moment)


def _item(low: int, high: int) -> st.SearchStrategy[str]:
    value = st.integers(low, high)
    return st.one_of(
        st.just("*"),
        value.map(str),
        st.tuples(value, value).map(lambda p: f"{min(p)}-{max(p)}"),
        st.tuples(st.sampled_from(["*", str(low)]), st.integers(1, 20)).map(lambda p: f"{p[0]}/{p[1]}"),
    )


def _field(low: int, high: int) -> st.SearchStrategy[str]:
    return st.lists(_item(low, high), min_size=1, max_size=3).map(",".join)


expressions = st.tuples(_field(0, 59), _field(0, 23), _field(1, 31), _field(1, 12), _field(0, 7)).map(
    " ".join
)
moments = st.datetimes(datetime(2025, 1, 1), datetime(2030, 1, 1)).map(lambda d: d.replace(tzinfo=UTC))


@settings(max_examples=150, deadline=None)
@given(expressions, moments)
def test_next_and_last_fire_agree_with_a_brute_force_reference(expression: str, moment: datetime) -> None:
    cron = parse_cron(expression)
    assert re.fullmatch(CRON_PATTERN, expression)
    fire = next_fire(cron, moment)
    start = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
    horizon = 3 * 24 * 60  # brute force three days; beyond that only check the found slot
    expected = next((start + timedelta(minutes=m) for m in range(horizon)
                     if _reference_matches(cron, start + timedelta(minutes=m))), None)  # fmt: skip
    if expected is not None:
        assert fire == expected
    elif fire is not None:
        assert fire >= start + timedelta(minutes=horizon)
        assert _reference_matches(cron, fire)
    window_start = moment - timedelta(hours=6)
    latest = last_fire(cron, window_start, moment)
    minutes = [
        window_start.replace(second=0, microsecond=0) + timedelta(minutes=m) for m in range(6 * 60 + 2)
    ]
    slots = [t for t in minutes if window_start < t <= moment and _reference_matches(cron, t)]
    assert latest == (slots[-1] if slots else None)
