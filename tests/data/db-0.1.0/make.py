"""Writes a database as release 0.1.0 (commit 4b179ca) leaves it; ``infobutton-0.1.0.sql`` is its
``sqlite3 .dump`` (git keeps the text, not the binary file; the tests restore it).

Run once, against 0.1.0's code, through its public HTTP API and stores, so the file holds what
an operator's database would: the bundled seed, an edited and a deleted mapping (versions and
audit), an admin token, usage counts for a mapped and an unmapped code, a rejected suggestion
and CDS Hooks feedback. ``tests/store/test_migrations.py`` upgrades a copy and checks every one
of these survives. Kept for the record; today's code cannot run it.

    python tests/data/db-0.1.0/make.py /tmp/infobutton-0.1.0.sqlite3
    sqlite3 /tmp/infobutton-0.1.0.sqlite3 .dump > tests/data/db-0.1.0/infobutton-0.1.0.sql
"""

import sqlite3
import sys
from pathlib import Path

from infobutton import create_app

target = Path(sys.argv[1])
target.unlink(missing_ok=True)
app = create_app({"database_url": f"sqlite:///{target}", "cookie_secure": False})
services = app.extensions["infobutton"]
token = services.extra["tokens"].create("librarian", "admin")
services.extra["tokens"].create("reader", "viewer")
auth = {"Authorization": f"Bearer {token}"}
client = app.test_client()

topic = services.topics.all()[0].id
created = client.post(
    "/admin/api/mappings",
    json={"code_system": "ICD-10-CM", "code": "D70.0", "topic_id": topic, "reason": "0.1.0 fixture"},
    headers=auth,
)
print("create", created.status_code, created.get_data(as_text=True)[:300])
rule = created.get_json()
edited = client.put(
    f"/admin/api/mappings/{rule['id']}",
    json={
        **{k: rule[k] for k in ("code", "topic_id", "scope")},
        "code_system": "ICD-10-CM",
        "revision": rule["revision"],
        "reason": "0.1.0 fixture: edited",
        "priority": 5,
    },
    headers=auth,
)
print("edit", edited.status_code, edited.get_data(as_text=True)[:300])
gone = services.mappings.rules()[0]
print(
    "delete",
    client.delete(f"/admin/api/mappings/{gone.id}?reason=0.1.0+fixture", headers={**auth, "If-Match": "*"}).status_code,
)
print(
    "reject",
    client.post(
        "/admin/api/suggestions/reject",
        headers=auth,
        json={"code_system": "ICD-10-CM", "code": "E11.9", "topic_id": topic, "reason": "0.1.0 fixture"},
    ).status_code,
)
services.extra["cds_feedback"].add(
    "infobutton",
    [
        {
            "card": "fixture-card",
            "outcome": "accepted",
            "accepted": "[]",
            "system": None,
            "code": None,
            "timestamp": "2026-11-24T00:00:00Z",
        }
    ],
)
for code in ("C91.00", "C91.00", "E11.9", "J06.9"):
    client.get(f"/infobutton?mainSearchCriteria.v.c={code}&mainSearchCriteria.v.cs=2.16.840.1.113883.6.90")
services.close()
with sqlite3.connect(target) as db:
    for table in (
        "topics",
        "mapping_rules",
        "mapping_versions",
        "mapping_audit",
        "admin_tokens",
        "mapping_usage",
        "suggestion_rejections",
        "cds_feedback",
        "meta",
    ):
        print(table, db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
