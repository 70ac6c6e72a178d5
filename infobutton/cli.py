"""The ``infobutton`` command: serve, plus the content and mapping commands. Commands call
services; they never write SQL themselves."""

from __future__ import annotations

import functools
import gc
import logging
import sys
from pathlib import Path

import click

from . import create_app, logs, metrics
from .config import ConfigError, Settings
from .content import cli as content_cli
from .knowledge import TitleTable
from .mappings import cli as mappings_cli
from .services import build_services
from .store import cli as store_cli
from .store.db import redacted

log = logging.getLogger(__name__)
REQUEST_DEADLINE = 30  # seconds; store.db.POOL_TIMEOUT and SQLITE_BUSY_SECONDS stay well below it
# The request serve suggests trying: C91.00 (ICD-10-CM), answered as JSON.
EXAMPLE_QUERY = (
    "mainSearchCriteria.v.c=C91.00&mainSearchCriteria.v.cs=2.16.840.1.113883.6.90"
    "&knowledgeResponseType=application/json"
)


class _Main(click.Group):
    """A setting that cannot be used stops any command with one line and exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ConfigError as error:
            click.echo(f"infobutton: {error}", err=True)
            ctx.exit(2)


@click.group(cls=_Main)
@click.pass_context
def main(ctx: click.Context) -> None:
    """HL7 Infobutton knowledge responder."""
    settings = Settings.from_env()
    logs.configure(settings.log_format, settings.log_level)
    ctx.obj = settings


def banner(url: str, command: str, *, example: bool) -> list[str]:
    """What serve says once it listens: where, where the admin UI is and how to get the token
    that signs in to it, and (``example``) a request to try."""
    lines = [
        f"infobutton is listening on {url}",
        f'admin UI  {url}/admin/ (sign in with a token from: {command} admin create-token --name "$USER" --role admin)',
    ]
    if example:
        lines.append(f"try       curl '{url}/infobutton?{EXAMPLE_QUERY}'")
    return lines


def _when_ready(server, *, log_format) -> None:
    """gunicorn's hook, run once in the arbiter when it listens, before any worker starts.

    For a person at a terminal the banner is a short block with a request to try; in JSON lines
    it is one line without that request, as a log pipeline reads a request line in a log as a
    request someone made (and patient context is never logged)."""
    urls = [str(listener) for listener in server.LISTENERS]
    # the command as this process was started (".venv/bin/infobutton" under make run)
    command = sys.argv[0] if Path(sys.argv[0]).name == "infobutton" else "infobutton"
    text = logs.writes_text(log_format, sys.stderr)
    lines = banner(urls[0], command, example=text)
    log.info(("\n" if text else "; ").join(lines))


def _worker_exit(server, worker) -> None:
    """A stopping worker closes its services, so buffered usage counts reach the database."""
    services = getattr(worker.wsgi, "extensions", {}).get("infobutton")
    if services is not None:
        services.close()


def _child_exit(server, worker) -> None:
    """A worker is gone: its live metric gauges go with it (its counters still add up)."""
    metrics.process_dead(worker.pid)


def _pre_fork(server, worker) -> None:
    """Before each fork: what the arbiter built (code tables, crosswalk, modules) leaves the
    collector's generations, so no worker's collection writes to those pages and un-shares them."""
    gc.freeze()


def gunicorn_options(host: str, port: int, workers: int, settings: Settings) -> dict:
    return {
        "when_ready": functools.partial(_when_ready, log_format=settings.log_format),
        "worker_exit": _worker_exit,
        "child_exit": _child_exit,
        "pre_fork": _pre_fork,
        "bind": f"{host}:{port}",
        "workers": workers,
        # gthread whose error pages for malformed requests do not quote the request back
        "worker_class": "infobutton.gunicorn_worker.ThreadWorker",
        "threads": settings.threads,  # INFOBUTTON_CDS_FHIR_CONCURRENCY is always fewer
        # logs.py: access lines carry the URL rule, never the path or query string; gunicorn's
        # own warnings lose the request lines they quote.
        "logger_class": logs.GunicornLogger.writing(settings.log_format),
        "loglevel": settings.log_level,
        "accesslog": "-",
        "errorlog": "-",
        # the request deadline: a worker with a request running this long is killed and replaced
        # (gunicorn_worker.ThreadWorker); every wait inside a request is bounded well below it
        "timeout": REQUEST_DEADLINE,
        "graceful_timeout": 35,  # > timeout: on SIGTERM every request that can still finish does
        "limit_request_line": settings.max_url_bytes,
        # No gunicornc control socket: every instance on a host would bind the same
        # ~/.gunicorn/gunicorn.ctl (the last one wins), and nothing here needs runtime control.
        "control_socket_disable": True,
    }


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.pass_obj
def serve(settings: Settings, host: str, port: int, workers: int) -> None:
    """Run the service under gunicorn (SQLite in INFOBUTTON_DATA_DIR unless
    INFOBUTTON_DATABASE_URL says otherwise), creating and seeding the database on first start."""
    # Lazy: gunicorn (and its arbiter machinery) only for the one command that serves.
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self):
            for key, value in gunicorn_options(host, port, workers, settings).items():
                self.cfg.set(key, value)

        def load(self):
            return create_app(settings, services=build_services(settings, titles=titles))

    # Every ICD-10-CM title's matches, built here and inherited by the workers, each of which
    # rebuilds its own when topics change.
    titles = TitleTable(keep_fresh=True)
    # The workers write their metrics to one directory, which /metrics adds up.
    with metrics.multiprocess_dir():
        # Migrate and seed once, in the arbiter, before any worker starts; the tables it warms
        # are inherited by the forked workers. Each worker then builds its own app (``load``).
        services = build_services(settings, titles=titles)
        log.info(
            "database ready: %s (schema %s, %s rules, %s topics)",
            redacted(settings.resolved_database_url),
            services.schema_head,
            f"{services.mappings.count():,}",
            f"{services.topics.count():,}",
        )
        log.info("matching every ICD-10-CM title to its topics before the workers start")
        services.knowledge.precompute_titles()
        services.close()
        Server().run()


for _group in (content_cli.topics, mappings_cli.admin, mappings_cli.mappings, store_cli.db):
    main.add_command(_group)
