"""a household account can mute its optional reminders (/pengingat)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-14 09:00:00

`person.reminders_muted_at`: since when this Telegram account muted its optional reminders (the
posyandu reminders of the evening before and of the morning, and the "did you go?" question; see
`bot.domain.notices.OPTIONAL_REMINDERS`), NULL while they are on. `person.reminders_resumed_at`:
when it last turned them on again; the planner plans no optional reminder due before that moment,
so turning them on never brings a reminder for a moment already past.

The planner must see both changes (migration 0012): its triggers on `person` fire on an update of
the columns that matter only (`UPDATE OF ...`, on PostgreSQL per statement, on SQLite per row),
so they are made again here with the two new columns in their list.

On SQLite the columns are added with a plain ALTER TABLE ... ADD COLUMN (`op.add_column`), never
with a batch "move and copy": that would recreate `person` without the planner's triggers, and
dropping the old table would delete, through ON DELETE CASCADE, rows of the tables that reference
it (see migration 0013).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

COLUMNS_BEFORE = "household_id, reachable, role, staff_id"
COLUMNS_AFTER = f"{COLUMNS_BEFORE}, reminders_muted_at, reminders_resumed_at"


def _person_trigger(columns: str) -> None:
    """Migration 0012's trigger on `person`, watching these columns."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS planner_changed ON person")
        op.execute(
            f"CREATE TRIGGER planner_changed AFTER INSERT OR UPDATE OF {columns} OR DELETE "
            "ON person FOR EACH STATEMENT EXECUTE FUNCTION planner_changed()"
        )
    else:
        op.execute("DROP TRIGGER IF EXISTS planner_changed_person_update")
        op.execute(
            f"CREATE TRIGGER planner_changed_person_update AFTER UPDATE OF {columns} ON person "
            # Not "INSERT OR IGNORE": an outer upsert's conflict policy would override it.
            "BEGIN INSERT INTO planner_change (tx) SELECT 0 "
            "WHERE NOT EXISTS (SELECT 1 FROM planner_change WHERE tx = 0); END"
        )


def upgrade() -> None:
    op.add_column("person", sa.Column("reminders_muted_at", sa.DateTime(timezone=True)))
    op.add_column("person", sa.Column("reminders_resumed_at", sa.DateTime(timezone=True)))
    _person_trigger(COLUMNS_AFTER)


def downgrade() -> None:
    _person_trigger(COLUMNS_BEFORE)  # first: SQLite drops no column a trigger names
    op.drop_column("person", "reminders_resumed_at")
    op.drop_column("person", "reminders_muted_at")
