"""How ``infobutton`` commands reach the services: through the app factory, in the app's context.

Each command group puts a ``ScriptInfo`` on its click context; a command decorated with
``flask.cli.with_appcontext`` builds the app from it on first use (so ``--help`` builds nothing),
runs inside ``app.app_context()`` and reads ``current_services()``. The services close when the
command ends. A one-shot command skips the warm-up a server wants before its first request.
"""

from __future__ import annotations

import functools

import click
from flask import Flask
from flask.cli import ScriptInfo

from . import create_app


def script_info(**config) -> ScriptInfo:
    """What a command group puts on ``ctx.obj``: ``config`` overrides settings from the
    environment (e.g. ``seed=False``)."""
    return ScriptInfo(create_app=functools.partial(_command_app, config), set_debug_flag=False)


def _command_app(config: dict) -> Flask:
    app = create_app(config, warm=False)
    click.get_current_context().find_root().call_on_close(app.extensions["infobutton"].close)
    return app
