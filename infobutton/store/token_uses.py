"""CDS Hooks token ids (``jti``) already accepted, shared by every worker and instance.

CDS Hooks 2.0 security: a JWT is accepted once. A per-process memory would let a token replayed
to another worker through; this table is the one memory all of them share. Rows live until the
token expires and are deleted by the next write after that (indexed on ``expires_at``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from .db import Database
from .schema import cds_token_uses as table


class SqlTokenUses:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time):
        self.db = db
        self.clock = clock

    def first_use(self, iss: str, jti: str, expires: float) -> bool:
        """Record (iss, jti) until ``expires`` (epoch seconds); False if it was recorded before."""
        insert = (postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert)(table)
        row = {"iss": iss, "jti": jti, "expires_at": math.ceil(expires)}
        with self.db.transaction():
            self.db.execute(delete(table).where(table.c.expires_at < math.floor(self.clock())))
            return self.db.execute(insert.values(row).on_conflict_do_nothing()).rowcount == 1
