"""``infobutton admin …`` (tokens) and ``infobutton mappings …`` (import, export, validate, list):
the API's operations for scripts. They go through the same services as the API, so the CLI
validates, audits and versions exactly as the API does. Tokens are printed once, never logged.
"""

from __future__ import annotations

import getpass
import sys

import click
from flask.cli import with_appcontext

from .. import terminology
from ..commands import script_info
from ..models import ROLES, InvalidRequest
from ..services import current_services
from . import coverage, csv_io
from .constraints import conditions
from .service import MAX_REMOVE, MAX_REMOVE_FRACTION
from .suggestions import parse_pair
from .validation import FIELDS

LIST_LIMIT = 1000  # rules ``mappings list`` shows unless told


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
@click.pass_context
def admin(ctx: click.Context) -> None:
    """API tokens for the admin API and web UI."""
    ctx.obj = script_info()


@admin.command("create-token")
@click.option("--name", required=True, help="Who (or which script) holds the token.")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    required=True,
    help="viewer: read; editor: change mappings; admin: also manage tokens.",
)
@with_appcontext
def create_token(name: str, role: str) -> None:
    """Create a token; it is printed once, as the last line, and only its hash is stored."""
    try:
        token = current_services().tokens.create(name, role)
    except InvalidRequest as exc:
        _fail(exc)
    click.echo(f"Created token {name!r} (role {role}). Keep it secret; it is not shown again:", err=True)
    click.echo(token)


@admin.command("revoke-token")
@click.argument("name")
@with_appcontext
def revoke_token(name: str) -> None:
    """Revoke the token called NAME (effective at once, in every worker)."""
    if not current_services().tokens.revoke(name):
        click.echo(f"no token named {name!r}", err=True)
        sys.exit(1)
    click.echo(f"revoked {name}")


@admin.command("list-tokens")
@with_appcontext
def list_tokens() -> None:
    """Names, roles and dates of the tokens (never the tokens)."""
    for t in current_services().tokens.list():
        click.echo(f"{t.name}\t{t.role}\tcreated {t.created_at}\tlast used {t.last_used_at or '-'}")


# -- mappings ----------------------------------------------------------------------------------


@click.group("mappings")
@click.pass_context
def mappings(ctx: click.Context) -> None:
    """Code → topic mappings: import, export, validate and list."""
    ctx.obj = script_info()


@mappings.command("import")
@click.argument("path", type=click.File("r", encoding="utf-8-sig"))
@click.option(
    "--mode",
    type=click.Choice(["merge", "replace"]),
    default="merge",
    show_default=True,
    help="merge adds and updates; replace also removes mappings the file lacks.",
)
@click.option("--dry-run", is_flag=True, help="Show the diff, write nothing.")
@click.option(
    "--force",
    is_flag=True,
    help=f"Let a replace remove more than {MAX_REMOVE} mappings or {MAX_REMOVE_FRACTION:.0%} of them.",
)
@click.option("--reason", default="", help="Why, for the audit log.")
@click.option("--actor", default=None, help="Name in the audit log (default cli:<user>).")
@with_appcontext
def import_(path, mode: str, dry_run: bool, force: bool, reason: str, actor: str | None) -> None:
    """Import a CSV file (all lines valid, or nothing is written)."""
    try:
        plan, version = current_services().mapping_admin.import_csv(
            path.read(), mode=mode, actor=_actor(actor), reason=reason, dry_run=dry_run, force=force
        )
    except InvalidRequest as exc:
        if exc.parameter == "force":
            exc = InvalidRequest("--force", f"{exc.message} (use --force to import anyway)", exc.status)
        _fail(exc)
    for rule in plan.added:
        click.echo(f"+ {_brief(rule)}")
    for before, after in plan.changed:
        click.echo(f"~ {_brief(after)} (priority {before.priority}->{after.priority})")
    for rule in plan.removed:
        click.echo(f"- {_brief(rule)}")
    summary = (
        f"{len(plan.added)} added, {len(plan.changed)} changed, {len(plan.removed)} removed, {plan.unchanged} unchanged"
    )
    if dry_run:
        click.echo(f"dry run: {summary}; nothing written")
        if plan.guard:
            click.echo(f"warning: {plan.guard.removesuffix('; nothing was changed')}: --force", err=True)
    else:
        click.echo(f"{summary}; " + (f"version {version}" if version else "nothing to change"))


