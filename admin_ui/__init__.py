"""The admin tab and the install/auth routes around it."""

from admin_ui.views import blueprint

__all__ = ["blueprint"]
