"""``infobutton db …``: the database schema's revision, and upgrading it to this version's head
with this version's shipped content merged in (``bundled.merge``)."""

from __future__ import annotations

import click

from .. import bundled
from ..config import Settings
from . import migrate, open_stores


@click.group("db")
def db() -> None:
    """The database schema (Alembic revisions shipped with infobutton)."""


@db.command("upgrade")
def upgrade() -> None:
    """Bring the database to the newest schema and merge this version's shipped topics and rules
    (unless INFOBUTTON_SEED is off); safe to run while other instances start."""
    settings = Settings.from_env()
    url = settings.resolved_database_url
    legacy = migrate.is_legacy(url)
    before, after = migrate.upgrade(url)
    if legacy:
        before = f"release 0.1.0 (stamped {before})"
    if before == after:
        click.echo(f"{after}: already at head")
    else:
        click.echo(f"{before or 'empty'} -> {after}")
    if not settings.seed:
        click.echo("shipped content: not merged (INFOBUTTON_SEED is off)")
        return
    merged: list[bundled.MergeResult | None] = []
    database, _, _ = open_stores(url, prepare=lambda topics, mappings: merged.append(bundled.merge(topics, mappings)))
    database.close()
    result = merged[0]
    if result is None:
        click.echo("shipped content: already merged")
    elif result.version is None:
        click.echo(f"shipped content: nothing to change ({result.summary()})")
    else:
        click.echo(f"shipped content: version {result.version}: {result.summary()}")
        for conflict in result.conflicts:
            click.echo(f"  conflict: {conflict}")


@db.command("current")
def current() -> None:
    """Print the database's schema revision and whether it is this version's head."""
    url, head = Settings.from_env().resolved_database_url, migrate.head()
    revision = migrate.current(url)
    if revision == head:
        click.echo(f"{revision} (head)")
    elif revision is not None:
        click.echo(f"{revision} (not head: `infobutton db upgrade` brings it to {head})")
    elif migrate.is_legacy(url):
        click.echo(f"none (a release 0.1.0 database: `infobutton db upgrade` stamps it {migrate.LEGACY})")
    else:
        click.echo(f"none (empty: `infobutton db upgrade` creates revision {head})")
