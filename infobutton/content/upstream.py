"""Federation: asking an HL7-compliant upstream responder (e.g. MedlinePlus Connect) about codes
that have no local mapping.

The upstream is called with the URL-based IG parameters (R4 §2.1.4 mainSearchCriteria, §2.1.5
informationRecipient.languageCode.c, §2.1.6 knowledgeResponseType) and its Knowledge Response
(Atom, SOA IG §4.3, or the JSON mirror, §4.4) is parsed into Topics, with summaries sanitised.
Every topic parsed from an answer is labelled ``source="upstream:<host of the upstream URL>"``:
its text is the upstream's, whoever the upstream says wrote it. The upstream's own credit lines
(MedlinePlus's NLMattribution and NLMalsoCalled paragraphs, a responder's infobutton…
paragraphs) are dropped from its summaries: every surface credits the text itself, naming the
host that answered (render.attribution), so no upstream can label its text as NLM's. Topics the local catalogue also
holds are served from the local catalogue (merged by topic id, in ``resolver.resolve``), with the local source.

It never turns an upstream problem into an error for the EHR:
- answers are cached per (code system, code, language) for ``ttl`` seconds; negative answers too;
- a client-side limit keeps the call rate under the upstream's published limit (MedlinePlus
  Connect asks for fewer than 100 requests per minute per IP); over the limit, no call is made;
- a circuit breaker stops calling after ``failure_threshold`` consecutive failures and tries one
  call again after ``reset_after`` seconds;
- stale-if-error (RFC 5861 §4): when the upstream fails, is limited or the breaker is open, the
  last answer is served however old; with none, the criterion simply has no upstream answer;
- a stale entry is revalidated with If-None-Match / If-Modified-Since, so a 304 refreshes it.
Only codes without a local answer reach this module (``resolver.resolve``), so local answers
never wait on the upstream; every call has a timeout of ``timeout`` seconds.
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from xml.etree.ElementTree import ParseError

import cachetools
import requests
from defusedxml import DefusedXmlException, ElementTree

from ..footprint import footprint
from ..hosts import host, on_medlineplus
from ..html_safety import sanitise
from ..models import Code, Topic
from .fetch import USER_AGENT
from .medlineplus_xml import topic_id

log = logging.getLogger(__name__)
# A credit or reason paragraph in a (sanitised) upstream summary; nh3 leaves no nested <p>.
_CREDIT_PARAGRAPH = re.compile(
    r"<p class=\"(?:NLMattribution|NLMalsoCalled|infobutton(?:Attribution|AlsoCalled|Reason))\">.*?</p>", re.S
)

ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MAX_RESPONSE_BYTES = 2 * 1024 * 1024


class UpstreamError(Exception):
    """The upstream's answer could not be used."""


@dataclass
class _Entry:
    topics: list[Topic]
    fetched_at: float
    etag: str = ""
    last_modified: str = ""


class RateLimiter:
    """At most ``limit`` calls in any sliding ``window`` seconds; never waits, only refuses."""

    def __init__(self, limit: int, window: float = 60.0, timer: Callable[[], float] = time.monotonic):
        self.limit, self.window, self._timer = limit, window, timer
        self._calls: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def allow(self) -> bool:
        now = self._timer()
        with self._lock:
            while self._calls and now - self._calls[0] >= self.window:
                self._calls.popleft()
            if len(self._calls) >= self.limit:
                return False
            self._calls.append(now)
            return True


