"""reminders: payout queue slots, posyandu session changes, absences

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 06:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('queue_slot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('slot_index', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_queue_slot_household_id_household'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['payout_round.id'], name=op.f('fk_queue_slot_round_id_payout_round'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_slot')),
    sa.UniqueConstraint('round_id', 'household_id', name=op.f('uq_queue_slot_round_id_household_id'))
    )
    with op.batch_alter_table('queue_slot', schema=None) as batch_op:
        batch_op.create_index('ix_queue_slot_round_slot', ['round_id', 'slot_index'], unique=False)

    op.create_table('session_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('posyandu_id', sa.Integer(), nullable=False),
    sa.Column('original_date', sa.Date(), nullable=False),
    sa.Column('new_date', sa.Date(), nullable=True),
    sa.Column('changed_by', sa.String(length=80), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['posyandu_id'], ['posyandu.id'], name=op.f('fk_session_change_posyandu_id_posyandu'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_change')),
    sa.UniqueConstraint('posyandu_id', 'original_date', name=op.f('uq_session_change_posyandu_id_original_date'))
    )

    op.create_table('absence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('posyandu_id', sa.Integer(), nullable=False),
    sa.Column('session_date', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('reported_by', sa.Integer(), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("reason in ('sick','too_far','no_transport_money','session_cancelled','other','none')", name=op.f('ck_absence_absence_reason')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_absence_household_id_household'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['posyandu_id'], ['posyandu.id'], name=op.f('fk_absence_posyandu_id_posyandu')),
    sa.ForeignKeyConstraint(['reported_by'], ['person.id'], name=op.f('fk_absence_reported_by_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_absence')),
    sa.UniqueConstraint('household_id', 'posyandu_id', 'session_date', name=op.f('uq_absence_household_id_posyandu_id_session_date'))
    )


def downgrade() -> None:
    op.drop_table('absence')
    op.drop_table('session_change')
    with op.batch_alter_table('queue_slot', schema=None) as batch_op:
        batch_op.drop_index('ix_queue_slot_round_slot')
    op.drop_table('queue_slot')
