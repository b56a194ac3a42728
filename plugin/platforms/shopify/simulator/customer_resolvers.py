"""Resolvers of customers, their tags (tagsAdd, tagsRemove) and Flow triggers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from plugin.platforms.shopify.simulator.connections import connection_of, context, forward_page
from plugin.platforms.shopify.simulator.customers import (
    NO_SUCH_CUSTOMER,
    customer_id_of,
    guarded,
)
from plugin.platforms.shopify.simulator.deliveries import TAG_TOPICS, deliver_later, tags_payload
from plugin.platforms.shopify.simulator.registry import resolver
from plugin.platforms.shopify.simulator.state import IssuedToken, SimulatorState

# Commonly cited limit of a Flow trigger payload (not confirmed by Shopify's reference).
FLOW_PAYLOAD_LIMIT = 50_000
# The one search the simulator answers: `updated_at:>='<ISO instant>'` (or `>`), as the
# reconcile sends it; Shopify's search syntax has many more forms.
UPDATED_SINCE = re.compile(r"^updated_at:(>=?)'?([0-9T:.+\-Z]+)'?$")


@resolver("customer")
def _customer(state: SimulatorState, shop: str, token: IssuedToken) -> Callable[..., Any]:
    def customer(_info: Any, id: str) -> dict[str, Any] | None:
        found = state.customer(shop, customer_id_of(id) or "")
        return guarded(found.node(), token.scopes, state.switches.denied_fields) if found else None

    return customer


@resolver("customers")
def _customers(state: SimulatorState, shop: str, token: IssuedToken) -> Callable[..., Any]:
    def customers(
        info: GraphQLResolveInfo, first: int | None = None, after: str | None = None, **rest: Any
    ) -> dict[str, Any]:
        # Only forward paging and an `updated_at` search are simulated; a bulk query reads all.
        page = forward_page(info, first, after, rest)
        denied = state.switches.denied_fields
        every = [guarded(c.node(), token.scopes, denied) for c in state.customers.all(shop)]
        nodes = searched(every, rest.get("query"))
        return connection_of(nodes, *page)

    return customers


def searched(nodes: list[dict[str, Any]], query: str | None) -> list[dict[str, Any]]:
    """The nodes a search `query` selects (only `updated_at:>=…` is simulated)."""
    if not query:
        return nodes
    match = UPDATED_SINCE.match(query.strip())
    if match is None:
        raise GraphQLError(f"The simulator does not search by {query!r}")
    since = _instant(match.group(2))
    inclusive = match.group(1) == ">="
    return [
        n
        for n in nodes
        if (_instant(n["updatedAt"]) >= since if inclusive else _instant(n["updatedAt"]) > since)
    ]


def _instant(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise GraphQLError(f"Invalid date {text!r} in the search query") from exc


@resolver("tagsAdd")
def _tags_add(state: SimulatorState, shop: str, _token: IssuedToken) -> Callable[..., Any]:
    def tags_add(info: GraphQLResolveInfo, id: str, tags: list[str]) -> dict[str, Any]:
        return _change_tags(state, shop, info, id, tags, "add")

    return tags_add


@resolver("tagsRemove")
def _tags_remove(state: SimulatorState, shop: str, _token: IssuedToken) -> Callable[..., Any]:
    def tags_remove(info: GraphQLResolveInfo, id: str, tags: list[str]) -> dict[str, Any]:
        return _change_tags(state, shop, info, id, tags, "remove")

    return tags_remove


def _change_tags(
    state: SimulatorState,
    shop: str,
    info: GraphQLResolveInfo,
    gid: str,
    tags: list[str],
    change: str,
) -> dict[str, Any]:
    failure = context(info).get("fail")
    if failure:  # a bulk line made to fail by `switches.bulk_fail_lines`
        return {"node": None, "userErrors": [{"field": None, "message": failure}]}
    customer_id = customer_id_of(gid)
    if customer_id is None:
        return {"node": None, "userErrors": [{"field": ["id"], "message": NO_SUCH_CUSTOMER}]}
    apply = state.customers.add_tags if change == "add" else state.customers.remove_tags
    errors, changed = apply(shop, customer_id, tags)
    if errors:
        return {"node": None, "userErrors": errors}
    if changed and state.switches.tag_webhooks:
        deliver_later(state, shop, TAG_TOPICS[change], tags_payload(gid, changed))
    customer = state.customer(shop, customer_id)
    return {"node": customer.node() if customer else None, "userErrors": []}


@resolver("flowTriggerReceive")
def _flow_trigger_receive(
    state: SimulatorState, shop: str, _token: IssuedToken
) -> Callable[..., Any]:
    def receive(
        _info: Any, handle: str | None = None, payload: Any = None, **_deprecated: Any
    ) -> dict[str, Any]:
        refusal = _flow_refusal(state, handle, payload)
        if refusal:
            return {"userErrors": [{"field": [refusal[0]], "message": refusal[1]}]}
        state.record_flow_trigger(shop, str(handle), payload)
        return {"userErrors": []}

    return receive


def _flow_refusal(
    state: SimulatorState, handle: str | None, payload: Any
) -> tuple[str, str] | None:
    """(field, message) of why a trigger is refused; None when it is accepted."""
    known = state.switches.flow_handles
    if not handle:
        return ("handle", "Handle can't be blank")
    if known is not None and handle not in known:
        return ("handle", f"Invalid handle '{handle}'")
    if not isinstance(payload, dict):
        return ("payload", "Payload must be a JSON object")
    if len(json.dumps(payload)) > FLOW_PAYLOAD_LIMIT:
        return ("payload", "Payload is too large")
    return None
