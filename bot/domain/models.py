"""Domain models: what the rest of the program talks about, independent of any database row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from bot.domain.schedule import ScheduleRule


class Role(StrEnum):
    HOUSEHOLD = "household"
    COMPANION = "companion"
    COORDINATOR = "coordinator"
    OPERATOR = "operator"
    HEALTH_WORKER = "health_worker"
    ADMIN = "admin"


STAFF_ROLES = (Role.COMPANION, Role.COORDINATOR, Role.OPERATOR, Role.HEALTH_WORKER, Role.ADMIN)


class MemberKind(StrEnum):
    PREGNANT = "pregnant"
    CHILD = "child"  # balita: followed by the posyandu
    SCHOOL_CHILD = "school_child"  # anak sekolah (7-18): school attendance, not the posyandu
    OTHER = "other"


class ReportStatus(StrEnum):
    REPORTED = "reported"
    VERIFIED = "verified"
    CROSS_CHECKED = "cross_checked"
    REJECTED = "rejected"


class AbsenceReason(StrEnum):
    """Why a household did not go to a posyandu session (answer to the missed-session question)."""

    SICK = "sick"
    TOO_FAR = "too_far"
    NO_TRANSPORT_MONEY = "no_transport_money"
    SESSION_CANCELLED = "session_cancelled"
    OTHER = "other"
    NONE = "none"  # no reason given


class SessionChangeOutcome(StrEnum):
    """What became of a request to move or cancel one posyandu session."""

    CHANGED = "changed"
    UNKNOWN_POSYANDU = "unknown_posyandu"
    NOT_A_SESSION = "not_a_session"  # the posyandu's rule has no session on that day
    IN_THE_PAST = "in_the_past"
    NOT_ALLOWED = "not_allowed"  # the posyandu is outside the asking staff member's kecamatan


class RejectReason(StrEnum):
    """Why a coordinator refused a household's request to erase its chat data."""

    IDENTITY = "identity"
    AUDIT = "audit"
    OTHER = "other"


class ComplaintCategory(StrEnum):
    PAYOUT = "payout"
    COMPANION = "companion"
    HEALTH_SERVICE = "health_service"
    DATA = "data"
    OTHER = "other"


class ComplaintStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class EscalationLevel(StrEnum):
    COMPANION = "companion"
    COORDINATOR = "coordinator"
    DISTRICT = "district"


class AttachmentKind(StrEnum):
    """What a household sent with a complaint or an answer: a photo, an image sent "as a file"
    (a document: Telegram refuses its id as a photo) or a voice note. Kept as a file id only."""

    PHOTO = "photo"
    DOCUMENT = "document"
    VOICE = "voice"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Posyandu(Model):
    id: int
    code: str
    name: str
    desa_id: int
    kecamatan_id: int
    schedule: ScheduleRule  # parsed once, by storage; imports refuse a rule that does not parse


class Staff(Model):
    id: int
    code: str
    name: str
    role: Role
    kecamatan_id: int | None
    posyandu_id: int | None
    active: bool


class Household(Model):
    id: int
    program_number: str
    head_name: str
    nik_masked: str
    desa_id: int
    kecamatan_id: int
    posyandu_id: int
    companion_id: int | None
    active: bool


class Member(Model):
    id: int
    household_id: int
    name: str
    kind: MemberKind
    birth_date: date | None
    due_date: date | None


class SchoolMonth(Model):
    """A school child's attendance in one calendar month, as the school reported it (read by
    the register; the import writes the same values)."""

    member_id: int
    month: date  # the first day of the month
    days_present: int
    days_school: int


class PayoutRound(Model):
    id: int
    round_code: str
    kecamatan_id: int
    payout_date: date
    place: str
    start_time: time
    end_time: time
    amount: int
    slot_capacity: int | None = None  # households per queue slot here; None: the settings'


class Person(Model):
    """A Telegram user the bot knows, with a role and the scope that role covers.

    For staff, `role` and `active` are read from the staff registry as it is now (a re-import or
    `sapa staff deactivate` takes effect on the next update); for households, `active` says
    whether the linked household is still in the programme.
    """

    id: int
    telegram_user_id: int
    role: Role
    household_id: int | None
    staff_id: int | None
    language: str | None
    reachable: bool
    created_at: datetime
    active: bool = True
    # Since when this account muted its optional reminders (/pengingat); None while they are on.
    reminders_muted_at: datetime | None = None


