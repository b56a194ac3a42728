"""The admin tab's pages, one module per page; every route wears `viewer.page_view`."""

from flask import Blueprint

blueprint = Blueprint("pages", __name__)

# The modules attach their routes to the blueprint above.
from admin_ui.pages import (  # noqa: E402
    activity,
    customer,
    home,
    plan,
    rfm,
    segment_detail,
    segment_editor,
    settings,
    signin,
    triggers,
)

__all__ = [
    "activity",
    "blueprint",
    "customer",
    "home",
    "plan",
    "rfm",
    "segment_detail",
    "segment_editor",
    "settings",
    "signin",
    "triggers",
]
