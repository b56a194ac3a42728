"""Date literals resolved in Python under one clock, in the shop's timezone, as UTC spans.

A whole-day value (a date, `±N d|w|m|y`, today, yesterday) is the half-open span of that
local day, [start(D), start(D+1)); an instant (`YYYY-MM-DDTHH:MM:SS`, `±N h`) is a span of
zero length. Operators then compare a column against the span's ends (`span_condition`).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from plugin.segments import ast


@dataclass(frozen=True)
class Span:
    start: datetime  # aware UTC
    end: datetime  # aware UTC; == start for an instant
    whole_day: bool


def local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def day_start(day: date, timezone: str) -> datetime:
    """The first instant of a local day, in UTC. On a day whose midnight a DST jump skips,
    zoneinfo reads the missing 00:00 with the earlier offset, which is the first instant
    that does exist (01:00 new time); a repeated midnight takes its first occurrence."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def add_months(day: date, months: int) -> date:
    """Calendar months, clamped to the month's end (Mar 31 - 1 m → Feb 28/29)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def resolve_day(value: ast.Value, now: datetime, timezone: str) -> date | None:
    """The local day a whole-day value names, or None for an instant."""
    today = local_today(now, timezone)
    if isinstance(value, ast.AbsDate):
        return value.value
    if isinstance(value, ast.NamedDay):
        return today if value.name == "today" else today - timedelta(days=1)
    if isinstance(value, ast.RelDate) and value.unit != "h":
        if value.unit in ("d", "w"):
            return today + timedelta(days=value.amount * (7 if value.unit == "w" else 1))
        return add_months(today, value.amount * (12 if value.unit == "y" else 1))
    return None


def resolve(value: ast.Value, now: datetime, timezone: str) -> Span:
    """The UTC span of a date value under the clock `now` in the shop's `timezone`."""
    day = resolve_day(value, now, timezone)
    if day is not None:
        return Span(day_start(day, timezone), day_start(day + timedelta(days=1), timezone), True)
    if isinstance(value, ast.RelDate):  # hours: an exact instant
        moment = now.astimezone(UTC) + timedelta(hours=value.amount)
    elif isinstance(value, ast.AbsDateTime):
        moment = value.value.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)
    else:
        raise TypeError(f"not a date value: {value!r}")
    return Span(moment, moment, False)
