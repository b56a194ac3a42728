"""Every admin route is authenticated and scoped to one shop: the URL map is enumerated,
so a new route without a case here fails `test_every_route_has_an_auth_case`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from werkzeug.test import TestResponse

from plugin import crypto
from plugin.db import utcnow
from plugin.inbox.models import InboxRow
from plugin.outbox.models import OutboxItem
from plugin.platforms.shopify.simulator import mint_session_token
from plugin.privacy.exports import store_export
from plugin.runtime import Runtime
from plugin.segments.models import Segment, SegmentMembership
from plugin.shops.models import Shop, ShopSetting
from plugin.triggers.models import TriggerSetting
from tests.conftest import TEST_API_KEY, TEST_API_SECRET
from tests.support.admin import SeededShop, seed_shop, sign_in

ALPHA, BETA = "alpha.myshopify.com", "beta.myshopify.com"
ALPHA_CUSTOMER = "7001"
ALPHA_EXPORT = 1  # the first export row of a fresh database
MARKERS = ("AlphaOnly", "Alpha secret", "AlphaExport")  # only shop A's pages may show these
SLUG = "alpha-secret"

# Routes that are not the admin's: public by design, each tested where it lives.
EXEMPT = {
    "static": "Flask's default static folder (empty)",
    "admin_ui.static": "vendored JS/CSS, public like any asset",
    "webhooks.receive": "authenticated by HMAC (tests/webhooks)",
    "flow.lifecycle": "Flow's lifecycle callback, authenticated by HMAC (test_flow_lifecycle.py)",
    "manifest": "the app's public declaration",
    "healthz": "load balancer probe",
    "admin_ui.auth.start_install": "OAuth install start (tests/integration/test_install*)",
    "admin_ui.auth.callback": "OAuth callback, HMAC-verified",
    "admin_ui.auth.bounce": "App Bridge bounce page, no data",
    "admin_ui.pages.login": "spends a one-time admin link (test_admin_links.py)",
}


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    form: dict[str, str] | None = None
    json: dict[str, Any] | None = None
    scoped: bool = False  # names shop A's resource: another shop gets 404


CASES: dict[str, Case] = {
    "admin_ui.pages.home": Case("GET", "/admin"),
    "admin_ui.pages.new_segment": Case("GET", "/admin/segments/_new"),
    "admin_ui.pages.segment_detail": Case("GET", f"/admin/segments/{SLUG}", scoped=True),
    "admin_ui.pages.segment_members": Case("GET", f"/admin/segments/{SLUG}/members", scoped=True),
    "admin_ui.pages.export_members": Case(
        "GET", f"/admin/segments/{SLUG}/members.csv", scoped=True
    ),
    "admin_ui.pages.edit_segment": Case("GET", f"/admin/segments/{SLUG}/edit", scoped=True),
    "admin_ui.pages.confirm_delete": Case("GET", f"/admin/segments/{SLUG}/delete", scoped=True),
    "admin_ui.pages.preview": Case(
        "POST", "/admin/segments/_preview", form={"query": "number_of_orders >= 0"}
    ),
    "admin_ui.pages.create_segment": Case(
        "POST", "/admin/segments", form={"name": "Beta new", "query": "number_of_orders >= 5"}
    ),
    "admin_ui.pages.save_segment": Case(
        "POST", f"/admin/segments/{SLUG}", form={"query": "number_of_orders >= 9"}, scoped=True
    ),
    "admin_ui.pages.switch_segment": Case(
        "POST", f"/admin/segments/{SLUG}/enabled", form={"enabled": "0"}, scoped=True
    ),
    "admin_ui.pages.delete": Case("POST", f"/admin/segments/{SLUG}/delete", form={}, scoped=True),
    "admin_ui.pages.set_language": Case("POST", "/admin/language", form={"language": "pl"}),
    "admin_ui.pages.logout": Case("POST", "/admin/logout", form={}),
    "admin_ui.api.openapi_json": Case("GET", "/api/openapi.json"),
    "admin_ui.api.shop_status": Case("GET", "/api/shop"),
    "admin_ui.api.list_segments": Case("GET", "/api/segments"),
    "admin_ui.api.preview_segment": Case(
        "POST", "/api/segments/preview", json={"query": "number_of_orders >= 0"}
    ),
    "admin_ui.api.complete_query": Case(
        "GET", "/api/segments/complete?query=customer_tags%20CONTAINS%20%27"
    ),
    "admin_ui.api.segment_members": Case("GET", f"/api/segments/{SLUG}/members", scoped=True),
    "admin_ui.api.push_segment_tag": Case(
        "PUT", f"/api/segments/{SLUG}/push_tag", json={"push_tag": False}, scoped=True
    ),
    "admin_ui.api.customer": Case("GET", f"/api/customers/{ALPHA_CUSTOMER}", scoped=True),
    "admin_ui.api.timeline": Case("GET", f"/api/customers/{ALPHA_CUSTOMER}/timeline", scoped=True),
    "admin_ui.pages.customer_detail": Case(
        "GET", f"/admin/customers/{ALPHA_CUSTOMER}", scoped=True
    ),
    "admin_ui.pages.customer_timeline_part": Case(
        "GET", f"/admin/customers/{ALPHA_CUSTOMER}/timeline", scoped=True
    ),
    "admin_ui.api.get_settings": Case("GET", "/api/settings"),
    "admin_ui.api.rfm": Case("GET", "/api/rfm"),
    "admin_ui.pages.rfm": Case("GET", "/admin/rfm"),
    "admin_ui.pages.triggers": Case("GET", "/admin/triggers"),
    "admin_ui.pages.save_trigger": Case(
        "POST", "/admin/triggers/welcome", form={"enabled": "false"}
    ),
    "admin_ui.pages.rotate_secret": Case("POST", "/admin/triggers/general/secret", form={}),
    "admin_ui.api.list_triggers": Case("GET", "/api/triggers"),
    "admin_ui.pages.activity": Case("GET", "/admin/activity"),
    "admin_ui.pages.retry_pushes": Case("POST", "/admin/activity/outbox/retry", form={}),
    "admin_ui.pages.retry_deliveries": Case("POST", "/admin/activity/inbox/retry", form={}),
    "admin_ui.api.list_activity": Case("GET", "/api/activity"),
    "admin_ui.pages.settings": Case("GET", "/admin/settings"),
    "admin_ui.pages.save_settings": Case("POST", "/admin/settings", form={"sweep_minutes": "30"}),
    "admin_ui.pages.download_export": Case(
        "GET", f"/admin/settings/exports/{ALPHA_EXPORT}.json", scoped=True
    ),
    "admin_ui.api.get_sync_status": Case("GET", "/api/sync-status"),
    "admin_ui.api.retry_outbox": Case("POST", "/api/activity/outbox/retry", json={}),
    "admin_ui.api.retry_inbox": Case("POST", "/api/activity/inbox/retry", json={}),
    "admin_ui.api.patch_trigger": Case(
        "PATCH", "/api/triggers/welcome", json={"settings": {"enabled": "false"}}
    ),
    "admin_ui.api.patch_settings": Case("PATCH", "/api/settings", json={"language": "pl"}),
    "admin_ui.pages.plan": Case("GET", "/admin/plan"),
    "admin_ui.api.get_plan": Case("GET", "/api/plan"),
}


@dataclass(frozen=True)
class Shops:
    alpha: SeededShop
    beta: SeededShop


@pytest.fixture
def shops(runtime: Runtime) -> Shops:
    alpha = seed_shop(
        runtime,
        ALPHA,
        [(ALPHA_CUSTOMER, "AlphaOnly", "Person", 2), ("7002", "Ann", "Other", 1)],
        segments={"Alpha secret": "number_of_orders >= 1"},
    )
    with runtime.sessions.begin() as session:  # failures only A may retry
        session.add(OutboxItem(shop_id=alpha.shop_id, kind="tags", state="dead", why=SLUG))
        session.add(
            InboxRow(
                platform="shopify", shop_domain=ALPHA, shop_id=alpha.shop_id,
                topic="orders/create", webhook_id="dead-a", headers={}, status="dead",
            )
        )  # fmt: skip
        export = store_export(
            session, alpha.shop_id, ALPHA_CUSTOMER, "r1", {"name": "AlphaExport"}, utcnow()
        )
        assert export.id == ALPHA_EXPORT
    beta = seed_shop(runtime, BETA, [("8001", "Bea", "Beta", 1)])
    with runtime.sessions.begin() as session:  # B can be reached with a session token
        token = crypto.encrypt(runtime.settings.secret_key, "shpat_beta")
        session.execute(update(Shop).where(Shop.id == beta.shop_id).values(access_token_enc=token))
    return Shops(alpha, beta)


@pytest.fixture
def client(admin_app: Flask) -> Iterator[FlaskClient]:
    with admin_app.test_client() as test_client:
        yield test_client


def send(client: FlaskClient, case: Case, **kwargs: Any) -> TestResponse:
    form = dict(case.form or {}, **kwargs.pop("extra_form", {}))
    data = {"data": form} if case.form is not None else {}
    return client.open(case.path, method=case.method, json=case.json, **data, **kwargs)


def alpha_state(runtime: Runtime, shop_id: int) -> tuple[Any, ...]:
    with runtime.sessions() as session:
        segments = session.execute(
            select(Segment.slug, Segment.query, Segment.enabled, Segment.push_tag)
            .where(Segment.shop_id == shop_id)
            .order_by(Segment.slug)
        ).all()
        settings = session.execute(
            select(ShopSetting.key, ShopSetting.value)
            .where(ShopSetting.shop_id == shop_id, ShopSetting.key != "admin_links")
            .order_by(ShopSetting.key)
        ).all()
        triggers = session.execute(
            select(TriggerSetting.name, TriggerSetting.enabled, TriggerSetting.settings)
            .where(TriggerSetting.shop_id == shop_id)
            .order_by(TriggerSetting.name)
        ).all()
        failures = (
            session.execute(
                select(func.count()).where(
                    OutboxItem.shop_id == shop_id, OutboxItem.state == "dead"
                )
            ).scalar(),
            session.execute(
                select(func.count()).where(InboxRow.shop_id == shop_id, InboxRow.status == "dead")
            ).scalar(),
        )
        members = session.scalar(
            select(func.count()).where(
                SegmentMembership.shop_id == shop_id, SegmentMembership.exited_at.is_(None)
            )
        )
    return tuple(segments), tuple(map(str, settings)), members, tuple(map(str, triggers)), failures


def test_every_route_has_an_auth_case(admin_app: Flask) -> None:
    endpoints = {rule.endpoint for rule in admin_app.url_map.iter_rules()}
    assert endpoints - set(EXEMPT) == set(CASES)
    for endpoint, case in CASES.items():
        rule = next(r for r in admin_app.url_map.iter_rules() if r.endpoint == endpoint)
        assert case.method in (rule.methods or set()), endpoint


def test_no_route_answers_without_a_session(client: FlaskClient, shops: Shops) -> None:
    before = alpha_state(shops.alpha.runtime, shops.alpha.shop_id)
    for endpoint, case in CASES.items():
        response = send(client, case)
        assert response.status_code == 401, endpoint
        assert not any(m in response.get_data(as_text=True) for m in MARKERS), endpoint
    assert alpha_state(shops.alpha.runtime, shops.alpha.shop_id) == before


def check_other_shop(response: TestResponse, endpoint: str, case: Case) -> None:
    body = response.get_data(as_text=True)
    assert not any(m in body for m in MARKERS), endpoint
    if case.scoped:
        assert response.status_code == 404, endpoint
    else:
        assert response.status_code < 500, endpoint


def test_another_shops_cookie_session_sees_and_changes_nothing_of_this_shop(
    client: FlaskClient, shops: Shops
) -> None:
    before = alpha_state(shops.alpha.runtime, shops.alpha.shop_id)
    for endpoint, case in CASES.items():
        csrf = sign_in(client, shops.beta.runtime, shops.beta.shop_id)  # logout ends it
        response = send(client, case, headers={"X-CSRF-Token": csrf})
        check_other_shop(response, endpoint, case)
    assert alpha_state(shops.alpha.runtime, shops.alpha.shop_id) == before


def test_another_shops_session_token_sees_and_changes_nothing_of_this_shop(
    client: FlaskClient, shops: Shops
) -> None:
    before = alpha_state(shops.alpha.runtime, shops.alpha.shop_id)
    for endpoint, case in CASES.items():
        token = mint_session_token(BETA, TEST_API_KEY, TEST_API_SECRET)
        response = send(client, case, headers={"Authorization": f"Bearer {token}"})
        check_other_shop(response, endpoint, case)
    assert alpha_state(shops.alpha.runtime, shops.alpha.shop_id) == before


def test_state_changing_requests_without_the_csrf_token_are_refused(
    client: FlaskClient, shops: Shops
) -> None:
    before = alpha_state(shops.alpha.runtime, shops.alpha.shop_id)
    csrf = sign_in(client, shops.alpha.runtime, shops.alpha.shop_id)
    unsafe = {e: c for e, c in CASES.items() if c.method != "GET"}
    assert len(unsafe) >= 8
    for endpoint, case in unsafe.items():
        assert send(client, case).status_code == 403, endpoint
        wrong = send(client, case, headers={"X-CSRF-Token": csrf[::-1]})
        assert wrong.status_code == 403, endpoint
        assert wrong.get_json()["error"] == "csrf_failed"
    assert alpha_state(shops.alpha.runtime, shops.alpha.shop_id) == before


def test_a_session_token_from_another_origin_is_refused(client: FlaskClient, shops: Shops) -> None:
    token = mint_session_token(BETA, TEST_API_KEY, TEST_API_SECRET)
    headers = {"Authorization": f"Bearer {token}", "Origin": "https://evil.example"}
    assert client.get("/api/shop", headers=headers).status_code == 403
    headers["Origin"] = "http://127.0.0.1:5999"  # the app's own (settings.app_url)
    assert client.get("/api/shop", headers=headers).get_json()["domain"] == BETA
