"""Importing a whole MedlinePlus catalogue: parse and check the file first, then one transaction
that upserts every topic, withdraws the ones that disappeared, records the file's
``date-generated`` (and any sync validators) and bumps ``topic_version``, so every worker serves
the new content within ``INFOBUTTON_VERSION_CHECK_INTERVAL``. A failure anywhere changes nothing.

A file speaks for the sites its topics are on: the MedlinePlus export for medlineplus.gov, the
shipped ``professional-nci-pdq.xml`` for cancer.gov. Only topics on those sites can disappear
from it (be withdrawn), and its date is compared with the last file for the same sites, so a
MedlinePlus sync never withdraws the NCI summaries and importing the NCI file into a running
install neither withdraws nor re-dates the MedlinePlus catalogue.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from ..hosts import host, on_medlineplus
from ..models import Topic, TopicRef
from ..store import meta
from ..store.topics import ImportRefused, SqlTopicStore
from .medlineplus_xml import MAX_BYTES, InvalidCatalogue, read_catalogue

DATE_KEY = "catalogue_date_generated"
MAX_WITHDRAW = 0.5  # an import may withdraw at most half of the active topics unless forced


def sites(topics: list[Topic]) -> frozenset[str]:
    """The hosts a catalogue's topics are on (without www.)."""
    return frozenset(host(t.url) for t in topics)


def date_key(hosts: frozenset[str]) -> str:
    """Where a catalogue's ``date-generated`` is kept: ``DATE_KEY`` for a file with MedlinePlus
    pages (the MedlinePlus catalogue's date, as ever), else one key per set of sites."""
    if any(on_medlineplus(f"https://{name}/") for name in hosts):
        return DATE_KEY
    return f"{DATE_KEY}:{','.join(sorted(hosts))}"


@dataclass(frozen=True)
class ImportResult:
    source: str
    date_generated: str
    total: int
    counts: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        c = self.counts
        return (
            f"imported {self.total:,} topics from {self.source} (generated {self.date_generated}): "
            f"{c['added']} added, {c['updated']} updated, {c['unchanged']} unchanged, "
            f"{c['withdrawn']} withdrawn"
        )


def import_catalogue(
    store: SqlTopicStore,
    path: str | Path,
    *,
    source: str | None = None,
    force: bool = False,
    max_withdraw: float = MAX_WITHDRAW,
    max_bytes: int = MAX_BYTES,
    extra_meta: dict[str, str] | None = None,
) -> ImportResult:
    """Import a health-topics ``.xml``/``.zip`` all or nothing.

    Refused (InvalidCatalogue / ImportRefused, nothing changed): a file that fails
    ``read_catalogue``'s checks, a file generated before the one already imported for the same
    sites, or one that would withdraw more than ``max_withdraw`` of the active topics on its
    sites; ``force`` lifts the last two.
    """
    catalogue = read_catalogue(path, max_bytes=max_bytes)
    hosts = sites(catalogue.topics)
    key = date_key(hosts)
    db = store.db
    with db.transaction():
        previous = meta.get(db, key)
        if previous and catalogue.date_generated < previous and not force:
            raise ImportRefused(
                f"the file was generated {catalogue.date_generated}, before the catalogue already "
                f"imported ({previous}); nothing was changed (use --force to import it anyway)"
            )
        counts = store.upsert(
            catalogue.topics,
            withdraw_missing=True,
            withdraw_only=lambda url: host(url) in hosts,
            max_withdraw=None if force else max_withdraw,
            meta_values={key: catalogue.date_generated, **(extra_meta or {})},
        )
    return ImportResult(source or str(path), catalogue.date_generated, catalogue.total, counts)


__all__ = ["ImportRefused", "ImportResult", "InvalidCatalogue", "import_catalogue", "import_page"]


def merge_page(page: Topic, stored: Topic | None, store: SqlTopicStore) -> Topic:
    """A topic read from a page, completed from what the store already holds: fields the page
    does not carry (groups, MeSH headings, date created …) keep their stored values, and related
    topics named only by title take the stored topic's id and URL. The source stays the page's:
    the page's text is what is served."""
    related = []
    for ref in page.related:
        known = store.get(ref.id) or store.find_by_title(ref.title, page.language)
        related.append(TopicRef(known.id, ref.title, known.url) if known else ref)
    twin = page.twin
    if twin is not None and not twin.title:
        known = store.get(twin.id)
        twin = TopicRef(twin.id, known.title, twin.url) if known else twin
    topic = dataclasses.replace(page, related=tuple(related), twin=twin, status="active")
    if stored is None:
        return topic
    filled = {
        f.name: getattr(stored, f.name)
        for f in dataclasses.fields(Topic)
        if f.name not in ("id", "status", "source") and not getattr(topic, f.name) and getattr(stored, f.name)
    }
    return dataclasses.replace(topic, **filled)


def import_page(store: SqlTopicStore, page: Topic) -> tuple[Topic, dict[str, int]]:
    """Upsert one topic read from a topic page (merged with the stored one) in one transaction."""
    with store.db.transaction():
        topic = merge_page(page, store.get(page.id), store)
        counts = store.upsert([topic])
    return topic, counts
