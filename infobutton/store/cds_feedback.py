"""CDS Hooks feedback (CDS Hooks 2.0 §Feedback): what clinicians did with our cards.

Only the service, the card's uuid, the outcome, how many suggestions were accepted, the coded
override reason and the outcome time are kept: no patient, no user, no free-text comment.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select

from .db import Database
from .schema import cds_feedback as table


class FeedbackStore:
    def __init__(self, db: Database):
        self.db = db

    def add(self, service_id: str, items: list[dict]) -> int:
        """Store validated feedback items (card, outcome, accepted, system, code, timestamp)."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
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
                self.db.execute(insert(table), rows)
        return len(items)

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
