"""The history source of a shop's platform (the only place the import picks a platform)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from plugin.errors import ValidationError
from plugin.platforms.port import HistorySource
from plugin.runtime import Runtime
from plugin.shops.models import Shop


def source_for(
    runtime: Runtime,
    shop: Shop,
    client: Any = None,
    since: datetime | None = None,
    *,
    statistics: bool = False,
) -> HistorySource:
    """The platform's HistorySource for `shop`; `client` (e.g. the outbox's paced client)
    replaces a plain Admin API client on the shop's stored token; `since` gives only what
    was updated since then (the reconcile), `statistics` only the customers' statistics
    (the periodic refresh)."""
    if shop.platform != "shopify":
        raise ValidationError(f"no history import for platform {shop.platform!r}")
    from plugin.platforms.shopify.client import AdminClient
    from plugin.platforms.shopify.history import history_source
    from plugin.shops.tokens import access_token

    if client is None:
        token = access_token(runtime, shop.id)
        client = AdminClient(runtime.http, runtime.settings, shop.domain, token)
    return history_source(client, runtime.http, since, statistics=statistics)
