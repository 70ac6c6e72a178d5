"""Token store: only a salted scrypt hash is kept; verify, revoke and sign-in failure counts."""

from __future__ import annotations

import pytest

from infobutton.models import InvalidRequest, role_allows
from infobutton.store import open_stores
from infobutton.store.tokens import SqlTokenStore


@pytest.fixture
def store(tmp_path):
    db, _, _ = open_stores(f"sqlite:///{tmp_path}/t.sqlite3")
    yield SqlTokenStore(db)
    db.close()


def test_only_a_hash_is_stored(store):
    token = store.create("ana", "editor")
    key_id, secret = token.removeprefix("ibk_").split(".")
    row = store.db.query("SELECT * FROM admin_tokens")[0]
    assert secret not in repr(row) and token not in repr(row)
    assert len(secret) >= 40  # 256 random bits


def test_verify_and_roles(store):
    token = store.create("ana", "editor")
    info = store.verify(token)
    assert (info.name, info.role) == ("ana", "editor")
    assert store.verify(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert store.verify("") is None and store.verify("ibk_x") is None and store.verify("nope") is None
    assert role_allows("admin", "editor") and role_allows("editor", "viewer")
    assert not role_allows("viewer", "editor") and not role_allows("editor", "admin")


def test_a_remembered_verification_does_not_outlive_a_new_token(store):
    token = store.create("ana", "editor")
    assert store.verify(token)
    store.revoke("ana")
    assert store.verify(token) is None
    again = store.create("ana", "viewer")
    assert store.verify(token) is None and store.verify(again).role == "viewer"


def test_bad_names_and_roles(store):
    with pytest.raises(InvalidRequest) as bad_role:
        store.create("x", "root")
    assert bad_role.value.status == 422
    with pytest.raises(InvalidRequest):
        store.create("", "viewer")
    store.create("x", "viewer")
    with pytest.raises(InvalidRequest) as taken:
        store.create("x", "viewer")
    assert taken.value.status == 409


def test_sign_in_failures_are_counted_per_client_in_a_window(tmp_path):
    db, _, _ = open_stores(f"sqlite:///{tmp_path}/t.sqlite3")
    now = {"t": 1000.0}
    store = SqlTokenStore(db, timer=lambda: now["t"])
    for _ in range(3):
        store.record_failure("10.0.0.1", window=60)
    assert store.failures("10.0.0.1", 60) == 3 and store.failures("10.0.0.2", 60) == 0
    now["t"] += 61
    assert store.failures("10.0.0.1", 60) == 0
    store.record_failure("10.0.0.1", window=60)
    store.clear_failures("10.0.0.1")
    assert store.failures("10.0.0.1", 60) == 0
    db.close()
