"""follow_up: what a companion did about a household that missed its posyandu or cannot be reached

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 10:00:00

Every absence (no report after a session, or the household's answer "we did not go") and every
household the bot cannot reach becomes one follow-up on its companion's list, with a due date.
She closes it with an outcome: visited at home, phoned, referred to the bidan or puskesmas,
moved away, excused (a reason she accepts, e.g. the child was sick: the register then counts that
month's posyandu condition as excused, on her word), or other with a note.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

KINDS = "kind in ('absence','unreachable')"
OUTCOMES = (
    "outcome is null or outcome in "
    "('home_visit','phoned','referred','moved_away','excused','other')"
)


def upgrade() -> None:
    op.create_table(
        "follow_up",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        # absence: the session day it is about; unreachable: the day it was noticed
        sa.Column("about_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=True),  # the household's, if any
        sa.Column("companion_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(KINDS, name=op.f("ck_follow_up_follow_up_kind")),
        sa.CheckConstraint(OUTCOMES, name=op.f("ck_follow_up_follow_up_outcome")),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_follow_up_household_id_household"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["companion_id"], ["staff.id"], name=op.f("fk_follow_up_companion_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["closed_by"], ["person.id"], name=op.f("fk_follow_up_closed_by_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up")),
        sa.UniqueConstraint(
            "household_id", "kind", "about_date", name=op.f("uq_follow_up_household_id")
        ),
    )
    op.create_index(
        "ix_follow_up_companion_open", "follow_up", ["companion_id", "closed_at", "due_on"]
    )


def downgrade() -> None:
    op.drop_index("ix_follow_up_companion_open", table_name="follow_up")
    op.drop_table("follow_up")
