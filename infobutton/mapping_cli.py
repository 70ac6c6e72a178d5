"""``infobutton admin …`` (tokens) and ``infobutton mappings …`` (import, export, validate, list):
the API's operations for scripts. They go through the same services as the API, so the CLI
validates, audits and versions exactly as the API does. Tokens are printed once, never logged.
"""

from __future__ import annotations

import getpass
import sys

import click

from .config import Settings
from .models import InvalidRequest
from .store.tokens import ROLES


def _services():
    from .services import build_services

    return build_services(Settings.from_env())


def _actor(actor: str | None) -> str:
    if actor:
        return actor
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in some containers
        return "cli"


def _fail(exc: InvalidRequest) -> None:
    errors = getattr(exc, "errors", None)
    if errors:
        for e in errors:
            where = f"line {e['line']}: " if e.get("line") else ""
            click.echo(f"{where}{e.get('field', '')}: {e['message']}", err=True)
    else:
        click.echo(f"{exc.parameter}: {exc.message}", err=True)
    sys.exit(1)


# -- tokens ------------------------------------------------------------------------------------

@click.group("admin")
def admin() -> None:
    """API tokens for the admin API and web UI."""


@admin.command("create-token")
@click.option("--name", required=True, help="Who (or which script) holds the token.")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="viewer: read; editor: change mappings; admin: also manage tokens.")
def create_token(name: str, role: str) -> None:
    """Create a token; it is printed once, as the last line, and only its hash is stored."""
    services = _services()
    try:
        token = services.extra["tokens"].create(name, role)
    except InvalidRequest as exc:
        _fail(exc)
    finally:
        services.close()
    click.echo(f"Created token {name!r} (role {role}). Keep it secret; it is not shown again:",
               err=True)
    click.echo(token)


@admin.command("revoke-token")
@click.argument("name")
def revoke_token(name: str) -> None:
    """Revoke the token called NAME (effective at once, in every worker)."""
    services = _services()
    try:
        if not services.extra["tokens"].revoke(name):
            click.echo(f"no token named {name!r}", err=True)
            sys.exit(1)
    finally:
        services.close()
    click.echo(f"revoked {name}")


@admin.command("list-tokens")
def list_tokens() -> None:
    """Names, roles and dates of the tokens (never the tokens)."""
    services = _services()
    try:
        for t in services.extra["tokens"].list():
            click.echo(f"{t.name}\t{t.role}\tcreated {t.created_at}\tlast used {t.last_used_at or '-'}")
    finally:
        services.close()


# -- mappings ----------------------------------------------------------------------------------

@click.group("mappings")
def mappings() -> None:
    """Code → topic mappings: import, export, validate and list."""


@mappings.command("import")
@click.argument("path", type=click.File("r", encoding="utf-8-sig"))
@click.option("--mode", type=click.Choice(["merge", "replace"]), default="merge", show_default=True,
              help="merge adds and updates; replace also removes mappings the file lacks.")
@click.option("--dry-run", is_flag=True, help="Show the diff, write nothing.")
@click.option("--reason", default="", help="Why, for the audit log.")
@click.option("--actor", default=None, help="Name in the audit log (default cli:<user>).")
def import_(path, mode: str, dry_run: bool, reason: str, actor: str | None) -> None:
    """Import a CSV file (all lines valid, or nothing is written)."""
    services = _services()
    try:
        plan, version = services.extra["mapping_admin"].import_csv(
            path.read(), mode=mode, actor=_actor(actor), reason=reason, dry_run=dry_run)
    except InvalidRequest as exc:
        _fail(exc)
    finally:
        services.close()
    for rule in plan.added:
        click.echo(f"+ {rule.code_system.label} {rule.code} -> {rule.topic_id}")
    for before, after in plan.changed:
        click.echo(f"~ {after.code_system.label} {after.code} -> {after.topic_id}"
                   f" (priority {before.priority}->{after.priority})")
    for rule in plan.removed:
        click.echo(f"- {rule.code_system.label} {rule.code} -> {rule.topic_id}")
    summary = (f"{len(plan.added)} added, {len(plan.changed)} changed, {len(plan.removed)} removed,"
               f" {plan.unchanged} unchanged")
    if dry_run:
        click.echo(f"dry run: {summary}; nothing written")
    else:
        click.echo(f"{summary}; " + (f"version {version}" if version else "nothing to change"))


@mappings.command("export")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-",
              help="File to write (default: standard output).")
def export(output) -> None:
    """All mappings as CSV (imports back unchanged)."""
    services = _services()
    try:
        output.write(services.extra["mapping_admin"].export_csv())
    finally:
        services.close()


@mappings.command("validate")
@click.argument("path", type=click.File("r", encoding="utf-8-sig"))
def validate(path) -> None:
    """Check a CSV file as an import would (codes exist, topics served, no duplicates)."""
    from . import mapping_csv

    services = _services()
    try:
        rules, errors = mapping_csv.parse_checked(path.read(), services.knowledge.topic)
    finally:
        services.close()
    for e in errors:
        click.echo(f"line {e.line}: {e.field}: {e.message}", err=True)
    if errors:
        sys.exit(1)
    click.echo(f"{len(rules)} rules, all valid")


@mappings.command("list")
@click.option("--code-system", default=None, help="OID, URI or name.")
@click.option("--code", default=None)
@click.option("--topic", "topic_id", default=None)
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 100000))
def list_(code_system: str | None, code: str | None, topic_id: str | None, limit: int) -> None:
    """Mappings as tab-separated lines: id, system, code, topic, scope, priority, reason."""
    from . import terminology

    services = _services()
    try:
        system = terminology.code_system(code_system, "--code-system") if code_system else None
        if code and system:
            code = terminology.normalise(system, code)
        rules, total = services.mappings.find(code_system=system, code=code, topic_id=topic_id,
                                              limit=limit)
    except InvalidRequest as exc:
        _fail(exc)
    finally:
        services.close()
    for r in rules:
        click.echo("\t".join(str(v) for v in (r.id, r.code_system.label, r.code, r.topic_id,
                                               r.scope.value, r.priority, r.reason)))
    if total > len(rules):
        click.echo(f"… {total - len(rules)} more (use --limit)", err=True)
