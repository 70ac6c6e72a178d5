"""The cached read side of the responder: rule index, topics and rendered responses.

Every cache is bounded, lock-protected and has a named invalidation function next to it. No
database read happens under the lock: what is read is built aside and swapped in, so a slow query
holds up only the callers waiting for what it reads.
Writers bump a version counter in the database in the same transaction as their change; the
service compares the counters itself, at most every ``version_check_interval`` seconds, in its
read entry points, and drops what is stale, so a committed change is live in every worker and
instance within a second. Rendered responses are keyed by the versions they were built under.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import cachetools
import sqlalchemy.exc

from . import resolver, terminology
from .concepts import ConceptIndex, ConceptMatch
from .expiring import ExpiringMap
from .footprint import footprint
from .models import KnowledgeRequest, Topic, TopicMatch

T = TypeVar("T")
log = logging.getLogger(__name__)


def _ignore(_result: str) -> None:
    pass


TITLES_PER_PAUSE = 64  # a background build lets the request threads run this often
CONCEPT_MATCH_BYTES = 8 * 1024 * 1024  # texts' concept matches kept per worker


def match_titles(index: ConceptIndex, pause: bool = False) -> dict[str, list[ConceptMatch]]:
    """Every ICD-10-CM title that is a whole name of a topic of ``index`` (``ConceptIndex.named``),
    with its matches (some seconds).
    ``pause``: give up the interpreter every TITLES_PER_PAUSE titles (a build beside requests)."""
    table = {}
    for n, title in enumerate(terminology.titles()):
        found = index.named(title)
        if found:
            table[title] = found
        if pause and n % TITLES_PER_PAUSE == 0:
            time.sleep(0)
    return table


class TitleTable:
    """Every ICD-10-CM title's automatic matches (only the titles that match something), for one
    catalogue (``ConceptIndex.signature``). ``serve`` builds it in the gunicorn arbiter before it
    forks and hands the same table to every worker's services, so the workers inherit it instead
    of matching titles per request. A service whose catalogue differs (changed since) does not use
    it and matches live; with ``keep_fresh`` (``serve``) it then builds the table for its
    catalogue in a thread of its own rather than matching titles live until it restarts."""

    def __init__(self, keep_fresh: bool = False):
        self.keep_fresh = keep_fresh
        self._built: tuple[tuple, dict[str, list[ConceptMatch]]] | None = None  # swapped whole

    def for_catalogue(self, index: ConceptIndex) -> dict[str, list[ConceptMatch]] | None:
        """The table, when it was built for ``index``'s catalogue."""
        built = self._built
        return built[1] if built is not None and built[0] == index.signature else None

    def build(self, index: ConceptIndex, pause: bool = False) -> dict[str, list[ConceptMatch]]:
        """The table for ``index``'s catalogue: the one held, else matched now (some seconds;
        ``pause`` as ``match_titles``) and held from then on."""
        table = self.for_catalogue(index)
        if table is None:
            table = match_titles(index, pause)
            self._built = (index.signature, table)
        return table


class ResponseCache:
    """Rendered responses for ``ttl`` seconds, at most ``maxsize`` of them and ``max_bytes`` of
    answers and keys together (``footprint``), in an ``ExpiringMap``: read without a lock, written
    under the caller's lock, the oldest first to go. An entry larger than ``max_bytes`` //
    ENTRY_FRACTION is not kept: a few huge answers never push out every other."""

    ENTRY_FRACTION = 64

    def __init__(self, maxsize: int, ttl: float, timer: Callable[[], float], max_bytes: int = 16 * 1024 * 1024):
        self.ttl, self._timer = ttl, timer
        self.entries: ExpiringMap = ExpiringMap(maxsize, max_bytes)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def bytes(self) -> int:
        """What the entries hold, by ``footprint``."""
        return self.entries.bytes

    def get(self, key):
        return self.entries.get(key, self._timer())

    def put(self, key, value) -> bool:
        """Under the owner's lock; whether the entry was kept (False: too large)."""
        size = footprint(key) + footprint(value)
        if size > self.entries.max_bytes // self.ENTRY_FRACTION:
            return False
        now = self._timer()
        self.entries.put(key, value, now + self.ttl, now, size)
        return True

    def clear(self) -> None:
        self.entries.clear()