class AttendanceReport(Model):
    """A posyandu visit reported by the household (or confirmed by a health worker)."""

    id: int
    member_id: int
    posyandu_id: int
    session_date: date
    status: ReportStatus
    proof_file_id: str | None
    reported_at: datetime
    # Reported for the household by staff (/hadiruntuk): her person id and the role she acted
    # in; None: the household's own report (or a health worker's tick at the session).
    assisted_by: int | None = None
    assisted_role: Role | None = None


class Complaint(Model):
    """A household's complaint (keluhan), with its ticket code and where it stands."""

    id: int
    ticket_code: str
    household_id: int
    category: ComplaintCategory
    text: str
    photo_file_id: str | None
    status: ComplaintStatus
    level: EscalationLevel
    deadline_at: datetime
    created_at: datetime
    updated_at: datetime
    about_staff_id: int | None = None  # the companion a 'companion' complaint is about
    voice_file_id: str | None = None  # a voice note sent as the complaint's content
    # Filed for the household by staff (/keluhanuntuk): her person id and the role she acted
    # in; None: filed by the household itself.
    assisted_by: int | None = None
    assisted_role: Role | None = None

    def is_about(self, staff_id: int) -> bool:
        """Whether this is a complaint about that companion (kept out of her sight). Older
        complaints did not record whom they were about: any 'companion' complaint counts."""
        if self.category is not ComplaintCategory.COMPANION:
            return False
        return self.about_staff_id is None or self.about_staff_id == staff_id


class ComplaintEvent(Model):
    """One entry of a complaint's history: filed, taken, a staff reply, the household's answer
    (its text, and the file id and kind of what it sent with it), resolved, escalated..."""

    id: int
    complaint_id: int
    at: datetime
    kind: str
    actor_person_id: int | None = None
    status: ComplaintStatus | None = None
    level: EscalationLevel | None = None
    note: str | None = None
    file_id: str | None = None
    file_kind: AttachmentKind | None = None


class Recipient(Model):
    """Who an outbox row is for: a person, or a staff member (reached once they link Telegram)."""

    person_id: int | None = None
    staff_id: int | None = None


class KecamatanCounts(Model):
    """One line of `sapa stats`."""

    kecamatan: str
    posyandu: int
    households: int
    members: int
    staff: int
    linked_users: int


def name_key(name: str) -> str:
    """How names are matched: case and extra spaces do not matter ("Mekar  Jaya" = "mekar jaya")."""
    return " ".join(name.split()).casefold()


# Records: what an import or the demo writes, with references already resolved to ids.


class PosyanduRecord(Model):
    code: str
    name: str
    desa_id: int
    schedule: str


class StaffRecord(Model):
    code: str
    name: str
    role: Role
    kecamatan_id: int | None
    posyandu_id: int | None  # the first posyandu of `posyandu_ids`
    posyandu_ids: tuple[int, ...] = ()  # every posyandu a health worker serves

    def served(self) -> tuple[int, ...]:
        """The posyandu this staff member serves (just `posyandu_id` when no set is given)."""
        if self.posyandu_ids:
            return self.posyandu_ids
        return () if self.posyandu_id is None else (self.posyandu_id,)


# The two records an import writes by the hundred thousand are plain dataclasses: their values
# come from rows already validated and ids already resolved, and validating them again took
# about a second of a 150,000-household import.
@dataclass(frozen=True, slots=True)
class HouseholdRecord:
    program_number: str
    head_name: str
    nik_masked: str
    nik_digest: str
    nik_tail_digest: str
    desa_id: int
    posyandu_id: int
    companion_id: int | None


@dataclass(frozen=True, slots=True)
class MemberRecord:
    household_id: int
    name: str
    kind: MemberKind
    birth_date: date | None
    due_date: date | None
    name_key: str = field(init=False)  # how the member is matched on a re-import (`name_key`)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name_key", name_key(self.name))


class PayoutRoundRecord(Model):
    round_code: str
    kecamatan_id: int
    payout_date: date
    place: str
    start_time: time
    end_time: time
    amount: int
    slot_capacity: int | None = None


class PosyanduRef(Model):
    """What an import needs to know about an existing posyandu."""

    id: int
    kecamatan_id: int


class StaffRef(Model):
    id: int
    role: Role
    kecamatan_id: int | None
