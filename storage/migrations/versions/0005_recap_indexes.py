"""recap indexes: the /rekap queries at 100,000 households and 1,000,000 reports

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 08:00:00

Measured with bench/recap.py (see bench/README.md). Most are covering indexes, so SQLite answers
from the index alone instead of looking up every table row:
- attendance_report (posyandu_id, session_date, status): reports of a month per desa and status;
- attendance_report (verified_by, verified_at): verifications per companion in a month (was a
  full scan of the reports);
- complaint_event (actor_person_id, at) and (kind, at): complaints handled per companion,
  escalations of a month (were full scans);
- complaint (created_at), complaint (resolved_at): complaints filed or resolved in a month;
- member (household_id, kind, birth_date, due_date) and household (desa_id, active, posyandu_id):
  members followed per posyandu;
- person (household_id, reachable): households whose accounts all blocked the bot.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('attendance_report', schema=None) as batch_op:
        batch_op.create_index('ix_attendance_report_posyandu_date_status', ['posyandu_id', 'session_date', 'status'], unique=False)
        batch_op.create_index('ix_attendance_report_verified_by_at', ['verified_by', 'verified_at'], unique=False)

    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index('ix_complaint_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_complaint_resolved_at', ['resolved_at'], unique=False)

    with op.batch_alter_table('complaint_event', schema=None) as batch_op:
        batch_op.create_index('ix_complaint_event_actor_at', ['actor_person_id', 'at'], unique=False)
        batch_op.create_index('ix_complaint_event_kind_at', ['kind', 'at'], unique=False)

    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.create_index('ix_household_desa_active_posyandu', ['desa_id', 'active', 'posyandu_id'], unique=False)

    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.create_index('ix_member_household_kind', ['household_id', 'kind', 'birth_date', 'due_date'], unique=False)

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index('ix_person_household_reachable', ['household_id', 'reachable'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index('ix_person_household_reachable')

    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_index('ix_member_household_kind')

    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.drop_index('ix_household_desa_active_posyandu')

    with op.batch_alter_table('complaint_event', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_event_kind_at')
        batch_op.drop_index('ix_complaint_event_actor_at')

    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_resolved_at')
        batch_op.drop_index('ix_complaint_created_at')

    with op.batch_alter_table('attendance_report', schema=None) as batch_op:
        batch_op.drop_index('ix_attendance_report_verified_by_at')
        batch_op.drop_index('ix_attendance_report_posyandu_date_status')
