"""A database error on the webhook path leaves no personal data in the logs (issue 9, defect 3).

The database refuses the inbox insert (a constraint added for the test): on PostgreSQL the
error's own DETAIL line quotes the whole failing row, payload included, and before the fix
SQLAlchemy's message listed every bound parameter as well.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from plugin import logs
from plugin.inbox.models import InboxRow
from tests.support.live import LiveApp

SHOP = "log-shop.myshopify.com"
PERSONAL = {
    "email": "ann.leakcheck@example.com",
    "first_name": "Annabella",
    "last_name": "Leakcheckova",
    "phone": "+16135550142",
}
TABLE = InboxRow.__tablename__


@pytest.fixture
def refusing_inbox(engine: Engine) -> Iterator[None]:
    """Every insert into the inbox fails inside the database."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    f"ALTER TABLE {TABLE} ADD CONSTRAINT refuse_for_test"
                    " CHECK (topic <> 'customers/create') NOT VALID"
                )
            )
        else:
            conn.execute(
                text(
                    f"CREATE TRIGGER refuse_for_test BEFORE INSERT ON {TABLE}"
                    " BEGIN SELECT RAISE(ABORT, 'refused for the test'); END"
                )
            )
    try:
        yield
    finally:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text(f"ALTER TABLE {TABLE} DROP CONSTRAINT refuse_for_test"))
            else:
                conn.execute(text("DROP TRIGGER refuse_for_test"))


@pytest.fixture
def redaction() -> Iterator[None]:
    logs.install()
    try:
        yield
    finally:
        logs.uninstall()


def _failed_delivery(live_app: LiveApp, caplog: pytest.LogCaptureFixture) -> str:
    live_app.install_shop(SHOP)
    payload = {"id": 4242, **PERSONAL, "default_address": {"phone": PERSONAL["phone"]}}
    with caplog.at_level(logging.DEBUG):
        response = live_app.post_webhook("customers/create", SHOP, payload)
    assert response.status_code >= 500  # the database failed: Shopify must retry
    assert live_app.inbox_rows() == []
    assert any(r.levelno >= logging.WARNING for r in caplog.records), "the failure was logged"
    formatter = logging.Formatter("%(message)s")
    return "\n".join(formatter.format(r) for r in caplog.records)


def _assert_nothing_personal(logged: str) -> None:
    for value in PERSONAL.values():
        assert value not in logged
    assert "6135550142" not in logged


def test_engine_keeps_bound_values_out_of_the_exception_log(
    refusing_inbox: None, live_app: LiveApp, caplog: pytest.LogCaptureFixture, backend: str
) -> None:
    logged = _failed_delivery(live_app, caplog)
    if backend == "sqlite":  # PostgreSQL's own DETAIL needs the filter (next test)
        _assert_nothing_personal(logged)
    assert "[parameters:" not in logged or "hidden" in logged


def test_nothing_personal_reaches_the_log_on_a_database_error(
    refusing_inbox: None,
    redaction: None,
    live_app: LiveApp,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _assert_nothing_personal(_failed_delivery(live_app, caplog))
