"""Stable ETags: two real gunicorn workers give the same answer the same ETag, and
an If-None-Match taken from one worker's answer gets 304 from the other.

Which worker answered is read from the kernel, not from the service: the request's connection
is held open while /proc says which worker process owns its server-side socket.
"""

import http.client
import os
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from ..conftest import ICD10CM, wait_until
from ..test_cli import free_port, serve_command, wait_ready

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc to tell workers apart")


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(p) for p in (task / "children").read_text().split())
    return found


DEADLINE = 120.0  # seconds: generous, for a busy machine


def both_workers(pid: int, deadline: float = DEADLINE) -> set[int]:
    """The arbiter's two workers: one may answer /healthz before the other has been forked."""
    return wait_until(lambda: len(found := children(pid)) == 2 and found, timeout=deadline, what="both workers")


def socket_inode(server_port: int, client_port: int) -> str:
    """The inode of the server side of the connection 127.0.0.1:client_port → server_port."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == client_port:
            return fields[9]
    return ""


def owner(pids: set[int], inode: str) -> int | None:
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    if os.readlink(fd) == f"socket:[{inode}]":
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


def ask(port: int, path: str, workers: set[int], headers: dict | None = None) -> tuple[int, str, int | None]:
    """(status, ETag, the worker pid that answered) for one request on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        response.read()
        client_port = conn.sock.getsockname()[1]
        pid = owner(workers, socket_inode(port, client_port))  # the connection is still open
        return response.status, response.getheader("ETag", ""), pid
    finally:
        conn.close()


def try_ask(port: int, path: str, workers: set[int], headers: dict | None = None) -> tuple[int, str, int | None] | None:
    """``ask``, or None when the transport failed (a busy machine may reset or time out a
    connection while we wait for both workers): the caller asks again until its deadline."""
    try:
        return ask(port, path, workers, headers)
    except (OSError, http.client.HTTPException):
        return None


def both_workers_agree(port: int, path: str, workers: set[int]) -> None:
    """Fresh connections until both workers have answered: one ETag among them all; then the
    ETag sent back gets 304 from each worker."""
    etags: dict[int | None, set[str]] = {}
    end = time.monotonic() + DEADLINE  # a worker still starting up accepts nothing yet
    first = True
    while not set(etags) >= workers and time.monotonic() < end:
        answer = try_ask(port, path, workers)
        if answer is None:
            continue
        status, etag, pid = answer
        assert status == 200 and etag
        etags.setdefault(pid, set()).add(etag)
        if first:
            time.sleep(1.1)  # the other worker renders in a later second than the first did
            first = False
    assert set(etags) >= workers, f"only {set(etags)} of {workers} answered"
    every = set().union(*etags.values())
    assert len(every) == 1, f"workers gave different ETags for {path}: {etags}"
    etag = every.pop()
    answered_304: set[int | None] = set()
    end = time.monotonic() + DEADLINE
    while not answered_304 >= workers and time.monotonic() < end:
        answer = try_ask(port, path, workers, {"If-None-Match": etag})
        if answer is None:
            continue
        status, again, pid = answer
        assert status == 304 and again == etag
        answered_304.add(pid)
    assert answered_304 >= workers, f"only {answered_304} of {workers} answered the conditional requests"


@pytest.mark.gunicorn
def test_two_workers_give_one_etag_and_honour_each_others(tmp_path):
    port = free_port()
    env = {**os.environ, "INFOBUTTON_RATE_LIMIT": "1000000/minute", "INFOBUTTON_DATA_DIR": str(tmp_path / "data")}
    env.pop("INFOBUTTON_DATABASE_URL", None)
    env.pop("INFOBUTTON_REDIS_URL", None)  # no shared cache: each worker renders its own answer
    with open(tmp_path / "server.log", "w") as log:
        proc = subprocess.Popen(
            serve_command(port, 2),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}/healthz", proc)
            workers = both_workers(proc.pid)
            for code in ("C91.00", "Z99.89"):  # answered, and (likely) unanswered: an empty feed
                for kind in ("text/xml", "application/json", "application/fhir+json", "text/html"):
                    query = {"mainSearchCriteria.v.c": code, "mainSearchCriteria.v.cs": ICD10CM}
                    both_workers_agree(
                        port, "/infobutton?" + urlencode({**query, "knowledgeResponseType": kind}), workers
                    )
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
