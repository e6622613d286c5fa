"""staff_posyandu: the posyandu a health worker serves; a health worker's dispute and flag

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-12 09:00:00

A bidan desa often serves several posyandu. `staff_posyandu` holds each health worker's set
(the people import's posyandu column takes several codes, `P-MKJ-01;P-MKJ-02`); every health
worker's `staff.posyandu_id` is copied into it. `staff.posyandu_id` stays, as the first posyandu
the import named (what the outbox recap's kecamatan lookup reads); authorization reads the set.

`attendance_report` gets what a health worker says about a household's report besides
confirming it: `disputed_by` / `disputed_at` (she says the member did not come) and
`not_confirmed_at` (she finished the session's list without confirming it). The companion sees
both in /verifikasi.

The planner plans the health workers' prompts from the set, so changes to it leave a mark in
`planner_change` like the other registry tables (migration 0012).
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _sqlite_triggers() -> list[str]:
    """Migration 0012's row triggers, for `staff_posyandu`."""
    planner = importlib.import_module("storage.migrations.versions.0012_planner_progress")
    statements: list[str] = planner.sqlite_triggers("staff_posyandu")
    return statements


def upgrade() -> None:
    op.create_table(
        "staff_posyandu",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("posyandu_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_staff_posyandu_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["posyandu_id"],
            ["posyandu.id"],
            name=op.f("fk_staff_posyandu_posyandu_id_posyandu"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("staff_id", "posyandu_id", name=op.f("pk_staff_posyandu")),
    )
    op.create_index(
        op.f("ix_staff_posyandu_posyandu_id"), "staff_posyandu", ["posyandu_id"], unique=False
    )
    op.execute(
        "INSERT INTO staff_posyandu (staff_id, posyandu_id) "
        "SELECT id, posyandu_id FROM staff "
        "WHERE role = 'health_worker' AND posyandu_id IS NOT NULL"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER planner_changed AFTER INSERT OR UPDATE OR DELETE ON staff_posyandu "
            "FOR EACH STATEMENT EXECUTE FUNCTION planner_changed()"
        )
    else:
        for statement in _sqlite_triggers():
            op.execute(statement)
    with op.batch_alter_table("attendance_report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disputed_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("disputed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("not_confirmed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            op.f("fk_attendance_report_disputed_by_person"), "person", ["disputed_by"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("attendance_report", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_attendance_report_disputed_by_person"), type_="foreignkey"
        )
        batch_op.drop_column("not_confirmed_at")
        batch_op.drop_column("disputed_at")
        batch_op.drop_column("disputed_by")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS planner_changed ON staff_posyandu")
    else:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS planner_changed_staff_posyandu_{event}")
    op.drop_index(op.f("ix_staff_posyandu_posyandu_id"), table_name="staff_posyandu")
    op.drop_table("staff_posyandu")
