"""Date literals resolved under a frozen clock in the shop's timezone (DST, month ends)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from plugin.segments import ast
from plugin.segments.dates import add_months, day_start, resolve

NOW = datetime(2026, 3, 31, 10, 0, tzinfo=UTC)


def test_whole_days_are_local_midnight_to_midnight() -> None:
    span = resolve(ast.NamedDay("today"), NOW, "Europe/Warsaw")
    assert span.whole_day
    assert span.start == datetime(2026, 3, 30, 22, 0, tzinfo=UTC)  # CEST, UTC+2
    assert span.end == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)


def test_a_spring_forward_day_has_23_hours() -> None:
    span = resolve(ast.AbsDate(date(2026, 3, 29)), NOW, "Europe/Warsaw")
    assert span.start == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert span.end - span.start == timedelta(hours=23)


def test_a_skipped_midnight_starts_the_day_at_its_first_real_instant() -> None:
    # Santiago moves from -04 to -03 at 00:00 on 2026-09-06: local 00:00 never happens.
    start = day_start(date(2026, 9, 6), "America/Santiago")
    assert start == datetime(2026, 9, 6, 4, 0, tzinfo=UTC)  # 01:00 -03
    assert day_start(date(2026, 9, 7), "America/Santiago") - start == timedelta(hours=23)


def test_kathmandu_days_start_at_quarter_to() -> None:
    span = resolve(ast.RelDate(-1, "d"), NOW, "Asia/Kathmandu")
    assert span.start == datetime(2026, 3, 29, 18, 15, tzinfo=UTC)


def test_month_offsets_clamp_to_the_month_end() -> None:
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert add_months(date(2024, 3, 31), -1) == date(2024, 2, 29)
    assert add_months(date(2026, 1, 31), 13) == date(2027, 2, 28)
    span = resolve(ast.RelDate(-1, "m"), NOW, "UTC")
    assert span.start == datetime(2026, 2, 28, tzinfo=UTC)


def test_years_and_weeks_are_calendar_offsets() -> None:
    assert resolve(ast.RelDate(-1, "y"), NOW, "UTC").start == datetime(2025, 3, 31, tzinfo=UTC)
    assert resolve(ast.RelDate(2, "w"), NOW, "UTC").start == datetime(2026, 4, 14, tzinfo=UTC)


def test_hours_are_exact_instants() -> None:
    span = resolve(ast.RelDate(-24, "h"), NOW, "Asia/Kathmandu")
    assert not span.whole_day
    assert span.start == span.end == NOW - timedelta(hours=24)


def test_local_date_times_are_read_in_the_shop_timezone() -> None:
    value = ast.AbsDateTime(datetime(2026, 7, 1, 9, 30))
    assert resolve(value, NOW, "America/New_York").start == datetime(2026, 7, 1, 13, 30, tzinfo=UTC)


def test_yesterday_follows_the_local_date_not_utc() -> None:
    late = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)  # already April 1 in Warsaw
    span = resolve(ast.NamedDay("yesterday"), late, "Europe/Warsaw")
    assert span.start == datetime(2026, 3, 30, 22, 0, tzinfo=UTC)
