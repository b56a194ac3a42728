"""The app's single declaration (manifest.json): scopes, webhook topics, admin tab, triggers."""

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
