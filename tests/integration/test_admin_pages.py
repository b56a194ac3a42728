"""The admin pages over the real services: dashboard, editor with live validation and
preview, segment detail with members paged in the database and the CSV export."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from plugin.db import utcnow
from plugin.outbox.models import OutboxItem
from plugin.profiles.customers import find_customer
from plugin.runtime import Runtime
from plugin.segments.models import Segment
from plugin.segments.preview import preview_query
from plugin.segments.services import segment_summaries
from plugin.triggers.models import TriggerFiring
from tests.support.admin import LOYAL_QUERY, SeededShop, seed_shop, sign_in

XSS = "<script>alert(1)</script>"


@pytest.fixture
def csrf(admin_client: FlaskClient, admin_shop: SeededShop) -> str:
    return sign_in(admin_client, admin_shop.runtime, admin_shop.shop_id)


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def segments(runtime: Runtime, shop_id: int) -> dict[str, Segment]:
    with runtime.sessions() as session:
        rows = session.scalars(select(Segment).where(Segment.shop_id == shop_id))
        return {s.slug: s for s in rows}


def test_dashboard_lists_every_segment_with_its_size(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    page = text(admin_client.get("/admin"))
    with admin_shop.runtime.sessions() as session:
        summaries = segment_summaries(session, admin_shop.shop_id)
    assert len(summaries) > 10
    for summary in summaries:
        row = re.search(rf'<tr data-slug="{summary.slug}">(.*?)</tr>', page, re.S)
        assert row is not None, summary.slug
        assert f">{summary.size:,}<" in row.group(1)
    loyal = next(s for s in summaries if s.slug == "loyal-fans")
    assert loyal.size == 15  # orders cycle 0,1,2,3 over 30 customers: 2+ orders for half
    assert "$450.00" in page  # 30 customers, 1.5 orders each at $10.00: the shop total


def test_editor_underlines_the_typo_and_suggests_the_field(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    query = "number_of_orders >= 1 AND last_order_dat < -30d"
    fragment = text(
        admin_client.post("/admin/segments/_preview", data={"query": query, "csrf_token": csrf})
    )
    mark = re.search(r'<mark id="error-mark">(.*?)</mark>', fragment)
    assert mark is not None and mark.group(1) == "last_order_dat"
    echo = re.search(r'<pre class="query-echo"[^>]*>(.*?)</pre>', fragment, re.S)
    assert echo is not None and unescape(re.sub("<[^>]+>", "", echo.group(1))) == query
    assert "column 27" in fragment
    assert 'data-with="last_order_date"' in fragment


def test_live_count_equals_the_preview_service(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    fragment = text(
        admin_client.post(
            "/admin/segments/_preview", data={"query": LOYAL_QUERY, "csrf_token": csrf}
        )
    )
    with admin_shop.runtime.sessions() as session:
        expected = preview_query(session, admin_shop.shop_id, LOYAL_QUERY, utcnow())
    count = re.search(r'data-count="(\d+)"', fragment)
    assert count is not None and int(count.group(1)) == expected.count == 15
    rows = re.findall(r"<tr><td>", fragment)
    assert len(rows) == 15  # the sample: up to 20


def test_create_save_switch_and_delete_a_segment(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    rt, shop_id = admin_shop.runtime, admin_shop.shop_id
    created = admin_client.post(
        "/admin/segments",
        data={"name": "Big spenders", "query": "amount_spent >= 20", "csrf_token": csrf},
    )
    assert created.status_code == 303 and created.headers["Location"].endswith(
        "/admin/segments/big-spenders"
    )
    assert segments(rt, shop_id)["big-spenders"].query == "amount_spent >= 20"
    saved = admin_client.post(
        "/admin/segments/big-spenders", data={"query": "amount_spent >= 30", "csrf_token": csrf}
    )
    assert saved.status_code == 303
    assert segments(rt, shop_id)["big-spenders"].query == "amount_spent >= 30"
    off = admin_client.post(
        "/admin/segments/big-spenders/enabled", data={"enabled": "0", "csrf_token": csrf}
    )
    assert off.status_code == 303 and not segments(rt, shop_id)["big-spenders"].enabled
    confirm = text(admin_client.get("/admin/segments/big-spenders/delete"))
    assert 'action="/admin/segments/big-spenders/delete"' in confirm
    gone = admin_client.post("/admin/segments/big-spenders/delete", data={"csrf_token": csrf})
    assert gone.status_code == 303 and "big-spenders" not in segments(rt, shop_id)


def test_htmx_saves_navigate_with_hx_location(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    response = admin_client.post(
        "/admin/segments",
        data={"name": "Htmx one", "query": "number_of_orders = 1", "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert (
        response.headers["HX-Location"] == '{"path": "/admin/segments/htmx-one", "target": "#main"}'
    )


def test_a_bad_query_or_name_saves_nothing_and_says_why(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    before = set(segments(admin_shop.runtime, admin_shop.shop_id))
    bad = admin_client.post(
        "/admin/segments", data={"name": "Oops", "query": "number_of_ordrs > 1", "csrf_token": csrf}
    )
    assert bad.status_code == 422 and "did you mean" in text(bad)
    taken = admin_client.post(
        "/admin/segments",
        data={"name": "Loyal fans", "query": "number_of_orders > 1", "csrf_token": csrf},
    )
    assert taken.status_code == 422 and "already exists" in unescape(text(taken))
    assert set(segments(admin_shop.runtime, admin_shop.shop_id)) == before


def test_built_in_segments_cannot_be_deleted(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    assert admin_client.get("/admin/segments/vip/delete").status_code == 400
    response = admin_client.post("/admin/segments/vip/delete", data={"csrf_token": csrf})
    assert response.status_code == 400 and "vip" in segments(admin_shop.runtime, admin_shop.shop_id)


def member_ids(fragment: str) -> list[str]:
    return re.findall(r'<tr data-customer="(\d+)">', fragment)


def test_members_are_paged_searched_and_sorted(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    assert admin_client.get("/admin/segments/unknown/members").status_code == 404
    loyal = "/admin/segments/loyal-fans/members"
    by_spend = member_ids(
        text(admin_client.get(loyal, query_string={"sort": "spent", "dir": "asc"}))
    )
    two_orders = {str(1000 + n) for n in range(2, 31, 4)}
    assert len(by_spend) == 15 and set(by_spend[:8]) == two_orders  # $20 before $30
    found = member_ids(text(admin_client.get(loyal, query_string={"q": "first11"})))
    assert found == ["1011"]
    found = member_ids(text(admin_client.get(loyal, query_string={"q": "first1"})))
    assert sorted(found) == ["1010", "1011", "1014", "1015", "1018", "1019"]


def test_members_export_streams_every_member_as_csv(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    response = admin_client.get("/admin/segments/loyal-fans/members.csv")
    assert response.mimetype == "text/csv" and response.is_streamed
    rows = list(csv.reader(io.StringIO(text(response))))
    assert rows[0][:4] == ["customer_id", "first_name", "last_name", "email"]
    assert len(rows) == 16 and {r[4] for r in rows[1:]} == {"2", "3"}


def test_a_customer_named_like_a_script_is_shown_as_text(
    admin_client: FlaskClient, runtime: Runtime
) -> None:
    shop = seed_shop(runtime, "xss.myshopify.com", [("9001", XSS, "=HYPERLINK(1)", 2)],
                     segments={"Fans": "number_of_orders >= 1"})  # fmt: skip
    csrf = sign_in(admin_client, runtime, shop.shop_id)
    pages = [
        text(admin_client.get("/admin/customers/9001")),
        text(admin_client.get("/admin/segments/fans")),
        text(admin_client.get("/admin/segments/fans/members")),
        text(
            admin_client.post(
                "/admin/segments/_preview",
                data={"query": "number_of_orders >= 1", "csrf_token": csrf},
            )
        ),
    ]
    for page in pages:
        assert XSS not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    exported = text(admin_client.get("/admin/segments/fans/members.csv"))
    assert "'=HYPERLINK(1)" in exported  # a spreadsheet shows it, does not run it


def test_text_from_customers_and_shops_is_escaped_on_every_new_page(
    admin_client: FlaskClient, runtime: Runtime
) -> None:
    shop = seed_shop(runtime, "xss2.myshopify.com", [("9001", XSS, "Doe", 2)])
    with runtime.sessions.begin() as session:
        customer = find_customer(session, shop.shop_id, "9001")
        assert customer is not None
        session.add(
            OutboxItem(shop_id=shop.shop_id, kind="tags", customer_id=customer.id, why=XSS,
                       state="dead", last_error=XSS)
        )  # fmt: skip
        session.add(
            TriggerFiring(shop_id=shop.shop_id, name="welcome", trigger_id="x", dedupe_key="x",
                          customer_id=customer.id, state="skipped", due_at=utcnow(), detail=XSS)
        )  # fmt: skip
    sign_in(admin_client, runtime, shop.shop_id)
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    pages = {
        url: text(admin_client.get(url))
        for url in ("/admin/customers/9001", "/admin/activity", "/admin/triggers")
    }
    pages["timeline"] = text(admin_client.get("/admin/customers/9001/timeline"))
    for url in ("/admin/rfm", "/admin/settings"):
        pages[url] = text(admin_client.get(url))
    for url, page in pages.items():
        assert XSS not in page, url
    for url in ("/admin/customers/9001", "/admin/activity", "/admin/triggers", "timeline"):
        assert escaped in pages[url], url


def test_the_language_switch_turns_the_admin_polish(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    english = text(admin_client.get("/admin"))
    assert '<html lang="en"' in english and "Dashboard" in english
    switched = admin_client.post(
        "/admin/language", data={"language": "pl", "csrf_token": csrf},
        headers={"Referer": "http://localhost/admin/segments/loyal-fans"},
    )  # fmt: skip
    assert (
        switched.status_code == 303 and switched.headers["Location"] == "/admin/segments/loyal-fans"
    )
    polish = text(admin_client.get("/admin"))
    assert '<html lang="pl"' in polish and "Pulpit" in polish and "Dashboard" not in polish
    assert "450,00\xa0USD" in polish  # money in Polish: decimal comma, currency after


def test_the_browser_language_is_used_until_one_is_chosen(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    page = text(admin_client.get("/admin", headers={"Accept-Language": "pl-PL,pl;q=0.9"}))
    assert "Pulpit" in page


def test_an_unknown_language_is_refused(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    response = admin_client.post("/admin/language", data={"language": "xx", "csrf_token": csrf})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_input"


def test_push_as_a_tag_is_offered_checked_for_new_segments_and_saved_both_ways(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    rt, shop_id = admin_shop.runtime, admin_shop.shop_id
    editor = text(admin_client.get("/admin/segments/_new"))
    assert re.search(
        r'<input type="checkbox" id="push_tag" name="push_tag" value="1"[^>]* checked', editor
    )
    admin_client.post(
        "/admin/segments",
        data={"name": "Quiet", "query": "amount_spent >= 20", "csrf_token": csrf},
    )  # the box left unticked: no tag at the shop
    assert segments(rt, shop_id)["quiet"].push_tag is False
    edit = text(admin_client.get("/admin/segments/quiet/edit"))
    assert not re.search(r'id="push_tag"[^>]* checked', edit)
    saved = admin_client.post(
        "/admin/segments/quiet",
        data={"query": "amount_spent >= 20", "push_tag": "1", "csrf_token": csrf},
    )
    assert saved.status_code == 303 and segments(rt, shop_id)["quiet"].push_tag is True


def test_the_api_switches_push_as_a_tag_and_lists_it(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    rt, shop_id = admin_shop.runtime, admin_shop.shop_id
    slug = next(s for s, seg in segments(rt, shop_id).items() if seg.kind == "builtin")
    headers = {"X-CSRF-Token": csrf}
    on = admin_client.put(
        f"/api/segments/{slug}/push_tag", json={"push_tag": True}, headers=headers
    )
    assert on.status_code == 200 and on.get_json()["push_tag"] is True
    listed = {s["slug"]: s["push_tag"] for s in admin_client.get("/api/segments").get_json()}
    assert listed[slug] is True
    bad = admin_client.put(
        f"/api/segments/{slug}/push_tag", json={"push_tag": "yes please"}, headers=headers
    )
    assert bad.status_code == 400 and set(bad.get_json()) == {"error", "detail"}
    assert segments(rt, shop_id)[slug].push_tag is True
