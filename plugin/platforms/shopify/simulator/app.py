"""The simulator's Flask app: every simulated shop lives under its domain as a path prefix."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

import plugin.platforms.shopify.simulator.admin_views as admin_views
import plugin.platforms.shopify.simulator.graphql_views as graphql_views
import plugin.platforms.shopify.simulator.oauth_views as oauth_views
import plugin.platforms.shopify.simulator.pricing_views as pricing_views
import plugin.platforms.shopify.simulator.upload_views as upload_views
from plugin.platforms.shopify.simulator.registry import DEFAULT_SCHEMA_PATH
from plugin.platforms.shopify.simulator.state import SimulatorState


def create_simulator_app(state: SimulatorState, schema_path: Path | None = None) -> Flask:
    app = Flask("shopify_simulator")
    app.config["SIMULATOR_STATE"] = state
    app.config["SIMULATOR_SCHEMA"] = str(schema_path or DEFAULT_SCHEMA_PATH)
    app.register_blueprint(oauth_views.blueprint)
    app.register_blueprint(graphql_views.blueprint)
    app.register_blueprint(upload_views.blueprint)
    app.register_blueprint(admin_views.blueprint)
    app.register_blueprint(pricing_views.blueprint)
    return app
