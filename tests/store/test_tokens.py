"""Token store: only a salted scrypt hash is kept; verify (one scrypt whether or not the key id
exists), revoke, session generations, and failure counts that are exact under concurrency."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from infobutton.models import InvalidRequest, role_allows
from infobutton.store import open_stores
from infobutton.store import tokens as tokens_module
from infobutton.store.tokens import SqlTokenStore

from ..conftest import Clock


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


def test_failures_are_counted_per_key_in_a_window_from_the_first(tmp_path):
    db, _, _ = open_stores(f"sqlite:///{tmp_path}/t.sqlite3")
    clock = Clock(1000.0)
    store = SqlTokenStore(db, timer=clock)
    assert [store.hit("client:10.0.0.1", 60)[0] for _ in range(3)] == [1, 2, 3]
    assert store.failures("client:10.0.0.1", 60) == 3 and store.failures("client:10.0.0.2", 60) == 0
    clock.now += 30
    count, retry_after = store.hit("client:10.0.0.1", 60)
    assert count == 4 and retry_after == 30  # the window runs from the first failure
    clock.now += 31
    assert store.failures("client:10.0.0.1", 60) == 0
    assert store.hit("client:10.0.0.1", 60) == (1, 60)  # a new window
    store.hit("client:10.0.0.1", 60)
    store.uncount("client:10.0.0.1")  # a check that succeeded takes back its own count only
    assert store.failures("client:10.0.0.1", 60) == 1
    db.close()


def test_ended_windows_are_dropped(tmp_path):
    db, _, _ = open_stores(f"sqlite:///{tmp_path}/t.sqlite3")
    clock = Clock(1000.0)
    store = SqlTokenStore(db, timer=clock)
    for n in range(50):
        store.hit(f"key:{n}", 60)
    clock.now += 61
    store.hit("key:new", 60)
    assert db.scalar("SELECT COUNT(*) FROM auth_failures") == 1
    db.close()


def test_concurrent_counts_are_exact(database_url):
    """40 threads count at once: every count from 1 to 40 is handed out exactly once, so a limit
    of 5 lets exactly 5 through (a read-then-write count let 8 through)."""
    db, _, _ = open_stores(database_url)
    store = SqlTokenStore(db)
    barrier = threading.Barrier(40)

    def attempt(_):
        barrier.wait(timeout=30)
        return store.hit("client:203.0.113.9", 900)[0]

    with ThreadPoolExecutor(40) as pool:
        counts = list(pool.map(attempt, range(40)))
    assert sorted(counts) == list(range(1, 41))
    assert sum(count <= 5 for count in counts) == 5
    db.close()


def test_an_unknown_key_id_costs_one_scrypt_like_a_known_one(store, monkeypatch):
    """Time cannot tell whether a key id exists: both paths run scrypt once (counted, not timed)."""
    calls = []
    real = tokens_module._hash
    monkeypatch.setattr(tokens_module, "_hash", lambda secret, salt: calls.append(1) or real(secret, salt))
    token = store.create("ana", "editor")
    key_id = token.removeprefix("ibk_").split(".")[0]
    calls.clear()
    assert store.verify(f"ibk_{key_id}.wrong") is None
    assert len(calls) == 1
    assert store.verify("ibk_000000000000.wrong") is None
    assert len(calls) == 2
    assert store.verify(token) is not None and len(calls) == 3
    assert store.verify(token) is not None and len(calls) == 3  # remembered: the holder pays once


def test_the_gate_runs_before_any_scrypt_and_may_refuse(store, monkeypatch):
    calls = []
    real = tokens_module._hash
    monkeypatch.setattr(tokens_module, "_hash", lambda secret, salt: calls.append(1) or real(secret, salt))
    token = store.create("ana", "editor")
    calls.clear()

    def refuse():
        raise RuntimeError("throttled")

    for candidate in (token, "ibk_000000000000.wrong"):
        with pytest.raises(RuntimeError):
            store.verify(candidate, refuse)
    assert calls == []
    assert store.verify(token, lambda: None) is not None
    assert store.verify(token, refuse) is not None  # a remembered token passes no gate


def test_sign_out_and_role_changes_move_the_session_generation(store):
    store.create("ana", "editor")
    key_id = store.list()[0].key_id
    info, generation = store.session_holder(key_id)
    assert info.role == "editor"
    store.end_sessions(key_id)
    assert store.session_holder(key_id)[1] == generation + 1
    assert store.set_role("ana", "viewer")
    info, later = store.session_holder(key_id)
    assert info.role == "viewer" and later == generation + 2
    assert not store.set_role("nobody", "viewer")
    with pytest.raises(InvalidRequest):
        store.set_role("ana", "root")
    assert "session_generation" not in store.list()[0].__dict__  # never in the API's token list
