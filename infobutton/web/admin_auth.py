"""Who is calling the admin API or UI, and what their role lets them do.

API callers send ``Authorization: Bearer TOKEN`` (RFC 6750): 401 without it or with a bad one,
403 when the role may not act. The web UI signs in with a token into a signed session cookie
(Secure, HttpOnly, SameSite=Strict) that keeps the token's key id, never the token; every form
and every unsafe API call made with the cookie carries a CSRF token. Tokens never reach a log.
"""

from __future__ import annotations

import functools
import hmac
import os
import secrets
from pathlib import Path

from flask import Flask, g, request, session
from flask.sessions import SecureCookieSessionInterface

from ..config import Settings, default_data_dir
from ..models import InvalidRequest, role_allows
from ..services import current_services
from ..store.tokens import SqlTokenStore, TokenInfo

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSRF_HEADER = "X-CSRF-Token"


class Unauthenticated(InvalidRequest):
    """401: no credentials or bad ones (answered with a WWW-Authenticate challenge)."""

    def __init__(self, message: str, error: str | None = None):
        super().__init__("Authorization", message, 401)
        self.challenge = 'Bearer realm="infobutton-admin"' + (f', error="{error}"' if error else "")


ADMIN_PATH = "/admin"


def secret_key(settings: Settings) -> str:
    """INFOBUTTON_SECRET_KEY, else a random key created once in the data directory (mode 0600),
    so every worker on the machine signs sessions alike."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir or default_data_dir()) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_hex(32))
    return path.read_text().strip()


class AdminSessionInterface(SecureCookieSessionInterface):
    """Sessions exist only under /admin: public answers skip cookie signing work entirely, and
    the cookie (path /admin) is never sent with an infobutton request."""

    def open_session(self, app, request):
        if request.path != ADMIN_PATH and not request.path.startswith(ADMIN_PATH + "/"):
            return self.make_null_session(app)
        return super().open_session(app, request)


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
    session["key_id"] = info.key_id
    session["csrf"] = secrets.token_urlsafe(24)


def sign_out() -> None:
    session.clear()


def session_user() -> TokenInfo | None:
    """The signed-in holder, if the token behind the session still exists (revocation is live)."""
    key_id = session.get("key_id")
    return tokens().by_key_id(key_id) if key_id else None


def client_address() -> str:
    return request.remote_addr or "unknown"


# -- API -------------------------------------------------------------------------------------


def authenticate() -> TokenInfo:
    """The caller of an API request, by bearer token or session cookie (+ CSRF header)."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("use Authorization: Bearer <token>", "invalid_request")
        info = tokens().verify(token.strip())
        if info is None:
            raise Unauthenticated("unknown or revoked token", "invalid_token")
        tokens().touch(info.key_id)
        return info
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
