"""Who is calling the admin API or UI, and what their role lets them do.

API callers send ``Authorization: Bearer TOKEN`` (RFC 6750): 401 without it or with a bad one,
403 when the role may not act. The web UI signs in with a token into a signed session cookie
(Secure, HttpOnly, SameSite=Strict) that keeps the token's key id and session generation,
never the token; every form and every unsafe API call made with the cookie carries a CSRF
token. Tokens never reach a log.

Token checks (sign-in and bearer alike, ``check_token``) are throttled, atomically in the
database: each client may fail ``signin_attempts`` scrypt checks per ``signin_window`` (counted
before the check, taken back by a success: a valid token in hand never resets the count of its
holder's failed guesses, in any worker), and a key id that failed ``signin_attempts`` times is
answered 429. The correct secret is always accepted whatever its key id suffered (only the
failing client waits), so an attack on a key id never locks out its holder. Sessions end
server-side: sign-out, a role change or revocation refuses every session of the token.
"""

from __future__ import annotations

import contextlib
import functools
import hmac
import logging
import math
import os
import secrets
from pathlib import Path
from typing import NoReturn

from flask import Flask, abort, g, request, session
from flask.sessions import SecureCookieSessionInterface

from ..config import Settings, default_data_dir
from ..models import InvalidRequest, role_allows
from ..services import current_services
from ..store.tokens import SqlTokenStore, TokenInfo, key_id_of
from .errors import error_response
from .transport import client_address

log = logging.getLogger(__name__)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSRF_HEADER = "X-CSRF-Token"


class Unauthenticated(InvalidRequest):
    """401: no credentials or bad ones (answered with a WWW-Authenticate challenge)."""

    def __init__(self, message: str, error: str | None = None):
        super().__init__("Authorization", message, 401)
        self.challenge = 'Bearer realm="infobutton-admin"' + (f', error="{error}"' if error else "")


class Throttled(InvalidRequest):
    """429: too many failed token checks from this client, or against this key id."""

    def __init__(self, message: str, retry_after: float):
        super().__init__("Authorization", message, 429)
        self.retry_after = max(1, math.ceil(retry_after))


ADMIN_PATH = "/admin"


def secret_key(settings: Settings) -> str:
    """INFOBUTTON_SECRET_KEY, else a random key created once in the data directory (mode 0600),
    so every worker on the machine signs sessions alike. Workers start together: the key is
    written whole to a temporary file and linked into place, so a reader sees no file or the
    whole key, never a part; the first link wins and every worker reads that one."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir or default_data_dir()) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    key = _read_key(path)
    if key:
        return key
    temporary = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another worker's link came first: read that
            os.link(temporary, path)  # atomic, and never over an existing key
    finally:
        temporary.unlink(missing_ok=True)
    key = _read_key(path)
    if not key:
        # only a crash between creating and writing the file, as earlier versions did, leaves it empty
        raise RuntimeError(f"the admin session key file {path} is empty: delete it, or set INFOBUTTON_SECRET_KEY")
    return key


def _read_key(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


class AdminSessionInterface(SecureCookieSessionInterface):
    """Sessions exist only under /admin: public answers skip cookie signing work entirely, and
    the cookie (path /admin) is never sent with an infobutton request."""

    def open_session(self, app, request):
        if request.path != ADMIN_PATH and not request.path.startswith(ADMIN_PATH + "/"):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def get_cookie_secure(self, app) -> bool:
        """Secure when configured (the default), and always when the request came over TLS."""
        return bool(super().get_cookie_secure(app) or request.is_secure)


def init_session(app: Flask, settings: Settings) -> None:
    app.secret_key = secret_key(settings)
    app.session_interface = AdminSessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME="infobutton_admin",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_PATH=ADMIN_PATH,
        PERMANENT_SESSION_LIFETIME=8 * 3600,
    )


def tokens() -> SqlTokenStore:
    return current_services().tokens


# -- CSRF (the synchroniser token pattern) --------------------------------------------------


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def csrf_ok(value: str | None) -> bool:
    expected = session.get("csrf")
    return bool(expected and value and hmac.compare_digest(expected, value))


# -- sessions --------------------------------------------------------------------------------


def sign_in(info: TokenInfo) -> None:
    session.clear()
    session.permanent = True
    holder = tokens().session_holder(info.key_id)
    session["key_id"] = info.key_id
    session["generation"] = holder[1] if holder else -1
    session["role"] = info.role
    session["csrf"] = secrets.token_urlsafe(24)


def sign_out() -> None:
    """End this session and every other session of the same token (a copied cookie included)."""
    key_id = session.get("key_id")
    if key_id:
        tokens().end_sessions(key_id)
    session.clear()


def session_user() -> TokenInfo | None:
    """The signed-in holder, while the token exists, keeps its role and its sessions were not
    ended since this one began (revocation, sign-out and role changes are live)."""
    key_id = session.get("key_id")
    holder = tokens().session_holder(key_id) if isinstance(key_id, str) else None
    if holder is None:
        return None
    info, generation = holder
    if session.get("generation") != generation or session.get("role") != info.role:
        session.clear()
        return None
    return info


# -- token checks ----------------------------------------------------------------------------


def check_token(token: str) -> TokenInfo:
    """The holder of ``token``; Unauthenticated (401) for a bad one, Throttled (429) when this
    client or this key id failed too often (see the module docstring)."""
    store = tokens()
    settings = current_services().settings
    limit, window = settings.signin_attempts, settings.signin_window
    client_key = f"client:{client_address()}"
    gated = False

    def gate() -> None:  # before any scrypt: one atomic count per check this client makes
        nonlocal gated
        gated = True
        count, retry_after = store.hit(client_key, window)
        if count > limit:
            raise Throttled("too many failed token checks from this client; wait and try again", retry_after)

    info = store.verify(token, gate)
    if info is not None:
        if gated:
            store.uncount(client_key)
        return info
    key_id = key_id_of(token)
    if key_id is not None and gated:
        # Counted whether or not the key id exists, so a 429 does not tell that either.
        count, retry_after = store.hit(f"key:{key_id}", window)
        if count > limit:
            log.warning("token checks for key id %s failed %d times in %d s", key_id, count, int(window))
            raise Throttled("too many failed token checks for this key id; wait and try again", retry_after)
    raise Unauthenticated("unknown or revoked token", "invalid_token")


def too_many(exc: Throttled) -> NoReturn:
    """Abort with the 429 problem and its Retry-After (API callers)."""
    response = error_response(429, exc.message, exc.parameter)
    response.headers["Retry-After"] = str(exc.retry_after)
    abort(response)


# -- API -------------------------------------------------------------------------------------


def authenticate() -> TokenInfo:
    """The caller of an API request, by bearer token or session cookie (+ CSRF header)."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("use Authorization: Bearer <token>", "invalid_request")
        try:
            holder = check_token(token.strip())
        except Throttled as exc:
            too_many(exc)
        tokens().touch(holder.key_id)
        return holder
    info = session_user()
    if info is None:
        raise Unauthenticated("sign in or send Authorization: Bearer <token>")
    if request.method not in SAFE_METHODS and not csrf_ok(request.headers.get(CSRF_HEADER)):
        raise InvalidRequest(CSRF_HEADER, "missing or wrong CSRF token", 403)
    return info


def require(role: str):
    """View decorator: authenticate, then 403 unless the caller's role includes ``role``."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            info = authenticate()
            if not role_allows(info.role, role):
                raise InvalidRequest("Authorization", f"the {info.role} role may not do this; it needs {role}", 403)
            g.admin = info
            return view(*args, **kwargs)

        return wrapper

    return decorate
