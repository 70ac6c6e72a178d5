"""The services one app (one worker) uses, built in one place and injected into the views."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from .config import Settings
from .crosswalk import Crosswalk
from .knowledge import KnowledgeService
from .store import Database, SqlMappingStore, SqlTopicStore, open_stores


@dataclass
class Services:
    settings: Settings
    db: Database
    topics: SqlTopicStore
    mappings: SqlMappingStore
    knowledge: KnowledgeService
    extra: dict = field(default_factory=dict)  # services later modules add (admin, content …)
    # Called as hook(knowledge_request, answered_codes) for every answered request, cached or
    # not: answered_codes is the frozenset of the request's Codes a mapping rule answered (usage
    # counts for the gap report). Cheap by design; hooks must not store patient context.
    on_answer: list = field(default_factory=list)
    # Called with no arguments before the database closes (a worker stopping): flush buffers.
    on_close: list = field(default_factory=list)

    def close(self) -> None:
        for hook in self.on_close:
            hook()
        self.db.close()


def build_services(settings: Settings, *, seed: bool | None = None) -> Services:
    """Connect to the configured database, migrate it, seed it when empty, wire the caches."""
    from . import bundled, mapping_admin, suggestion_admin, terminology
    from .content import wiring as content_wiring

    crosswalk = Crosswalk.from_settings(settings)  # a bad INFOBUTTON_SNOMED_MAP fails here, at start
    seeding = settings.seed if seed is None else seed
    db, topics, mappings = open_stores(settings.resolved_database_url, prepare=bundled.seed if seeding else None)
    terminology.warm_up()
    crosswalk.warm_up()
    knowledge = KnowledgeService(
        db,
        topics,
        mappings,
        max_topics=settings.max_topics,
        response_ttl=settings.cache_ttl,
        response_size=settings.cache_size,
        check_interval=settings.version_check_interval,
        search=topics.search,
        translate=crosswalk.to_icd10cm,
        shared=_shared_cache(settings),
    )
    knowledge.concept_index()  # topic names indexed now, not on the first request
    services = Services(settings, db, topics, mappings, knowledge)
    content_wiring.wire(services)  # upstream responder, scheduled catalogue sync
    mapping_admin.wire(services)  # tokens, mapping admin, usage counts for the gap report
    suggestion_admin.wire(services)  # suggested mappings, accepted and rejected
    return services


def _shared_cache(settings: Settings):
    if not settings.redis_url:
        return None
    from .shared_cache import RedisResponseCache

    return RedisResponseCache(settings.redis_url, settings.cache_ttl)


def current_services() -> Services:
    return current_app.extensions["infobutton"]
