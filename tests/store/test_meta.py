"""Version counters in the meta table: every bump counts, even with concurrent writers on PostgreSQL."""

import threading

import pytest

from infobutton.store import Database, meta
from infobutton.store.migrate import upgrade


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/v.sqlite3"
    return request.getfixturevalue("postgres_url")


def test_concurrent_bumps_are_never_lost(url):
    upgrade(url)
    db = Database(url)
    start = meta.counter(db, "mapping_version")
    barrier = threading.Barrier(8)

    def writer():
        barrier.wait()
        for _ in range(25):
            meta.bump(db, "mapping_version")

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert meta.counter(db, "mapping_version") == start + 200
    db.close()
