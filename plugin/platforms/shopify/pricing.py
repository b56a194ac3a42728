"""Where a merchant chooses a plan: the plan selection page Shopify hosts for an app on
Shopify App Pricing (or the simulator's, when the app talks to the simulator)."""

from __future__ import annotations

from plugin.manifest import pricing
from plugin.settings import Settings

MYSHOPIFY = ".myshopify.com"


def pricing_page_url(settings: Settings, shop_domain: str) -> str:
    """`https://admin.shopify.com/store/{store handle}/charges/{app handle}/pricing_plans`;
    open it at the top level (it cannot load inside the app's iframe)."""
    handle = pricing().app_handle
    if settings.shopify_base_url != Settings.shopify_base_url:  # a simulator stands in
        return f"{settings.shop_base_url(shop_domain)}/admin/charges/{handle}/pricing_plans"
    store = shop_domain.removesuffix(MYSHOPIFY)
    return f"https://admin.shopify.com/store/{store}/charges/{handle}/pricing_plans"
