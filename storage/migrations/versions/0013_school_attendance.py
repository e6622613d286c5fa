"""school children and their monthly school attendance

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 09:00:00

A household member may now be a school child (`school_child`, anak sekolah, 7-18): the member
kind check is widened. `school_attendance` holds each school child's month at school as the
school or the dinas reports it (`sapa import school-attendance`): days present out of school days,
one row per member and month (the first day of the month), replaced by a re-import.

On SQLite widening the check recreates `member` (batch "move and copy"). Two things a plain batch
operation would get wrong, both handled here:
- The planner's triggers on `member` (migration 0012) go with the old table: they are created
  again.
- Foreign keys are on and cannot be turned off inside the migration's transaction, so dropping
  the old `member` deletes its rows first, and ON DELETE CASCADE with them every attendance report.
  The rows of the tables that reference `member` are kept aside and put back. (Since then
  `storage.migrate` runs every migration with foreign keys off on SQLite, so nothing is deleted
  and nothing put back; the keeping aside stays, harmless.)
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

KINDS_BEFORE = "kind in ('pregnant','child','other')"
KINDS_AFTER = "kind in ('pregnant','child','school_child','other')"


def _planner_triggers(table: str) -> list[str]:
    planner = importlib.import_module("storage.migrations.versions.0012_planner_progress")
    statements: list[str] = planner.sqlite_triggers(table)
    return statements


def _referencing_member(bind: sa.Connection) -> list[str]:
    """The tables with a foreign key to `member` (their rows go with a dropped `member`)."""
    inspector = sa.inspect(bind)
    tables = inspector.get_table_names()
    found = [
        table
        for table in tables
        if any(fk["referred_table"] == "member" for fk in inspector.get_foreign_keys(table))
    ]
    for table in tables:  # rows kept aside must not take rows of a third table with them
        for fk in inspector.get_foreign_keys(table):
            if fk["referred_table"] in found:
                raise RuntimeError(f"{table} references {fk['referred_table']}: keep it too")
    return found


def _member_kinds(check: str) -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    kept = _referencing_member(bind) if sqlite else []
    for table in kept:
        op.execute(f'CREATE TEMP TABLE "_keep_{table}" AS SELECT * FROM "{table}"')
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_member_member_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_member_member_kind"), check)
    for table in kept:
        # Whatever the cascade left (nothing, with foreign keys on) stays as it is.
        op.execute(
            f'INSERT INTO "{table}" SELECT * FROM "_keep_{table}" '
            f'WHERE id NOT IN (SELECT id FROM "{table}")'
        )
        op.execute(f'DROP TABLE "_keep_{table}"')
    if sqlite:
        for statement in _planner_triggers("member"):
            op.execute(statement)


def upgrade() -> None:
    _member_kinds(KINDS_AFTER)
    op.create_table(
        "school_attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("days_present", sa.Integer(), nullable=False),
        sa.Column("days_school", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "days_present >= 0 and days_present <= days_school",
            name=op.f("ck_school_attendance_school_days_present"),
        ),
        sa.CheckConstraint(
            "days_school >= 1 and days_school <= 31",
            name=op.f("ck_school_attendance_school_days_school"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_school_attendance_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_school_attendance")),
        sa.UniqueConstraint(
            "member_id", "month", name=op.f("uq_school_attendance_member_id_month")
        ),
    )


def downgrade() -> None:
    op.drop_table("school_attendance")
    # The older schema has no school children: they stay in their household as family members.
    op.execute("UPDATE member SET kind = 'other' WHERE kind = 'school_child'")
    _member_kinds(KINDS_BEFORE)
