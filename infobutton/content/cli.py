"""``infobutton topics …``: import a catalogue file, import a topic page, sync from upstream, and
(re)build the shipped starter catalogue.

Each command runs in the app's context (``commands.script_info``; the database is never seeded
here, so an import into an empty database holds only what was imported), does its work in one
transaction and prints the counts; running services pick the change up through
``topic_version`` without a restart. Any failure exits with status 1 and says why; nothing is
changed.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import click
from flask.cli import with_appcontext

from ..commands import script_info
from ..services import current_services
from ..store.topics import ImportRefused
from .catalogue import MAX_WITHDRAW, import_catalogue, import_page
from .fetch import FetchError, fetch
from .medlineplus_xml import InvalidCatalogue
from .page import MAX_PAGE_BYTES, InvalidPage, parse_page
from .starter import build, list_date
from .sync import DEFAULT_URL, SyncError, sync


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


@contextlib.contextmanager
def _local_file(source: str, max_bytes: int | None = None):
    """A path for SOURCE: the file itself, or a URL downloaded to a temporary file."""
    if not _is_url(source):
        yield Path(source)
        return
    result = fetch(source, max_bytes=max_bytes) if max_bytes else fetch(source)
    if result.path is None:  # a 304, which only a conditional request may get
        raise click.ClickException(f"{source}: HTTP 304 to an unconditional request")
    try:
        yield result.path
    finally:
        result.path.unlink(missing_ok=True)


@click.group()
@click.pass_context
def topics(ctx: click.Context) -> None:
    """Topic content: MedlinePlus catalogue import, topic pages, upstream sync."""
    ctx.obj = script_info(seed=False)


@topics.command("import")
@click.argument("source")
@click.option(
    "--force",
    is_flag=True,
    help="Import even if the file is older than the current catalogue or would withdraw "
    "more than --max-withdraw of the active topics.",
)
@click.option(
    "--max-withdraw",
    type=click.FloatRange(0, 1),
    default=MAX_WITHDRAW,
    show_default=True,
    help="Largest fraction of active topics one import may withdraw.",
)
@with_appcontext
def import_command(source: str, force: bool, max_withdraw: float) -> None:
    """Import a MedlinePlus health-topics file (FILE or URL; .xml or .zip), all or nothing."""
    try:
        with _local_file(source) as path:
            result = import_catalogue(
                current_services().topics, path, source=source, force=force, max_withdraw=max_withdraw
            )
    except (InvalidCatalogue, ImportRefused, FetchError) as exc:
        raise click.ClickException(f"import refused: {exc}") from None
    click.echo(result.describe())


@topics.command("import-page")
@click.argument("source")
@with_appcontext
def import_page_command(source: str) -> None:
    """Import one MedlinePlus health topic page (HTML or plain-text rendering; FILE or URL)."""
    try:
        with _local_file(source, MAX_PAGE_BYTES) as path:
            if path.stat().st_size > MAX_PAGE_BYTES:
                raise InvalidPage(f"{source} is larger than the {MAX_PAGE_BYTES:,}-byte limit")
            page = parse_page(path.read_bytes(), base_url=source if _is_url(source) else "")
        topic, counts = import_page(current_services().topics, page)
    except (InvalidPage, FetchError, OSError) as exc:
        raise click.ClickException(f"import-page failed: {exc}") from None
    state = next((k for k in ("added", "updated") if counts[k]), "unchanged")
    click.echo(
        f"{topic.id} ({topic.title}) {state}: {len(topic.sites)} links in "
        f"{len({s.category for s in topic.sites})} sections, {len(topic.related)} related topics, "
        f"{len(topic.encyclopedia)} encyclopedia entries"
    )


@topics.command("sync")
@click.option(
    "--url",
    default=None,
    help="Catalogue URL; {date} is replaced by today's date and up to 7 days back. "
    f"Default: INFOBUTTON_SYNC_URL or {DEFAULT_URL}",
)
@click.option("--force", is_flag=True, help="Ignore stored validators and the import guards.")
@with_appcontext
def sync_command(url: str | None, force: bool) -> None:
    """Fetch the catalogue from upstream (conditional GET, retries) and import it."""
    services = current_services()
    try:
        result = sync(services.topics, url or services.settings.sync_url or DEFAULT_URL, force=force)
    except SyncError as exc:
        raise click.ClickException(f"sync failed: {exc}") from None
    click.echo(result.describe())


@topics.command("starter")
@click.option(
    "--seed",
    "seed_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A MedlinePlus topic page capture (e.g. ../shared/seeds/000_64b13ee4fbfd3c59.txt).",
)
@click.option(
    "--topics",
    "list_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A MedlinePlus topic list TSV (e.g. ../shared/medlineplus/topics-2024.tsv).",
)
@click.option(
    "--date",
    "export_date",
    default=None,
    help="The ISO date of the export the list was taken from (default: the known date of that list).",
)
@click.option(
    "--out",
    "out_dir",
    default="topics",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder the XML files are written to.",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if a file would change.")
def starter_command(seed_path: str, list_path: str, export_date: str | None, out_dir: str, check: bool) -> None:
    """Build the shipped starter catalogue (topics/*.xml) from a seed page and a topic list."""
    seed, topics_list = Path(seed_path), Path(list_path)
    try:
        date = export_date or list_date(topics_list.name)
        files = build(seed.read_bytes(), seed.name, topics_list.read_text(encoding="utf-8"), topics_list.name, date)
    except ValueError as exc:  # InvalidPage, InvalidTopicList, a non-MedlinePlus seed, bad UTF-8 or date
        raise click.ClickException(f"starter failed: {exc}") from None
    out = Path(out_dir)
    stale = [
        name
        for name, text in files.items()
        if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text
    ]
    if check:
        if stale:
            raise click.ClickException(f"out of date in {out}: {', '.join(stale)}")
        click.echo(f"{len(files)} files in {out} are up to date")
        return
    out.mkdir(parents=True, exist_ok=True)
    for name in stale:
        (out / name).write_text(files[name], encoding="utf-8")
    click.echo(f"wrote {len(stale)} of {len(files)} files to {out}: {', '.join(sorted(files))}")
