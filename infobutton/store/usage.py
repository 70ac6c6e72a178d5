"""Request counts per code system, code and day, for the gap report.

Only (day, code system, code, requests, unmatched) is stored: no age, gender, time of day or
anything else that ties a count to a patient.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .db import Database


@dataclass(frozen=True)
class CodeUsage:
    code_system: str  # CodeSystem name
    code: str
    requests: int
    unmatched: int
    last_day: str


class SqlUsageStore:
    def __init__(self, db: Database):
        self.db = db

    def add(self, counts: Mapping[tuple[str, str, str], tuple[int, int]]) -> None:
        """Add (requests, unmatched) per (day, system, code) in one short transaction."""
        if not counts:
            return
        with self.db.transaction():
            for (day, system, code), (requests, unmatched) in counts.items():
                self.db.execute(
                    "INSERT INTO mapping_usage (day, code_system, code, requests, unmatched)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (day, code_system, code) DO UPDATE SET"
                    " requests = mapping_usage.requests + excluded.requests,"
                    " unmatched = mapping_usage.unmatched + excluded.unmatched",
                    (day, system, code, requests, unmatched),
                )

    def unmatched_since(self, first_day: str, limit: int = 200) -> list[CodeUsage]:
        """Codes with unmatched requests on or after ``first_day``, most unmatched first."""
        rows = self.db.query(
            "SELECT code_system, code, SUM(requests), SUM(unmatched), MAX(day) FROM mapping_usage"
            " WHERE day >= ? GROUP BY code_system, code HAVING SUM(unmatched) > 0"
            " ORDER BY SUM(unmatched) DESC, code_system, code LIMIT ?",
            (first_day, limit),
        )
        return [CodeUsage(s, c, int(r), int(u), d) for s, c, r, u, d in rows]
