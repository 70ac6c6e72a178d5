"""Blueprints per audience, and the error handlers that give every failure the caller's format
(``web.errors``)."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

from . import admin_ui, cds_hooks, errors, infobutton, pages
from .errors import error_response

__all__ = ["error_response", "register_blueprints"]


class StoredInt(IntegerConverter):
    """``<int:…>`` path parts that a database integer can hold: a bigger id is no route (404),
    never an overflow in the driver."""

    def __init__(self, map, fixed_digits=0, min=None, max=2**63 - 1, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = StoredInt  # before any rule is added
    app.register_blueprint(infobutton.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(cds_hooks.bp)
    admin_ui.init_app(app)  # /admin/ UI, /admin/api, /openapi.json, session cookie
    errors.register(app)
