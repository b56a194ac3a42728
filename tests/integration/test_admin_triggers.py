"""The Triggers page and /api/triggers: settings edited through the CLI's validation with
errors at their fields, persisted; the write-only webhook secret; counts per trigger; the
Flow templates to start from and whether a workflow uses each trigger."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from flask.testing import FlaskClient

from plugin.db import utcnow
from plugin.manifest import flow_templates
from plugin.profiles.customers import find_customer
from plugin.runtime import Runtime
from plugin.triggers import settings as trigger_settings
from plugin.triggers.catalogue import flow_trigger
from plugin.triggers.flow_usage import record_usage
from plugin.triggers.models import TriggerFiring, TriggerSetting
from tests.support.admin import SeededShop, sign_in


@pytest.fixture
def csrf(admin_client: FlaskClient, admin_shop: SeededShop) -> str:
    return sign_in(admin_client, admin_shop.runtime, admin_shop.shop_id)


def stored(shop: SeededShop, name: str) -> tuple[bool, dict[str, object]] | None:
    with shop.runtime.sessions() as session:
        row = session.get(TriggerSetting, (shop.shop_id, name))
        return None if row is None else (row.enabled, dict(row.settings or {}))


def effective(shop: SeededShop, name: str) -> dict[str, object]:
    with shop.runtime.sessions() as session:
        return trigger_settings.load(session, shop.shop_id, name)


def add_firings(runtime: Runtime, shop_id: int) -> None:
    """Reactivation: two fired (one followed by an order within 7 days), three skipped."""
    now = utcnow()
    with runtime.sessions.begin() as session:
        buyer = find_customer(session, shop_id, "1003")  # orders 1, 2 and 3 days ago
        late = find_customer(session, shop_id, "1001")  # its only order: 1 day ago
        assert buyer is not None and late is not None
        rows = [
            ("f1", buyer.id, "fired", now - timedelta(days=5), None),
            ("f2", late.id, "fired", now - timedelta(hours=12), None),
            ("s1", buyer.id, "skipped", None, "no email marketing consent (unsubscribed)"),
            ("s2", late.id, "skipped", None, "no email marketing consent (unsubscribed)"),
            ("s3", late.id, "skipped", None, "the customer has no email address"),
        ]
        session.add_all(
            TriggerFiring(
                shop_id=shop_id, name="reactivation", trigger_id=key, dedupe_key=key,
                customer_id=customer, state=state, due_at=now, fired_at=fired, detail=detail,
            )
            for key, customer, state, fired, detail in rows
        )  # fmt: skip


def test_the_page_shows_every_trigger_with_its_counts(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    add_firings(admin_shop.runtime, admin_shop.shop_id)
    page = admin_client.get("/admin/triggers").get_data(as_text=True)
    for name in trigger_settings.NAMES:
        assert f'id="trigger-{name}"' in page
    counts = re.search(r'<dl class="facts" data-counts="reactivation">(.*?)</dl>', page, re.S)
    assert counts is not None
    assert 'data-fired="2"' in counts.group(1) and 'data-skipped="3"' in counts.group(1)
    assert 'data-converted="1"' in counts.group(1)  # only the firing an order followed
    assert "no email marketing consent (unsubscribed): 2" in unescape(page)
    assert 'value="1h"' in page  # abandoned checkout's default delay
    assert 'href="/admin/triggers"' in page  # in the navigation


def test_a_setting_saved_on_the_page_persists_and_only_the_change_is_stored(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    form = {
        "csrf_token": csrf, "enabled": ["false", "true"], "steps": "1h,24h",
        "expire_after_days": "7", "tag": "seg:cart-reminder", "tag_hours": "72",
    }  # fmt: skip
    saved = admin_client.post("/admin/triggers/abandoned_checkout", data=form)
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith(
        "/admin/triggers?saved=abandoned_checkout#trigger-abandoned_checkout"
    )
    assert stored(admin_shop, "abandoned_checkout") == (True, {"steps": ["1h", "24h"]})
    page = admin_client.get("/admin/triggers").get_data(as_text=True)
    assert 'id="abandoned_checkout-steps" name="steps" value="1h,24h"' in page
    off = admin_client.post(
        "/admin/triggers/welcome", data={"csrf_token": csrf, "enabled": "false"}
    )
    assert off.status_code == 303 and effective(admin_shop, "welcome")["enabled"] is False


def test_invalid_values_are_shown_at_their_fields_and_nothing_is_saved(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    form = {"csrf_token": csrf, "steps": "24h,1h", "expire_after_days": "99", "tag_hours": "5"}
    response = admin_client.post("/admin/triggers/abandoned_checkout", data=form)
    page = unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert re.search(
        r'id="abandoned_checkout-steps-error"[^>]*>each delay must be longer than the one before<',
        page,
    )
    assert re.search(
        r'id="abandoned_checkout-expire_after_days-error"[^>]*>must be between 1 and 60<', page
    )
    assert 'id="abandoned_checkout-tag_hours-error"' not in page
    assert 'name="steps" value="24h,1h"' in page  # what was typed stays in the form
    assert stored(admin_shop, "abandoned_checkout") is None


def test_the_webhook_secret_is_shown_once_and_never_again(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    form = {"csrf_token": csrf, "webhook_url": "https://example.com/hook"}
    first = admin_client.post("/admin/triggers/general", data=form).get_data(as_text=True)
    secret = re.search(
        r'id="new-secret">.*?<pre class="query-echo">([^<]+)</pre>',
        first,
        re.S,
    )
    assert secret is not None
    with admin_shop.runtime.sessions() as session:
        key = admin_shop.runtime.settings.secret_key
        assert trigger_settings.webhook_secret(session, admin_shop.shop_id, key) == secret.group(1)
    later = admin_client.get("/admin/triggers").get_data(as_text=True)
    assert secret.group(1) not in later and "Signing secret: set" in later
    assert secret.group(1) not in admin_client.get("/api/triggers").get_data(as_text=True)
    rotated = admin_client.post("/admin/triggers/general/secret", data={"csrf_token": csrf})
    fresh = re.search(r'<pre class="query-echo">([^<]+)</pre>', rotated.get_data(as_text=True))
    assert fresh is not None and fresh.group(1) != secret.group(1)


def test_the_api_lists_and_edits_through_the_same_validation(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    headers = {"X-CSRF-Token": csrf}
    listed = {t["name"]: t for t in admin_client.get("/api/triggers").get_json()}
    assert set(listed) == set(trigger_settings.NAMES)
    assert listed["general"]["webhook_secret"] is None and listed["general"]["counts"] is None
    assert listed["welcome"]["enabled"] is True and listed["welcome"]["counts"]["fired"] == 0
    changed = admin_client.patch(
        "/api/triggers/category_follow_up",
        json={"settings": {"product_type": "Shoes", "days": "5"}},
        headers=headers,
    ).get_json()
    assert changed["settings"]["product_type"] == "Shoes" and changed["settings"]["days"] == 5
    bad = admin_client.patch(
        "/api/triggers/general", json={"settings": {"quiet_hours": "25:00-08:00"}}, headers=headers
    )
    assert bad.status_code == 400 and "quiet_hours" in bad.get_json()["detail"]
    assert effective(admin_shop, "general")["quiet_hours"] is None
    unknown = admin_client.patch("/api/triggers/nope", json={"settings": {}}, headers=headers)
    assert unknown.status_code == 404
    made = admin_client.patch(
        "/api/triggers/general",
        json={"settings": {"webhook_url": "https://example.com/h"}},
        headers=headers,
    ).get_json()
    assert made["webhook_secret"] == "set" and len(made["new_secret"]) > 20


def test_each_trigger_shows_its_flow_templates_with_steps_and_a_link_into_flow(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    page = admin_client.get("/admin/triggers").get_data(as_text=True)
    for template in flow_templates():
        card = page.split(f'<section class="card" id="trigger-{template.trigger}"')[1]
        card = card.split('<section class="card"')[0]  # up to the next trigger's
        article = re.search(
            rf'<article class="flow-template" data-template="{template.key}".*?</article>',
            card,
            re.S,
        )
        assert article is not None, template.key
        text = unescape(article.group(0))
        assert template.name in text and template.description in text  # page = manifest
        steps = re.findall(r'<li data-step="(\w+)">', text)
        assert steps[0] == "trigger" and "action" in steps
        assert f"“{flow_trigger(template.trigger).name}” from Shop Segments" in text
        link = re.search(r'<a class="button" href="([^"]+)" target="_top"', text)
        assert link is not None
        assert link.group(1) == "https://admin.shopify.com/store/alpha/apps/flow/editor"


def test_the_page_says_whether_a_flow_workflow_uses_each_trigger(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    with admin_shop.runtime.sessions.begin() as session:
        record_usage(session, admin_shop.shop_id, "abandoned-checkout", True, utcnow())
        record_usage(session, admin_shop.shop_id, "Customer placed first order", False, utcnow())
    page = admin_client.get("/admin/triggers").get_data(as_text=True)
    states = dict(re.findall(r'id="flow-(\w+)".*?data-workflow="(\w+)"', page, re.S))
    assert states == {
        "abandoned_checkout": "true",
        "reactivation": "none",
        "welcome": "false",
        "category_follow_up": "none",
    }
    welcome = page[page.index('id="flow-welcome"') :]
    assert "No enabled Flow workflow uses this trigger: it is not sent to Flow." in welcome
    listed = {t["name"]: t["flow"] for t in admin_client.get("/api/triggers").get_json()}
    assert {n: f and f["workflow"] for n, f in listed.items()} == {
        "abandoned_checkout": True, "reactivation": None, "welcome": False,
        "category_follow_up": None, "general": None,
    }  # fmt: skip
    [template] = listed["welcome"]["templates"]
    assert template["handle"] == "seg-welcome-first-order"
    assert template["url"] == "https://admin.shopify.com/store/alpha/apps/flow/editor"


def test_flow_templates_are_shown_in_polish(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    admin_client.post("/admin/language", data={"language": "pl", "csrf_token": csrf})
    page = unescape(admin_client.get("/admin/triggers").get_data(as_text=True))
    assert '<html lang="pl"' in page
    assert "Przypomnij e-mailem o porzuconym koszyku" in page
    assert "Email a reminder for an abandoned checkout" not in page
    assert "„Checkout abandoned” z Shop Segments" in page  # Flow's own name stays
