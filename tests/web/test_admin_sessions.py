"""Sessions end server-side (sign-out, revocation, role change), and token checks are throttled
per client and per key id, atomically, without ever refusing the right secret elsewhere."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from infobutton.store import tokens as tokens_module

from .test_admin_ui import csrf, csrf_of, sign_in


@pytest.fixture
def token(services):
    return services.tokens.create("Lena Librarian", "admin")


def session_cookie(client) -> str:
    return client.get_cookie("infobutton_admin", path="/admin").value


def replay(app, cookie: str):
    """A fresh browser holding a copied cookie."""
    thief = app.test_client()
    thief.set_cookie("infobutton_admin", cookie, path="/admin")
    return thief.get("/admin/")


def test_a_cookie_copied_before_sign_out_is_refused_after_it(app, client, token):
    assert sign_in(client, token).status_code == 303
    copied = session_cookie(client)
    assert replay(app, copied).status_code == 200
    client.post("/admin/signout", data={"csrf": csrf(client)})
    assert replay(app, copied).status_code == 302  # to sign-in
    assert sign_in(client, token).status_code == 303  # the holder signs in again
    assert client.get("/admin/").status_code == 200


def test_sign_out_ends_every_session_of_the_token(app, token):
    first, second = app.test_client(), app.test_client()
    assert sign_in(first, token).status_code == 303 and sign_in(second, token).status_code == 303
    first.post("/admin/signout", data={"csrf": csrf(first)})
    assert second.get("/admin/").status_code == 302


def test_revoking_the_token_ends_its_sessions(app, client, services, token):
    other = services.tokens.create("Other", "viewer")
    viewer = app.test_client()
    assert sign_in(viewer, other).status_code == 303
    copied = session_cookie(viewer)
    assert sign_in(client, token).status_code == 303
    client.post("/admin/tokens/Other/revoke", data={"csrf": csrf(client)})
    assert viewer.get("/admin/").status_code == 302
    assert replay(app, copied).status_code == 302


def test_a_role_change_ends_the_sessions(app, client, services, token):
    assert sign_in(client, token).status_code == 303
    copied = session_cookie(client)
    assert services.tokens.set_role("Lena Librarian", "viewer")
    assert client.get("/admin/").status_code == 302
    assert replay(app, copied).status_code == 302
    assert sign_in(client, token).status_code == 303  # signed in again, with the new role
    assert client.get("/admin/tokens").status_code == 403


def test_the_api_with_a_session_of_an_ended_sign_out_is_401(app, client, token):
    assert sign_in(client, token).status_code == 303
    copied = session_cookie(client)
    client.post("/admin/signout", data={"csrf": csrf(client)})
    thief = app.test_client()
    thief.set_cookie("infobutton_admin", copied, path="/admin")
    assert thief.get("/admin/api/me").status_code == 401


# -- throttling ------------------------------------------------------------------------------


def bearer(client, token: str, address: str):
    return client.get(
        "/admin/api/me", headers={"Authorization": f"Bearer {token}"}, environ_base={"REMOTE_ADDR": address}
    )


def test_bearer_failures_are_throttled_with_retry_after(client, services, token):
    limit = services.settings.signin_attempts
    for _ in range(limit):
        assert bearer(client, "ibk_000000000000.wrong", "192.0.2.20").status_code == 401
    r = bearer(client, "ibk_000000000000.wrong", "192.0.2.20")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert r.get_json()["status"] == 429
    assert bearer(client, token, "192.0.2.20").status_code == 429  # this client waits, right token or not
    assert bearer(client, token, "192.0.2.21").status_code == 200  # nobody else does


def test_a_valid_token_in_hand_does_not_reset_the_failed_guesses(app, client, services, token):
    """A client holding one valid token guesses at others: its successes are not counted, but
    they no longer wipe its failures either, in a worker that had not yet verified the token
    (each worker once, before) or in one that had."""
    limit, address = services.settings.signin_attempts, "192.0.2.40"
    for n in range(limit - 1):
        assert bearer(client, f"ibk_{n:012d}.guess", address).status_code == 401  # a key id each
    for _worker in range(3):  # a worker that never saw the token verifies it with scrypt
        services.tokens.forget(token.removeprefix("ibk_").split(".")[0])
        assert bearer(client, token, address).status_code == 200
    assert bearer(client, "ibk_feedfacecafe.last", address).status_code == 401  # the limit-th failure
    assert bearer(client, "ibk_deadbeefcafe.more", address).status_code == 429


def test_an_attacked_key_id_never_locks_out_its_holder(client, services, token):
    """Failures against one key id from many clients: more wrong guesses are refused with 429,
    the right secret is still accepted (from a client that has not failed)."""
    key_id = token.removeprefix("ibk_").split(".")[0]
    limit = services.settings.signin_attempts
    statuses = [bearer(client, f"ibk_{key_id}.guess{n}", f"198.51.100.{n}").status_code for n in range(limit + 3)]
    assert statuses == [401] * limit + [429] * 3
    assert bearer(client, token, "192.0.2.30").status_code == 200
    assert sign_in(client, token).status_code == 303


def test_an_unknown_key_id_is_throttled_like_a_known_one(client, services):
    """Existence does not show in the status either: unknown key ids are counted the same."""
    limit = services.settings.signin_attempts
    statuses = [bearer(client, f"ibk_feedfacecafe.guess{n}", f"198.51.100.{n}").status_code for n in range(limit + 1)]
    assert statuses == [401] * limit + [429]


def test_40_concurrent_sign_ins_get_exactly_the_limit_of_checks(app, services, monkeypatch):
    """The race of #12 (8 checks instead of 5): counted before checking, atomically."""
    calls = []
    real = tokens_module._hash
    monkeypatch.setattr(tokens_module, "_hash", lambda secret, salt: calls.append(1) or real(secret, salt))
    tokens_module._dummy()  # made once before counting
    calls.clear()
    limit = services.settings.signin_attempts
    clients = [app.test_client() for _ in range(40)]
    forms = [csrf_of(c.get("/admin/signin").get_data(as_text=True)) for c in clients]
    barrier = threading.Barrier(40)

    def attempt(n: int) -> int:
        barrier.wait(timeout=30)
        return clients[n].post("/admin/signin", data={"csrf": forms[n], "token": f"ibk_0123456789ab.x{n}"}).status_code

    with ThreadPoolExecutor(40) as pool:
        statuses = list(pool.map(attempt, range(40)))
    assert sorted(statuses) == [401] * limit + [429] * (40 - limit)
    assert len(calls) == limit
