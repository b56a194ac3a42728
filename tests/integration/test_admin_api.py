"""The admin's JSON API: OpenAPI 3 document, preview, members paged, customer, settings."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from plugin.db import utcnow
from plugin.segments.preview import preview_query
from tests.support.admin import LOYAL_QUERY, SeededShop, sign_in


@pytest.fixture
def csrf(admin_client: FlaskClient, admin_shop: SeededShop) -> str:
    return sign_in(admin_client, admin_shop.runtime, admin_shop.shop_id)


def test_the_openapi_document_is_valid_and_lists_every_api_route(
    admin_app: Flask, admin_client: FlaskClient, csrf: str
) -> None:
    document = admin_client.get("/api/openapi.json").get_json()
    validate(document)
    assert document["openapi"].startswith("3.")
    listed = {(path, method) for path, ops in document["paths"].items() for method in ops}
    routes = {
        (re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule), method.lower())
        for rule in admin_app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert len(routes) >= 8 and listed == routes


def test_preview_counts_like_the_service_and_locates_errors(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    headers = {"X-CSRF-Token": csrf}
    body = admin_client.post("/api/segments/preview", json={"query": LOYAL_QUERY}, headers=headers)
    with admin_shop.runtime.sessions() as session:
        expected = preview_query(session, admin_shop.shop_id, LOYAL_QUERY, utcnow())
    data = body.get_json()
    assert data["count"] == expected.count == 15
    assert [c["customer_id"] for c in data["sample"]] == expected.sample
    assert data["sample"][0]["first_name"].startswith("First")
    bad = admin_client.post(
        "/api/segments/preview", json={"query": "number_of_orders >= "}, headers=headers
    )
    assert bad.status_code == 400
    assert bad.get_json() | {"detail": ""} == {
        "error": "invalid_query", "detail": "", "line": 1, "column": 20,
    }  # fmt: skip
    empty = admin_client.post("/api/segments/preview", json={}, headers=headers)
    assert empty.status_code == 400 and empty.get_json()["error"] == "invalid_input"


def test_members_come_in_pages_from_the_database(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    url = "/api/segments/loyal-fans/members"
    pages = [
        admin_client.get(url, query_string={"per_page": 4, "page": n}).get_json() for n in (1, 2, 4)
    ]
    assert [len(p["items"]) for p in pages] == [4, 4, 3]
    assert {p["total"] for p in pages} == {15} and pages[0]["pages"] == 4
    ids = [i["customer_id"] for p in pages for i in p["items"]]
    assert len(set(ids)) == 11
    assert admin_client.get(url, query_string={"per_page": 500}).status_code == 400
    assert admin_client.get(url, query_string={"sort": "password"}).status_code == 400


def test_a_customer_with_their_segment_stays(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    data = admin_client.get("/api/customers/1003").get_json()
    assert data["profile"]["first_name"] == "First3" and data["metrics"]["orders_count"] == 3
    assert "Loyal fans" in {s["segment"] for s in data["segments"]}
    assert admin_client.get("/api/customers/424242").status_code == 404


def test_settings_change_the_admin_language_and_minimum_size(
    admin_client: FlaskClient, admin_shop: SeededShop, csrf: str
) -> None:
    settings = admin_client.get("/api/settings").get_json()
    assert settings["language"] is None and settings["tag_prefix"] == "seg:"
    changed = admin_client.patch(
        "/api/settings",
        json={"language": "pl", "segment_min_size": 10},
        headers={"X-CSRF-Token": csrf},
    )
    assert changed.get_json()["language"] == "pl" and changed.get_json()["segment_min_size"] == 10
    assert "Pulpit" in admin_client.get("/admin").get_data(as_text=True)
    bad = admin_client.patch(
        "/api/settings", json={"language": "xx"}, headers={"X-CSRF-Token": csrf}
    )
    assert (
        bad.status_code == 400 and admin_client.get("/api/settings").get_json()["language"] == "pl"
    )
    readonly = admin_client.patch(
        "/api/settings", json={"currency": "EUR"}, headers={"X-CSRF-Token": csrf}
    )
    assert readonly.status_code == 400
