"""Deciding a due firing: skip it, defer it, or fire it into the outbox (Flow, webhook, tag).

Marketing needs consent (skipped without it; the tag is internal and still applied),
quiet hours and the frequency cap defer, and an abandoned checkout is decided first when
several firings of one customer come due together.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.billing.limits import overage
from plugin.outbox import services as outbox
from plugin.outbox.models import FLOW_TRIGGER, WEBHOOK
from plugin.profiles.models import Customer
from plugin.shops.models import Shop
from plugin.tagsync import trigger_tags
from plugin.triggers import catalogue as c
from plugin.triggers import payloads, policy
from plugin.triggers import settings as trigger_settings
from plugin.triggers.firings import outbox_key
from plugin.triggers.models import TriggerFiring

GONE = "GONE"  # the consent lookup found no such customer in the shop
NO_EMAIL = ""


def fire_due(
    session: Session,
    shop_id: int,
    now: datetime,
    looked_up: Mapping[int, str],
    limit: int,
) -> int:
    """Decide up to `limit` due firings of one shop; returns how many were decided."""
    shop = session.get(Shop, shop_id)
    if shop is None:
        return 0
    stmt = (
        select(TriggerFiring)
        .where(
            TriggerFiring.shop_id == shop_id,
            TriggerFiring.state.in_(c.PENDING_STATES),
            TriggerFiring.due_at <= now,
        )
        .order_by(TriggerFiring.due_at, TriggerFiring.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    due = sorted(session.scalars(stmt), key=lambda f: (c.PRIORITY[f.name], f.due_at, f.id))
    decider = _Decider(
        session, shop, trigger_settings.load(session, shop_id, c.GENERAL), now, looked_up
    )
    for firing in due:
        decider.decide(firing)
        session.flush()  # the frequency cap of the next firing counts this one
    return len(due)


class _Decider:
    def __init__(
        self,
        session: Session,
        shop: Shop,
        general: dict[str, Any],
        now: datetime,
        looked_up: Mapping[int, str],
    ) -> None:
        self.session, self.shop, self.general, self.now = session, shop, general, now
        self.looked_up = looked_up
        # Per trigger, once per batch: session.get asks the database again for every
        # firing of a trigger that has no settings row (the defaults).
        self.settings: dict[str, dict[str, Any]] = {}
        self.paused = policy.plan_limit(overage(session, shop.id))  # once per batch

    def decide(self, firing: TriggerFiring) -> None:
        values = self.settings.get(firing.name)
        if values is None:
            values = trigger_settings.load(self.session, self.shop.id, firing.name)
            self.settings[firing.name] = values
        if not values["enabled"]:
            return _skip(firing, "the trigger was switched off", self.now)
        if self.paused.action != "fire":
            return self._apply(firing, self.paused)
        customer = self.session.get(Customer, firing.customer_id) if firing.customer_id else None
        blocked = self._customer_gate(firing, customer, values)
        if blocked is not None:
            return self._apply(firing, blocked)
        for verdict in (
            policy.quiet_hours(self.general, self.shop.timezone, self.now),
            policy.frequency_cap(self.session, firing, self.general, self.now),
        ):
            if verdict.action != "fire":
                return self._apply(firing, verdict)
        try:
            fields = payloads.fields_of(self.session, firing, self.now)
        except payloads.Gone as gone:
            return _skip(firing, str(gone), self.now)
        self._fire(firing, customer, fields, values)

    def _customer_gate(
        self, firing: TriggerFiring, customer: Customer | None, values: dict[str, Any]
    ) -> policy.Verdict | None:
        if firing.customer_id is None:
            if not self.general["webhook_url"]:
                return policy.Verdict(
                    "skip", "guest checkout: Flow needs a customer, no webhook set"
                )
            return None
        if customer is None:
            return policy.Verdict("skip", "the customer was deleted or erased from the app")
        if self.looked_up.get(customer.id) == GONE:
            return policy.Verdict(
                "skip",
                f"the shop has no customer {customer.platform_id} (deleted there, or "
                "never created there: e.g. a replayed delivery)",
            )
        if not customer.email or self.looked_up.get(customer.id) == NO_EMAIL:
            return policy.Verdict("skip", "the customer has no email address")
        verdict = policy.consent(customer)
        if verdict.action == "skip":
            self._tag(firing, customer, values)  # tags are internal: consent does not apply
            return verdict
        if verdict.action == "defer":
            return policy.Verdict("defer", verdict.detail, self.now + policy.CONSENT_RETRY)
        return None

    def _apply(self, firing: TriggerFiring, verdict: policy.Verdict) -> None:
        if verdict.action == "skip":
            _skip(firing, verdict.detail or "skipped", self.now)
        else:
            firing.state = c.DEFERRED
            firing.due_at = verdict.until or self.now + timedelta(minutes=1)
            firing.detail = f"{verdict.detail}; deferred to {firing.due_at.isoformat()}"
            firing.updated_at = self.now

    def _fire(
        self,
        firing: TriggerFiring,
        customer: Customer | None,
        fields: dict[str, Any],
        values: dict[str, Any],
    ) -> None:
        if customer is None and not fields.get("email"):
            return _skip(firing, "guest checkout without an email", self.now)
        sent = []
        why = f"trigger {firing.name}: {firing.why}"
        if customer is not None:
            self._enqueue(firing, FLOW_TRIGGER, self._flow(firing, customer, fields), why)
            sent.append("flow")
            self._tag(firing, customer, values)
        if self.general["webhook_url"]:
            personal = self.general["webhook_personal_fields"]
            body = payloads.webhook_body(self.shop, firing, customer, fields, self.now, personal)
            hook = {"trigger": firing.name, "trigger_id": firing.trigger_id, "body": body}
            self._enqueue(firing, WEBHOOK, hook, why)
            sent.append("webhook")
        firing.payload = {**firing.payload, "fields": fields, "sent": sent}
        firing.state = c.FIRED
        firing.fired_at = self.now
        firing.detail = None
        firing.updated_at = self.now

    def _flow(
        self, firing: TriggerFiring, customer: Customer, fields: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "handle": c.flow_trigger(firing.name).handle,
            "trigger_id": firing.trigger_id,
            "customer_gid": payloads.customer_gid(customer.platform_id),
            "payload": payloads.flow_payload(
                firing.name, firing.trigger_id, customer.platform_id, fields
            ),
        }

    def _enqueue(self, firing: TriggerFiring, kind: str, payload: dict[str, Any], why: str) -> None:
        outbox.enqueue(
            self.session,
            self.shop.id,
            kind,
            payload=payload,
            why=why,
            now=self.now,
            customer_id=firing.customer_id,
            coalesce_key=outbox_key(firing.trigger_id, kind),
        )

    def _tag(self, firing: TriggerFiring, customer: Customer, values: dict[str, Any]) -> None:
        """Record the short-lived tag (e.g. seg:cart-reminder) the firing asks for; tag sync
        adds it to the customer's desired tags until it runs out."""
        if not values.get("tag"):
            return
        until = self.now + timedelta(hours=values["tag_hours"])
        firing.payload = {
            **firing.payload,
            "tag": {"tag": values["tag"], "until": until.isoformat()},
        }
        firing.tag, firing.tag_until = values["tag"], until
        why = f"trigger {firing.name}"
        trigger_tags.tag_recorded(
            self.session, self.shop.id, customer.id, values["tag"], why, self.now
        )


def _skip(firing: TriggerFiring, detail: str, now: datetime) -> None:
    firing.state = c.SKIPPED
    firing.detail = detail
    firing.updated_at = now
