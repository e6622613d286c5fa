"""Alembic environment: migrations run on a connection handed in by `storage.migrate`."""

from __future__ import annotations

from alembic import context

from storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `sapa migrate`, which opens the database connection")
# On SQLite a batch "move and copy" drops the old table: with foreign keys on, that deletes the
# rows of every table referencing it through ON DELETE CASCADE. `storage.migrate` runs migrations
# in `storage.database.schema_transaction`, which turns them off; never migrate with them on.
sqlite = connection.dialect.name == "sqlite"
if sqlite and connection.exec_driver_sql("PRAGMA foreign_keys").scalar():
    raise RuntimeError("SQLite foreign keys are on: migrate in storage.database.schema_transaction")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=sqlite,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
