"""``infobutton db …``: the database schema's revision, and upgrading it to this version's head."""

from __future__ import annotations

import click

from ..config import Settings
from . import migrate


def _url() -> str:
    return Settings.from_env().resolved_database_url


@click.group("db")
def db() -> None:
    """The database schema (Alembic revisions shipped with infobutton)."""


@db.command("upgrade")
def upgrade() -> None:
    """Bring the database to the newest schema; safe to run while other instances start."""
    url = _url()
    legacy = migrate.is_legacy(url)
    before, after = migrate.upgrade(url)
    if legacy:
        before = f"release 0.1.0 (stamped {before})"
    if before == after:
        click.echo(f"{after}: already at head")
    else:
        click.echo(f"{before or 'empty'} -> {after}")


@db.command("current")
def current() -> None:
    """Print the database's schema revision and whether it is this version's head."""
    url, head = _url(), migrate.head()
    revision = migrate.current(url)
    if revision == head:
        click.echo(f"{revision} (head)")
    elif revision is not None:
        click.echo(f"{revision} (not head: `infobutton db upgrade` brings it to {head})")
    elif migrate.is_legacy(url):
        click.echo(f"none (a release 0.1.0 database: `infobutton db upgrade` stamps it {migrate.LEGACY})")
    else:
        click.echo(f"none (empty: `infobutton db upgrade` creates revision {head})")
