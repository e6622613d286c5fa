"""complaint.about_staff_id: the companion a complaint about the companion is about

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 19:50:00

A complaint about the companion is kept out of that companion's own lists. Recording which
companion it is about keeps it out of hers, not out of the next companion's, when the household
is moved to another one. Older complaints stay NULL (treated as about the current companion).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.add_column(sa.Column("about_staff_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_complaint_about_staff_id_staff"), "staff", ["about_staff_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_complaint_about_staff_id_staff"), type_="foreignkey")
        batch_op.drop_column("about_staff_id")
