"""CDS Hooks feedback (CDS Hooks 2.0 §Feedback): what clinicians did with our cards.

Only the service, the card's uuid, the outcome, how many suggestions were accepted, the coded
override reason and the outcome time are kept: no patient, no user, no free-text comment.
"""

from __future__ import annotations

from datetime import UTC, datetime

from . import schema
from .db import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS cds_feedback (
    id {id},
    service_id TEXT NOT NULL,
    card_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    accepted_suggestions INTEGER NOT NULL DEFAULT 0,
    override_system TEXT,
    override_code TEXT,
    outcome_timestamp TEXT,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cds_feedback_card ON cds_feedback (card_id);
"""

if SCHEMA not in schema.SCHEMAS:
    schema.SCHEMAS.append(SCHEMA)


class FeedbackStore:
    def __init__(self, db: Database):
        self.db = db
        schema.migrate(db)  # idempotent: creates cds_feedback where an older database lacks it

    def add(self, service_id: str, items: list[dict]) -> int:
        """Store validated feedback items (card, outcome, accepted, system, code, timestamp)."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self.db.transaction():
            for item in items:
                self.db.execute(
                    "INSERT INTO cds_feedback (service_id, card_id, outcome, accepted_suggestions,"
                    " override_system, override_code, outcome_timestamp, received_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        service_id,
                        item["card"],
                        item["outcome"],
                        item["accepted"],
                        item["system"],
                        item["code"],
                        item["timestamp"],
                        now,
                    ),
                )
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
        rows = self.db.query(f"SELECT {', '.join(columns)} FROM cds_feedback ORDER BY id")
        return [dict(zip(columns, row, strict=True)) for row in rows]
