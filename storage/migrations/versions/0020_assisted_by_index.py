"""an index for the visits each companion reported for households, for the recap

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-16 09:00:00

The recap's companion lines count the visits each companion reported for households in the
month (`assisted_by` of migration 0019, with `reported_at`). Without an index that count read
every attendance report (21 ms of a kecamatan's /rekap at Pandeglang's 151,570 reports; it grows
with the years). `ix_attendance_report_assisted_by_at` answers it from the few rows concerned.
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

INDEX = "ix_attendance_report_assisted_by_at"


def upgrade() -> None:
    op.create_index(INDEX, "attendance_report", ["assisted_by", "reported_at"], unique=False)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="attendance_report")
