"""payout_round.slot_capacity: households per queue slot at the round's place

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-14 09:00:00

A post office counter serves fewer households in half an hour than a bank hall with four
tellers: the payouts import's optional `slot_capacity` column sets, per round and kecamatan (that
is, per place), how many households one queue slot holds. Empty (null) means the deployment's
`SAPA_QUEUE_SLOT_CAPACITY`.

A plain ADD COLUMN on both databases. On SQLite it keeps the table as it is, with migration
0012's planner triggers on `payout_round` and the rows of `queue_slot` that reference it (a
batch "move and copy" would drop both; see the docstring of 0013).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("payout_round", sa.Column("slot_capacity", sa.Integer(), nullable=True))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place (no copy of the table, triggers kept).
    op.drop_column("payout_round", "slot_capacity")
