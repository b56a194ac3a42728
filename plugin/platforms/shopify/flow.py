"""Where a merchant builds a workflow on the app's triggers: Shopify Flow in the shop's admin.

Flow's editor lives at `https://admin.shopify.com/store/{store handle}/apps/flow/editor` (a
new workflow) and a published template at `…/apps/flow/editor/templates/{template id}`; Flow
assigns that id when it approves an app's `flow_template` extension. Shopify documents no
URL contract for either: these are the forms apps link to today. Opened at the top level,
like the plan page, since the admin cannot load inside the app's frame.
"""

from __future__ import annotations

from urllib.parse import quote

from plugin.manifest import FlowTemplate
from plugin.platforms.shopify.pricing import MYSHOPIFY


def flow_editor_url(shop_domain: str, template: FlowTemplate | None = None) -> str:
    """The template's page in Flow when Flow has published it, else a new workflow."""
    store = shop_domain.removesuffix(MYSHOPIFY)
    editor = f"https://admin.shopify.com/store/{quote(store)}/apps/flow/editor"
    if template is not None and template.template_id:
        return f"{editor}/templates/{quote(template.template_id)}"
    return editor
