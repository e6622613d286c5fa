"""NIK masks without the digits of the link secret; failed link attempts per household

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 02:00:00

The old mask `3601********0001` showed four of the six digits a household types to link its
Telegram (the last six of the head's NIK), leaving about a hundred guesses. The mask now keeps
the first four digits only (the kabupaten, known from the address anyway): `3601************`.

`link_attempt.household_id` records which household a failed attempt was against, so that
guessing is limited per household across all Telegram accounts, not per account only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    household = sa.table("household", sa.column("nik_masked", sa.String))
    op.execute(
        household.update().values(
            nik_masked=sa.func.substr(household.c.nik_masked, 1, 4) + "************"
        )
    )
    with op.batch_alter_table("link_attempt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("household_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_link_attempt_household_id_household"),
            "household",
            ["household_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(
            "ix_link_attempt_household_at", ["household_id", "at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("link_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_link_attempt_household_at")
        batch_op.drop_constraint(
            op.f("fk_link_attempt_household_id_household"), type_="foreignkey"
        )
        batch_op.drop_column("household_id")
