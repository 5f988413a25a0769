"""Five-field cron expressions (minute hour day-of-month month day-of-week), evaluated in UTC.

Pure and dependency-free. One grammar serves three places: :func:`parse_cron` (what ``agentctl
validate`` and the operator use), :data:`CRON_PATTERN` and :data:`CRON_RULE` (what the CRD schema
checks), so the apiserver and ``agentctl validate`` admit exactly the same expressions.

Each field is a comma-separated list of items; an item is ``*``, a value ``N`` or a range ``A-B``,
optionally followed by a step ``/S`` (1-99). ``N/S`` means ``N-max/S``. Values are numbers only
(no ``JAN`` or ``MON`` names, no ``@daily`` macros); day-of-week 0 and 7 are both Sunday. As in
Vixie cron, when both day-of-month and day-of-week are restricted (neither starts with ``*``), a
day matches when either does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

_VALUES: Final = (
    ("minute", r"[0-5]?[0-9]", 0, 59),
    ("hour", r"[01]?[0-9]|2[0-3]", 0, 23),
    ("day of month", r"0?[1-9]|[12][0-9]|3[01]", 1, 31),
    ("month", r"0?[1-9]|1[0-2]", 1, 12),
    ("day of week", r"[0-7]", 0, 7),
)
_STEP: Final = r"[1-9][0-9]?"
MAX_CRON_LENGTH: Final = 100
"""Long enough for any sensible list; short enough to keep the CRD's CEL rule cheap."""


def _field_pattern(value: str) -> str:
    item = rf"(?:\*|(?:{value})(?:-(?:{value}))?)(?:/{_STEP})?"
    return rf"{item}(?:,{item})*"


CRON_PATTERN: Final = "^" + " +".join(f"(?:{_field_pattern(v)})" for _, v, _, _ in _VALUES) + "$"
"""The syntax and every value's bounds, as the CRD's ``pattern``."""
CRON_RULE: Final = (
    "self.findAll('[0-9]+-[0-9]+').all(r, "
    "int(r.substring(0, r.indexOf('-'))) <= int(r.substring(r.indexOf('-') + 1)))",
    "a range in the cron expression must run from low to high, e.g. 1-5, not 5-1",
)
"""What the pattern cannot say: every range runs upwards (the CRD's CEL rule)."""
FORMAT_HINT: Final = 'five fields "minute hour day-of-month month day-of-week" in UTC, e.g. "0 3 * * *"'

_FIELD_RES: Final = tuple(re.compile(rf"^(?:{_field_pattern(v)})$") for _, v, _, _ in _VALUES)
_SEARCH_DAYS: Final = 8 * 366 + 1
"""How far ahead a fire time is searched: eight years always include a 29 February."""


class CronError(ValueError):
    """An expression that is not a valid cron schedule; the message says which field and why."""


class BackwardsRangeError(CronError):
    """A range such as 5-1: the syntax is right (the CRD's pattern admits it), the order is not
    (its CEL rule refuses it, with :data:`CRON_RULE`'s message)."""


@dataclass(frozen=True)
class Cron:
    """A parsed schedule: the set of matching values of each field."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    """0 = Sunday ... 6 = Saturday (7 folded into 0)."""
    any_day: bool
    """Day-of-month is unrestricted (starts with ``*``)."""
    any_weekday: bool
    """Day-of-week is unrestricted (starts with ``*``)."""

    def matches_day(self, day: datetime) -> bool:
        if day.month not in self.months:
            return False
        in_month = day.day in self.days
        in_week = (day.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week


def _expand(text: str, index: int) -> frozenset[int]:
    name, _, low, high = _VALUES[index]
    if not _FIELD_RES[index].match(text):
        raise CronError(
            f"{name} field {text!r} is not valid ({name} is {low}-{high}): "
            "use *, N, A-B, lists A,B and steps /S (1-99), numbers only"
        )
    out: set[int] = set()
    for item in text.split(","):
        body, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if body == "*":
            first, last = low, high
        elif "-" in body:
            a, b = body.split("-")
            first, last = int(a), int(b)
            if first > last:
                raise BackwardsRangeError(f"{name} range {body!r} runs backwards: write it low to high")
        else:
            first = int(body)
            last = high if step_text else first
        out.update(range(first, last + 1, step))
    return frozenset(out)


def parse_cron(expression: str) -> Cron:
    """The schedule ``expression`` describes; :class:`CronError` names the first bad field."""
    if len(expression) > MAX_CRON_LENGTH:
        raise CronError(f"longer than {MAX_CRON_LENGTH} characters")
    if expression != expression.strip(" ") or "\t" in expression or "\n" in expression:
        raise CronError(f"separate the fields with single spaces and nothing around them: {FORMAT_HINT}")
    fields = [f for f in expression.split(" ") if f]
    if len(fields) != len(_VALUES):
        raise CronError(f"has {len(fields)} fields, expected {FORMAT_HINT}")
    sets = [_expand(text, i) for i, text in enumerate(fields)]
    weekdays = frozenset(d % 7 for d in sets[4])
    return Cron(
        minutes=sets[0],
        hours=sets[1],
        days=sets[2],
        months=sets[3],
        weekdays=weekdays,
        any_day=fields[2].startswith("*"),
        any_weekday=fields[4].startswith("*"),
    )


def check_cron(expression: str) -> str:
    """``expression`` when valid (for validators); raises :class:`CronError` otherwise."""
    parse_cron(expression)
    return expression


def next_fire(cron: Cron, after: datetime) -> datetime | None:
    """The first fire time strictly after ``after`` (UTC, whole minutes); None when the schedule
    never fires (e.g. 30 February)."""
    start = after.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    day = start.replace(hour=0, minute=0)
    for offset in range(_SEARCH_DAYS):
        current = day + timedelta(days=offset)
        if not cron.matches_day(current):
            continue
        for hour in sorted(cron.hours):
            for minute in sorted(cron.minutes):
                candidate = current.replace(hour=hour, minute=minute)
                if candidate >= start:
                    return candidate
    return None


def last_fire(cron: Cron, since: datetime, now: datetime) -> datetime | None:
    """The latest fire time in (``since``, ``now``]: the one slot a missed run catches up, however
    many were missed; None when no slot fell in that span. Searches backwards from ``now``."""
    end = now.astimezone(UTC)
    since = since.astimezone(UTC)
    today = end.replace(hour=0, minute=0, second=0, microsecond=0)
    for offset in range(_SEARCH_DAYS):
        day = today - timedelta(days=offset)
        if day + timedelta(days=1) <= since:
            return None
        if not cron.matches_day(day):
            continue
        for hour in sorted(cron.hours, reverse=True):
            for minute in sorted(cron.minutes, reverse=True):
                candidate = day.replace(hour=hour, minute=minute)
                if since < candidate <= end:
                    return candidate
    return None
