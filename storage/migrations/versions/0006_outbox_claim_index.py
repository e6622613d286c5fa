"""outbox claim index: the dispatcher's claim reads due rows in order from the index

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 08:00:00

notification (status, due_at, id) replaces notification (status, due_at). The dispatcher claims
lease-expired rows and due pending rows in two queries, each ordered by (due_at, id) within one
status: with the id in the index, PostgreSQL reads a batch in order and stops after it instead
of sorting every due row on each claim (SQLite's index already ends with the rowid). Measured
with bench/payout_round.py (see bench/README.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_status_due_id', ['status', 'due_at', 'id'], unique=False)
        batch_op.drop_index('ix_notification_status_due')


def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_status_due', ['status', 'due_at'], unique=False)
        batch_op.drop_index('ix_notification_status_due_id')
