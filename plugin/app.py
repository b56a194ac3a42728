"""Flask app factory: registers the webhook receivers, the admin tab and the JSON errors."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from plugin.errors import ShopSegError
from plugin.manifest import load_manifest
from plugin.runtime import Runtime

MAX_WEBHOOK_BYTES = 5 * 1024 * 1024

log = logging.getLogger(__name__)


def create_app(runtime: Runtime) -> Flask:
    from admin_ui import blueprint as admin_blueprint
    from webhooks import blueprint as webhooks_blueprint
    from webhooks import flow_blueprint

    app = Flask("shop_segments", template_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_WEBHOOK_BYTES
    app.config["SECRET_KEY"] = runtime.settings.secret_key
    app.extensions["shopseg"] = runtime
    if hops := runtime.settings.trusted_proxies:  # the client's address, not the balancer's
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.register_blueprint(webhooks_blueprint)
    app.register_blueprint(flow_blueprint)
    app.register_blueprint(admin_blueprint)

    @app.get("/manifest.json")
    def manifest():  # type: ignore[no-untyped-def]
        return jsonify(load_manifest())

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        return jsonify({"status": "ok"})

    _register_error_handlers(app)
    return app


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ShopSegError)
    def domain_error(exc: ShopSegError):  # type: ignore[no-untyped-def]
        if exc.status >= 500:
            log.error("app.error %s: %s", exc.code, exc.detail)
        return jsonify({"error": exc.code, "detail": exc.detail}), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        code = (exc.name or "error").lower().replace(" ", "_")
        return jsonify({"error": code, "detail": exc.description}), exc.code