@dataclass
class CircuitBreaker:
    """closed → (``failure_threshold`` consecutive failures) → open for ``reset_after`` seconds →
    half-open: one trial call; success closes it, failure opens it again."""

    failure_threshold: int = 3
    reset_after: float = 60.0
    timer: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    _trial: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.timer() - self.opened_at >= self.reset_after else "open"

    def allow(self) -> bool:
        with self._lock:
            state = self.state
            if state == "closed":
                return True
            if state == "half-open" and not self._trial:
                self._trial = True  # one caller tries; the others keep the fallback
                return True
            return False

    def release(self) -> None:
        """A half-open trial that did not happen after all (e.g. rate limited)."""
        with self._lock:
            self._trial = False

    def success(self) -> None:
        with self._lock:
            self.failures, self.opened_at, self._trial = 0, None, False

    def failure(self) -> None:
        with self._lock:
            self.failures += 1
            self._trial = False
            if self.failures >= self.failure_threshold or self.opened_at is not None:
                self.opened_at = self.timer()


def _text(node) -> str:
    if isinstance(node, dict):
        return str(node.get("_value", "")).strip()
    if isinstance(node, list) and node:
        return _text(node[0])
    return str(node or "").strip()


def source_label(upstream_url: str) -> str:
    """``Topic.source`` for what an upstream responder answered: "upstream:<its host>"."""
    return f"upstream:{(urlsplit(upstream_url).hostname or '').lower()}"


def _topic(title: str, url: str, summary: str, language: str, source: str) -> Topic | None:
    if not title or not url.startswith(("http://", "https://")) or not host(url):
        return None  # nothing to link to (a malformed URL too)
    tid = topic_id(url) if on_medlineplus(url) else ("upstream-" + hashlib.sha256(url.encode()).hexdigest()[:16])
    return Topic(
        id=tid,
        title=title,
        url=url,
        language=language if language in ("en", "es") else "en",
        summary_html=_CREDIT_PARAGRAPH.sub("", sanitise(summary)).strip(),
        source=source,
    )


def parse_json(body: bytes, language: str, source: str = "") -> list[Topic]:
    """The JSON Knowledge Response (``feed.entry[].title._value``, ``link[].href``,
    ``summary._value``), as MedlinePlus Connect and this responder send it; every topic is
    labelled ``source`` (``source_label`` of the upstream's URL)."""
    try:
        feed = json.loads(body).get("feed", {})
    except (ValueError, AttributeError) as exc:
        raise UpstreamError(f"not a JSON knowledge response: {exc}") from None
    entries = feed.get("entry", []) if isinstance(feed, dict) else []
    topics = []
    for entry in entries if isinstance(entries, list) else [entries]:
        if not isinstance(entry, dict):
            continue
        links = entry.get("link", [])
        links = links if isinstance(links, list) else [links]
        href = next(
            (
                link.get("href", "")
                for link in links
                if isinstance(link, dict) and link.get("rel", "alternate") == "alternate"
            ),
            "",
        )
        lang = str(entry.get("lang") or language)[:2].lower()
        topic = _topic(_text(entry.get("title")), href, _text(entry.get("summary")), lang, source)
        if topic:
            topics.append(topic)
    return topics


def parse_atom(body: bytes, language: str, source: str = "") -> list[Topic]:
    """The Atom Knowledge Response (SOA IG §4.3), parsed with DTDs forbidden."""
    try:
        root = ElementTree.fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as exc:
        raise UpstreamError(f"not an Atom knowledge response: {exc}") from None
    if root.tag != f"{ATOM}feed":
        raise UpstreamError(f"root element is {root.tag}, expected an Atom feed")
    topics = []
    for entry in root.findall(f"{ATOM}entry"):
        link = next((li for li in entry.findall(f"{ATOM}link") if li.get("rel", "alternate") == "alternate"), None)
        lang = (entry.get(XML_LANG) or root.get(XML_LANG) or language)[:2].lower()
        topic = _topic(
            (entry.findtext(f"{ATOM}title") or "").strip(),
            link.get("href", "") if link is not None else "",
            entry.findtext(f"{ATOM}summary") or "",
            lang,
            source,
        )
        if topic:
            topics.append(topic)
    return topics


def parse_response(body: bytes, language: str, source: str = "") -> list[Topic]:
    parser = parse_json if body.lstrip()[:1] == b"{" else parse_atom
    return parser(body, language, source)


