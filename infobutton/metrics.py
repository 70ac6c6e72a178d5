"""Prometheus metrics: what one process counts, and what ``/metrics`` shows (``web.ops``).

Every name starts ``infobutton_`` and every label has a bounded set of values (URL rules, never
paths; response formats, status codes, resolution layers): no code, query string or patient
context ever becomes a label.

Under ``infobutton serve`` the workers are separate processes: ``serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at a directory of its own (``multiprocess_dir``), each worker writes
its values there, and ``/metrics`` adds up every worker's. In a plain app (tests, ``flask run``)
a ``Metrics`` keeps its values in its own registry.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess, values
from sqlalchemy import Engine, event

from .models import Criterion, Provenance, RenderedResponse, TopicMatch

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Resolution layers a criterion can be answered by; "none" is an unanswered criterion.
LAYERS = tuple(p.value for p in Provenance) + ("none",)
# Response content types → the format label; anything else is "other".
FORMATS = {
    "text/xml": "atom",
    "application/atom+xml": "atom",
    "application/json": "json",
    "application/problem+json": "json",
    "application/javascript": "jsonp",
    "application/fhir+json": "fhir",
    "text/html": "html",
    "application/xml": "xml",
    "application/problem+xml": "xml",
    "text/plain": "text",
}
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
NO_ROUTE = "(no route)"  # a request no URL rule matched (404s): never its path
# Seconds; most cached answers take about a millisecond, a cold one tens.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CACHE_RESULTS = ("hit", "shared_hit", "miss")
MAX_LABEL_SETS = 4096


def answer_layers(criteria: Iterable[Criterion], matches: Iterable[TopicMatch]) -> tuple[str, ...]:
    """Which resolution layer answered each criterion of a request, in order ("none" for a
    criterion no match answers). Pure; what ``RenderedResponse.layers`` keeps."""
    found: dict[Criterion, str] = {}
    for match in matches:
        found.setdefault(match.criterion, match.provenance.value)
    return tuple(found.get(criterion, "none") for criterion in criteria)


def format_label(content_type: str | None) -> str:
    if not content_type:
        return "none"
    return FORMATS.get(content_type.split(";", 1)[0].strip().lower(), "other")


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


class Metrics:
    """The service's metrics. ``multiprocess_dir`` set: values go to that directory (every
    worker's are added up when shown); unset: to this object's own registry."""

    def __init__(self, multiprocess_dir: str | None = None):
        self.multiprocess_dir = multiprocess_dir
        # Multiprocess values are collected from the directory, not from a registry.
        self._registry = None if multiprocess_dir else CollectorRegistry()
        registry = self._registry
        self.requests = Counter(
            "infobutton_http_requests",
            "HTTP requests answered, by URL rule, method, response format and status",
            ["route", "method", "format", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "infobutton_http_request_duration_seconds",
            "Seconds from the request reaching the app to its response headers, by URL rule",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.cache = Counter(
            "infobutton_response_cache_lookups",
            "Rendered-answer cache lookups: hit (this worker), shared_hit (Redis) or miss (built)",
            ["result"],
            registry=registry,
        )
        self.criteria = Counter(
            "infobutton_criteria",
            "Search criteria answered, by the resolution layer that answered them (none: unanswered)",
            ["layer"],
            registry=registry,
        )
        self.upstream_errors = Counter(
            "infobutton_upstream_errors", "Failed requests to the upstream responder", registry=registry
        )
        self.database_errors = Counter(
            "infobutton_database_errors",
            "Errors raised by the database driver, by SQLAlchemy error class",
            ["kind"],
            registry=registry,
        )
        # Labelled children looked up once: labels() takes a lock and validates every time, and
        # these are counted on every request. Shown as 0 from the start, so ratios are defined.
        self._cache_results = {result: self.cache.labels(result) for result in CACHE_RESULTS}
        self._layers = {layer: self.criteria.labels(layer) for layer in LAYERS}
        self._per_request: dict[tuple, tuple] = {}  # (route, method, format, status) → children

    @classmethod
    def for_process(cls) -> Metrics:
        """Multiprocess when ``serve`` (or the operator) set ``PROMETHEUS_MULTIPROC_DIR``."""
        return cls(os.environ.get(MULTIPROC_ENV) or None)

    # -- what the services report ------------------------------------------------------------

    def request(self, route: str | None, method: str, content_type: str | None, status: int, seconds: float) -> None:
        key = (route, method_label(method), content_type, status)
        children = self._per_request.get(key)
        if children is None:
            labels = (route or NO_ROUTE, key[1], format_label(content_type), str(status))
            children = (self.requests.labels(*labels), self.latency.labels(labels[0]))
            if len(self._per_request) < MAX_LABEL_SETS:  # every part is bounded; this is a backstop
                self._per_request[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def cache_lookup(self, result: str) -> None:
        """KnowledgeService's ``on_cache`` callback: "hit", "shared_hit" or "miss"."""
        self._cache_results[result].inc()

    def answered(self, rendered: RenderedResponse) -> None:
        """An ``on_rendered`` hook: count each criterion of an answer (cached or not) by layer."""
        for layer in rendered.layers:
            self._layers.get(layer, self._layers["none"]).inc()

    def upstream_error(self) -> None:
        self.upstream_errors.inc()

    def watch_database(self, engine: Engine) -> None:
        """Count every error the engine's driver raises (requests, commands, pool pre-pings)."""
        event.listen(engine, "handle_error", self._database_error)

    def _database_error(self, context) -> None:
        self.database_errors.labels(type(context.sqlalchemy_exception).__name__).inc()

    # -- what /metrics shows -----------------------------------------------------------------

    def exposition(self) -> bytes:
        """The text exposition of every metric: this registry's, or every worker's."""
        if self._registry is not None:
            return generate_latest(self._registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=self.multiprocess_dir)
        return generate_latest(registry)


@contextmanager
def multiprocess_dir() -> Iterator[str]:
    """For ``serve``: a directory for the workers' metric files, set as PROMETHEUS_MULTIPROC_DIR
    for this process and the workers it forks. The operator's directory when the variable is set
    (emptied of old files first), else a new temporary one, removed at the end.

    Only the process that entered removes it: a forked worker leaves through the same frames."""
    given = os.environ.get(MULTIPROC_ENV)
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="infobutton-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("*.db"):  # a previous run's counts are not this run's
        old.unlink()
    os.environ[MULTIPROC_ENV] = str(path)
    # prometheus_client picks its value store when imported; it was imported before this ran.
    plain = values.ValueClass
    values.ValueClass = values.get_value_class()
    owner = os.getpid()
    try:
        yield str(path)
    finally:
        if os.getpid() == owner:
            values.ValueClass = plain
            if given:
                for old in path.glob("*.db"):
                    old.unlink()
            else:
                del os.environ[MULTIPROC_ENV]
                shutil.rmtree(path, ignore_errors=True)


def process_dead(pid: int) -> None:
    """gunicorn's ``child_exit``: drop a dead worker's live gauges from the directory."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)
