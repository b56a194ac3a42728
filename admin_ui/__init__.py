"""The admin tab and the install/auth routes around it."""

from flask import Blueprint

from admin_ui import auth, views

blueprint = Blueprint("admin_ui", __name__, template_folder="templates")
blueprint.register_blueprint(auth.blueprint)
blueprint.register_blueprint(views.blueprint)

__all__ = ["blueprint"]