def _brief(rule) -> str:
    """A rule in a diff line: code -> topic, and its conditions, if any, in brackets (two rules
    that differ only by a condition must not look alike)."""
    found = conditions(rule)
    return f"{rule.code_system.label} {rule.code} -> {rule.topic_id}" + (f" [{', '.join(found)}]" if found else "")


@mappings.command("export")
@click.option(
    "-o",
    "--output",
    type=click.File("w", encoding="utf-8"),
    default="-",
    help="File to write (default: standard output).",
)
@with_appcontext
def export(output) -> None:
    """All mappings as CSV (imports back unchanged)."""
    output.write(current_services().mapping_admin.export_csv())


@mappings.command("validate")
@click.argument("path", type=click.File("r", encoding="utf-8-sig"))
@with_appcontext
def validate(path) -> None:
    """Check a CSV file as an import would (codes exist, topics served, no duplicates)."""
    rules, errors = csv_io.parse_checked(path.read(), current_services().knowledge.topic)
    for e in errors:
        click.echo(f"line {e.line}: {e.field}: {e.message}", err=True)
    if errors:
        sys.exit(1)
    click.echo(f"{len(rules)} rules, all valid")


@mappings.command("list")
@click.option("--code-system", default=None, help="OID, URI or name.")
@click.option("--code", default=None)
@click.option("--topic", "topic_id", default=None)
@click.option("--limit", default=LIST_LIMIT, show_default=True, type=click.IntRange(1, 100000))
@click.option(
    "--chapter",
    is_flag=False,
    flag_value="all",
    default=None,
    metavar="[N]",
    help="Instead of the mappings: ICD-10-CM billable codes answered per chapter, by layer"
    " (curated, automatic) and unanswered; with a chapter number (1-22), per category of that chapter.",
)
@with_appcontext
def list_(code_system: str | None, code: str | None, topic_id: str | None, limit: int, chapter: str | None) -> None:
    """Mappings as tab-separated lines under a header: the id, then every field of the rule, its
    conditions included (scope, priority, age range in years, gender, and the audience, task,
    setting, language and age group limits, several codes separated by spaces; "-" when unset);
    no header when nothing matches. With --chapter, what the mappings cover instead."""
    if chapter is not None:
        _coverage(chapter)
        return
    try:
        system = terminology.code_system(code_system, "--code-system") if code_system else None
        if code and system:
            code = terminology.normalise(system, code)
        rules, total = current_services().mappings.find(code_system=system, code=code, topic_id=topic_id, limit=limit)
    except InvalidRequest as exc:
        _fail(exc)
    if rules:
        click.echo("\t".join(("id", *FIELDS)))
    for r in rules:
        click.echo("\t".join(_listed(r)))
    if total > len(rules):
        click.echo(f"… {total - len(rules)} more (use --limit)", err=True)


def _coverage(chapter: str) -> None:
    """The coverage table (``mappings.coverage``): every chapter, or one chapter's categories, and
    a total line."""
    report = current_services().coverage
    try:
        rows = report.chapters() if chapter == "all" else report.categories(chapter.strip())
    except KeyError:
        _fail(InvalidRequest("--chapter", f"{chapter!r} is not an ICD-10-CM chapter: give 1 to 22, or none for all"))
    kind = "chapter" if chapter == "all" else "category"
    click.echo("\t".join((kind, "billable", "curated", "automatic", "unanswered", "title")))
    for row in [
        *rows,
        coverage.total(rows, "All chapters" if chapter == "all" else f"All categories of chapter {chapter}"),
    ]:
        cells = (row.key or "all", row.billable, row.curated, row.automatic, row.unanswered, row.title)
        click.echo("\t".join(str(cell) for cell in cells))


def _listed(rule) -> list[str]:
    """A rule's id and every field (``validation.FIELDS``, the context limits included), as
    ``list`` shows them."""
    return [str(rule.id)] + [_shown(cell) for cell in csv_io.cells(rule)]


