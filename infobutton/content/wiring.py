"""Wiring the content services into a worker's Services (called from ``build_services``):
the optional upstream responder (INFOBUTTON_UPSTREAM_URL) and the optional scheduled sync
(INFOBUTTON_SYNC_INTERVAL). Both are off by default."""

from __future__ import annotations

from .schedule import SyncScheduler
from .sync import DEFAULT_URL
from .upstream import UpstreamResponder


def wire(services) -> None:
    settings = services.settings
    if settings.upstream_url:
        upstream = UpstreamResponder(
            settings.upstream_url,
            ttl=settings.upstream_ttl,
            timeout=settings.upstream_timeout,
            rate_per_minute=settings.upstream_rate,
            local=services.knowledge.topic,  # cached, dropped when topics change
        )
        services.knowledge.upstream = upstream
        services.extra["upstream"] = upstream
    if settings.sync_interval > 0:
        scheduler = SyncScheduler(
            services.topics,
            services.knowledge,
            settings.sync_url or DEFAULT_URL,
            settings.sync_interval,
        )
        services.extra["sync"] = scheduler
        services.on_answer.append(lambda _request, _answered: scheduler.start())
        services.on_close.append(scheduler.stop)
