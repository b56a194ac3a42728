"""The admin's JSON API under /api: the same viewer and shop scoping as the pages."""

# Importing the modules attaches their routes (and OpenAPI operations) to the blueprint.
from admin_ui.api import activity, customers, plan, rfm, segments, shop, triggers
from admin_ui.api.spec import blueprint

__all__ = ["activity", "blueprint", "customers", "plan", "rfm", "segments", "shop", "triggers"]
