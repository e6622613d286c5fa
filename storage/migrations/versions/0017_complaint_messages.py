"""complaint messages: the household's voice notes and the files of its answers

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 10:00:00

A household may send a voice note as the content of a complaint (`complaint.voice_file_id`), and
answer a staff reply with text, a photo, an image sent as a file or a voice note: the answer is a
`complaint_event` of kind `answer`, its text in `note`, what it sent in `file_id` and `file_kind`
(`photo`, `document` or `voice`). Only Telegram's file ids are kept, never the files; erasure and
retention clear them with the texts.

Plain `ADD COLUMN`s, nullable, without a batch operation: on SQLite a batch "move and copy" would
drop the planner's triggers and, through ON DELETE CASCADE, the rows that reference the table
(see migration 0013).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("complaint", sa.Column("voice_file_id", sa.String(length=200), nullable=True))
    op.add_column("complaint_event", sa.Column("file_id", sa.String(length=200), nullable=True))
    op.add_column("complaint_event", sa.Column("file_kind", sa.String(length=20), nullable=True))


def downgrade() -> None:
    # SQLite (3.35 and later) drops a column in place when nothing indexes or references it.
    op.drop_column("complaint_event", "file_kind")
    op.drop_column("complaint_event", "file_id")
    op.drop_column("complaint", "voice_file_id")
