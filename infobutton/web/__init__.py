"""Blueprints per audience, and the error handlers that give every failure the caller's format
(``web.errors``)."""

from __future__ import annotations

from flask import Flask

from . import admin_ui, cds_hooks, errors, infobutton, pages
from .errors import error_response

__all__ = ["error_response", "register_blueprints"]


def register_blueprints(app: Flask) -> None:
    app.register_blueprint(infobutton.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(cds_hooks.bp)
    admin_ui.init_app(app)  # /admin/ UI, /admin/api, /openapi.json, session cookie
    errors.register(app)
