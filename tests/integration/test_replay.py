"""`shopseg replay` signs recorded deliveries and posts them to the running app."""

from __future__ import annotations

import json
import time
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from plugin.cli import main
from plugin.inbox.models import InboxRow
from plugin.profiles.models import Customer, Order
from tests.support.live import LiveApp

SHOP = "demo-shop.myshopify.com"


def write_jsonl(path: Path, lines: list[dict | str]) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def replay(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["replay", *args])
    return result.exit_code, result.output


def test_replay_signs_and_posts_every_line(live_app: LiveApp, tmp_path: Path) -> None:
    live_app.install_shop(SHOP)
    file = write_jsonl(
        tmp_path / "deliveries.jsonl",
        [
            {
                "topic": "orders/create",
                "shop": SHOP,
                "payload": {"id": 820982911946154508, "note": "ünïcode"},
                "webhook_id": "w-1",
                "event_id": "e-1",
                "api_version": "2026-01",
                "triggered_at": "2026-05-01T10:00:00Z",
            },
            {"topic": "customers/create", "shop": SHOP, "payload": {"id": 1}},
            "",
            {"topic": "customers/create", "shop": SHOP, "payload": {"id": 1}, "webhook_id": "w-1"},
        ],
    )
    secret = live_app.settings.shopify_api_secret
    code, output = replay(str(file), "--url", live_app.url, "--secret", secret)
    assert code == 0, output
    assert "sent 3, accepted 3, rejected 0" in output
    rows = live_app.inbox_rows()
    assert len(rows) == 2  # the third line repeats webhook id w-1
    first = rows[0]
    assert (first.topic, first.webhook_id, first.event_id, first.api_version) == (
        "orders/create",
        "w-1",
        "e-1",
        "2026-01",
    )
    assert json.loads(first.payload or "")["id"] == 820982911946154508
    assert rows[1].webhook_id and rows[1].event_id and rows[1].triggered_at


def test_replay_with_the_wrong_secret_reports_rejections(live_app: LiveApp, tmp_path: Path) -> None:
    file = write_jsonl(tmp_path / "d.jsonl", [{"topic": "t/x", "shop": SHOP, "payload": {}}] * 2)
    url = live_app.url + "/webhooks/shopify"
    code, output = replay(str(file), "--url", url, "--secret", "wrong", "--quiet")
    assert code == 1
    assert output.strip() == "sent 2, accepted 0, rejected 2 (401 x2)"
    assert live_app.inbox_rows() == []


def test_a_bad_line_is_named_and_nothing_is_sent(live_app: LiveApp, tmp_path: Path) -> None:
    file = write_jsonl(
        tmp_path / "d.jsonl",
        [{"topic": "t/x", "shop": SHOP, "payload": {}}, {"topic": "t/x", "shop": SHOP}],
    )
    code, output = replay(str(file), "--url", live_app.url, "--secret", "s")
    assert code == 1
    assert "line 2" in output and "payload" in output
    assert live_app.inbox_rows() == []
    file.write_text('{"topic": "t/x", "shop": "s", "payload": {}}\n{oops\n')
    assert "line 2: not JSON" in replay(str(file), "--url", live_app.url, "--secret", "s")[1]


def test_rate_paces_the_deliveries(live_app: LiveApp, tmp_path: Path) -> None:
    file = write_jsonl(tmp_path / "d.jsonl", [{"topic": "t/x", "shop": SHOP, "payload": {}}] * 5)
    secret = live_app.settings.shopify_api_secret
    started = time.monotonic()
    code, _ = replay(str(file), "--url", live_app.url, "--secret", secret, "--rate", "25")
    assert code == 0
    assert time.monotonic() - started >= 4 / 25


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "replay-example.jsonl"


def test_the_example_file_replays_into_a_live_app(live_app: LiveApp) -> None:
    [shop] = {json.loads(line)["shop"] for line in EXAMPLE.read_text().splitlines()}
    live_app.install_shop(shop)
    secret = live_app.settings.shopify_api_secret
    code, output = replay(str(EXAMPLE), "--url", live_app.url, "--secret", secret, "--quiet")
    assert (code, output.strip()) == (0, "sent 5, accepted 5, rejected 0")
    rows = live_app.inbox_rows(shop)
    assert [r.topic for r in rows] == [
        "customers/create",
        "customers_email_marketing_consent/update",
        "checkouts/create",
        "orders/create",
        "customer.tags_added",
    ]
    live_app.drain()
    with live_app.runtime.sessions() as session:
        states = session.scalars(select(InboxRow.status).where(InboxRow.shop_domain == shop))
        assert set(states) == {"done"}
        customers = set(session.scalars(select(Customer.platform_id)))
        orders = list(session.scalars(select(Order.platform_id)))
    assert "706405506930370084" in customers  # customers/create, by its exact GID
    assert orders == ["820982911946154508"]
    # Fixed webhook ids: replaying the file again stores nothing twice.
    assert replay(str(EXAMPLE), "--url", live_app.url, "--secret", secret, "--quiet")[0] == 0
    assert len(live_app.inbox_rows(shop)) == 5


def test_help_documents_the_file_format_and_the_secret() -> None:
    help_text = CliRunner().invoke(main, ["replay", "--help"]).output
    for field in ("topic", "shop", "payload", "webhook_id", "event_id", "triggered_at"):
        assert field in help_text
    assert "examples/replay-example.jsonl" in help_text
    assert "custom app" in help_text and "Partner app" in help_text
