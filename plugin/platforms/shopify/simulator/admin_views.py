"""The simulated shop's own admin, read-only: its customers with their tags, and the Flow
triggers it received — what a merchant would check in Shopify after the app pushed them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from markupsafe import Markup, escape

from plugin.platforms.shopify.simulator.oauth_views import sim

blueprint = Blueprint("sim_admin", __name__)
PAGE = 100

STYLE = (
    "body{font:14px system-ui,sans-serif;margin:2rem;color:#303030}"
    "table{border-collapse:collapse}td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;"
    "text-align:left}.tag{background:#e3e3e3;border-radius:.4rem;padding:0 .3rem;margin:0 .1rem}"
)


@blueprint.get("/<shop>/admin/customers")
def customers(shop: str) -> Any:
    """Customers that have tags (or carry `?tag=`), most tags first, one page."""
    state = sim()
    wanted = request.args.get("tag", "").strip().lower()
    everyone = state.customers.all(shop)
    tagged = [
        c for c in everyone if c.tags and (not wanted or wanted in (t.lower() for t in c.tags))
    ]
    counts: dict[str, int] = {}
    for customer in (c for c in everyone if c.tags):
        for tag in customer.tags:
            counts[tag] = counts.get(tag, 0) + 1
    tag_links = " ".join(
        f'<a class="tag" href="?tag={escape(tag)}">{escape(tag)}</a> {n:,}'
        for tag, n in sorted(counts.items(), key=lambda kv: -kv[1])
    )
    rows = "".join(
        f"<tr><td>{escape(c.customer_id)}</td><td>{escape(c.first_name or '')} "
        f"{escape(c.last_name or '')}</td><td>{escape(c.email or '')}</td>"
        f"<td>{c.number_of_orders}</td><td>{escape(c.amount_spent)}</td><td>"
        + " ".join(f'<span class="tag">{escape(t)}</span>' for t in c.tags)
        + "</td></tr>"
        for c in tagged[:PAGE]
    )
    flows = len([t for t in state.flow_triggers if t.get("shop") == shop])
    body = (
        f"<h1>{escape(shop)}: customers</h1>"
        f"<p>{len(everyone):,} customers, {len(tagged):,} shown by tag "
        f"{'“' + escape(wanted) + '”' if wanted else '(any)'}; {flows:,} Flow triggers "
        f"received. Tags: {tag_links}</p>"
        "<table><tr><th>id</th><th>name</th><th>email</th><th>orders</th><th>spent</th>"
        f"<th>tags</th></tr>{rows}</table>"
    )
    page = f"<!doctype html><meta charset=utf-8><title>{escape(shop)}</title>"
    return Markup(f"{page}<style>{STYLE}</style>{body}")
