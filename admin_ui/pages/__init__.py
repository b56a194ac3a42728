"""The admin tab's pages, one module per page; every route wears `viewer.page_view`."""

from flask import Blueprint

blueprint = Blueprint("pages", __name__)

# The modules attach their routes to the blueprint above.
from admin_ui.pages import home, plan, segment_detail, segment_editor, signin  # noqa: E402

__all__ = ["blueprint", "home", "plan", "segment_detail", "segment_editor", "signin"]
