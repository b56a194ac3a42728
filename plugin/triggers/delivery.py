"""Deliverers of trigger outbox rows: Shopify Flow (`flowTriggerReceive`) and the signed
outbound webhook. The outbox retries a transient failure and parks a permanent one as dead.
"""

from __future__ import annotations

from typing import Any

import requests

from plugin.errors import PlatformError
from plugin.manifest import flow_triggers
from plugin.outbox.context import Deliverer, DeliveryContext
from plugin.outbox.models import FLOW_TRIGGER, WEBHOOK, OutboxItem
from plugin.triggers import settings as trigger_settings
from plugin.triggers.catalogue import GENERAL
from plugin.triggers.flow_usage import in_use, usage
from plugin.triggers.payloads import SIGNATURE_HEADER, raw_body, signature

WEBHOOK_TIMEOUT = (5, 15)  # (connect, read) seconds


def deliver_flow_trigger(ctx: DeliveryContext, item: OutboxItem) -> dict[str, Any]:
    from plugin.platforms.shopify.documents import FLOW_TRIGGER_RECEIVE

    handle, payload = item.payload["handle"], item.payload["payload"]
    ctx.note.update(handle=handle, trigger_id=item.payload.get("trigger_id"))
    trigger = next((t for t in flow_triggers() if t.handle == handle), None)
    if trigger is not None and not in_use(usage(ctx.session, ctx.shop.id), trigger):
        # Flow's lifecycle callback said no enabled workflow uses it: a call would be wasted.
        return {"handle": handle, "skipped": "no enabled Flow workflow uses this trigger"}
    # userErrors (an unknown handle, a refused payload) raise a permanent PlatformError.
    ctx.client.execute(FLOW_TRIGGER_RECEIVE, {"handle": handle, "payload": payload})
    return {"handle": handle, "trigger_id": item.payload.get("trigger_id")}


def deliver_webhook(ctx: DeliveryContext, item: OutboxItem) -> dict[str, Any]:
    """POST the body to the shop's current webhook URL, signed with its current secret."""
    session, shop = ctx.session, ctx.shop
    url = trigger_settings.load(session, shop.id, GENERAL)["webhook_url"]
    secret = trigger_settings.webhook_secret(session, shop.id, ctx.runtime.settings.secret_key)
    if not url or not secret:
        return {"skipped": "the outbound webhook was switched off"}
    raw = raw_body(item.payload["body"])
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(secret, raw),
        "X-ShopSegments-Trigger": str(item.payload.get("trigger")),
        "X-ShopSegments-Trigger-Id": str(item.payload.get("trigger_id")),
        "X-ShopSegments-Shop": shop.domain,
    }
    ctx.note.update(url=url, trigger_id=item.payload.get("trigger_id"))
    ctx.before_call()  # never hold a transaction open across a call out
    try:
        response = ctx.runtime.http.post(url, data=raw, headers=headers, timeout=WEBHOOK_TIMEOUT)
    except requests.RequestException as exc:
        raise PlatformError(f"webhook {url}: {type(exc).__name__}") from exc
    _check(url, response)
    return {
        "url": url,
        "status": response.status_code,
        "trigger_id": item.payload.get("trigger_id"),
    }


def _check(url: str, response: requests.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    # No status_code on the error: the outbox reads a 401 as the *shop's* token refused.
    retry_after = response.headers.get("Retry-After")
    transient = status in (408, 425, 429) or status >= 500
    raise PlatformError(
        f"webhook {url} answered {status}",
        transient=transient,
        retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
    )


DELIVERERS: dict[str, Deliverer] = {
    FLOW_TRIGGER: deliver_flow_trigger,
    WEBHOOK: deliver_webhook,
}
