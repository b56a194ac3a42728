"""`shopseg inbox status|retry-dead` and `shopseg worker --drain` on the database under test."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from plugin.cli import main
from plugin.commands import core, inbox
from plugin.commands.inbox import format_age
from plugin.inbox.models import DEAD, InboxRow
from plugin.runtime import Runtime, build_runtime
from plugin.settings import Settings
from tests.support.inbox import Recorder, add_shop, applied_counts, deliver

SHOP = "demo-shop.myshopify.com"


@pytest.fixture(autouse=True)
def _cli_uses_the_test_database(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    for module in (core, inbox):
        monkeypatch.setattr(module, "load_runtime", lambda **_: build_runtime(settings))


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_status_shows_counts_and_the_oldest_pending_age(runtime: Runtime) -> None:
    add_shop(runtime, SHOP)
    for _ in range(3):
        deliver(runtime, SHOP, {"marker": "a"})
    with runtime.sessions.begin() as session:
        session.execute(update(InboxRow).where(InboxRow.id == 1).values(status=DEAD))
    code, output = run("inbox", "status", SHOP.upper())
    assert code == 0, output
    lines = {line.split()[0]: line.split()[1:] for line in output.splitlines()[1:]}
    assert lines["pending"] == ["2"]
    assert lines["dead"] == ["1"]
    assert lines["awaiting_install"] == ["0"]
    assert lines["oldest"][-1].endswith("s")


def test_status_of_a_shop_not_installed_yet_says_so(runtime: Runtime) -> None:
    deliver(runtime, SHOP, {"marker": "a"})
    code, output = run("inbox", "status", SHOP)
    assert code == 0
    assert "not installed yet" in output
    assert "awaiting_install        1" in output


def test_status_of_an_unknown_shop_is_a_clear_error() -> None:
    code, output = run("inbox", "status", "nobody.myshopify.com")
    assert code == 1
    assert "no shop and no deliveries known for nobody.myshopify.com" in output
    assert "Traceback" not in output


def test_retry_dead_then_worker_drain_processes_them(runtime: Runtime, recorder: Recorder) -> None:
    add_shop(runtime, SHOP)
    deliver(runtime, SHOP, {"marker": "a"})
    with runtime.sessions.begin() as session:
        session.execute(update(InboxRow).values(status=DEAD, attempts=5))
    assert run("inbox", "retry-dead", SHOP) == (
        0,
        f"1 dead deliveries of {SHOP} are pending again.\n",
    )
    assert run("worker", "--drain") == (0, "Processed 1 deliveries.\n")
    with runtime.sessions() as session:
        assert applied_counts(session) == {"a": 1}


@pytest.mark.parametrize(
    ("age", "text"),
    [
        (timedelta(seconds=5), "5s"),
        (timedelta(minutes=12, seconds=5), "12m 5s"),
        (timedelta(hours=3, minutes=2, seconds=9), "3h 2m"),
        (timedelta(days=4, hours=1), "4d 1h"),
    ],
)
def test_ages_are_compact(age: timedelta, text: str) -> None:
    assert format_age(age) == text
