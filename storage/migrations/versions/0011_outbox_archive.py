"""the outbox stays small: sent rows past retention leave it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 04:10:00

notification_archive receives the finished outbox rows (sent or cancelled) due before
SAPA_OUTBOX_RETENTION_DAYS, without their parameters; the recap counts undelivered messages in
both tables. On PostgreSQL notification.dedup_key is compared byte by byte (COLLATE "C"), so
the keys starting with a prefix (a household's "did you go?" questions, cancelled on every
/hadir save) are one range of its unique index whatever the server's locale; SQLite compares
bytes already. Measured with bench/outbox_growth.py (see bench/README.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_archive",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("template_key", sa.String(length=80), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status in ('sent','cancelled')",
            name=op.f("ck_notification_archive_notification_archive_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_archive")),
    )
    op.create_index(
        "ix_notification_archive_status_due",
        "notification_archive",
        ["status", "due_at"],
        unique=False,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "notification",
            "dedup_key",
            type_=sa.String(length=200, collation="C"),
            existing_type=sa.String(length=200),
            existing_nullable=False,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "notification",
            "dedup_key",
            type_=sa.String(length=200),
            existing_type=sa.String(length=200, collation="C"),
            existing_nullable=False,
        )
    op.drop_index("ix_notification_archive_status_due", table_name="notification_archive")
    op.drop_table("notification_archive")
