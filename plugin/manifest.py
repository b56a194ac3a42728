"""The app's single declaration (manifest.json): scopes, webhook topics, admin tab, triggers
and their Flow templates, pricing plans."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

MANIFEST_PATH = Path(__file__).resolve().parent.parent / "manifest.json"


@dataclass(frozen=True)
class Subscription:
    topic: str
    route: str
    compliance: bool


@dataclass(frozen=True)
class FlowTrigger:
    """A Flow trigger extension: its handle, merchant-facing name and payload fields."""

    trigger: str  # the app's trigger name (plugin.triggers.catalogue)
    handle: str
    name: str
    description: str
    fields: tuple[dict[str, str], ...]


@cache
def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def access_scopes() -> list[str]:
    return list(load_manifest()["access_scopes"])


def subscriptions(*, compliance: bool | None = None) -> list[Subscription]:
    """Webhook subscriptions; `compliance=False` gives the ones registrable through the API."""
    hooks = load_manifest()["webhooks"]
    regular = [Subscription(s["topic"], s["route"], False) for s in hooks["subscriptions"]]
    mandatory = [
        Subscription(s["topic"], s["route"], True) for s in hooks["compliance_subscriptions"]
    ]
    if compliance is None:
        return regular + mandatory
    return mandatory if compliance else regular


def topics() -> list[str]:
    return [s.topic for s in subscriptions()]


def flow_triggers() -> list[FlowTrigger]:
    return [
        FlowTrigger(t["trigger"], t["handle"], t["name"], t["description"], tuple(t["fields"]))
        for t in load_manifest()["flow_triggers"]
    ]


@dataclass(frozen=True)
class FlowTemplate:
    """A ready-made Flow workflow built on one of the app's triggers (a `flow_template`
    extension once its workflow is exported from Flow; see docs/triggers.md)."""

    key: str  # the admin page's name for it (its translated texts are keyed by this)
    trigger: str  # the app's trigger name it starts from
    handle: str  # the extension's handle: at most 30 letters, digits and hyphens
    name: str
    description: str
    categories: tuple[str, ...]  # Flow's template library categories
    template_id: str | None  # Flow's id of the published template; None until approved


def flow_templates() -> list[FlowTemplate]:
    return [
        FlowTemplate(
            t["key"],
            t["trigger"],
            t["handle"],
            t["name"],
            t["description"],
            tuple(t["categories"]),
            t.get("template_id"),
        )
        for t in load_manifest()["flow_templates"]
    ]


@dataclass(frozen=True)
class PricingPlan:
    """A plan of the app's listing (Shopify App Pricing): its name as configured in the
    Partner Dashboard, which is the name its subscriptions carry."""

    name: str
    monthly_price: str  # in the pricing currency, as text ("0", "29")
    customer_limit: int | None  # None: unlimited


@dataclass(frozen=True)
class Pricing:
    app_handle: str  # the app's handle in Shopify's admin URLs
    currency: str
    welcome_path: str  # where the hosted plan page sends the merchant back
    plans: tuple[PricingPlan, ...]  # the first is the free plan every shop falls back to


def pricing() -> Pricing:
    data = load_manifest()["pricing"]
    plans = tuple(
        PricingPlan(p["name"], str(p["monthly_price"]), p.get("customer_limit"))
        for p in data["plans"]
    )
    return Pricing(data["app_handle"], data["currency"], data["welcome_path"], plans)
