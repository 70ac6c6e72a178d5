"""CDS Hooks feedback (CDS Hooks 2.0 §Feedback): what clinicians did with our cards.

Only the service, the card's uuid, the outcome, how many suggestions were accepted, the coded
override reason and the outcome time are kept: no patient, no user, no free-text comment.
Rows older than ``retention_days`` (by when we received them) are deleted in the same transaction
as each write, through the ``received_at`` index: the table never holds more than the retention
period's worth of (rate-limited) feedback.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select

from .db import Database
from .schema import cds_feedback as table


class FeedbackStore:
    def __init__(self, db: Database, retention_days: int = 90):
        self.db = db
        self.retention = timedelta(days=retention_days)

    def add(self, service_id: str, items: list[dict]) -> int:
        """Store validated feedback items (card, outcome, accepted, system, code, timestamp)."""
        moment = datetime.now(UTC)
        now = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        oldest = (moment - self.retention).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows = [
            {
                "service_id": service_id,
                "card_id": item["card"],
                "outcome": item["outcome"],
                "accepted_suggestions": item["accepted"],
                "override_system": item["system"],
                "override_code": item["code"],
                "outcome_timestamp": item["timestamp"],
                "received_at": now,
            }
            for item in items
        ]
        if rows:
            with self.db.transaction():
                self.db.execute(delete(table).where(table.c.received_at < oldest))
                self.db.execute(insert(table), rows)
        return len(items)

    def count(self) -> int:
        return int(self.db.scalar(select(func.count()).select_from(table)) or 0)

    def all(self) -> list[dict]:
        columns = (
            "service_id",
            "card_id",
            "outcome",
            "accepted_suggestions",
            "override_system",
            "override_code",
            "outcome_timestamp",
            "received_at",
        )
        rows = self.db.query(select(*(table.c[name] for name in columns)).order_by(table.c.id))
        return [dict(zip(columns, row, strict=True)) for row in rows]
