"""Admin API tokens: only a salted scrypt hash is stored, never the token.

A token reads ``ibk_<key id>.<secret>``: the key id finds the row, scrypt (RFC 7914) checks the
secret. An unknown key id is checked against a dummy hash, so both cost one scrypt and the time
taken does not tell whether a key id exists. Verified tokens are remembered per process against
the stored hash, so a request costs one indexed lookup, and revoking (deleting the row) takes
effect in every worker at once.

Each token has a session generation: sessions carry it, and sign-out or a role change bumps it,
ending every session of that token (``end_sessions``). Failed checks are counted per key
(a client, a key id) in the database by one atomic UPSERT (``count_failure``), so a limit holds
across workers and concurrent attempts.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

import cachetools
from sqlalchemy import case, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..models import ROLES, InvalidRequest
from .db import Database
from .schema import admin_tokens as table
from .schema import auth_failures as failures

PREFIX = "ibk_"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32, "maxmem": 64 * 1024 * 1024}


def _hash(secret: str, salt: bytes) -> str:
    return hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT).hex()


@functools.cache
def _dummy() -> tuple[bytes, str]:
    """A salt and hash no secret matches, checked when the key id is unknown (made once)."""
    salt = secrets.token_bytes(16)
    return salt, _hash(secrets.token_urlsafe(32), salt)


def key_id_of(token: str) -> str | None:
    """The key id a token names (existing or not), or None when it is not shaped like one."""
    parts = _split(token or "")
    return parts[0] if parts else None


def _split(token: str) -> tuple[str, str] | None:
    if not token.startswith(PREFIX) or "." not in token or len(token) > 200:
        return None
    key_id, _, secret = token[len(PREFIX) :].partition(".")
    return (key_id, secret) if key_id and secret else None


_INFO = select(table.c.name, table.c.role, table.c.key_id, table.c.created_at, table.c.last_used_at)


@dataclass(frozen=True)
class TokenInfo:
    name: str
    role: str
    key_id: str
    created_at: str
    last_used_at: str | None = None


class SqlTokenStore:
    def __init__(self, db: Database, *, timer=time.time):
        self.db = db
        self._timer = timer
        self._lock = threading.Lock()
        # key id -> (stored hash, sha256 of the presented token): scrypt once per process.
        self._verified: cachetools.LRUCache = cachetools.LRUCache(maxsize=1024)

    def create(self, name: str, role: str) -> str:
        """A new token for ``name``; the only time the token exists outside its holder."""
        name = (name or "").strip()
        if not name or len(name) > 80 or any(ch.isspace() and ch != " " for ch in name):
            raise InvalidRequest("name", "a name of 1 to 80 characters is required", 422)
        if role not in ROLES:
            raise InvalidRequest("role", f"must be one of {', '.join(ROLES)}", 422)
        key_id, secret, salt = secrets.token_hex(6), secrets.token_urlsafe(32), secrets.token_bytes(16)
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self.db.transaction():
            if self.db.scalar(select(table.c.id).where(table.c.name == name)) is not None:
                raise InvalidRequest("name", f"a token named {name!r} exists; revoke it first", 409)
            self.db.execute(
                insert(table).values(
                    name=name, role=role, key_id=key_id, salt=salt.hex(), hash=_hash(secret, salt), created_at=now
                )
            )
        return f"{PREFIX}{key_id}.{secret}"

    def verify(self, token: str, gate: Callable[[], None] | None = None) -> TokenInfo | None:
        """The token's holder, or None for an unknown, malformed or revoked token.

        A token this process verified before (against the same stored hash) costs no scrypt.
        Otherwise ``gate`` (if given) is called first and may raise to refuse the check; then
        one scrypt runs, against the stored hash or, for an unknown key id, a dummy one."""
        parts = _split(token or "")
        if parts is None:
            return None
        key_id, secret = parts
        c = table.c
        row = self.db.one(
            select(c.name, c.role, c.salt, c.hash, c.created_at, c.last_used_at).where(c.key_id == key_id)
        )
        presented = hashlib.sha256(token.encode()).digest()
        if row is not None:
            with self._lock:
                cached = self._verified.get(key_id)
            if cached is not None and cached[0] == row.hash and hmac.compare_digest(cached[1], presented):
                return TokenInfo(row.name, row.role, key_id, row.created_at, row.last_used_at)
        if gate is not None:
            gate()
        salt, stored = (bytes.fromhex(row.salt), row.hash) if row is not None else _dummy()
        matches = hmac.compare_digest(_hash(secret, salt), stored)
        if row is None or not matches:
            return None
        with self._lock:
            self._verified[key_id] = (stored, presented)
        return TokenInfo(row.name, row.role, key_id, row.created_at, row.last_used_at)

    def by_key_id(self, key_id: str) -> TokenInfo | None:
        """The holder of a still-valid token."""
        row = self.db.one(_INFO.where(table.c.key_id == key_id))
        return TokenInfo(*row) if row else None

    def session_holder(self, key_id: str) -> tuple[TokenInfo, int] | None:
        """The holder of a still-valid token and its session generation (one lookup per
        signed-in request: sessions keep the key id and the generation they were made at)."""
        row = self.db.one(select(*_INFO.selected_columns, table.c.session_generation).where(table.c.key_id == key_id))
        return (TokenInfo(*row[:-1]), int(row[-1])) if row else None

    def end_sessions(self, key_id: str) -> None:
        """End every session of the token (sign-out): sessions made before now are refused."""
        c = table.c
        self.db.execute(update(table).where(c.key_id == key_id).values(session_generation=c.session_generation + 1))

    def set_role(self, name: str, role: str) -> bool:
        """Change a token's role, ending its sessions; False when no token has that name."""
        if role not in ROLES:
            raise InvalidRequest("role", f"must be one of {', '.join(ROLES)}", 422)
        c = table.c
        changed = self.db.execute(
            update(table).where(c.name == name).values(role=role, session_generation=c.session_generation + 1)
        )
        return changed.rowcount > 0

    def touch(self, key_id: str) -> None:
        """Record the day a token was last used (at most one write per token and day)."""
        today = datetime.now(timezone.utc).date().isoformat()
        c = table.c
        self.db.execute(
            update(table)
            .where(c.key_id == key_id, (c.last_used_at.is_(None)) | (c.last_used_at != today))
            .values(last_used_at=today),
            retry=True,  # idempotent: setting the same day twice is harmless
        )

    def revoke(self, name: str) -> bool:
        with self.db.transaction():
            key_id = self.db.scalar(select(table.c.key_id).where(table.c.name == name))
            if key_id is None:
                return False
            self.db.execute(delete(table).where(table.c.name == name))
        self.forget(key_id)
        return True

    def forget(self, key_id: str) -> None:
        """Drop a remembered verification (the cache next to ``verify``)."""
        with self._lock:
            self._verified.pop(key_id, None)

    def list(self) -> list[TokenInfo]:
        rows = self.db.query(_INFO.order_by(table.c.name))
        return [TokenInfo(*row) for row in rows]

    # -- failed checks -----------------------------------------------------------------------

    def hit(self, key: str, window: float) -> tuple[int, float]:
        """Count one attempt or failure for ``key`` atomically: (failures in the window, seconds until the
        window ends). The window starts at the key's first failure; an expired one restarts."""
        now = self._timer()
        start = int(now)
        f = failures.c
        dialect_insert = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        upsert = dialect_insert(failures).values(key=key, first_at=start, failures=1)
        expired = f.first_at <= start - window
        counted = upsert.on_conflict_do_update(
            index_elements=[f.key],
            set_={
                "failures": case((expired, 1), else_=f.failures + 1),
                "first_at": case((expired, start), else_=f.first_at),
            },
        ).returning(f.failures, f.first_at)
        with self.db.transaction():
            count, first_at = self.db.execute(counted).fetchone()
            if count == 1:  # a new window: a moment to drop the windows that have ended
                self.db.execute(delete(failures).where(f.first_at <= start - window))
        return int(count), max(1.0, first_at + window - now)

    def failures(self, key: str, window: float) -> int:
        """Failures counted for ``key`` in its current window."""
        f = failures.c
        row = self.db.one(select(f.failures, f.first_at).where(f.key == key))
        return int(row[0]) if row and row[1] > self._timer() - window else 0

    def uncount(self, key: str) -> None:
        """Take back one count for ``key`` (a check that succeeded): only failures add up, and
        holding a valid token never wipes the failures counted before it."""
        f = failures.c
        self.db.execute(update(failures).where(f.key == key, f.failures > 0).values(failures=f.failures - 1))
