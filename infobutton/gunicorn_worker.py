"""The gunicorn worker ``serve`` runs: gthread, with two changes.

Error pages for malformed requests name what was wrong without quoting the request back:
gunicorn's page for a bad request line, method or header repeats it ("Invalid Request Line
'GET /infobutton?…&age.v.v=15 …'"), and a request line carries patient context. gunicorn writes
those pages with ``gunicorn.util.write_error`` from inside its request handling; this worker
replaces that function in its own process with one that keeps only the leading phrase.

A request deadline: no request runs longer than gunicorn's ``timeout``. The arbiter kills a worker
whose heartbeat is older than ``timeout``, but gthread's main loop beats whatever its request
threads do, so on its own that bounds no request (a thread stuck on a dead socket or a lock holds
its slot for ever, and a worker with every thread stuck still looks alive). Here the heartbeat is
dated no later than the start of the oldest request in flight: a worker with a request older than
``timeout`` is killed and replaced, as gunicorn does with its sync workers. The other requests in
flight in that worker are cut too (the proxy answers 502); every wait inside a request is bounded
well below the deadline (database pool, SQLite lock, FHIR and JWKS fetches, Redis), so only a
request stuck where nothing else bounds it meets it.
"""

from __future__ import annotations

import os
import threading
import time

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker as _GThreadWorker

from .logs import leading_phrase

_write_error = util.write_error


def write_error_without_request(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's error page with only the leading words of its message ("Invalid Request Line")."""
    _write_error(sock, status_int, reason, leading_phrase(mesg))


def heartbeat(now: float, started: list[float]) -> float:
    """The time a worker reports itself alive at: now, or the start of its oldest request in
    flight if earlier (the arbiter then kills it once that request has run ``timeout`` seconds)."""
    return min([now, *started])


class ThreadWorker(_GThreadWorker):
    def init_process(self) -> None:
        util.write_error = write_error_without_request  # this worker process only (forked)
        self._started: dict[int, float] = {}  # thread id → monotonic start of its request
        self._started_lock = threading.Lock()
        super().init_process()

    def handle_request(self, req, conn):
        thread = threading.get_ident()
        with self._started_lock:
            self._started[thread] = time.monotonic()
        try:
            return super().handle_request(req, conn)
        finally:
            with self._started_lock:
                self._started.pop(thread, None)

    def notify(self) -> None:
        """gunicorn's heartbeat (``WorkerTmp.notify``: the temporary file's times, on the
        monotonic clock the arbiter compares them with), dated by ``heartbeat``."""
        with self._started_lock:
            started = list(self._started.values())
        beat = heartbeat(time.monotonic(), started)
        os.utime(self.tmp.fileno(), (beat, beat))
