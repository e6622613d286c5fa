"""conversation: where each user is in a multi-step flow, and its draft

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 04:10:00

Until now the step and the draft lived in the process's memory: a restart dropped every
half-done report, and two replicas could not share a conversation.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation",
        sa.Column("telegram_user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=40), nullable=True),
        sa.Column("flow", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=80), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("telegram_user_id", name=op.f("pk_conversation")),
    )
    op.create_index("ix_conversation_updated_at", "conversation", ["updated_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_conversation_updated_at", table_name="conversation")
    op.drop_table("conversation")
