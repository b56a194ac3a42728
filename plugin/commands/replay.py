"""`shopseg replay`: sign and post recorded Shopify deliveries (demos, load tests).

The file format is in the command's `--help` and docs/replay.md; an example file is
examples/replay-example.jsonl.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import requests

from plugin.db import utcnow
from plugin.platforms.shopify.webhook_signature import webhook_hmac
from plugin.settings import DEFAULT_API_VERSION

WEBHOOK_PATH = "/webhooks/shopify"
TIMEOUT_SECONDS = 10


REPLAY_HELP = f"""Sign and post every delivery of FILE (JSON Lines) to the app; print a summary.

\b
One delivery per line, a JSON object:
  topic         required  e.g. "orders/create" (X-Shopify-Topic)
  shop          required  the shop's domain, e.g. "example-shop.myshopify.com"
  payload       required  the webhook body, an object (sent as compact JSON)
  webhook_id    optional  X-Shopify-Webhook-Id, a fresh uuid when missing; the app
                          stores an id once, so fixed ids make a replay repeatable
  event_id      optional  X-Shopify-Event-Id, a fresh uuid when missing
  api_version   optional  X-Shopify-API-Version, default {DEFAULT_API_VERSION}
  triggered_at  optional  X-Shopify-Triggered-At (ISO 8601), now when missing
Blank lines are skipped; a bad line stops the replay before anything is sent.
Example: examples/replay-example.jsonl (see docs/replay.md).

\b
--secret must be the secret the app checks the shop's webhooks with, or every
delivery is refused with 401. Deliveries for a shop not installed yet wait
in the inbox until it is.
"""


@dataclass(frozen=True)
class RecordedDelivery:
    line: int
    topic: str
    shop: str
    body: bytes
    webhook_id: str
    event_id: str
    api_version: str
    triggered_at: str

    def headers(self, secret: str) -> dict[str, str]:
        """Shopify's delivery headers, signed over exactly the bytes that are sent."""
        return {
            "Content-Type": "application/json",
            "X-Shopify-Topic": self.topic,
            "X-Shopify-Shop-Domain": self.shop,
            "X-Shopify-Hmac-Sha256": webhook_hmac(secret, self.body),
            "X-Shopify-Webhook-Id": self.webhook_id,
            "X-Shopify-Event-Id": self.event_id,
            "X-Shopify-API-Version": self.api_version,
            "X-Shopify-Triggered-At": self.triggered_at,
        }


@click.command(help=REPLAY_HELP)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", required=True, help=f"The app's base URL or its {WEBHOOK_PATH} address.")
@click.option(
    "--secret",
    required=True,
    envvar="SHOPIFY_API_SECRET",
    help="The secret the app checks this shop's webhooks with: the shop's own webhook secret "
    "for a custom app (`shops add --webhook-secret`), the app's API secret (SHOPIFY_API_SECRET, "
    "the default) for a Partner app.",
)
@click.option("--rate", type=float, default=0.0, help="Deliveries per second (0: no limit).")
@click.option("--quiet", is_flag=True, help="Only print the summary.")
def replay(file: Path, url: str, secret: str, rate: float, quiet: bool) -> None:
    """Sign and post every delivery of FILE to the app, then print a summary."""
    deliveries = read_deliveries(file)
    target = webhook_url(url)
    outcomes: Counter[str] = Counter()
    with requests.Session() as http:
        for index, delivery in enumerate(_paced(deliveries, rate), start=1):
            outcome = _post(http, target, delivery, secret)
            outcomes[outcome] += 1
            if not quiet:
                click.echo(
                    f"[{index}/{len(deliveries)}] {delivery.topic} {delivery.shop}: {outcome}"
                )
    _summary(len(deliveries), outcomes)


def read_deliveries(path: Path) -> list[RecordedDelivery]:
    """Parse the whole file first, so a bad line stops the replay before anything is sent."""
    deliveries = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                deliveries.append(_parse_line(number, line))
    return deliveries


def webhook_url(url: str) -> str:
    """Accept the app's base URL as well as the full webhook address."""
    url = url.rstrip("/")
    return url + WEBHOOK_PATH if urlsplit(url).path in ("", "/") else url


def _parse_line(number: int, line: str) -> RecordedDelivery:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"line {number}: not JSON ({exc.msg})") from exc
    if not isinstance(record, dict):
        raise click.ClickException(f"line {number}: expected a JSON object")
    for key, kind in (("topic", str), ("shop", str), ("payload", dict)):
        if not isinstance(record.get(key), kind):
            raise click.ClickException(
                f"line {number}: `{key}` is missing or not a {kind.__name__}"
            )
    return RecordedDelivery(
        line=number,
        topic=record["topic"],
        shop=record["shop"],
        body=json.dumps(record["payload"], separators=(",", ":")).encode(),
        webhook_id=_text(record, "webhook_id", str(uuid.uuid4())),
        event_id=_text(record, "event_id", str(uuid.uuid4())),
        api_version=_text(record, "api_version", DEFAULT_API_VERSION),
        triggered_at=_text(record, "triggered_at", utcnow().isoformat()),
    )


def _text(record: dict[str, Any], key: str, default: str) -> str:
    value = record.get(key)
    return default if value is None else str(value)


def _paced(deliveries: list[RecordedDelivery], rate: float) -> Any:
    interval = 1.0 / rate if rate > 0 else 0.0
    next_at = time.monotonic()
    for delivery in deliveries:
        pause = next_at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        next_at = max(next_at, time.monotonic()) + interval
        yield delivery


def _post(http: requests.Session, url: str, delivery: RecordedDelivery, secret: str) -> str:
    try:
        response = http.post(
            url, data=delivery.body, headers=delivery.headers(secret), timeout=TIMEOUT_SECONDS
        )
    except requests.RequestException as exc:
        return f"error ({type(exc).__name__})"
    return str(response.status_code)


def _summary(sent: int, outcomes: Counter[str]) -> None:
    accepted = sum(n for outcome, n in outcomes.items() if outcome.startswith("2"))
    rejected = {outcome: n for outcome, n in outcomes.items() if not outcome.startswith("2")}
    details = ", ".join(f"{outcome} x{n}" for outcome, n in sorted(rejected.items()))
    click.echo(
        f"sent {sent}, accepted {accepted}, rejected {sent - accepted}"
        + (f" ({details})" if details else "")
    )
    if rejected:
        raise SystemExit(1)
