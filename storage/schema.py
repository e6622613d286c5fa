"""The database schema as SQLAlchemy Core tables; Alembic migrations are written against it.

Times are stored in UTC (`UtcDateTime`); calendar dates (a posyandu day, a birth date) are plain
dates in the programme's local calendar (WIB).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC; naive values are refused, read values are aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware datetime")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ROLES = "'household','companion','coordinator','operator','health_worker','admin'"

kecamatan = Table(
    "kecamatan",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("name_key", String(100), nullable=False, unique=True),
)

desa = Table(
    "desa",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kecamatan_id", ForeignKey("kecamatan.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("name_key", String(100), nullable=False),
    UniqueConstraint("kecamatan_id", "name_key"),
)

posyandu = Table(
    "posyandu",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(40), nullable=False, unique=True),
    Column("name", String(150), nullable=False),
    Column("desa_id", ForeignKey("desa.id"), nullable=False, index=True),
    Column("schedule", String(60), nullable=False),
)

staff = Table(
    "staff",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(40), nullable=False, unique=True),
    Column("name", String(150), nullable=False),
    Column("role", String(20), nullable=False),
    Column("kecamatan_id", ForeignKey("kecamatan.id"), nullable=True, index=True),
    Column("posyandu_id", ForeignKey("posyandu.id"), nullable=True, index=True),
    Column("active", Boolean, nullable=False, default=True),
    CheckConstraint("role <> 'household'", name="staff_role"),
)

# Every posyandu a health worker serves (a bidan desa often serves several); `staff.posyandu_id`
# keeps the first one given in the import.
staff_posyandu = Table(
    "staff_posyandu",
    metadata,
    Column("staff_id", ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True),
    Column("posyandu_id", ForeignKey("posyandu.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_staff_posyandu_posyandu_id", "posyandu_id"),
)

household = Table(
    "household",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("program_number", String(40), nullable=False, unique=True),
    Column("head_name", String(150), nullable=False),
    # The NIK is never stored in full: a mask for screens and keyed digests for checks.
    Column("nik_masked", String(16), nullable=False),
    Column("nik_digest", String(64), nullable=False, index=True),
    Column("nik_tail_digest", String(64), nullable=False),
    Column("desa_id", ForeignKey("desa.id"), nullable=False, index=True),
    Column("posyandu_id", ForeignKey("posyandu.id"), nullable=False, index=True),
    Column("companion_id", ForeignKey("staff.id"), nullable=True, index=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # Members followed per posyandu, for the recap (covering: no row lookups).
    Index("ix_household_desa_active_posyandu", "desa_id", "active", "posyandu_id"),
)

member = Table(
    "member",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("household_id", ForeignKey("household.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(150), nullable=False),
    Column("name_key", String(150), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("birth_date", Date, nullable=True),
    Column("due_date", Date, nullable=True),
    UniqueConstraint("household_id", "name_key"),
    Index("ix_member_household_kind", "household_id", "kind", "birth_date", "due_date"),
    CheckConstraint("kind in ('pregnant','child','school_child','other')", name="member_kind"),
)

school_attendance = Table(
    "school_attendance",
    metadata,
    # A school child's attendance in one calendar month, from the school's (or the dinas's)
    # monthly file (`sapa import school-attendance`); a re-import of the month replaces it.
    Column("id", Integer, primary_key=True),
    Column("member_id", ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
    Column("month", Date, nullable=False),  # the first day of the month
    Column("days_present", Integer, nullable=False),
    Column("days_school", Integer, nullable=False),
    Column("imported_at", UtcDateTime, nullable=False),
    UniqueConstraint("member_id", "month"),
    CheckConstraint(
        "days_present >= 0 and days_present <= days_school", name="school_days_present"
    ),
    CheckConstraint("days_school >= 1 and days_school <= 31", name="school_days_school"),
)

person = Table(
    "person",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("telegram_user_id", BigInteger, nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("household_id", ForeignKey("household.id"), nullable=True, index=True),
    Column("staff_id", ForeignKey("staff.id"), nullable=True, unique=True),
    Column("language", String(5), nullable=True),
    Column("reachable", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=True),
    # /pengingat (migration 0018): since when this account muted its optional reminders (NULL:
    # they are on), and when it last turned them on again (none planned due before that).
    Column("reminders_muted_at", UtcDateTime, nullable=True),
    Column("reminders_resumed_at", UtcDateTime, nullable=True),
    Index("ix_person_household_reachable", "household_id", "reachable"),
    CheckConstraint(f"role in ({ROLES})", name="person_role"),
    CheckConstraint(
        "(role = 'household' and staff_id is null)"
        " or (role <> 'household' and household_id is null)",
        name="person_scope",
    ),
)

attendance_report = Table(
    "attendance_report",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member_id", ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
    Column("posyandu_id", ForeignKey("posyandu.id"), nullable=False),
    Column("session_date", Date, nullable=False),
    Column("status", String(20), nullable=False),
    Column("proof_file_id", String(200), nullable=True),
    Column("reported_by", ForeignKey("person.id"), nullable=True),
    Column("reported_at", UtcDateTime, nullable=False),
    Column("verified_by", ForeignKey("person.id"), nullable=True),
    Column("verified_at", UtcDateTime, nullable=True),
    Column("confirmed_by_health_worker", ForeignKey("person.id"), nullable=True),
    Column("reject_reason", Text, nullable=True),
    # A health worker said this member did not come (the household's report is disputed).
    Column("disputed_by", ForeignKey("person.id"), nullable=True),
    Column("disputed_at", UtcDateTime, nullable=True),
    # A health worker finished the session's list without confirming this household report.
    Column("not_confirmed_at", UtcDateTime, nullable=True),
    # Reported for the household by a companion or health worker (/hadiruntuk, migration 0019):
    # her person id (a plain id, see 0019) and the role she acted in; NULL: the household itself.
    Column("assisted_by", Integer, nullable=True),
    Column("assisted_role", String(20), nullable=True),
    UniqueConstraint("member_id", "session_date", "posyandu_id"),
    Index("ix_attendance_report_posyandu_date", "posyandu_id", "session_date"),
    Index("ix_attendance_report_status", "status"),
    # For the recap: reports of a month per posyandu and status, verifications per companion.
    Index("ix_attendance_report_posyandu_date_status", "posyandu_id", "session_date", "status"),
    Index("ix_attendance_report_verified_by_at", "verified_by", "verified_at"),
    # For the recap: the visits each companion reported for households in a month (0020).
    Index("ix_attendance_report_assisted_by_at", "assisted_by", "reported_at"),
    # For the recap: a month's reports by who made them (household, companion, health worker).
    Index(
        "ix_attendance_report_posyandu_date_assisted",
        "posyandu_id",
        "session_date",
        "assisted_role",
        "reported_by",
    ),
    CheckConstraint(
        "status in ('reported','verified','cross_checked','rejected')", name="report_status"
    ),
)

complaint = Table(
    "complaint",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_code", String(20), nullable=False, unique=True),
    Column("household_id", ForeignKey("household.id"), nullable=False, index=True),
    Column("filed_by", ForeignKey("person.id"), nullable=True),
    Column("category", String(20), nullable=False),
    Column("text", Text, nullable=False),
    Column("photo_file_id", String(200), nullable=True),
    Column("status", String(20), nullable=False),
    Column("level", String(20), nullable=False),
    Column("deadline_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    # A complaint about the companion: which one (the household may later get another).
    Column("about_staff_id", ForeignKey("staff.id"), nullable=True),
    # A voice note sent as the complaint's content (Telegram's file id; migration 0017).
    Column("voice_file_id", String(200), nullable=True),
    # Filed for the household by a companion or health worker (/keluhanuntuk, migration 0019):
    # her person id (also in `filed_by`) and the role she acted in; NULL: the household itself.
    Column("assisted_by", Integer, nullable=True),
    Column("assisted_role", String(20), nullable=True),
    Index("ix_complaint_status_deadline", "status", "deadline_at"),
    Index("ix_complaint_created_at", "created_at"),
    Index("ix_complaint_resolved_at", "resolved_at"),
    CheckConstraint(
        "category in ('payout','companion','health_service','data','other')",
        name="complaint_category",
    ),
    CheckConstraint(
        "status in ('open','in_progress','resolved','closed')", name="complaint_status"
    ),
    CheckConstraint("level in ('companion','coordinator','district')", name="complaint_level"),
)

complaint_event = Table(
    "complaint_event",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("complaint_id", ForeignKey("complaint.id", ondelete="CASCADE"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(30), nullable=False),
    Column("actor_person_id", ForeignKey("person.id"), nullable=True),
    Column("status", String(20), nullable=True),
    Column("level", String(20), nullable=True),
    Column("note", Text, nullable=True),
    # What the household sent with an answer: a photo, an image file or a voice note (0017).
    Column("file_id", String(200), nullable=True),
    Column("file_kind", String(20), nullable=True),
    Index("ix_complaint_event_complaint_at", "complaint_id", "at"),
    Index("ix_complaint_event_actor_at", "actor_person_id", "at"),
    Index("ix_complaint_event_kind_at", "kind", "at"),
)

payout_round = Table(
    "payout_round",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("round_code", String(40), nullable=False),
    Column("kecamatan_id", ForeignKey("kecamatan.id"), nullable=False),
    Column("payout_date", Date, nullable=False, index=True),
    Column("place", String(200), nullable=False),
    Column("start_time", Time, nullable=False),
    Column("end_time", Time, nullable=False),
    Column("amount", BigInteger, nullable=False),
    # Households per queue slot at this place; null: the settings' SAPA_QUEUE_SLOT_CAPACITY.
    Column("slot_capacity", Integer, nullable=True),
    UniqueConstraint("round_code", "kecamatan_id"),
    CheckConstraint("amount > 0", name="payout_amount"),
    CheckConstraint("start_time < end_time", name="payout_window"),
)

DEDUP_KEY = String(200).with_variant(String(200, collation="C"), "postgresql")

notification = Table(
    "notification",
    metadata,
    Column("id", Integer, primary_key=True),
    # The recipient: a person, or a staff member (delivered once they link a Telegram account).
    Column("person_id", ForeignKey("person.id", ondelete="CASCADE"), nullable=True),
    Column("staff_id", ForeignKey("staff.id"), nullable=True, index=True),
    Column("template_key", String(80), nullable=False),
    Column("params", JSON, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    # Compared byte by byte on both databases (COLLATE "C" on PostgreSQL), so the rows whose key
    # starts with a prefix are one range of its unique index whatever the server's locale.
    Column("dedup_key", DEDUP_KEY, nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("claimed_at", UtcDateTime, nullable=True),
    Column("sent_at", UtcDateTime, nullable=True),
    # The dispatcher's claim reads each status's due rows in (due_at, id) order from here.
    Index("ix_notification_status_due_id", "status", "due_at", "id"),
    Index("ix_notification_person", "person_id"),
    CheckConstraint(
        "status in ('pending','sending','sent','failed','cancelled')", name="notification_status"
    ),
    CheckConstraint("(person_id is null) <> (staff_id is null)", name="notification_one_recipient"),
)

# Finished outbox rows (sent or cancelled) due before SAPA_OUTBOX_RETENTION_DAYS, moved out of
# `notification` by the nightly job (jobs.retention.archive_outbox), so the outbox holds what is
# still to be sent and what was recently sent. Kept without their parameters (the names and
# texts the message carried): who it was for, what kind, when, and how it ended, which is what
# the recap counts (undelivered messages per month, per kecamatan).
notification_archive = Table(
    "notification_archive",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # its id in `notification`
    # Plain ids, no foreign keys: a record of what was sent (people are never deleted, only
    # unlinked), moved in bulk without a lookup per row.
    Column("person_id", Integer, nullable=True),
    Column("staff_id", Integer, nullable=True),
    Column("template_key", String(80), nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("dedup_key", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("archived_at", UtcDateTime, nullable=False),
    # The recap counts a month's undelivered messages: (status, due_at) ranges.
    Index("ix_notification_archive_status_due", "status", "due_at"),
    CheckConstraint("status in ('sent','cancelled')", name="notification_archive_status"),
)

link_code = Table(
    "link_code",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("household_id", ForeignKey("household.id", ondelete="CASCADE"), nullable=False),
    # Only a digest of the code is kept: a copy of the database does not hand out live codes.
    Column("code_digest", String(64), nullable=False, unique=True),
    Column("created_by", String(80), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    Column("used_by", ForeignKey("person.id"), nullable=True),
    Index("ix_link_code_household", "household_id"),
)

link_attempt = Table(
    "link_attempt",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("telegram_user_id", BigInteger, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    # The household the attempt named, when its programme number exists (guessing is limited
    # per household as well as per account).
    Column("household_id", ForeignKey("household.id", ondelete="CASCADE"), nullable=True),
    Index("ix_link_attempt_user_at", "telegram_user_id", "at"),
    Index("ix_link_attempt_household_at", "household_id", "at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("actor", String(80), nullable=False),
    Column("action", String(60), nullable=False),
    Column("entity", String(40), nullable=False),
    Column("entity_id", String(60), nullable=True),
    Column("detail", JSON, nullable=False),
)

sequence = Table(
    "sequence",
    metadata,
    Column("name", String(60), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

app_secret = Table(
    "app_secret",
    metadata,
    Column("name", String(60), primary_key=True),
    Column("value", String(200), nullable=False),
)


queue_slot = Table(
    "queue_slot",
    metadata,
    # A household's place in a payout round's queue: kept once given, so re-planning is stable.
    Column("id", Integer, primary_key=True),
    Column("round_id", ForeignKey("payout_round.id", ondelete="CASCADE"), nullable=False),
    Column("household_id", ForeignKey("household.id", ondelete="CASCADE"), nullable=False),
    Column("slot_index", Integer, nullable=False),
    UniqueConstraint("round_id", "household_id"),
    Index("ix_queue_slot_round_slot", "round_id", "slot_index"),
)

session_change = Table(
    "session_change",
    metadata,
    # One posyandu session moved to another day, or cancelled (new_date null).
    Column("id", Integer, primary_key=True),
    Column("posyandu_id", ForeignKey("posyandu.id", ondelete="CASCADE"), nullable=False),
    Column("original_date", Date, nullable=False),
    Column("new_date", Date, nullable=True),
    Column("changed_by", String(80), nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
    UniqueConstraint("posyandu_id", "original_date"),
)

absence = Table(
    "absence",
    metadata,
    # A household's answer "we did not go" to the missed-session question, with a reason.
    Column("id", Integer, primary_key=True),
    Column("household_id", ForeignKey("household.id", ondelete="CASCADE"), nullable=False),
    Column("posyandu_id", ForeignKey("posyandu.id"), nullable=False),
    Column("session_date", Date, nullable=False),
    Column("reason", String(20), nullable=False),
    Column("reported_by", ForeignKey("person.id"), nullable=True),
    Column("reported_at", UtcDateTime, nullable=False),
    UniqueConstraint("household_id", "posyandu_id", "session_date"),
    CheckConstraint(
        "reason in ('sick','too_far','no_transport_money','session_cancelled','other','none')",
        name="absence_reason",
    ),
)


follow_up = Table(
    "follow_up",
    metadata,
    # What a companion did about a household that missed its posyandu (no report, or "we did
    # not go") or that the bot cannot reach: one row each, closed with an outcome.
    Column("id", Integer, primary_key=True),
    Column("household_id", ForeignKey("household.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("about_date", Date, nullable=False),
    Column("reason", String(20), nullable=True),
    Column("companion_id", ForeignKey("staff.id"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("closed_by", ForeignKey("person.id"), nullable=True),
    Column("outcome", String(20), nullable=True),
    Column("note", Text, nullable=True),
    UniqueConstraint("household_id", "kind", "about_date", name="uq_follow_up_household_id"),
    Index("ix_follow_up_companion_open", "companion_id", "closed_at", "due_on"),
    CheckConstraint("kind in ('absence','unreachable')", name="follow_up_kind"),
    CheckConstraint(
        "outcome is null or outcome in "
        "('home_visit','phoned','referred','moved_away','excused','other')",
        name="follow_up_outcome",
    ),
)


invite = Table(
    "invite",
    metadata,
    # A single-use enrolment link for one staff record (`sapa invite`, or a coordinator's /undang).
    Column("id", Integer, primary_key=True),
    Column("staff_id", ForeignKey("staff.id", ondelete="CASCADE"), nullable=False, index=True),
    # Only a digest of the token is kept, like link codes.
    Column("token_digest", String(64), nullable=False, unique=True),
    Column("created_by", String(80), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    Column("used_by", ForeignKey("person.id"), nullable=True),
)


deletion_request = Table(
    "deletion_request",
    metadata,
    # A household's request (UU PDP) to erase its Telegram links and chat-derived data, which the
    # kecamatan coordinator approves or rejects. At most one is pending per household.
    Column("id", Integer, primary_key=True),
    Column("household_id", ForeignKey("household.id", ondelete="CASCADE"), nullable=False),
    Column("requested_by", ForeignKey("person.id"), nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("status", String(20), nullable=False),
    Column("decided_by", ForeignKey("person.id"), nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("reject_reason", String(20), nullable=True),
    Index("ix_deletion_request_household_id", "household_id"),
    Index(
        "uq_deletion_request_pending_household",
        "household_id",
        unique=True,
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
    CheckConstraint("status in ('pending','done','rejected')", name="deletion_request_status"),
    CheckConstraint(
        "reject_reason is null or reject_reason in ('identity','audit','other')",
        name="deletion_request_reason",
    ),
)

conversation = Table(
    "conversation",
    metadata,
    # Where a Telegram user is in a multi-step flow (a report, a complaint), and its draft: read
    # before each of their updates and written after, so a restart or the other replica continues
    # the flow. One row per user in a flow; it goes when the flow ends or is abandoned.
    Column("telegram_user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("chat_id", BigInteger, nullable=False),
    Column("state", String(40), nullable=True),
    Column("flow", JSON, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    # On PostgreSQL, where replicas share the database: the process handling this user's update
    # now, until when. Another replica waits for it, so the user's updates stay in order.
    Column("lease_owner", String(80), nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
    Index("ix_conversation_updated_at", "updated_at"),
)


planner_progress = Table(
    "planner_progress",
    metadata,
    # The planner's memory between passes: for each part of its work ("reminders", "missed",
    # "prompts", "digests"), the local day it was last done for (null: to be done again).
    Column("phase", String(40), primary_key=True),
    Column("done_for", Date, nullable=True),
    Column("done_at", UtcDateTime, nullable=True),
)

planner_change = Table(
    "planner_change",
    metadata,
    # A mark that the registry changed (households, members, linked accounts, staff, posyandu
    # and their sessions, payout rounds), written by database triggers (migration 0012) in the
    # changing transaction, one row per transaction (its id on PostgreSQL; 0 on SQLite, where
    # writers take turns). The planner removes the marks it sees and plans again.
    Column("tx", BigInteger, primary_key=True, autoincrement=False),
)