class KnowledgeService:
    """Rules, topics, concept matches and rendered responses, each cached and kept fresh here:
    every read entry point checks the version counters (at most once per ``check_interval``
    seconds, on the injected ``timer``), so no caller has to."""

    def __init__(
        self,
        db,
        topics,
        mappings,
        *,
        max_topics: int = 3,
        response_ttl: float = 300.0,
        response_size: int = 4096,
        response_bytes: int = 16 * 1024 * 1024,
        check_interval: float = 0.2,
        timer: Callable[[], float] = time.monotonic,
        search: resolver.TextSearch | None = None,
        upstream: resolver.CodeLookup | None = None,
        translate: resolver.Translate | None = None,
        titles: TitleTable | None = None,
        shared=None,
        on_cache: Callable[[str], None] | None = None,
    ):
        self.db = db
        self.topics = topics
        self.mappings = mappings
        self.max_topics = max_topics
        self.search = search
        self.upstream = upstream
        self.translate = translate
        self.titles = titles if titles is not None else TitleTable()  # shared with forked workers
        self.shared = shared  # optional second level shared by instances (shared_cache)
        self._on_cache = on_cache or _ignore  # told "hit", "shared_hit" or "miss" (metrics)
        self._timer = timer
        self._check_interval = check_interval
        self._lock = threading.RLock()  # guards the caches and _seen; never held over database I/O
        # One rebuild of the rule index, and one of the concept index, at a time: the database is
        # read and the index built outside _lock, then swapped in (a slow read stalls only the
        # callers that need that index, not every cache miss in the worker).
        self._building_rules = threading.Lock()
        self._building_concepts = threading.Lock()
        self._checking = threading.Lock()  # one version check at a time
        self._unreachable = False  # the last version check failed (logged once per outage)
        self._rules: dict | None = None
        self._topic_cache: cachetools.LRUCache = cachetools.LRUCache(maxsize=4096)
        self._concepts: ConceptIndex | None = None
        self._title_matches: dict[str, list[ConceptMatch]] | None = None  # titles', if ours
        self._title_builder: threading.Thread | None = None  # rebuilding the table (kept fresh)
        # Keyed by the texts requests send (display names, up to 512 characters each): bounded in
        # bytes, each entry (key size, matches) counted by its key and matches.
        self._concept_matches: cachetools.LRUCache = cachetools.LRUCache(
            maxsize=CONCEPT_MATCH_BYTES, getsizeof=lambda entry: entry[0]
        )
        # Keyed by (versions, key): a response built under old versions can never be served
        # under new ones, even when it is stored after the change was noticed.
        self._responses = ResponseCache(response_size, response_ttl, timer, response_bytes)
        # Versions as of construction: a change committed after this point is always noticed,
        # even if caches were filled before the first check.
        self._seen: tuple[int, int] = self._read_versions()
        self._checked_at = timer()

    # -- freshness ---------------------------------------------------------------------------

    def _read_versions(self) -> tuple[int, int]:
        rows = dict(self.db.query("SELECT key, value FROM meta WHERE key IN ('mapping_version', 'topic_version')"))
        return int(rows.get("mapping_version", 0)), int(rows.get("topic_version", 0))

    def refresh_if_stale(self) -> tuple[int, int]:
        """The versions the caches hold, after reading the counters if ``check_interval`` has
        passed since the last read. Called by every read below; while another thread is
        reading the counters, the others go on with what they hold."""
        if self._timer() - self._checked_at >= self._check_interval and self._checking.acquire(blocking=False):
            try:
                if self._timer() - self._checked_at >= self._check_interval:  # not just done by another
                    self._checked_at = self._timer()
                    self._check()
            finally:
                self._checking.release()
        return self._seen

    def _check(self) -> None:
        """Read the counters and adopt them. When the database cannot be read, what is held
        stays in use (a cached answer is still the right one as far as anyone here can know);
        the check is tried again next interval, and the outage is logged once, not per check."""
        try:
            seen = self._read_versions()
        except sqlalchemy.exc.SQLAlchemyError as exc:
            if not self._unreachable:
                self._unreachable = True
                log.warning("version check failed (%s); serving cached answers until it succeeds", type(exc).__name__)
            return
        if self._unreachable:
            self._unreachable = False
            log.warning("version check succeeded again")
        self._apply(seen)

    def refresh_now(self) -> None:
        """After a write in this process: read the counters at once rather than next interval
        (waiting for a check under way, which may have read them before the write)."""
        with self._checking:
            self._checked_at = self._timer()
            self._apply(self._read_versions())

    def _apply(self, seen: tuple[int, int]) -> None:
        """Adopt ``seen`` and drop what it makes stale, in one step under the lock."""
        with self._lock:
            if seen == self._seen:
                return
            mapping_changed, topic_changed = seen[0] != self._seen[0], seen[1] != self._seen[1]
            self._seen = seen
            if mapping_changed:
                self.invalidate_mappings()
            if topic_changed:
                self.invalidate_topics()

    def invalidate_mappings(self) -> None:
        """Drop the rule index and every rendered response (mappings changed)."""
        with self._lock:
            self._rules = None
            self._responses.clear()

    def invalidate_topics(self) -> None:
        """Drop cached topics and every rendered response (topic content changed)."""
        with self._lock:
            self._topic_cache.clear()
            self._concepts = None
            self._title_matches = None
            self._concept_matches.clear()
            self._responses.clear()

    # -- reads -------------------------------------------------------------------------------

    def rules(self) -> dict:
        """The rule index: read from the database and built without ``_lock``, then swapped in
        unless a change was noticed meanwhile (then used for this call only)."""
        self.refresh_if_stale()
        held = self._rules
        if held is not None:
            return held
        with self._building_rules:
            with self._lock:
                seen, held = self._seen, self._rules
            if held is not None:  # built by the thread this one waited for
                return held
            built = resolver.index_rules(self.mappings.rules())
            with self._lock:
                if self._seen == seen:
                    self._rules = built
            return built

    def topic(self, topic_id: str) -> Topic | None:
        seen = self.refresh_if_stale()
        with self._lock:
            if topic_id in self._topic_cache:
                return self._topic_cache[topic_id]
        topic = self.topics.get(topic_id)
        with self._lock:
            if self._seen == seen:  # a change noticed meanwhile may have made this read stale
                self._topic_cache[topic_id] = topic
        return topic

    def concept_index(self) -> ConceptIndex:
        """Every active topic's names, indexed for automatic matching; rebuilt when topics change,
        as ``rules`` is: read and built without ``_lock``, then swapped in."""
        self.refresh_if_stale()
        held = self._concepts
        if held is not None:
            return held
        with self._building_concepts:
            with self._lock:
                seen, held = self._seen, self._concepts
            if held is not None:
                return held
            index = ConceptIndex(self.topics.all())
            with self._lock:
                if self._seen != seen:
                    return index
                self._concepts = index
                self._title_matches = self.titles.for_catalogue(index)
                if self._title_matches is None and self.titles.keep_fresh and self._title_builder is None:
                    self._title_builder = threading.Thread(target=self._build_titles, name="title-table", daemon=True)
                    self._title_builder.start()
            return index

    def precompute_titles(self) -> None:
        """Match every ICD-10-CM title against the current catalogue now (some seconds), into
        ``titles`` (for this process and the workers it forks); ``title_names`` then looks
        answers up."""
        index = self.concept_index()
        table = self.titles.build(index)
        with self._lock:
            if self._concepts is index:
                self._title_matches = table

    def _build_titles(self) -> None:
        """The title table for the current catalogue, built beside the requests (which match
        live meanwhile); again if the catalogue changed while it was being built."""
        while True:
            with self._lock:
                index = self._concepts
                if index is None or self._title_matches is not None:
                    self._title_builder = None  # the next new index starts another build
                    return
            table = self.titles.build(index, pause=True)
            with self._lock:
                if self._concepts is index:
                    self._title_matches = table

    def title_names(self, title: str) -> list[ConceptMatch]:
        """``named`` for an ICD-10-CM title: from the precomputed table when it was built for
        this catalogue, else matched live."""
        self.refresh_if_stale()
        table = self._title_matches
        if table is None and self._concepts is None:
            self.concept_index()
            table = self._title_matches
        if table is not None:
            return table.get(title, [])
        return self.named(title)

    def title_lookups(self) -> tuple[resolver.ConceptLookup, resolver.ConceptLookup]:
        """(``title_names``, ``concepts``) for one pass over many titles (coverage): bound to the
        current catalogue, without a freshness check or a shared cache per title."""
        index = self.concept_index()
        with self._lock:
            table = self._title_matches if self._concepts is index else None
        named = functools.cache(index.named) if table is None else (lambda title: table.get(title, []))
        return named, functools.cache(index.match)

    def concepts(self, text: str) -> list[ConceptMatch]:
        """Topics whose whole name is anywhere in a text (``ConceptIndex.match``: free text, and
        the evidence of suggestions), cached per text."""
        return self._matched(text, "anywhere")

    def named(self, text: str) -> list[ConceptMatch]:
        """Topics one of whose names is the whole text (``ConceptIndex.named``: the automatic
        layer's evidence), cached per text."""
        return self._matched(text, "whole")

    def _matched(self, text: str, how: str) -> list[ConceptMatch]:
        seen = self.refresh_if_stale()
        key = (how, text)
        with self._lock:
            hit = self._concept_matches.get(key)
        if hit is not None:
            return hit[1]
        index = self.concept_index()
        found = index.named(text) if how == "whole" else index.match(text)
        with self._lock:
            if self._seen == seen:
                self._concept_matches[key] = (footprint(text) + footprint(found), found)
        return found

    def resolve(self, request: KnowledgeRequest, limit: int | None = None) -> list[TopicMatch]:
        self.refresh_if_stale()
        return resolver.resolve(
            request,
            self.rules(),
            self.topic,
            limit or self.max_topics,
            search=self.search,
            upstream=self.upstream,
            concepts=self.concepts,
            translate=self.translate,
            named=self.named,
            title_names=self.title_names,
        )

    # -- rendered responses ------------------------------------------------------------------

    def cached_response(self, key, build: Callable[[], T]) -> T:
        """A rendered response for ``key`` under the current versions: from this worker's cache,
        else the shared cache, else built here and kept in both."""
        versions = self.refresh_if_stale()
        hit = self._responses.get((versions, key))  # lock-free: see ResponseCache
        if hit is not None:
            self._on_cache("hit")
            return hit
        value = self.shared.get(versions, key) if self.shared is not None else None
        self._on_cache("miss" if value is None else "shared_hit")
        if value is None:
            value = build()
            if self.shared is not None:
                self.shared.put(versions, key, value)
        with self._lock:
            self._responses.put((versions, key), value)
        return value
