"""Which failures the worker retries and which it parks at once, and what it records."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from plugin.inbox.models import DEAD, DONE, PENDING, InboxRow
from plugin.profiles.models import Customer
from plugin.runtime import Runtime
from plugin.shops.models import Shop
from plugin.worker import drain
from tests.support.inbox import Recorder, add_shop, deliver
from tests.support.live import LiveApp
from tests.support.profiles import load_example

SHOP = "demo-shop.myshopify.com"
STATEMENT = "INSERT INTO customers (email, first_name) VALUES (%(email)s, %(first_name)s)"
PARAMS = {"email": "bob@example.com", "first_name": "Bob"}


class DriverError(Exception):
    """Stands in for a DBAPI exception; `sqlstate` as psycopg's errors carry it."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def failing_with(exc: Exception) -> Any:
    def dispatch(*args: Any) -> None:
        raise exc

    return dispatch


def only_row(runtime: Runtime) -> InboxRow:
    with runtime.sessions() as session:
        [row] = session.scalars(select(InboxRow))
        return row


@pytest.mark.parametrize(
    "exc",
    [
        DataError(STATEMENT, PARAMS, DriverError("invalid byte sequence: 0x00", "22021")),
        DataError(STATEMENT, PARAMS, DriverError('invalid input syntax: "bob@example.com"')),
        IntegrityError(STATEMENT, PARAMS, DriverError("null value in column", "23502")),
    ],
)
def test_input_no_retry_can_fix_is_dead_on_the_first_attempt(
    runtime: Runtime, recorder: Recorder, monkeypatch: pytest.MonkeyPatch, exc: Exception
) -> None:
    monkeypatch.setattr("plugin.worker.dispatch", failing_with(exc))
    add_shop(runtime, SHOP)
    deliver(runtime, SHOP, {"marker": "m", "customer": "c1"})
    drain(runtime)
    row = only_row(runtime)
    assert (row.status, row.attempts, row.next_attempt_at) == (DEAD, 1, None)
    error = row.last_error or ""
    assert error.startswith(f"{type(exc).__name__} (DriverError")
    # The statement's bound values are the payload's: they stay out of last_error.
    assert "bob@example.com" not in error and "INSERT" not in error


@pytest.mark.parametrize(
    "exc",
    [
        OperationalError(STATEMENT, PARAMS, DriverError("could not obtain lock", "55P03")),
        OperationalError(STATEMENT, PARAMS, DriverError("deadlock detected", "40P01")),
        IntegrityError(STATEMENT, PARAMS, DriverError("duplicate key value", "23505")),
        ConnectionResetError("connection reset by peer"),
    ],
)
def test_transient_failure_is_retried_with_backoff(
    runtime: Runtime, recorder: Recorder, monkeypatch: pytest.MonkeyPatch, exc: Exception
) -> None:
    monkeypatch.setattr("plugin.worker.dispatch", failing_with(exc))
    add_shop(runtime, SHOP)
    deliver(runtime, SHOP, {"marker": "m", "customer": "c1"})
    drain(runtime)
    row = only_row(runtime)
    assert (row.status, row.attempts) == (PENDING, 1)
    assert row.next_attempt_at is not None


def _post_and_drain(live_app: LiveApp, topic: str, payload: dict[str, Any]) -> InboxRow:
    assert live_app.post_webhook(topic, SHOP, payload).status_code == 200
    live_app.drain()
    [row] = live_app.inbox_rows()
    return row


def test_nul_in_json_strings_is_dropped_the_same_on_both_databases(live_app: LiveApp) -> None:
    live_app.install_shop(SHOP)
    payload = load_example("customers/create")
    payload.update(first_name="B\u0000ob", last_name="\u0000Biller\u0000", note="x\u0000")
    row = _post_and_drain(live_app, "customers/create", payload)
    assert (row.status, row.attempts, row.last_error) == (DONE, 0, None)
    assert "\\u0000" in (row.payload or "")  # the stored body is still what was signed
    with live_app.runtime.sessions() as session:
        [customer] = session.scalars(select(Customer))
    assert (customer.first_name, customer.last_name) == ("Bob", "Biller")


def test_nul_in_granted_scopes_is_dropped_not_retried(live_app: LiveApp) -> None:
    live_app.install_shop(SHOP)
    payload = load_example("app/scopes_update")
    payload["current"] = ["read_orders\u0000", "write_customers"]
    row = _post_and_drain(live_app, "app/scopes_update", payload)
    assert (row.status, row.attempts) == (DONE, 0)
    with live_app.runtime.sessions() as session:
        [shop] = session.scalars(select(Shop))
    assert shop.scopes == "read_orders,write_customers"
