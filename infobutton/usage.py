"""Usage counting for the gap report: which requested codes found no topic.

``UsageRecorder.record`` is an ``on_answer`` hook: it adds one count per coded criterion to an
in-memory buffer (no I/O on the answer path) and writes the buffer as one short UPSERT
transaction every ``flush_every`` answers or ``flush_seconds``. Only code system, code and day
are kept; age, gender and everything else about the patient is dropped here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

from . import resolver, terminology
from .models import Code, CodeSystem, KnowledgeRequest
from .store.usage import SqlUsageStore

log = logging.getLogger(__name__)
MAX_CODE_LENGTH = 64


def _today() -> date:
    return datetime.now(timezone.utc).date()


class UsageRecorder:
    def __init__(
        self,
        store: SqlUsageStore,
        knowledge,
        *,
        flush_every: int = 1000,
        flush_seconds: float = 5.0,
        timer: Callable[[], float] = time.monotonic,
        today: Callable[[], date] = _today,
    ):
        self.store = store
        self.knowledge = knowledge
        self.flush_every = flush_every
        self.flush_seconds = flush_seconds
        self._timer = timer
        self._today = today
        self._lock = threading.Lock()
        self._buffer: dict[tuple[str, str, str], list[int]] = {}
        self._pending = 0
        self._flushed_at = timer()

    def mapped(self, code: Code) -> bool:
        """Whether any current rule reaches the code (whatever the patient context)."""
        return bool(resolver.matches_for_code(code, self.knowledge.rules()))

    def record(self, request: KnowledgeRequest, answered: frozenset[Code]) -> None:
        """The on_answer hook: count each coded criterion, and whether a mapping rule answered it.

        ``answered`` was worked out once when the response was built, so a cached answer costs
        a set lookup here, not another resolution."""
        codes = [c.code for c in request.criteria if c.code is not None and len(c.code.value) <= MAX_CODE_LENGTH]
        if not codes:
            return
        day = self._today().isoformat()
        # A topic found only by text search or upstream still leaves a gap for the librarians.
        outcomes = [((day, code.system.name, code.value), code in answered) for code in codes]
        with self._lock:
            for key, matched in outcomes:
                counts = self._buffer.setdefault(key, [0, 0])
                counts[0] += 1
                counts[1] += 0 if matched else 1
            self._pending += 1
            due = self._pending >= self.flush_every or self._timer() - self._flushed_at >= self.flush_seconds
        if due:
            self.flush()

    def flush(self) -> None:
        """Write the buffer (one transaction); a failure is logged and those counts dropped."""
        with self._lock:
            buffer, self._buffer = self._buffer, {}
            self._pending = 0
            self._flushed_at = self._timer()
        if not buffer:
            return
        try:
            self.store.add({key: (v[0], v[1]) for key, v in buffer.items()})
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
