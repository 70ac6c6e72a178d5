"""CDS Hooks feedback (CDS Hooks 2.0 §Feedback): what clinicians did with our cards.

Only the service, the card's uuid, the outcome, how many suggestions were accepted, the coded
override reason and the outcome time are kept: no patient, no user, no free-text comment.
"""

from __future__ import annotations

from datetime import UTC, datetime

from .db import Database


class FeedbackStore:
    def __init__(self, db: Database):
        self.db = db

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
