"""Alembic's environment: online only, on the connection ``infobutton.store.migrate`` hands over.

Run through ``infobutton db upgrade`` (or ``infobutton.store.migrate.upgrade``), which takes the
migration lock first; no alembic.ini is needed. Revisions are frozen DDL, never live metadata.
"""

from alembic import context

if context.is_offline_mode():
    raise SystemExit("infobutton migrations run online only: use `infobutton db upgrade`")

connection = context.config.attributes["connection"]
context.configure(connection=connection)
with context.begin_transaction():
    context.run_migrations()
