"""The gunicorn worker ``serve`` runs: gthread, except that the error page gunicorn writes for a
malformed request names what was wrong without quoting the request back.

gunicorn's page for a bad request line, method or header repeats it ("Invalid Request Line
'GET /infobutton?…&age.v.v=15 …'"), and a request line carries patient context. gunicorn writes
those pages with ``gunicorn.util.write_error`` from inside its request handling; this worker
replaces that function in its own process with one that keeps only the leading phrase.
"""

from __future__ import annotations

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker as _GThreadWorker

from .logs import leading_phrase

_write_error = util.write_error


def write_error_without_request(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's error page with only the leading words of its message ("Invalid Request Line")."""
    _write_error(sock, status_int, reason, leading_phrase(mesg))


class ThreadWorker(_GThreadWorker):
    def init_process(self) -> None:
        util.write_error = write_error_without_request  # this worker process only (forked)
        super().init_process()
