"""Usage counting for the gap report: which requested codes found no topic.

``UsageRecorder.record`` is an ``on_answer`` hook: it adds one count per coded criterion to an
in-memory buffer (no I/O on the answer path) and writes the buffer as one short UPSERT
transaction every ``flush_every`` answers or ``flush_seconds``. Only code system, code and day
are kept; age, gender and everything else about the patient is dropped here.

Bounded, so nobody can flood the gap report or the disk: only codes the service knows
(``known_codes``: in ICD-10-CM, the GEM's ICD-9-CM, the SNOMED CT map file, the RxNorm list) get
rows of their own; every other code, made up or of a system without data here, is counted in one
row per code system and day (``store.usage.UNKNOWN``). Each client (its address) adds at most
``codes_per_minute`` distinct codes a minute in each process, and rows older than ``keep_days``
days are deleted at a flush, once a day.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

from . import resolver, terminology
from .crosswalk import Crosswalk
from .expiring import ExpiringMap
from .footprint import footprint
from .known_codes import KnownCodes
from .models import Code, CodeSystem, KnowledgeRequest
from .store.usage import UNKNOWN, SqlUsageStore

log = logging.getLogger(__name__)
MAX_CODE_LENGTH = 64
MAX_CLIENTS = 10_000  # clients whose codes of the minute are remembered; the oldest minute goes first
MINUTE = 60.0
MAX_REQUESTS_KEPT = 4096  # requests whose counted codes are remembered
REQUESTS_KEPT_BYTES = 4 * 1024 * 1024  # and the bytes they may hold (keys are request-sized)


def _today() -> date:
    return datetime.now(timezone.utc).date()


class UsageRecorder:
    def __init__(
        self,
        store: SqlUsageStore,
        knowledge,
        *,
        known: KnownCodes | None = None,
        flush_every: int = 1000,
        flush_seconds: float = 5.0,
        timer: Callable[[], float] = time.monotonic,
        today: Callable[[], date] = _today,
        keep_days: int = 400,
        codes_per_minute: int = 300,
    ):
        self.store = store
        self.knowledge = knowledge
        self.known = known if known is not None else KnownCodes(Crosswalk())
        self.flush_every = flush_every
        self.flush_seconds = flush_seconds
        self._timer = timer
        self._today = today
        self._lock = threading.Lock()
        self._buffer: dict[tuple[str, str, str], list[int]] = {}
        self._pending = 0
        self._flushed_at = timer()
        self.keep_days = keep_days
        self.codes_per_minute = codes_per_minute
        # client -> the codes counted for it in its current minute, oldest minute first
        self._recent: ExpiringMap[str, set] = ExpiringMap(MAX_CLIENTS)
        self._pruned_on: str | None = None
        self._day: tuple[date, str] | None = None  # today and its ISO spelling, made once a day
        # request cache_key → its counted codes (what is known does not change while a process runs)
        self._counted: dict[str, tuple[tuple[Code, str, str], ...]] = {}
        self._counted_bytes = 0

    def mapped(self, code: Code) -> bool:
        """Whether any current rule reaches the code (whatever the patient context)."""
        return bool(resolver.matches_for_code(code, self.knowledge.rules()))

    def record(self, request: KnowledgeRequest, answered: frozenset[Code], client: str = "") -> None:
        """The on_answer hook: count each coded criterion, and whether a mapping rule answered it;
        ``client`` (the caller's address) has its own share of new codes a minute.

        ``answered`` was worked out once when the response was built, so a cached answer costs
        a set lookup here, not another resolution."""
        codes = self._counted.get(request.cache_key)
        if codes is None:
            codes = self._counted_codes(request)
        if not codes:
            return
        day = self._iso_day()
        now = self._timer()
        # A topic found only by text search or upstream still leaves a gap for the librarians.
        outcomes = [((day, system, value), bool(answered) and code in answered) for code, system, value in codes]
        with self._lock:
            recent = self._recent_codes(client, now)
            for key, matched in outcomes:
                if key not in recent:
                    if len(recent) >= self.codes_per_minute:
                        continue  # this client's share of new codes for the minute is used up
                    recent.add(key)
                counts = self._buffer.get(key)
                if counts is None:
                    counts = self._buffer[key] = [0, 0]
                counts[0] += 1
                counts[1] += 0 if matched else 1
            self._pending += 1
            due = self._pending >= self.flush_every or now - self._flushed_at >= self.flush_seconds
        if due:
            self.flush()

    def _counted_codes(self, request: KnowledgeRequest) -> tuple[tuple[Code, str, str], ...]:
        """The request's codes with the system name and value they are counted under (UNKNOWN
        for a code the service does not know); kept per request (``cache_key``), as the same
        requests come again and again."""
        codes = tuple(
            (c.code, c.code.system.name, c.code.value if self._known(c.code) else UNKNOWN)
            for c in request.criteria
            if c.code is not None
        )
        size = footprint(request.cache_key) + footprint(codes)
        if len(self._counted) >= MAX_REQUESTS_KEPT or self._counted_bytes + size > REQUESTS_KEPT_BYTES:
            self._counted = {}  # a rebuild costs a validity check per code: no LRU bookkeeping
            self._counted_bytes = 0
        self._counted[request.cache_key] = codes
        self._counted_bytes += size
        return codes

    def _known(self, code: Code) -> bool:
        return len(code.value) <= MAX_CODE_LENGTH and code in self.known

    def _iso_day(self) -> str:
        today = self._today()
        if self._day is None or self._day[0] != today:
            self._day = (today, today.isoformat())
        return self._day[1]

    def _recent_codes(self, client: str, now: float) -> set:
        """The codes counted for ``client`` in its current minute (under the lock). A minute
        starts at a client's first code; minutes that have ended are dropped oldest first, and
        past MAX_CLIENTS the oldest minute is forgotten early (``ExpiringMap``)."""
        codes = self._recent.get(client, now)
        if codes is None:
            codes = set()
            self._recent.put(client, codes, now + MINUTE, now)
        return codes

    def flush(self) -> None:
        """Write the buffer (one transaction); a failure is logged and those counts dropped."""
        with self._lock:
            buffer, self._buffer = self._buffer, {}
            self._pending = 0
            self._flushed_at = self._timer()
        today = self._today()
        try:
            if buffer:
                self.store.add({key: (v[0], v[1]) for key, v in buffer.items()})
            if self._pruned_on != today.isoformat():
                self._pruned_on = today.isoformat()
                self.store.delete_before((today - timedelta(days=self.keep_days - 1)).isoformat())
        except Exception:  # counting must never break answering
            log.exception("could not store %d usage counts", len(buffer))

    def gaps(self, days: int = 30, limit: int = 200, include_mapped: bool = False) -> list[dict]:
        """Codes requested in the last ``days`` days (today included) that found no topic."""
        self.flush()
        first = (self._today() - timedelta(days=max(days, 1) - 1)).isoformat()
        report = []
        for row in self.store.unmatched_since(first, limit):
            code = Code(CodeSystem[row.code_system], row.code)
            now_mapped = self.mapped(code)
            if now_mapped and not include_mapped:
                continue
            report.append(
                {
                    "code_system": code.system.label,
                    "code_system_oid": code.system.oid,
                    "code": code.value,
                    "display": terminology.describe(code),
                    "valid": terminology.is_valid(code),
                    "requests": row.requests,
                    "unmatched": row.unmatched,
                    "last_day": row.last_day,
                    "now_mapped": now_mapped,
                }
            )
        return report

    def unknown(self, days: int = 30) -> list[dict]:
        """Per code system, the requests of the last ``days`` days for codes it does not know."""
        self.flush()
        first = (self._today() - timedelta(days=max(days, 1) - 1)).isoformat()
        return [
            {
                "code_system": CodeSystem[row.code_system].label,
                "requests": row.requests,
                "unmatched": row.unmatched,
                "last_day": row.last_day,
            }
            for row in self.store.unknown_since(first)
        ]
