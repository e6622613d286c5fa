"""the planner plans from what changed

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 04:10:00

`planner_progress` keeps, for each part of the planner's work, the local day it was last done
for; `planner_change` receives a mark from database triggers whenever the registry changes, in
the same transaction as the change, whoever writes it (the bot, an import, the console, SQL by
hand). The planner removes the marks it sees and then plans again from the database.

On PostgreSQL one statement-level trigger per table calls one function that inserts the writing
transaction's id (once per transaction: a transaction-local setting remembers it), so concurrent
writers never wait for each other on a shared row. On SQLite writers take turns anyway: row
triggers insert-or-ignore the single mark 0. Note for later SQLite migrations: a batch
("move and copy") operation on one of these tables recreates it without its triggers; create
them again (`sqlite_triggers`) in that migration.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The tables whose changes the planner must see, and for `person` the columns that matter (its
# language and last_seen_at change all the time and change nothing in the plan).
WATCHED = (
    "kecamatan",
    "desa",
    "posyandu",
    "staff",
    "household",
    "member",
    "person",
    "session_change",
    "payout_round",
)
PERSON_COLUMNS = "household_id, reachable, role, staff_id"

_PG_FUNCTION = """
CREATE FUNCTION planner_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('sapa.planner_changed', true) IS DISTINCT FROM txid_current()::text THEN
        INSERT INTO planner_change (tx) VALUES (txid_current()) ON CONFLICT DO NOTHING;
        PERFORM set_config('sapa.planner_changed', txid_current()::text, true);
    END IF;
    RETURN NULL;
END
$$
"""


def _events(table: str) -> list[str]:
    update = f"UPDATE OF {PERSON_COLUMNS}" if table == "person" else "UPDATE"
    return ["INSERT", update, "DELETE"]


def sqlite_triggers(table: str) -> list[str]:
    statements = []
    for event in _events(table):
        name = f"planner_changed_{table}_{event.split()[0].lower()}"
        statements.append(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} "
            # Not "INSERT OR IGNORE": an outer upsert's conflict policy would override it.
            "BEGIN INSERT INTO planner_change (tx) SELECT 0 "
            "WHERE NOT EXISTS (SELECT 1 FROM planner_change WHERE tx = 0); END"
        )
    return statements


def upgrade() -> None:
    op.create_table(
        "planner_progress",
        sa.Column("phase", sa.String(length=40), nullable=False),
        sa.Column("done_for", sa.Date(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("phase", name=op.f("pk_planner_progress")),
    )
    op.create_table(
        "planner_change",
        sa.Column("tx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("tx", name=op.f("pk_planner_change")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for table in WATCHED:
            op.execute(
                f"CREATE TRIGGER planner_changed AFTER {' OR '.join(_events(table))} ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION planner_changed()"
            )
    else:
        for table in WATCHED:
            for statement in sqlite_triggers(table):
                op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS planner_changed ON {table}")
        op.execute("DROP FUNCTION IF EXISTS planner_changed()")
    else:
        for table in WATCHED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS planner_changed_{table}_{event}")
    op.drop_table("planner_change")
    op.drop_table("planner_progress")
