"""Fetch what the EHR did not prefetch from its ``fhirServer`` (CDS Hooks 2.0 §FHIR Resource
Access), with the bearer token from ``fhirAuthorization``.

- Only a fhirServer under a base allow-listed for the caller (``fhir_url``), and never over plain
  http (the token would travel in clear) unless development mode allows http on loopback.
- One deadline for the whole prefetch, every read included, not one per read: the request
  thread waits at most that long, whatever the server does (a tarpit, a byte a second).
- At most ``concurrency`` fetches in flight per worker; when all are busy the call does not wait
  (Busy), so slow FHIR servers cannot hold the worker's threads.
- Every URL fetched is the base taken as a directory (``…/fhir`` reads ``…/fhir/Patient/p1``)
  joined with the resource path, normalised and checked to lie under the base again; a search's
  next page too.
- No redirects (the token goes nowhere else), a size cap, at most a few search pages, each on
  the same server.
- Every failure is the same Unavailable message: refused, timed out, DNS, TLS or not FHIR look
  alike to the caller, so errors do not map ports or hosts. Nothing about the patient is logged.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar
from urllib.parse import urlencode

import requests

from .fhir_url import BadUrl, FhirUrl, normalise
from .hook_call import HookCall

T = TypeVar("T")
log = logging.getLogger(__name__)
MAX_BYTES = 5 * 1024 * 1024
MAX_PAGES = 5
CHUNK = 16 * 1024
UNAVAILABLE = "the FHIR server could not be read"  # the one message for every failure


class Unavailable(Exception):
    """The data a service needs could not be obtained; the message is safe to show."""


class Busy(Exception):
    """Every fetch slot of this worker is taken; answer now, do not wait."""


class _Failed(Exception):
    """Why a read failed, for the log only (the caller sees UNAVAILABLE)."""


def _get(session: requests.Session, url: str, deadline: float) -> dict:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _Failed("deadline")
    try:
        with session.get(url, timeout=remaining, allow_redirects=False, stream=True) as response:
            if response.status_code != 200:
                raise _Failed(f"status {response.status_code}")
            body = b""
            while chunk := response.raw.read1(CHUNK, decode_content=True):  # one recv each: a
                body += chunk  # drip feed cannot stretch a read past the deadline
                if len(body) > MAX_BYTES:
                    raise _Failed("too large")
                if time.monotonic() > deadline:
                    raise _Failed("deadline")
            value = json.loads(body) if body else None
    except requests.Timeout:
        raise _Failed("timeout") from None
    except requests.exceptions.SSLError:
        raise _Failed("tls") from None
    except requests.ConnectionError:
        raise _Failed("connection") from None
    except (requests.RequestException, ValueError, OSError):
        raise _Failed("unreadable") from None
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise _Failed("not a FHIR resource")
    return value


def _under(base: FhirUrl, relative: str, query: str = "") -> str:
    """The URL to fetch for ``relative`` under ``base`` (a directory, slash or not), checked
    against the base after joining: what was checked is what is fetched."""
    try:
        url = base.join(relative)
    except BadUrl:
        raise _Failed("outside the base") from None
    return url.url + ("?" + query if query else "")


def _next_page(bundle: dict, base: FhirUrl) -> str | None:
    """A search Bundle's ``next`` link when it lies under ``base`` (checked as a base is)."""
    following = next(
        (
            link.get("url")
            for link in bundle.get("link") or []
            if isinstance(link, dict) and link.get("relation") == "next"
        ),
        None,
    )
    if not isinstance(following, str):
        return None
    path, _, query = following.partition("?")
    try:
        url = normalise(path)
    except BadUrl:
        return None
    if not url.under(base):
        return None
    return url.url.rstrip("/") + ("?" + query if query else "")


def _search(session: requests.Session, base: FhirUrl, resource: str, query: str, deadline: float) -> dict:
    """A search Bundle with the entries of up to MAX_PAGES pages under the same base."""
    bundle = _get(session, _under(base, resource, query), deadline)
    entries = list(bundle.get("entry") or []) if isinstance(bundle.get("entry"), list) else []
    for _ in range(MAX_PAGES - 1):
        following = _next_page(bundle, base)
        if following is None:
            break
        bundle = _get(session, following, deadline)
        if isinstance(bundle.get("entry"), list):
            entries += bundle["entry"]
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def _read(base: FhirUrl, call: HookCall, keys: tuple[str, ...], deadline: float) -> dict:
    session = requests.Session()
    session.trust_env = False  # no proxies or netrc credentials from the environment
    session.headers["Accept"] = "application/fhir+json"
    if call.access_token:
        session.headers["Authorization"] = f"Bearer {call.access_token}"
    found = {}
    with session:
        for key in keys:
            if key == "patient":
                found[key] = _get(session, _under(base, f"Patient/{call.patient_id}"), deadline)
            elif key == "conditions":
                query = urlencode({"patient": call.patient_id, "clinical-status": "active"})
                found[key] = _search(session, base, "Condition", query, deadline)
    return found


def allowed_base(server: str, bases: tuple[FhirUrl, ...], *, allow_http_loopback: bool) -> FhirUrl:
    """The normalised fhirServer when it lies under one of ``bases`` on a segment boundary and
    is https (http only on loopback in development); Unavailable otherwise. Default deny."""
    try:
        url = normalise(server)
    except BadUrl:
        raise Unavailable("not a FHIR server this service may read from") from None
    if not any(url.under(base) for base in bases):
        raise Unavailable("not a FHIR server this service may read from")
    if url.scheme != "https" and not (allow_http_loopback and url.loopback):
        raise Unavailable("fhirServer must be https: the access token is never sent over plain http")
    return url


class Fetcher:
    """Per worker: the bounded pool every fetch runs in (fhirServer reads, and the JWKS reads of
    ``auth``), so the request thread only ever waits until the deadline, and never more of
    them wait than there are slots (fewer than the worker's threads: ``config``)."""

    def __init__(self, concurrency: int, deadline: float):
        self.deadline = deadline
        self._slots = threading.BoundedSemaphore(concurrency)
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="cds-fetch")

    def _run(self, fn: Callable[..., T], args: tuple) -> T:
        try:
            return fn(*args)
        finally:
            self._slots.release()

    def call(self, fn: Callable[..., T], *args, timeout: float) -> T:
        """``fn(*args)`` in a free slot, waited for at most ``timeout`` seconds (FutureTimeout
        after that); Busy at once when every slot is taken. ``fn``'s own exceptions pass through."""
        if not self._slots.acquire(blocking=False):
            raise Busy()
        try:
            future: Future[T] = self._pool.submit(self._run, fn, args)
        except RuntimeError:  # the pool was shut down: the worker is stopping
            self._slots.release()
            raise Busy() from None
        return future.result(timeout=timeout)

    def fetch(self, base: FhirUrl, call: HookCall, keys: tuple[str, ...]) -> dict:
        """The prefetch values for ``keys`` (of patient, conditions) read from ``base``."""
        deadline = time.monotonic() + self.deadline
        try:
            return self.call(_read, base, call, keys, deadline, timeout=self.deadline)
        except FutureTimeout:
            reason = "deadline"
        except _Failed as failure:
            reason = str(failure)
        log.info("cds fetch from fhirServer failed: %s", reason)
        raise Unavailable(UNAVAILABLE)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
