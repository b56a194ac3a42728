"""Expiring offline tokens: refreshed before expiry by one worker, a refused refresh pauses."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from plugin import crypto
from plugin.db import utcnow
from plugin.errors import PlatformError, ReauthRequired
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.runtime import Runtime
from plugin.shops.models import INSTALLED, NEEDS_REAUTH, Shop
from plugin.shops.tokens import access_token
from tests.support.simulator import install_via_exchange

SHOP = "token-shop.myshopify.com"


def installed(runtime: Runtime, simulator: SimulatorHandle) -> Shop:
    install_via_exchange(runtime, simulator, SHOP)
    with runtime.sessions() as session:
        shop = session.scalars(select(Shop).where(Shop.domain == SHOP)).one()
    return shop


def expire_in_db(runtime: Runtime, shop_id: int, delta: timedelta) -> None:
    with runtime.sessions.begin() as session:
        session.execute(
            update(Shop).where(Shop.id == shop_id).values(access_token_expires_at=utcnow() + delta)
        )


def stored(runtime: Runtime, shop_id: int) -> Shop:
    with runtime.sessions() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        return shop


def refreshes(simulator: SimulatorHandle) -> int:
    return len(simulator.state.requests_of("access_token", SHOP, grant_type="refresh_token"))


def test_fresh_token_is_used_without_refresh(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    shop = installed(sim_runtime, simulator)
    token = access_token(sim_runtime, shop.id)
    issued = simulator.state.token(token)
    assert issued is not None and issued.how == "token_exchange"
    assert refreshes(simulator) == 0


def test_token_expiring_within_five_minutes_is_refreshed_and_rotated(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    shop = installed(sim_runtime, simulator)
    old_refresh = crypto.decrypt(sim_runtime.settings.secret_key, shop.refresh_token_enc or "")
    expire_in_db(sim_runtime, shop.id, timedelta(minutes=4))
    token = access_token(sim_runtime, shop.id)
    issued = simulator.state.token(token)
    assert issued is not None and issued.how == "refresh"
    assert refreshes(simulator) == 1
    assert simulator.state.requests_of("access_token", SHOP)[-1].body["refresh_token"] == (
        old_refresh
    )
    row = stored(sim_runtime, shop.id)
    key = sim_runtime.settings.secret_key
    assert crypto.decrypt(key, row.access_token_enc or "") == token
    assert crypto.decrypt(key, row.refresh_token_enc or "") == issued.refresh_token
    assert row.access_token_expires_at is not None
    assert row.access_token_expires_at > utcnow() + timedelta(minutes=55)
    assert row.refresh_lock_until is None
    # The stored token now works: the next call makes no request at all.
    assert access_token(sim_runtime, shop.id) == token
    assert refreshes(simulator) == 1


def test_refused_refresh_marks_the_shop_and_stops_calling(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    shop = installed(sim_runtime, simulator)
    expire_in_db(sim_runtime, shop.id, timedelta(seconds=-1))
    simulator.state.switches.fail_refresh = True
    with pytest.raises(ReauthRequired):
        access_token(sim_runtime, shop.id)
    row = stored(sim_runtime, shop.id)
    assert row.install_state == NEEDS_REAUTH
    assert "refused" in (row.reauth_reason or "")
    requests_before = len(simulator.state.requests)
    for _ in range(3):
        with pytest.raises(ReauthRequired):
            access_token(sim_runtime, shop.id)
    assert len(simulator.state.requests) == requests_before
    assert refreshes(simulator) == 1


def test_unreachable_shop_during_refresh_is_transient_and_releases_the_claim(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    shop = installed(sim_runtime, simulator)
    expire_in_db(sim_runtime, shop.id, timedelta(seconds=-1))
    simulator.state.switches.oauth_status = 503
    with pytest.raises(PlatformError) as info:
        access_token(sim_runtime, shop.id)
    assert info.value.transient and not isinstance(info.value, ReauthRequired)
    row = stored(sim_runtime, shop.id)
    assert (row.install_state, row.refresh_lock_until) == (INSTALLED, None)
    simulator.state.switches.oauth_status = None
    assert simulator.state.token(access_token(sim_runtime, shop.id)) is not None


def test_unreachable_shop_during_an_early_refresh_keeps_the_working_token(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    shop = installed(sim_runtime, simulator)
    before = crypto.decrypt(sim_runtime.settings.secret_key, shop.access_token_enc or "")
    expire_in_db(sim_runtime, shop.id, timedelta(minutes=3))
    simulator.state.switches.oauth_status = 502
    assert access_token(sim_runtime, shop.id) == before
    assert refreshes(simulator) == 1
    row = stored(sim_runtime, shop.id)
    assert (row.install_state, row.refresh_lock_until) == (INSTALLED, None)


def test_concurrent_callers_cause_exactly_one_refresh(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    shop = installed(sim_runtime, simulator)
    expire_in_db(sim_runtime, shop.id, timedelta(seconds=-1))
    simulator.state.switches.refresh_delay = 0.4  # both callers overlap the refresh
    results: list[str] = []
    failures: list[BaseException] = []
    start = threading.Barrier(3)

    def call() -> None:
        start.wait()
        try:
            results.append(access_token(sim_runtime, shop.id))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert failures == []
    assert refreshes(simulator) == 1
    assert len(results) == 3 and len(set(results)) == 1
    issued = simulator.state.token(results[0])
    assert issued is not None and issued.how == "refresh"


def test_uninstalled_shop_gets_no_outbound_call(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    shop = installed(sim_runtime, simulator)
    with sim_runtime.sessions.begin() as session:
        session.execute(
            update(Shop)
            .where(Shop.id == shop.id)
            .values(install_state="uninstalled", access_token_enc=None, refresh_token_enc=None)
        )
    before = len(simulator.state.requests)
    with pytest.raises(ReauthRequired):
        access_token(sim_runtime, shop.id)
    assert len(simulator.state.requests) == before


def test_expired_refresh_token_needs_reauth_without_a_request(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    shop = installed(sim_runtime, simulator)
    expire_in_db(sim_runtime, shop.id, timedelta(seconds=-1))
    with sim_runtime.sessions.begin() as session:
        session.execute(
            update(Shop)
            .where(Shop.id == shop.id)
            .values(refresh_token_expires_at=utcnow() - timedelta(days=1))
        )
    with pytest.raises(ReauthRequired):
        access_token(sim_runtime, shop.id)
    assert refreshes(simulator) == 0
    assert stored(sim_runtime, shop.id).install_state == NEEDS_REAUTH


def test_tokens_are_not_readable_in_the_database(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    shop = installed(sim_runtime, simulator)
    expire_in_db(sim_runtime, shop.id, timedelta(seconds=-1))
    access_token(sim_runtime, shop.id)  # a rotated pair is stored too
    secrets = [t.access_token.encode() for t in simulator.state.tokens if t.shop == SHOP] + [
        t.refresh_token.encode() for t in simulator.state.tokens if t.refresh_token
    ]
    assert len(secrets) == 4
    for blob in database_contents(sim_runtime):
        for secret in secrets:
            assert secret not in blob


def database_contents(runtime: Runtime) -> list[bytes]:
    """SQLite: the raw database file and its WAL; PostgreSQL: the shops rows as text."""
    engine = runtime.engine
    if engine.dialect.name == "sqlite":
        path = Path(str(engine.url.database))
        files = [path, path.with_name(path.name + "-wal")]
        blobs = [f.read_bytes() for f in files if f.exists()]
        assert blobs and sum(map(len, blobs)) > 0
        return blobs
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT s::text FROM shops s")).scalars().all()
    assert rows
    return [row.encode() for row in rows]