def _shown(cell: str) -> str:
    return cell.replace("\t", " ").replace("\n", " ") if cell else "-"


# -- suggestions -------------------------------------------------------------------------------


def _pairs(values: tuple[str, ...], option: str) -> list[dict]:
    items = []
    for value in values:
        try:
            code, topic_id = parse_pair(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint=option) from None
        items.append({"code_system": "ICD-10-CM", "code": code, "topic_id": topic_id})
    return items


def _show(suggestion) -> None:
    verdict = "confident" if suggestion.confident else "review"
    click.echo(
        f"{suggestion.code} -> {suggestion.topic_id}\t{suggestion.topic_title}\t{suggestion.scope.value}\t{verdict}"
    )
    click.echo(f"    evidence: {suggestion.evidence.sentence()}")
    for doubt in suggestion.doubts:
        click.echo(f"    doubt: {doubt}")
    covers = ", ".join(suggestion.covers[:10])
    more = f" and {len(suggestion.covers) - 10} more" if len(suggestion.covers) > 10 else ""
    click.echo(f"    covers: {covers}{more}")


@mappings.command("suggest")
@click.option("--codes", default=None, help="ICD-10-CM codes, comma-separated (C91,E11.9).")
@click.option("--gaps", is_flag=True, help="The gap report's codes.")
@click.option(
    "--days",
    default=30,
    show_default=True,
    type=click.IntRange(1, 3650),
    help="With --gaps: codes requested in the last N days.",
)
@click.option("--prefix", default=None, help="Every billable ICD-10-CM code under a prefix (E11).")
@click.option(
    "--apply", "apply_", is_flag=True, help="Accept the confident suggestions as curated rules (one version)."
)
@click.option(
    "--reject", multiple=True, metavar="CODE:TOPIC", help="Never suggest TOPIC for CODE (and below) again; repeatable."
)
@click.option("--unreject", multiple=True, metavar="CODE:TOPIC", help="Lift a rejection; repeatable.")
@click.option("--rejected", "list_rejected", is_flag=True, help="List the rejected suggestions.")
@click.option("--reason", default="", help="Why, for the audit log.")
@click.option("--actor", default=None, help="Name in the audit log (default cli:<user>).")
@with_appcontext
def suggest(codes, gaps, days, prefix, apply_, reject, unreject, list_rejected, reason, actor):
    """Propose code -> topic mappings from the codes' official ICD-10-CM titles, with evidence.

    A suggestion sits on the category or subcategory whose own title holds the topic's name
    (scope descendants). It is confident when that title holds no other topic, no curated rule
    reaches the code or maps a code below it, and the topic was not rejected below it; --apply
    accepts only those."""
    rejects, unrejects = _pairs(reject, "--reject"), _pairs(unreject, "--unreject")
    if apply_ and not (codes or gaps or prefix):
        raise click.UsageError("--apply needs --codes, --gaps or --prefix")
    if not (codes or gaps or prefix or rejects or unrejects or list_rejected):
        raise click.UsageError("give --codes, --gaps or --prefix (or --reject/--unreject/--rejected)")
    admin = current_services().suggestions
    who = _actor(actor)
    try:
        for key in admin.reject(rejects, who, reason) if rejects else ():
            click.echo(f"rejected {key[1]} -> {key[2]}")
        for key in admin.unreject(unrejects, who, reason) if unrejects else ():
            click.echo(f"un-rejected {key[1]} -> {key[2]}")
        if list_rejected:
            for r in admin.rejections.all():
                click.echo(f"rejected\t{r.code}\t{r.topic_id}\t{r.actor}\t{r.at}\t{r.reason}")
        if not (codes or gaps or prefix):
            return
        found = admin.suggest(admin.codes(codes=codes, prefix=prefix, gaps=gaps, days=days))
        for suggestion in found:
            _show(suggestion)
        confident = sum(s.confident for s in found)
        click.echo(f"{len(found)} suggestion(s), {confident} confident")
        if apply_:
            rules, version = admin.apply(found, who, reason)
            if version is None:
                click.echo("nothing to apply")
            else:
                click.echo(f"applied {len(rules)} as curated rules: version {version}")
    except InvalidRequest as exc:
        _fail(exc)
