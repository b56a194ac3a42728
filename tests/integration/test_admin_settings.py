"""The Settings page and its API: settings validated like PATCH /api/settings with errors at
their fields, the sync status of `shopseg status` / `inbox status`, export downloads."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from plugin.backfill import runs
from plugin.db import utcnow
from plugin.inbox.models import DONE, PENDING, InboxRow
from plugin.privacy.exports import store_export
from plugin.segments.evaluator_sweep import sweep_minutes
from plugin.segments.health import min_size
from tests.support.admin import SeededShop, sign_in


@pytest.fixture
def csrf(admin_client: FlaskClient, admin_shop: SeededShop) -> str:
    return sign_in(admin_client, admin_shop.runtime, admin_shop.shop_id)


def figures(shop: SeededShop) -> tuple[int, float]:
    with shop.runtime.sessions() as session:
        return min_size(session, shop.shop_id), sweep_minutes(session, shop.shop_id)


def test_settings_saved_on_the_page_persist(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    page = admin_client.get("/admin/settings").get_data(as_text=True)
    assert '<code id="tag-prefix">seg:</code>' in page
    assert (
        'name="segment_min_size" value="50"' in page and 'name="sweep_minutes" value="60"' in page
    )
    assert 'href="/admin/settings"' in page  # in the navigation
    form = {"csrf_token": csrf, "language": "pl", "segment_min_size": "10", "sweep_minutes": "30"}
    saved = admin_client.post("/admin/settings", data=form)
    assert saved.status_code == 303 and figures(admin_shop) == (10, 30)
    polish = admin_client.get("/admin/settings").get_data(as_text=True)
    assert "Ustawienia" in polish and 'name="sweep_minutes" value="30"' in polish


def test_invalid_settings_are_shown_at_their_fields_and_nothing_is_saved(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    form = {"csrf_token": csrf, "language": "", "segment_min_size": "0", "sweep_minutes": "2"}
    response = admin_client.post("/admin/settings", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="segment_min_size-error"' in page and 'id="sweep_minutes-error"' in page
    assert "greater than or equal to 5" in page
    assert 'name="sweep_minutes" value="2"' in page
    assert figures(admin_shop) == (50, 60)


def test_the_sync_status_shows_the_inbox_and_the_runs(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    now = utcnow()
    with admin_shop.runtime.sessions.begin() as session:
        for n, (topic, status) in enumerate(
            [("orders/create", DONE), ("orders/create", PENDING), ("customers/update", DONE)]
        ):
            session.add(
                InboxRow(
                    platform="shopify", shop_domain=admin_shop.domain, topic=topic,
                    webhook_id=f"w{n}", headers={}, status=status,
                    received_at=now - timedelta(minutes=10 - n),
                )
            )  # fmt: skip
        runs.create_run(session, admin_shop.shop_id, "install", now, counts={"orders": 45})
    page = admin_client.get("/admin/settings").get_data(as_text=True)
    assert '<dd id="inbox-pending">1</dd>' in page
    assert "<code>customers/update</code>" in page and "<code>orders/create</code>" in page
    assert "Run 1: queued" in page and "<code>orders</code>: 45" in page
    data = admin_client.get("/api/sync-status").get_json()
    assert data["inbox_counts"] == {"done": 2, "pending": 1}
    assert 8 * 60 < data["inbox_lag_seconds"] < 10 * 60
    assert [w["topic"] for w in data["last_webhooks"]] == ["customers/update", "orders/create"]
    assert data["history_import"]["state"] == "queued" and data["reconcile"] is None


def test_a_data_request_export_downloads_as_json(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    data = {"customer": {"id": "1003", "first_name": "First3"}}
    with admin_shop.runtime.sessions.begin() as session:
        export = store_export(session, admin_shop.shop_id, "1003", "req-1", data, utcnow())
        export_id = export.id
    page = admin_client.get("/admin/settings").get_data(as_text=True)
    assert f'href="/admin/settings/exports/{export_id}.json"' in page
    response = admin_client.get(f"/admin/settings/exports/{export_id}.json")
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert json.loads(response.get_data(as_text=True)) == data
    assert admin_client.get(f"/admin/settings/exports/{export_id + 1}.json").status_code == 404


def test_the_api_changes_the_sweep_interval(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    headers = {"X-CSRF-Token": csrf}
    changed = admin_client.patch("/api/settings", json={"sweep_minutes": 15}, headers=headers)
    assert changed.get_json()["sweep_minutes"] == 15 and figures(admin_shop)[1] == 15
    bad = admin_client.patch("/api/settings", json={"sweep_minutes": 1}, headers=headers)
    assert bad.status_code == 400 and figures(admin_shop)[1] == 15
