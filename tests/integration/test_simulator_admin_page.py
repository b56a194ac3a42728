"""The simulated shop's customers page: the tags the app pushed, filterable, escaped."""

from __future__ import annotations

import requests

from plugin.platforms.shopify.simulator import SimulatorHandle

SHOP = "page-shop.myshopify.com"


def test_the_page_lists_tagged_customers_filters_by_tag_and_escapes(
    simulator: SimulatorHandle,
) -> None:
    state = simulator.state
    state.add_customer(SHOP, 1, tags=["seg:vip", "wholesale"], first_name="<script>x</script>")
    state.add_customer(SHOP, 2, tags=["seg:regular"], first_name="Anna")
    state.add_customer(SHOP, 3, first_name="Untagged")
    url = simulator.shop_url(SHOP) + "/admin/customers"

    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "3 customers, 2 shown" in page.text
    assert "<script>x</script>" not in page.text and "&lt;script&gt;x&lt;/script&gt;" in page.text
    assert "Untagged" not in page.text

    only_vip = requests.get(url, params={"tag": "SEG:VIP"}, timeout=5).text
    assert "1 shown" in only_vip and "Anna" not in only_vip
