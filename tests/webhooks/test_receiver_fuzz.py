"""Property: whatever a client sends, the receiver answers < 500, a 4xx is `{error, detail}`
and leaves every table as it was, and the worker parks what it cannot use without retrying."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from plugin.db import Base
from plugin.inbox.models import PENDING, InboxRow
from plugin.manifest import load_manifest
from tests.support.live import LiveApp
from tests.support.profiles import EXAMPLES, load_example, topic_file

SHOP = "fuzz-shop.myshopify.com"
WEBHOOKS = load_manifest()["webhooks"]
TOPICS = sorted(
    s["topic"] for s in WEBHOOKS["subscriptions"] + WEBHOOKS["compliance_subscriptions"]
)
EXAMPLE_TOPICS = [t for t in TOPICS if (EXAMPLES / topic_file(t)).exists()]
HEADERS = [
    "X-Shopify-Topic",
    "X-Shopify-Webhook-Id",
    "X-Shopify-Event-Id",
    "X-Shopify-API-Version",
    "X-Shopify-Shop-Domain",
    "X-Shopify-Triggered-At",
    "X-Shopify-Name",
    "X-Shopify-Hmac-Sha256",
]
NASTY = [
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "x" * 300,
    "a\x00b",
    "\x7f",
    "unstable",
    "2026-13",
    "SHOP.myshopify.com",
]


def _sendable(value: str) -> bool:
    """What requests lets through as a header value (no CR/LF, no leading whitespace)."""
    return value == "" or (not value[0].isspace() and "\r" not in value and "\n" not in value)


header_values = st.one_of(
    st.none(),
    st.sampled_from(NASTY),
    st.text(st.characters(max_codepoint=0xFF), max_size=300).filter(_sendable),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=15,
)
bodies = st.one_of(
    st.binary(max_size=200),
    st.dictionaries(st.text(max_size=10), json_values, max_size=6).map(
        lambda d: json.dumps(d).encode()
    ),
    st.integers(900, 5000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.integers(4200, 5000).map(lambda n: b'{"id": ' + b"9" * n + b"}"),
    st.sampled_from([b'{"id": 1, "email": "a\x00b"}', b'{"id": 1, "note": "\\u0000"}', b"\xff"]),
)


def _with_nul(document: Any, pick: int) -> bytes:
    """The document with NUL put into its `pick`-th string (counted cyclically)."""
    strings: list[tuple[Any, Any]] = []
    stack = [document]
    while stack:
        item = stack.pop()
        pairs = item.items() if isinstance(item, dict) else enumerate(item)
        for key, value in pairs:
            if isinstance(value, str):
                strings.append((item, key))
            elif isinstance(value, dict | list):
                stack.append(value)
    if strings:
        container, key = strings[pick % len(strings)]
        container[key] = "\u0000" + container[key] + "\u0000"
    return json.dumps(document).encode()


def _example_delivery(topic: str) -> st.SearchStrategy[tuple[str, bytes]]:
    return st.integers(0, 10_000).map(lambda pick: (topic, _with_nul(load_example(topic), pick)))


deliveries = st.one_of(
    st.tuples(st.sampled_from(TOPICS), bodies),
    st.sampled_from(EXAMPLE_TOPICS).flatmap(_example_delivery),
)


def snapshot(live_app: LiveApp) -> dict[str, list[tuple[Any, ...]]]:
    with live_app.runtime.sessions() as session:
        return {
            table.name: sorted(map(repr, session.execute(select(table)).all()))
            for table in Base.metadata.sorted_tables
        }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    delivery=deliveries,
    signed=st.booleans(),
    overrides=st.dictionaries(st.sampled_from(HEADERS), header_values, max_size=3),
)
def test_any_delivery_gets_a_clean_answer_and_no_partial_write(
    live_app: LiveApp,
    delivery: tuple[str, bytes],
    signed: bool,
    overrides: dict[str, str | None],
) -> None:
    topic, body = delivery
    if not snapshot(live_app)["shops"]:
        live_app.install_shop(SHOP)
    before = snapshot(live_app)
    secret = None if signed else "not-the-secret"
    response = live_app.post_webhook(topic, SHOP, body=body, secret=secret, headers=overrides)
    assert response.status_code < 500
    after = snapshot(live_app)
    if response.status_code >= 400:
        assert set(response.json()) == {"error", "detail"}
        assert after == before
    else:
        changed = {name for name in after if after[name] != before[name]}
        assert changed <= {"webhook_inbox"}
        assert len(after["webhook_inbox"]) - len(before["webhook_inbox"]) in (0, 1)
    live_app.drain()
    with live_app.runtime.sessions() as session:
        retrying = session.scalars(
            select(InboxRow.topic).where(InboxRow.status == PENDING, InboxRow.attempts > 0)
        )
        assert list(retrying) == []  # bad input is parked at once, never retried
