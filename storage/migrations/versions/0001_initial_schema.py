"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-12-01 03:40:47.614797
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('app_secret',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_app_secret'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.String(length=60), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('kecamatan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('name_key', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kecamatan')),
    sa.UniqueConstraint('name_key', name=op.f('uq_kecamatan_name_key'))
    )
    op.create_table('sequence',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_sequence'))
    )
    op.create_table('desa',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kecamatan_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('name_key', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['kecamatan_id'], ['kecamatan.id'], name=op.f('fk_desa_kecamatan_id_kecamatan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_desa')),
    sa.UniqueConstraint('kecamatan_id', 'name_key', name=op.f('uq_desa_kecamatan_id_name_key'))
    )
    op.create_table('payout_round',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_code', sa.String(length=40), nullable=False),
    sa.Column('kecamatan_id', sa.Integer(), nullable=False),
    sa.Column('payout_date', sa.Date(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('start_time', sa.Time(), nullable=False),
    sa.Column('end_time', sa.Time(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payout_round_payout_amount')),
    sa.CheckConstraint('start_time < end_time', name=op.f('ck_payout_round_payout_window')),
    sa.ForeignKeyConstraint(['kecamatan_id'], ['kecamatan.id'], name=op.f('fk_payout_round_kecamatan_id_kecamatan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_round')),
    sa.UniqueConstraint('round_code', 'kecamatan_id', name=op.f('uq_payout_round_round_code_kecamatan_id'))
    )
    with op.batch_alter_table('payout_round', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payout_round_payout_date'), ['payout_date'], unique=False)

    op.create_table('posyandu',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=150), nullable=False),
    sa.Column('desa_id', sa.Integer(), nullable=False),
    sa.Column('schedule', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['desa_id'], ['desa.id'], name=op.f('fk_posyandu_desa_id_desa')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_posyandu')),
    sa.UniqueConstraint('code', name=op.f('uq_posyandu_code'))
    )
    with op.batch_alter_table('posyandu', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_posyandu_desa_id'), ['desa_id'], unique=False)

    op.create_table('staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=150), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('kecamatan_id', sa.Integer(), nullable=True),
    sa.Column('posyandu_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.CheckConstraint("role <> 'household'", name=op.f('ck_staff_staff_role')),
    sa.ForeignKeyConstraint(['kecamatan_id'], ['kecamatan.id'], name=op.f('fk_staff_kecamatan_id_kecamatan')),
    sa.ForeignKeyConstraint(['posyandu_id'], ['posyandu.id'], name=op.f('fk_staff_posyandu_id_posyandu')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff')),
    sa.UniqueConstraint('code', name=op.f('uq_staff_code'))
    )
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_kecamatan_id'), ['kecamatan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_posyandu_id'), ['posyandu_id'], unique=False)

    op.create_table('household',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_number', sa.String(length=40), nullable=False),
    sa.Column('head_name', sa.String(length=150), nullable=False),
    sa.Column('nik_masked', sa.String(length=16), nullable=False),
    sa.Column('nik_digest', sa.String(length=64), nullable=False),
    sa.Column('nik_tail_digest', sa.String(length=64), nullable=False),
    sa.Column('desa_id', sa.Integer(), nullable=False),
    sa.Column('posyandu_id', sa.Integer(), nullable=False),
    sa.Column('companion_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['companion_id'], ['staff.id'], name=op.f('fk_household_companion_id_staff')),
    sa.ForeignKeyConstraint(['desa_id'], ['desa.id'], name=op.f('fk_household_desa_id_desa')),
    sa.ForeignKeyConstraint(['posyandu_id'], ['posyandu.id'], name=op.f('fk_household_posyandu_id_posyandu')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household')),
    sa.UniqueConstraint('program_number', name=op.f('uq_household_program_number'))
    )
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_household_companion_id'), ['companion_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_household_desa_id'), ['desa_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_household_nik_digest'), ['nik_digest'], unique=False)
        batch_op.create_index(batch_op.f('ix_household_posyandu_id'), ['posyandu_id'], unique=False)

    op.create_table('member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=150), nullable=False),
    sa.Column('name_key', sa.String(length=150), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.CheckConstraint("kind in ('pregnant','child','other')", name=op.f('ck_member_member_kind')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_member_household_id_household'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member')),
    sa.UniqueConstraint('household_id', 'name_key', name=op.f('uq_member_household_id_name_key'))
    )
    op.create_table('person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('telegram_user_id', sa.BigInteger(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('language', sa.String(length=5), nullable=True),
    sa.Column('reachable', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(role = 'household' and staff_id is null) or (role <> 'household' and household_id is null)", name=op.f('ck_person_person_scope')),
    sa.CheckConstraint("role in ('household','companion','coordinator','operator','health_worker','admin')", name=op.f('ck_person_person_role')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_person_household_id_household')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_person_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person')),
    sa.UniqueConstraint('staff_id', name=op.f('uq_person_staff_id')),
    sa.UniqueConstraint('telegram_user_id', name=op.f('uq_person_telegram_user_id'))
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_household_id'), ['household_id'], unique=False)

    op.create_table('attendance_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('posyandu_id', sa.Integer(), nullable=False),
    sa.Column('session_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('proof_file_id', sa.String(length=200), nullable=True),
    sa.Column('reported_by', sa.Integer(), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verified_by', sa.Integer(), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by_health_worker', sa.Integer(), nullable=True),
    sa.Column('reject_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("status in ('reported','verified','cross_checked','rejected')", name=op.f('ck_attendance_report_report_status')),
    sa.ForeignKeyConstraint(['confirmed_by_health_worker'], ['person.id'], name=op.f('fk_attendance_report_confirmed_by_health_worker_person')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_attendance_report_member_id_member'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['posyandu_id'], ['posyandu.id'], name=op.f('fk_attendance_report_posyandu_id_posyandu')),
    sa.ForeignKeyConstraint(['reported_by'], ['person.id'], name=op.f('fk_attendance_report_reported_by_person')),
    sa.ForeignKeyConstraint(['verified_by'], ['person.id'], name=op.f('fk_attendance_report_verified_by_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance_report')),
    sa.UniqueConstraint('member_id', 'session_date', 'posyandu_id', name=op.f('uq_attendance_report_member_id_session_date_posyandu_id'))
    )
    with op.batch_alter_table('attendance_report', schema=None) as batch_op:
        batch_op.create_index('ix_attendance_report_posyandu_date', ['posyandu_id', 'session_date'], unique=False)
        batch_op.create_index('ix_attendance_report_status', ['status'], unique=False)

    op.create_table('complaint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_code', sa.String(length=20), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('filed_by', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('photo_file_id', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("category in ('payout','companion','health_service','data','other')", name=op.f('ck_complaint_complaint_category')),
    sa.CheckConstraint("level in ('companion','coordinator','district')", name=op.f('ck_complaint_complaint_level')),
    sa.CheckConstraint("status in ('open','in_progress','resolved','closed')", name=op.f('ck_complaint_complaint_status')),
    sa.ForeignKeyConstraint(['filed_by'], ['person.id'], name=op.f('fk_complaint_filed_by_person')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_complaint_household_id_household')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint')),
    sa.UniqueConstraint('ticket_code', name=op.f('uq_complaint_ticket_code'))
    )
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_household_id'), ['household_id'], unique=False)
        batch_op.create_index('ix_complaint_status_deadline', ['status', 'deadline_at'], unique=False)

    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('template_key', sa.String(length=80), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('dedup_key', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status in ('pending','sending','sent','failed','cancelled')", name=op.f('ck_notification_notification_status')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_notification_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_notification_dedup_key'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_person', ['person_id'], unique=False)
        batch_op.create_index('ix_notification_status_due', ['status', 'due_at'], unique=False)

    op.create_table('complaint_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('actor_person_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=True),
    sa.Column('level', sa.String(length=20), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['actor_person_id'], ['person.id'], name=op.f('fk_complaint_event_actor_person_id_person')),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_complaint_event_complaint_id_complaint'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_event'))
    )
    with op.batch_alter_table('complaint_event', schema=None) as batch_op:
        batch_op.create_index('ix_complaint_event_complaint_at', ['complaint_id', 'at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('complaint_event', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_event_complaint_at')

    op.drop_table('complaint_event')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_status_due')
        batch_op.drop_index('ix_notification_person')

    op.drop_table('notification')
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_status_deadline')
        batch_op.drop_index(batch_op.f('ix_complaint_household_id'))

    op.drop_table('complaint')
    with op.batch_alter_table('attendance_report', schema=None) as batch_op:
        batch_op.drop_index('ix_attendance_report_status')
        batch_op.drop_index('ix_attendance_report_posyandu_date')

    op.drop_table('attendance_report')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_household_id'))

    op.drop_table('person')
    op.drop_table('member')
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_household_posyandu_id'))
        batch_op.drop_index(batch_op.f('ix_household_nik_digest'))
        batch_op.drop_index(batch_op.f('ix_household_desa_id'))
        batch_op.drop_index(batch_op.f('ix_household_companion_id'))

    op.drop_table('household')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_posyandu_id'))
        batch_op.drop_index(batch_op.f('ix_staff_kecamatan_id'))

    op.drop_table('staff')
    with op.batch_alter_table('posyandu', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_posyandu_desa_id'))

    op.drop_table('posyandu')
    with op.batch_alter_table('payout_round', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payout_round_payout_date'))

    op.drop_table('payout_round')
    op.drop_table('desa')
    op.drop_table('sequence')
    op.drop_table('kecamatan')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
    op.drop_table('app_secret')
