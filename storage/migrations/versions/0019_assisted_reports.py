"""assisted reports: a companion or health worker reports a visit or files a complaint for a household

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-15 09:00:00

`attendance_report.assisted_by` and `complaint.assisted_by`: the person (a staff member's
Telegram account) who made the report or filed the complaint for the household, in a private
chat (/hadiruntuk, /keluhanuntuk); `assisted_role` the role she acted in then (`companion` or
`health_worker`, as the registry said at that moment). Both NULL: the household itself (every
row before this revision). A companion's report also has her in `reported_by` (it counts like
the household's own report and waits for a cross-check); a health worker's is her confirmation
(`confirmed_by_health_worker`), with `reported_by` left NULL for the household's own report.

Plain ids without a foreign key, as in `notification_archive`: a column added with a plain
ALTER TABLE ... ADD COLUMN cannot get a named foreign key on SQLite, and one written inline
could not be dropped again (SQLite refuses DROP COLUMN on a column a foreign key names). People
are never deleted (unlinking keeps the row), so the id always finds its person.

`ix_attendance_report_posyandu_date_assisted` lets the recap count a month's reports by who made
them (the household, a companion, a health worker) from the index alone, as the indexes of
migration 0005 do for the other figures.

Plain `ADD COLUMN`s, nullable, never a batch operation: on SQLite a batch "move and copy" would
drop the planner's triggers and, through ON DELETE CASCADE, the rows that reference the table
(see migrations 0013 and 0017).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

INDEX = "ix_attendance_report_posyandu_date_assisted"


def upgrade() -> None:
    for table in ("attendance_report", "complaint"):
        op.add_column(table, sa.Column("assisted_by", sa.Integer(), nullable=True))
        op.add_column(table, sa.Column("assisted_role", sa.String(length=20), nullable=True))
    op.create_index(
        INDEX,
        "attendance_report",
        ["posyandu_id", "session_date", "assisted_role", "reported_by"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="attendance_report")  # first: SQLite drops no indexed column
    for table in ("complaint", "attendance_report"):
        op.drop_column(table, "assisted_role")
        op.drop_column(table, "assisted_by")
