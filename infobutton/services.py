"""The services one app (one worker) uses: built in one place (``build_services``), one typed
field each, and read by the views and commands through ``current_services()``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app

from . import bundled, terminology
from .answering import AnswerService
from .answering.service import AnswerHook, RenderedHook
from .cds.gate import CdsGate
from .config import Settings, networks
from .content.schedule import SyncScheduler
from .content.sync import DEFAULT_URL
from .content.upstream import UpstreamResponder
from .crosswalk import Crosswalk
from .knowledge import KnowledgeService, TitleTable
from .known_codes import KnownCodes
from .mappings.coverage import CoverageReport
from .mappings.service import MappingAdmin
from .mappings.suggestion_service import SuggestionAdmin
from .metrics import Metrics
from .rate_limits import RateLimits
from .shared_cache import RedisResponseCache
from .store import Database, SqlMappingStore, SqlTopicStore, migrate, open_stores
from .store.cds_feedback import FeedbackStore
from .store.history import SqlHistoryStore
from .store.rejections import SqlRejectionStore
from .store.token_uses import SqlTokenUses
from .store.tokens import SqlTokenStore
from .store.usage import SqlUsageStore
from .usage import UsageRecorder


@dataclass
class Services:
    settings: Settings
    db: Database
    topics: SqlTopicStore
    mappings: SqlMappingStore
    knowledge: KnowledgeService
    titles: TitleTable  # every ICD-10-CM title's matches; one table shared by the workers ``serve`` forks
    answers: AnswerService  # the one use case of the public endpoints: a knowledge request answered
    history: SqlHistoryStore
    tokens: SqlTokenStore
    usage: UsageRecorder  # usage counts for the gap report
    mapping_admin: MappingAdmin
    rejections: SqlRejectionStore
    suggestions: SuggestionAdmin
    coverage: CoverageReport  # billable codes answered per chapter, by layer
    cds_feedback: FeedbackStore
    cds: CdsGate  # CDS Hooks callers, fhirServer fetches, feedback rate (shared through Redis when configured)
    schema_head: str  # the migration head this code ships: /readyz compares the database with it
    rate_limits: RateLimits | None = None  # the public budget per client (INFOBUTTON_RATE_LIMIT); None when off
    upstream: UpstreamResponder | None = None  # INFOBUTTON_UPSTREAM_URL; off by default
    sync: SyncScheduler | None = None  # INFOBUTTON_SYNC_INTERVAL; off by default
    metrics: Metrics = field(default_factory=Metrics)  # what /metrics shows (metrics.py)
    # Filled by build_services only; ``answers`` calls each without knowing who listens.
    on_answer: list[AnswerHook] = field(default_factory=list)
    on_rendered: list[RenderedHook] = field(default_factory=list)
    # Called with no arguments before the database closes (a worker stopping): flush buffers.
    on_close: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for hook in self.on_close:
            hook()
        self.db.close()


def build_services(
    settings: Settings, *, seed: bool | None = None, warm: bool = True, titles: TitleTable | None = None
) -> Services:
    """Connect to the configured database, migrate it, seed it when empty, build every service.

    ``warm`` loads the code tables and the topic-name index now rather than on first use: what a
    server wants before its first request, and what a one-shot command need not pay for.
    ``titles``: the title table built before the workers forked (``serve``); a new, empty one
    otherwise."""
    titles = titles if titles is not None else TitleTable()
    crosswalk = Crosswalk.from_settings(settings)  # a bad INFOBUTTON_SNOMED_MAP fails here, at start
    known = KnownCodes.from_settings(settings, crosswalk)  # and a bad INFOBUTTON_RXNORM_CODES
    seeding = settings.seed if seed is None else seed
    metrics = Metrics.for_process()
    db, topics, mappings = open_stores(settings.resolved_database_url, prepare=bundled.merge if seeding else None)
    metrics.watch_database(db.engine)
    upstream = _upstream(settings, metrics)
    knowledge = KnowledgeService(
        db,
        topics,
        mappings,
        max_topics=settings.max_topics,
        response_ttl=settings.cache_ttl,
        response_size=settings.cache_size,
        response_bytes=settings.cache_bytes,
        check_interval=settings.version_check_interval,
        search=topics.search,
        upstream=upstream,
        translate=crosswalk.to_icd10cm,
        titles=titles,
        shared=RedisResponseCache(settings.redis_url, settings.cache_ttl) if settings.redis_url else None,
        on_cache=metrics.cache_lookup,
    )
    if warm:
        terminology.warm_up()
        crosswalk.warm_up()
        knowledge.concept_index()
    history = SqlHistoryStore(db)
    usage = UsageRecorder(
        SqlUsageStore(db),
        knowledge,
        known=known,
        keep_days=settings.usage_days,
        codes_per_minute=settings.usage_codes_per_minute,
    )
    mapping_admin = MappingAdmin(mappings, history, knowledge)
    rejections = SqlRejectionStore(db)
    on_answer: list[AnswerHook] = [usage.record]
    on_rendered: list[RenderedHook] = [metrics.answered]
    answers = AnswerService(
        knowledge,
        base_url=settings.base_url,
        http_max_age=settings.http_max_age,
        on_answer=on_answer,
        on_rendered=on_rendered,
    )
    services = Services(
        settings=settings,
        db=db,
        topics=topics,
        mappings=mappings,
        knowledge=knowledge,
        titles=titles,
        answers=answers,
        history=history,
        tokens=SqlTokenStore(db),
        usage=usage,
        mapping_admin=mapping_admin,
        rejections=rejections,
        suggestions=SuggestionAdmin(knowledge, rejections, mapping_admin, usage),
        coverage=CoverageReport(knowledge),
        cds_feedback=FeedbackStore(db, retention_days=settings.cds_feedback_days),
        cds=CdsGate.from_settings(settings, replay=SqlTokenUses(db)),  # jti once, across workers
        schema_head=migrate.head(),
        rate_limits=_rate_limits(settings),
        upstream=upstream,
        sync=_sync(settings, topics, knowledge),
        metrics=metrics,
        on_answer=on_answer,
        on_rendered=on_rendered,
    )
    services.on_close.append(usage.flush)  # a worker that stops keeps its last counts
    services.on_close.append(services.cds.close)
    if services.sync is not None:
        scheduler = services.sync
        # Started by the first answered request, so the gunicorn arbiter never holds the thread.
        services.on_answer.append(lambda _request, _answered, _client: scheduler.start())
        services.on_close.append(scheduler.stop)
    return services


def _upstream(settings: Settings, metrics: Metrics) -> UpstreamResponder | None:
    if not settings.upstream_url:
        return None
    return UpstreamResponder(
        settings.upstream_url,
        ttl=settings.upstream_ttl,
        timeout=settings.upstream_timeout,
        rate_per_minute=settings.upstream_rate,
        on_error=metrics.upstream_error,
    )


def _rate_limits(settings: Settings) -> RateLimits | None:
    if not settings.rate_limit:
        return None
    return RateLimits(settings.rate_limit, settings.redis_url, exempt=networks(settings.rate_limit_exempt))


def _sync(settings: Settings, topics: SqlTopicStore, knowledge: KnowledgeService) -> SyncScheduler | None:
    if settings.sync_interval <= 0:
        return None
    return SyncScheduler(topics, knowledge, settings.sync_url or DEFAULT_URL, settings.sync_interval)


def current_services() -> Services:
    """The current app's services (inside a request or an app context)."""
    return current_app.extensions["infobutton"]
