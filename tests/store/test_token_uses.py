"""store.token_uses: a CDS Hooks token id is accepted once, on every worker, until it expires."""

from infobutton.store import Database
from infobutton.store.migrate import upgrade
from infobutton.store.token_uses import SqlTokenUses


def test_an_id_is_accepted_once_per_issuer_and_forgotten_after_its_token_expires(database_url):
    upgrade(database_url)
    db = Database(database_url)
    now = [1_000_000.0]
    try:
        uses = SqlTokenUses(db, clock=lambda: now[0])
        other_worker = SqlTokenUses(db, clock=lambda: now[0])
        assert uses.first_use("https://ehr.example.org", "a", now[0] + 300)
        assert not other_worker.first_use("https://ehr.example.org", "a", now[0] + 300)
        assert uses.first_use("https://other.example.org", "a", now[0] + 300)  # another issuer's id
        now[0] += 301  # both tokens have expired: their rows go at the next write
        assert uses.first_use("https://ehr.example.org", "b", now[0] + 300)
        assert db.scalar("SELECT COUNT(*) FROM cds_token_uses") == 1
    finally:
        db.close()
