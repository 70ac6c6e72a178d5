"""Admin API tokens: only a salted scrypt hash is stored, never the token.

A token reads ``ibk_<key id>.<secret>``: the key id finds the row, scrypt (RFC 7914) checks the
secret. Verified tokens are remembered per process against the stored hash, so a request costs
one indexed lookup, and revoking (deleting the row) takes effect in every worker at once.
Failed sign-ins are counted per client in the database, so the limit holds across workers.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import cachetools
from sqlalchemy import delete, func, insert, select, update

from ..models import ROLES, InvalidRequest
from .db import Database
from .schema import admin_signin_failures as failures
from .schema import admin_tokens as table

PREFIX = "ibk_"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32, "maxmem": 64 * 1024 * 1024}


def _hash(secret: str, salt: bytes) -> str:
    return hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT).hex()


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

    def verify(self, token: str) -> TokenInfo | None:
        """The token's holder, or None for an unknown, malformed or revoked token."""
        parts = _split(token or "")
        if parts is None:
            return None
        key_id, secret = parts
        c = table.c
        row = self.db.one(
            select(c.name, c.role, c.salt, c.hash, c.created_at, c.last_used_at).where(c.key_id == key_id)
        )
        if row is None:
            return None
        name, role, salt, stored, created_at, last_used = row
        presented = hashlib.sha256(token.encode()).digest()
        with self._lock:
            cached = self._verified.get(key_id)
        if cached is None or cached[0] != stored or not hmac.compare_digest(cached[1], presented):
            if not hmac.compare_digest(_hash(secret, bytes.fromhex(salt)), stored):
                return None
            with self._lock:
                self._verified[key_id] = (stored, presented)
        return TokenInfo(name, role, key_id, created_at, last_used)

    def by_key_id(self, key_id: str) -> TokenInfo | None:
        """The holder of a still-valid token (for sessions, which keep only the key id)."""
        row = self.db.one(_INFO.where(table.c.key_id == key_id))
        return TokenInfo(*row) if row else None

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

    # -- failed sign-ins ---------------------------------------------------------------------

    def failures(self, client: str, window: float) -> int:
        since = self._timer() - window
        return int(
            self.db.scalar(
                select(func.count()).select_from(failures).where(failures.c.client == client, failures.c.at > since)
            )
            or 0
        )

    def record_failure(self, client: str, window: float) -> None:
        now = self._timer()
        with self.db.transaction():
            self.db.execute(delete(failures).where(failures.c.at < now - window))
            self.db.execute(insert(failures).values(client=client, at=now))

    def clear_failures(self, client: str) -> None:
        self.db.execute(delete(failures).where(failures.c.client == client))
