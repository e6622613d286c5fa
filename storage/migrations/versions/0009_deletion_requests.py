"""deletion_request: a household's request to erase its Telegram links and chat data (UU PDP)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-09 02:00:00

`/hapusdata` records a request; the kecamatan coordinator approves or rejects it. A partial
unique index keeps at most one request pending per household (on SQLite and PostgreSQL alike).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deletion_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reject_reason", sa.String(length=20), nullable=True),
        sa.CheckConstraint(
            "status in ('pending','done','rejected')",
            name=op.f("ck_deletion_request_deletion_request_status"),
        ),
        sa.CheckConstraint(
            "reject_reason is null or reject_reason in ('identity','audit','other')",
            name=op.f("ck_deletion_request_deletion_request_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_deletion_request_household_id_household"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["person.id"],
            name=op.f("fk_deletion_request_requested_by_person"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["person.id"], name=op.f("fk_deletion_request_decided_by_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deletion_request")),
    )
    op.create_index(
        "ix_deletion_request_household_id", "deletion_request", ["household_id"], unique=False
    )
    op.create_index(
        "uq_deletion_request_pending_household",
        "deletion_request",
        ["household_id"],
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("uq_deletion_request_pending_household", table_name="deletion_request")
    op.drop_index("ix_deletion_request_household_id", table_name="deletion_request")
    op.drop_table("deletion_request")
