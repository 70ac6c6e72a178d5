"""Catalogue sync on a schedule inside ``serve`` (``INFOBUTTON_SYNC_INTERVAL`` seconds; off by
default).

Every worker runs a small daemon thread, started with the worker's first answered request (so
the gunicorn arbiter, which forks the workers, never holds one). Each tick claims the next slot
in the meta table with a compare-and-swap on ``sync_next_at``, so across workers and instances
sharing a database one sync runs per interval. The sync is the same conditional, transactional
import as ``infobutton topics sync``; a failure is logged and the catalogue stays as it was.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ..store import meta
from .sync import SyncError, SyncResult, sync

log = logging.getLogger(__name__)

SLOT_KEY = "sync_next_at"


class SyncScheduler:
    def __init__(
        self,
        store,
        knowledge,
        url: str,
        interval: float,
        *,
        clock: Callable[[], float] = time.time,
        sync_options: dict | None = None,
    ):
        self.store = store
        self.knowledge = knowledge
        self.url = url
        self.interval = interval
        self.clock = clock
        self.sync_options = sync_options or {}
        self.last_result: SyncResult | None = None
        self.last_error: str = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def claim(self) -> bool:
        """Whether this process won the current slot (compare-and-swap on ``sync_next_at``)."""
        db = self.store.db
        now = self.clock()
        try:
            with db.transaction():
                current = meta.get(db, SLOT_KEY)
                if current and float(current) > now:
                    return False
                following = f"{now + self.interval:.3f}"
                if current:
                    cur = db.execute(
                        "UPDATE meta SET value = ? WHERE key = ? AND value = ?", (following, SLOT_KEY, current)
                    )
                    return cur.rowcount == 1
                db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (SLOT_KEY, following))
                return True
        except Exception as exc:  # a concurrent claimer won the insert
            log.debug("sync slot not claimed: %s", exc)
            return False

    def run_once(self) -> SyncResult | None:
        """One tick: sync when this process holds the slot; never raises."""
        if not self.claim():
            return None
        try:
            result = sync(self.store, self.url, **self.sync_options)
        except SyncError as exc:
            self.last_error = str(exc)
            log.warning("scheduled sync failed: %s", exc)
            return None
        except Exception:  # never let the thread die
            self.last_error = "unexpected error (logged)"
            log.exception("scheduled sync failed")
            return None
        self.last_result, self.last_error = result, ""
        log.info("scheduled sync: %s", result.describe())
        self.knowledge.refresh_now()
        return result

    def _loop(self) -> None:
        poll = max(0.05, min(self.interval, 30.0))
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(poll)

    def start(self) -> None:
        """Start the thread once; later calls are no-ops (cheap: called per answered request)."""
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._loop, name="infobutton-sync", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
