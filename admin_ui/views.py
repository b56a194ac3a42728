"""Admin tab pages (authenticated by the shop's session token)."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("admin", __name__, template_folder="templates")
