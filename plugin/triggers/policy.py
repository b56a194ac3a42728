"""When a due firing may go out: the plan's limit, consent, quiet hours and the frequency cap.

Consent skips (the customer said no); quiet hours and the cap defer to the moment the
firing may go, so nothing is dropped for timing alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.billing.limits import Overage
from plugin.profiles.models import Customer
from plugin.triggers import settings as trigger_settings
from plugin.triggers.catalogue import FIRED, MARKETING
from plugin.triggers.models import TriggerFiring

SUBSCRIBED = "SUBSCRIBED"
# Consent still unknown after the just-in-time lookup (the API failed): look again later.
CONSENT_RETRY = timedelta(minutes=15)


@dataclass(frozen=True)
class Verdict:
    action: str  # fire | skip | defer
    detail: str | None = None
    until: datetime | None = None


FIRE = Verdict("fire")


def plan_limit(over: Overage | None) -> Verdict:
    """A shop over its plan's customer limit fires nothing until it chooses a larger plan;
    such firings are skipped, not deferred (a reminder days late would be wrong)."""
    return FIRE if over is None else Verdict("skip", over.detail)


def consent(customer: Customer) -> Verdict:
    """Marketing only to customers whose email marketing state is subscribed."""
    state = (customer.email_marketing_state or "").upper()
    if state == SUBSCRIBED:
        return FIRE
    if not state:
        return Verdict("defer", "email marketing consent unknown: the lookup failed", None)
    return Verdict("skip", f"no email marketing consent ({state.lower()})")


def quiet_hours(general: dict[str, Any], timezone: str, now: datetime) -> Verdict:
    window = trigger_settings.quiet_window(general)
    if window is None:
        return FIRE
    zone = _zone(timezone)
    local = now.astimezone(zone)
    start, end = window
    inside = start <= local.time() < end if start < end else not end <= local.time() < start
    if not inside:
        return FIRE
    until = _next_local(local, end).astimezone(now.tzinfo)
    return Verdict("defer", f"quiet hours {general['quiet_hours']} ({zone.key})", until)


def frequency_cap(
    session: Session, firing: TriggerFiring, general: dict[str, Any], now: datetime
) -> Verdict:
    """At most `frequency_cap` marketing firings per customer per `frequency_cap_hours`."""
    cap, hours = general["frequency_cap"], general["frequency_cap_hours"]
    if cap <= 0 or firing.customer_id is None or firing.name not in MARKETING:
        return FIRE
    window = timedelta(hours=hours)
    recent = sorted(
        at
        for at in session.scalars(
            select(TriggerFiring.fired_at).where(
                TriggerFiring.shop_id == firing.shop_id,
                TriggerFiring.customer_id == firing.customer_id,
                TriggerFiring.state == FIRED,
                TriggerFiring.name.in_(MARKETING),
                TriggerFiring.fired_at > now - window,
            )
        )
        if at is not None
    )
    if len(recent) < cap:
        return FIRE
    until = recent[len(recent) - cap] + window
    last = recent[-1].strftime("%Y-%m-%d %H:%M UTC")
    detail = f"frequency cap: {cap} per {_span(hours)} reached (last sent {last})"
    return Verdict("defer", detail, until)


def _span(hours: int) -> str:
    """24 → "24 h", 168 → "7 days": the cap's window as the merchant set it."""
    return f"{hours // 24} days" if hours > 24 and hours % 24 == 0 else f"{hours} h"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _next_local(local: datetime, at: time) -> datetime:
    candidate = local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    if candidate <= local:
        candidate = (candidate + timedelta(days=1)).replace(hour=at.hour, minute=at.minute)
    return candidate
