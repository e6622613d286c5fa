"""/kelahiran and /kehamilan: a companion or health worker records a birth or a new pregnancy
in one message, checks the summary, and saves; the household is told through the outbox."""

from __future__ import annotations

import re
from datetime import date
from html import escape
from typing import TYPE_CHECKING

from telegram import InlineKeyboardMarkup, Update

from bot.domain.models import Role
from bot.services.attendance import PUERPERIUM
from bot.services.family import (
    FamilyChange,
    FamilyOutcome,
    check_birth,
    check_pregnancy,
    record_birth,
    record_pregnancy,
)
from bot.texts.i18n import N_, Translator
from handlers.common import END, refuse, reply, visit
from handlers.flow import Flow, button, end_flow, start_flow
from handlers.steps import Step, StepResult, flow_step

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext

FLOW = "klg"
CONFIRM = "klg_confirm"
BIRTH, PREGNANCY = "birth", "pregnancy"

_DAY = re.compile(r"^(?:(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})|(\d{4})-(\d{2})-(\d{2}))$")

USAGE = {
    BIRTH: N_(
        "Write the programme number, the date of birth and the baby's name, for example: "
        "/kelahiran RTS-2026-0001 30/11/2026 Siti Aminah"
    ),
    PREGNANCY: N_(
        "Write the programme number, the expected date of birth and the mother's name, for "
        "example: /kehamilan RTS-2026-0001 20/06/2027 Neneng Sukmana"
    ),
}

PROBLEMS = {
    BIRTH: {
        FamilyOutcome.BAD_DATE: N_(
            "That date of birth cannot be used: it must be today or within the past year."
        ),
    },
    PREGNANCY: {
        FamilyOutcome.BAD_DATE: N_(
            "That expected date of birth cannot be used: it must be after today and within "
            "the next 300 days."
        ),
    },
}
NAME_PROBLEMS = {
    FamilyOutcome.BAD_NAME: N_("Please write the name in letters, 2 to 100 characters."),
    FamilyOutcome.NAME_TAKEN: N_(
        "This household already has a member with that name. Please check the name."
    ),
}


def parse_day(text: str) -> date | None:
    """`30/11/2026`, `30-11-2026` or `2026-11-30`: a full date, the year written out."""
    match = _DAY.match(text.strip())
    if match is None:
        return None
    day, month, year = (
        (match[1], match[2], match[3]) if match[1] else (match[6], match[5], match[4])
    )
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


async def birth_command(update: Update, context: SapaContext) -> str | int:
    return await _begin(update, context, BIRTH)


async def pregnancy_command(update: Update, context: SapaContext) -> str | int:
    return await _begin(update, context, PREGNANCY)


async def _begin(update: Update, context: SapaContext, kind: str) -> str | int:
    end_flow(context.user_data or {})
    visitor = await visit(update, context)
    t, person = visitor.t, visitor.person
    if person is None or person.role not in (Role.COMPANION, Role.HEALTH_WORKER):
        await refuse(update, t, f"record_{kind}", person)
        return END
    args = [a[:100] for a in (context.args or [])]
    day = parse_day(args[1]) if len(args) >= 3 else None
    if day is None:
        await reply(update, t(USAGE[kind]))
        return END
    number, name = args[0], " ".join(args[2:])
    services = context.services
    today = services.clock().astimezone(services.settings.zone).date()
    check = check_birth if kind == BIRTH else check_pregnancy
    outcome, change = await check(services.store, person, number, name, day, today)
    if outcome is FamilyOutcome.NOT_ALLOWED:
        await refuse(update, t, f"record_{kind}", person)
        return END
    if change is None:
        problem = PROBLEMS[kind].get(outcome) or NAME_PROBLEMS[outcome]
        await reply(update, t(problem))
        return END
    flow = start_flow(context.user_data if context.user_data is not None else {}, FLOW)
    flow.draft.update(kind=kind, number=number, name=name, day=day.isoformat())
    await reply(update, _summary(change, kind, t), _buttons(t, flow))
    return CONFIRM


def _summary(change: FamilyChange, kind: str, t: Translator) -> str:
    household = change.household
    family = t("Household: {number} ({head})").format(
        number=escape(household.program_number), head=escape(household.head_name)
    )
    if kind == BIRTH:
        lines = [
            t("Record this birth?"),
            family,
            t("Baby: {name}, born {date}").format(
                name=escape(change.name), date=t.long_date(change.day)
            ),
        ]
        if change.mother is not None:
            lines.append(
                t("Mother: {name}, followed after giving birth until {date}").format(
                    name=escape(change.mother.name), date=t.long_date(change.day + PUERPERIUM)
                )
            )
        else:
            lines.append(t("Mother: no pregnant member of this household matches this birth."))
        return "\n".join(lines)
    who = (
        t("{name} (already a member)") if change.member is not None else t("{name} (new member)")
    ).format(name=escape(change.name))
    return "\n".join(
        [
            t("Record this pregnancy?"),
            family,
            t("Mother: {name}").format(name=who),
            t("Expected date of birth: {date}").format(date=t.long_date(change.day)),
        ]
    )


def _buttons(t: Translator, flow: Flow) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[button(t("✅ Save"), flow, "save")], [button(t("Cancel"), flow, "cancel")]]
    )


@flow_step(FLOW, staff=True, takes={"save"})
async def confirm_pressed(update: Update, context: SapaContext, step: Step) -> StepResult:
    flow, visitor = step.flow, step.visitor
    t, person = visitor.t, visitor.person
    assert person is not None
    draft, services = flow.draft, context.services
    kind = str(draft.get("kind"))
    day = date.fromisoformat(str(draft.get("day")))
    today = services.clock().astimezone(services.settings.zone).date()
    end_flow(context.user_data or {})
    check = check_birth if kind == BIRTH else check_pregnancy
    outcome, change = await check(
        services.store, person, str(draft["number"]), str(draft["name"]), day, today
    )
    if change is not None:
        record = record_birth if kind == BIRTH else record_pregnancy
        outcome = await record(services.store, person, change, now=services.clock())
    if outcome is FamilyOutcome.NOT_ALLOWED:
        await refuse(update, t, f"record_{kind}", person)
    elif outcome is FamilyOutcome.SAVED:
        await reply(update, t("Saved. The household is told, and its reminders follow."))
    else:
        await reply(update, t(PROBLEMS[kind].get(outcome) or NAME_PROBLEMS[outcome]))
    return END
