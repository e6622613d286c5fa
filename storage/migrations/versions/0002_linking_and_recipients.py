"""household linking (link codes, failed attempts); staff as notification recipients

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staff_id', sa.Integer(), nullable=True))
        batch_op.alter_column('person_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f('ix_notification_staff_id'), ['staff_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_notification_staff_id_staff'), 'staff', ['staff_id'], ['id']
        )
        batch_op.create_check_constraint(
            'notification_one_recipient', '(person_id is null) <> (staff_id is null)'
        )

    op.create_table('link_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('code_digest', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_link_code_household_id_household'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['used_by'], ['person.id'], name=op.f('fk_link_code_used_by_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_code')),
    sa.UniqueConstraint('code_digest', name=op.f('uq_link_code_code_digest'))
    )
    with op.batch_alter_table('link_code', schema=None) as batch_op:
        batch_op.create_index('ix_link_code_household', ['household_id'], unique=False)

    op.create_table('link_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('telegram_user_id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_attempt'))
    )
    with op.batch_alter_table('link_attempt', schema=None) as batch_op:
        batch_op.create_index('ix_link_attempt_user_at', ['telegram_user_id', 'at'], unique=False)


def downgrade() -> None:
    op.drop_table('link_attempt')
    op.drop_table('link_code')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_notification_notification_one_recipient'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_notification_staff_id_staff'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_notification_staff_id'))
        batch_op.drop_column('staff_id')
        batch_op.alter_column('person_id', existing_type=sa.Integer(), nullable=False)