class UpstreamResponder:
    """``responder(code, language, limit) -> list[Topic]``: the upstream's answer for a code,
    cached, rate limited and guarded by a circuit breaker (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        ttl: float = 43200.0,
        timeout: float = 2.0,
        rate_per_minute: int = 80,
        failure_threshold: int = 3,
        reset_after: float = 60.0,
        cache_bytes: int = 8 * 1024 * 1024,
        timer: Callable[[], float] = time.monotonic,
        session: requests.Session | None = None,
        on_error: Callable[[], None] | None = None,
    ):
        self.url = url
        self.ttl = ttl
        self.timeout = timeout
        self.timer = timer
        self.limiter = RateLimiter(rate_per_minute, 60.0, timer)
        self.breaker = CircuitBreaker(failure_threshold, reset_after, timer)
        self.session = session or requests.Session()
        # Bounded in bytes: an entry holds the upstream's topics, summaries and links included.
        self._cache: cachetools.LRUCache = cachetools.LRUCache(maxsize=cache_bytes, getsizeof=footprint)
        self._lock = threading.Lock()
        self.calls = 0  # upstream HTTP calls made (for tests and the log)
        self.on_error = on_error or (lambda: None)  # told of each failed call (metrics)

    def __call__(self, code: Code, language: str, limit: int) -> list[Topic]:
        return self.lookup(code, language)[:limit]

    def lookup(self, code: Code, language: str) -> list[Topic]:
        key = (code.system.name, code.value, language)
        with self._lock:
            entry = self._cache.get(key)
        now = self.timer()
        if entry is not None and now - entry.fetched_at < self.ttl:
            return entry.topics
        fallback = entry.topics if entry is not None else []
        if not self.breaker.allow():
            return fallback
        if not self.limiter.allow():
            log.info("upstream rate limit reached; serving %s", "stale" if entry else "nothing")
            self.breaker.release()
            return fallback
        try:
            fresh = self._fetch(code, language, entry)
        except (requests.RequestException, UpstreamError) as exc:
            self.breaker.failure()
            self.on_error()
            log.warning(
                "upstream %s failed (%s); breaker %s; serving %s",
                self.url,
                type(exc).__name__,
                self.breaker.state,
                "stale" if entry else "nothing",
            )
            return fallback
        self.breaker.success()
        with self._lock:
            if footprint(fresh) <= self._cache.maxsize // 64:  # a huge answer is used, not kept
                self._cache[key] = fresh
        return fresh.topics

    def _fetch(self, code: Code, language: str, entry: _Entry | None) -> _Entry:
        params = {
            "mainSearchCriteria.v.cs": code.system.oid,
            "mainSearchCriteria.v.c": code.value,
            "informationRecipient.languageCode.c": language,
            "knowledgeResponseType": "application/json",
        }
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json, application/atom+xml, text/xml"}
        if entry is not None and entry.etag:
            headers["If-None-Match"] = entry.etag
        if entry is not None and entry.last_modified:
            headers["If-Modified-Since"] = entry.last_modified
        self.calls += 1
        with self.session.get(
            self.url, params=params, headers=headers, timeout=(self.timeout, self.timeout), stream=True
        ) as response:
            if response.status_code == 304 and entry is not None:
                return _Entry(entry.topics, self.timer(), entry.etag, entry.last_modified)
            if response.status_code != 200:
                raise UpstreamError(f"HTTP {response.status_code}")
            body = response.raw.read(MAX_RESPONSE_BYTES + 1, decode_content=True)
            if len(body) > MAX_RESPONSE_BYTES:
                raise UpstreamError("response too large")
            topics = parse_response(body, language, source_label(self.url))
            return _Entry(
                topics, self.timer(), response.headers.get("ETag", ""), response.headers.get("Last-Modified", "")
            )
