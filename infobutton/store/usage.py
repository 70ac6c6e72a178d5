"""Request counts per code system, code and day, for the gap report.

Only (day, code system, code, requests, unmatched) is stored: no age, gender, time of day or
anything else that ties a count to a patient. Codes the service does not know (``known_codes``)
share one row per code system and day, whose code is UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from .db import Database
from .schema import mapping_usage as table

UNKNOWN = "*"  # the code of the row counting a system's unknown codes (no code contains "*")


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
        dialect_insert = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        rows = [
            {"day": day, "code_system": system, "code": code, "requests": requests, "unmatched": unmatched}
            for (day, system, code), (requests, unmatched) in counts.items()
        ]
        upsert = dialect_insert(table)
        upsert = upsert.on_conflict_do_update(
            index_elements=[table.c.day, table.c.code_system, table.c.code],
            set_={
                "requests": table.c.requests + upsert.excluded.requests,
                "unmatched": table.c.unmatched + upsert.excluded.unmatched,
            },
        )
        with self.db.transaction():
            self.db.execute(upsert, rows)

    def delete_before(self, first_day: str) -> int:
        """Drop the counts of days before ``first_day`` (retention); how many rows went."""
        return self.db.execute(delete(table).where(table.c.day < first_day)).rowcount

    def unmatched_since(self, first_day: str, limit: int = 200) -> list[CodeUsage]:
        """Codes with unmatched requests on or after ``first_day``, most unmatched first."""
        c = table.c
        unmatched = func.sum(c.unmatched)
        rows = self.db.query(
            select(c.code_system, c.code, func.sum(c.requests), unmatched, func.max(c.day))
            .where(c.day >= first_day, c.code != UNKNOWN)
            .group_by(c.code_system, c.code)
            .having(unmatched > 0)
            .order_by(unmatched.desc(), c.code_system, c.code)
            .limit(limit)
        )
        return [CodeUsage(s, c, int(r), int(u), d) for s, c, r, u, d in rows]

    def unknown_since(self, first_day: str) -> list[CodeUsage]:
        """Per code system, the requests for codes it does not know on or after ``first_day``."""
        c = table.c
        rows = self.db.query(
            select(c.code_system, func.sum(c.requests), func.sum(c.unmatched), func.max(c.day))
            .where(c.day >= first_day, c.code == UNKNOWN)
            .group_by(c.code_system)
            .order_by(func.sum(c.requests).desc(), c.code_system)
        )
        return [CodeUsage(s, UNKNOWN, int(r), int(u), d) for s, r, u, d in rows]
