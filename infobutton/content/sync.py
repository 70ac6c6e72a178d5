"""Refreshing the catalogue from upstream: conditional GET, then the same transactional import.

MedlinePlus publishes ``mplus_topics_YYYY-MM-DD.xml`` on working days; a URL containing
``{date}`` is tried for today and up to a week back, newest first. The ETag and Last-Modified of
the imported file are stored in the meta table with the import (same transaction), so the next
sync asks ``If-None-Match`` and a 304 costs nothing. Any failure leaves the catalogue as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from ..store import meta
from ..store.topics import SqlTopicStore
from .catalogue import ImportResult, import_catalogue
from .fetch import FetchError, FetchResult, fetch

log = logging.getLogger(__name__)

DEFAULT_URL = "https://medlineplus.gov/xml/mplus_topics_{date}.xml"
LOOKBACK_DAYS = 7
KEYS = ("sync_url", "sync_etag", "sync_last_modified")


class SyncError(Exception):
    """Sync failed; the current catalogue is unchanged and the message says why."""


@dataclass(frozen=True)
class SyncResult:
    url: str
    imported: ImportResult | None  # None when upstream answered 304 Not Modified

    def describe(self) -> str:
        if self.imported is None:
            return f"{self.url}: not modified since the last sync; catalogue unchanged"
        return self.imported.describe()


def candidate_urls(template: str, today: date | None = None) -> list[str]:
    if "{date}" not in template:
        return [template]
    today = today or date.today()
    return [template.format(date=(today - timedelta(days=n)).isoformat()) for n in range(LOOKBACK_DAYS + 1)]


def sync(
    store: SqlTopicStore,
    url: str = DEFAULT_URL,
    *,
    force: bool = False,
    today: date | None = None,
    fetcher: Callable[..., FetchResult] = fetch,
    **fetch_options,
) -> SyncResult:
    """Fetch the catalogue (conditionally) and import it. Raises SyncError."""
    db = store.db
    known = {key: meta.get(db, key) for key in KEYS}
    errors = []
    for candidate in candidate_urls(url, today):
        same = known["sync_url"] == candidate and not force
        try:
            result = fetcher(
                candidate,
                etag=known["sync_etag"] if same else "",
                last_modified=known["sync_last_modified"] if same else "",
                **fetch_options,
            )
        except FetchError as exc:
            errors.append(str(exc))
            if "HTTP 404" in str(exc) and "{date}" in url:
                continue  # not published that day: try the day before
            break
        if result.not_modified or result.path is None:  # no path: 304
            return SyncResult(candidate, None)
        try:
            imported = import_catalogue(
                store,
                result.path,
                source=candidate,
                force=force,
                extra_meta={
                    "sync_url": candidate,
                    "sync_etag": result.etag,
                    "sync_last_modified": result.last_modified,
                },
            )
        except ValueError as exc:  # InvalidCatalogue, ImportRefused
            raise SyncError(f"{candidate}: {exc}; the current catalogue is unchanged") from None
        finally:
            result.path.unlink(missing_ok=True)
        return SyncResult(candidate, imported)
    reason = errors[-1] if errors else "no URL to fetch"
    raise SyncError(f"{reason}; the current catalogue is unchanged")
