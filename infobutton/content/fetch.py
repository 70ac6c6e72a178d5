"""Fetching upstream files with ``requests``: connect/read timeouts, retries with exponential
backoff on connection errors, timeouts, 429 and 5xx, conditional GET (RFC 9110 §13.1:
If-None-Match / If-Modified-Since) and streaming to a temporary file under a byte cap.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

log = logging.getLogger(__name__)

USER_AGENT = "infobutton/0.1 (HL7 Infobutton responder; catalogue sync)"
RETRY_STATUSES = {429, 500, 502, 503, 504}


class FetchError(Exception):
    """The upstream could not deliver the file; the message says why."""


@dataclass(frozen=True)
class FetchResult:
    url: str
    status: int  # 200, or 304 when the validators still match
    path: Path | None = None  # the downloaded file (the caller deletes it); None on 304
    etag: str = ""
    last_modified: str = ""

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def fetch(
    url: str,
    dest_dir: str | Path | None = None,
    *,
    etag: str = "",
    last_modified: str = "",
    timeout: tuple[float, float] = (10.0, 60.0),
    retries: int = 3,
    backoff: float = 1.0,
    max_bytes: int = 512 * 1024 * 1024,
    deadline: float = 900.0,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchResult:
    """GET ``url`` into a temporary file; up to ``retries`` more attempts after transient
    failures, waiting ``backoff``·2ⁿ seconds between them. Raises FetchError."""
    http = session or requests.Session()
    headers = {"User-Agent": USER_AGENT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    last_error = "no attempt made"
    for attempt in range(retries + 1):
        if attempt:
            wait = backoff * 2 ** (attempt - 1)
            log.info("retrying %s in %.1f s (%s)", url, wait, last_error)
            sleep(wait)
        try:
            return _attempt(http, url, headers, dest_dir, timeout, max_bytes, deadline)
        except _Transient as exc:
            last_error = str(exc)
        except requests.Timeout:
            last_error = f"timed out after {timeout[1]:.0f} s"
        except requests.ConnectionError as exc:
            last_error = f"connection failed ({type(exc).__name__})"
        except requests.RequestException as exc:
            raise FetchError(f"{url}: {exc}") from None
    raise FetchError(f"{url}: {last_error} (gave up after {retries + 1} attempts)")


class _Transient(Exception):
    pass


def _attempt(http, url, headers, dest_dir, timeout, max_bytes, deadline) -> FetchResult:
    started = time.monotonic()
    with http.get(url, headers=headers, timeout=timeout, stream=True) as response:
        if response.status_code == 304:
            return FetchResult(url, 304, None, headers.get("If-None-Match", ""), headers.get("If-Modified-Since", ""))
        if response.status_code in RETRY_STATUSES:
            raise _Transient(f"HTTP {response.status_code}")
        if response.status_code != 200:
            raise FetchError(f"{url}: HTTP {response.status_code} {response.reason}")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise FetchError(f"{url}: {int(declared):,} bytes is over the {max_bytes:,}-byte limit")
        fd, name = tempfile.mkstemp(prefix="infobutton-", suffix=".download", dir=dest_dir)
        path = Path(name)
        try:
            size = 0
            with os.fdopen(fd, "wb") as out:
                for chunk in response.iter_content(chunk_size=64 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise FetchError(f"{url}: more than the {max_bytes:,}-byte limit")
                    if time.monotonic() - started > deadline:
                        raise FetchError(f"{url}: download took longer than {deadline:.0f} s")
                    out.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return FetchResult(url, 200, path, response.headers.get("ETag", ""), response.headers.get("Last-Modified", ""))
