"""/konfirmasi: the health worker goes through the members expected at her posyandu session.

A health worker who serves several posyandu first picks one; the session is its latest one
(today, or within the last 7 days). The list shows `PAGE_SIZE` names a page (◀ ▶), and she can
type part of a name to search it. Each name shows whether the household reported the visit (📋),
whether a health worker confirmed it (✅, read from the database: reopening the list shows the
earlier ticks) or disputed it (❌). Tapping a name shows it with what she can still do: confirm
that the member came (saved at once), or, for a household report waiting for verification, say
that the member did not come. "Done" flags the household reports of the session she neither
confirmed nor disputed "not confirmed" to their companions; without it nothing is flagged.

Every tap reads her posyandu and the session again; a posyandu she does not serve (forged data,
or taken away by a re-import) is an old button, and a member outside the session is refused.
"""

from __future__ import annotations

import logging
from html import escape
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.domain.models import Role
from bot.services.cross_check import (
    Outcome,
    confirm_member,
    dispute_member,
    finish_session,
    latest_sessions,
    session_to_confirm,
)
from bot.texts.labels import member_kind_label
from handlers.common import END, cancelled, refuse, reply, stale_button, visit, wrong_button
from handlers.flow import Flow, button, button_of_flow, current_flow, end_flow, start_flow
from handlers.steps import Step, StepResult, flow_step

if TYPE_CHECKING:
    from datetime import date

    from bot.runtime.app import SapaContext
    from bot.services.cross_check import ExpectedMember, SessionToConfirm
    from bot.texts.i18n import Translator

log = logging.getLogger(__name__)

FLOW = "hw"
SELECT = "hw_select"
PAGE_SIZE = 8
ACTIONS = frozenset({"pick", "page", "open", "yes", "no", "back", "all", "done", "cancel"})
MAX_SEARCH = 40


def _mark(e: ExpectedMember) -> str:
    if e.confirmed:
        return "✅"
    if e.disputed:
        return "❌"
    return "📋" if e.reported else "▫️"


def _shown(flow: Flow, session: SessionToConfirm) -> list[ExpectedMember]:
    wanted = str(flow.draft.get("filter") or "")
    return session.matching(wanted) if wanted else session.expected


def _list_view(
    t: Translator, flow: Flow, session: SessionToConfirm
) -> tuple[str, InlineKeyboardMarkup]:
    """One page of the session's list (the draft's page and search), with its buttons."""
    shown = _shown(flow, session)
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    page = min(max(int(flow.draft.get("page", 0)), 0), pages - 1)
    flow.draft["page"] = page
    wanted = str(flow.draft.get("filter") or "")
    lines = [
        t("{posyandu}, {date}: tap a name to confirm that they came.").format(
            posyandu=escape(session.posyandu), date=t.long_date(session.day)
        ),
        t("📋 reported by the household · ✅ confirmed · ❌ did not come, says the health worker"),
        t("Names with “{text}”: {count}.").format(text=escape(wanted), count=len(shown))
        if wanted
        else t("Type part of a name to search. Tap Done when you have finished."),
    ]
    rows = [
        [button(f"{_mark(e)} {e.member.name} ({e.program_number})", flow, "open", e.member.id)]
        for e in shown[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    ]
    if pages > 1:
        nav = [button("◀", flow, "page", page - 1)] if page > 0 else []
        nav.append(button(f"{page + 1}/{pages}", flow, "page", page))
        if page < pages - 1:
            nav.append(button("▶", flow, "page", page + 1))
        rows.append(nav)
    if wanted:
        rows.append([button(t("All names"), flow, "all")])
    rows.append([button(t("Done with this session"), flow, "done")])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def _card_view(
    t: Translator, flow: Flow, session: SessionToConfirm, e: ExpectedMember
) -> tuple[str, InlineKeyboardMarkup]:
    """One member: what is recorded of the visit, and what she can still do."""
    lines = [
        f"<b>{escape(e.member.name)}</b> ({escape(e.program_number)}), "
        f"{member_kind_label(e.member.kind, t)}",
        t("Posyandu session: {posyandu}, {date}").format(
            posyandu=escape(session.posyandu), date=t.long_date(session.day)
        ),
    ]
    if e.confirmed:
        lines.append(t("✅ Confirmed by a health worker."))
    elif e.disputed:
        lines.append(t("❌ Did not come, says the health worker. The companion sees this."))
    elif e.reported:
        proof = t("yes") if e.visit is not None and e.visit.proof else t("no")
        reported = t("📋 Reported by the household (proof photo: {answer}).")
        lines.append(reported.format(answer=proof))
    else:
        lines.append(t("▫️ Not reported by the household."))
    rows: list[list[InlineKeyboardButton]] = []
    if not e.confirmed:
        lines.append(t("Did they come to the session?"))
        rows.append([button(t("✅ Came"), flow, "yes", e.member.id)])
    if e.disputable:
        rows.append([button(t("❌ Did not come"), flow, "no", e.member.id)])
    rows.append([button(t("◀ Back to the list"), flow, "back")])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def _today(context: SapaContext) -> date:
    services = context.services
    return services.clock().astimezone(services.settings.zone).date()


async def open_list(update: Update, context: SapaContext) -> str | int:
    """/konfirmasi, or the button of the planner's prompt."""
    end_flow(context.user_data or {})
    if update.callback_query is not None:
        await update.callback_query.answer()
    visitor = await visit(update, context)
    t, person = visitor.t, visitor.person
    if person is None or person.role is not Role.HEALTH_WORKER:
        await refuse(update, t, "confirm_attendance", person)
        return END
    today = _today(context)
    async with context.services.store.read() as repo:
        places = await latest_sessions(repo, person, today)
        session = None
        if len(places) == 1 and places[0][1] is not None:
            session = await session_to_confirm(repo, person, today, places[0][0].id)
    if len(places) > 1:
        flow = start_flow(context.user_data if context.user_data is not None else {}, FLOW)
        rows = [
            [
                button(
                    f"{place.name} ({t.short_date(day)})"
                    if day is not None
                    else t("{posyandu} (no session in the last 7 days)").format(
                        posyandu=place.name
                    ),
                    flow,
                    "pick",
                    place.id,
                )
            ]
            for place, day in places
        ]
        await reply(update, t("Which posyandu?"), InlineKeyboardMarkup(rows))
        return SELECT
    return await _show_session(update, context, session)


async def _show_session(
    update: Update, context: SapaContext, session: SessionToConfirm | None
) -> str | int:
    """Start the list of this session in a new message (or say why there is none)."""
    t = (await visit(update, context)).t
    if session is None:
        end_flow(context.user_data or {})
        await reply(
            update, t("There is no posyandu session of yours to confirm in the last 7 days.")
        )
        return END
    if not session.expected:
        end_flow(context.user_data or {})
        await reply(update, t("Nobody was expected at this session."))
        return END
    flow = current_flow(context.user_data or {}, FLOW) or start_flow(
        context.user_data if context.user_data is not None else {}, FLOW
    )
    flow.draft.update(
        {"posyandu": session.posyandu_id, "day": session.day.isoformat(), "page": 0, "filter": ""}
    )
    text, markup = _list_view(t, flow, session)
    await reply(update, text, markup)
    return SELECT


async def _edit(update: Update, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Show the pressed message anew (a message that did not change stays as it is)."""
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise


async def pressed(update: Update, context: SapaContext) -> str | int | None:
    """A button of the running list: pick, page, open, yes, no, back, all, done."""
    query = update.callback_query
    assert query is not None
    flow = current_flow(context.user_data or {}, FLOW)
    pressed_button = button_of_flow(query.data, flow)
    visitor = await visit(update, context)
    t, person = visitor.t, visitor.person
    if flow is None or pressed_button is None or person is None:
        await query.answer()
        await wrong_button(update, context)
        return None
    action, argument = pressed_button.action, pressed_button.argument or ""
    number = int(argument) if argument.isdigit() else -1
    if action not in ACTIONS:  # data this list never made
        return await _old_button(update, context, int(flow.draft.get("posyandu", -1)))
    if action == "cancel":
        await query.answer()
        return await cancelled(update, context, visitor)
    services = context.services
    today = _today(context)
    if action == "pick":
        async with services.store.read() as repo:
            places = {p.id: (p, day) for p, day in await latest_sessions(repo, person, today)}
            session = (
                await session_to_confirm(repo, person, today, number)
                if number in places and places[number][1] is not None
                else None
            )
        if number not in places:  # not one of hers: forged, or taken away since
            return await _old_button(update, context, number)
        await query.answer()
        if session is None:  # the picker stays, for another posyandu
            await reply(
                update,
                t("{posyandu} had no session in the last 7 days. Choose another one.").format(
                    posyandu=escape(places[number][0].name)
                ),
            )
            return SELECT
        await query.edit_message_reply_markup(reply_markup=None)
        return await _show_session(update, context, session)
    posyandu_id = int(flow.draft.get("posyandu", -1))
    async with services.store.read() as repo:
        session = await session_to_confirm(repo, person, today, posyandu_id)
    if session is None or session.day.isoformat() != flow.draft.get("day"):
        return await _old_button(update, context, posyandu_id)
    if action in ("open", "yes", "no") and session.find(number) is None:
        # forged data: someone outside this session; the list stays as it was
        await refuse(update, t, "confirm_attendance", person, member=number)
        return None
    if action in ("yes", "no"):
        act = confirm_member if action == "yes" else dispute_member
        outcome = await act(
            services.store,
            person,
            session.posyandu_id,
            session.day,
            number,
            today=today,
            now=services.clock(),
        )
        if outcome is Outcome.NOT_ALLOWED:
            await refuse(update, t, "confirm_attendance", person, member=number)
            return None
        async with services.store.read() as repo:
            session = await session_to_confirm(repo, person, today, posyandu_id)
        if session is None:
            return await _old_button(update, context, posyandu_id)
    await query.answer()
    if action == "done":
        return await _done(update, context, session)
    if action == "open":
        expected = session.find(number)
        assert expected is not None
        await _edit(update, *_card_view(t, flow, session, expected))
        return SELECT
    if action == "page":
        flow.draft["page"] = number
    elif action == "all":
        flow.draft.update({"filter": "", "page": 0})
    await _edit(update, *_list_view(t, flow, session))
    return SELECT


async def _old_button(update: Update, context: SapaContext, posyandu_id: int) -> int:
    """A posyandu or session that is not (or no longer) hers: the old-button answer."""
    person = (await visit(update, context)).person
    person_id = person.id if person is not None else None
    log.warning(
        "authorization_refused action=confirm_attendance person=%s posyandu=%s",
        person_id,
        posyandu_id,
    )
    end_flow(context.user_data or {})
    return await stale_button(update, context)


async def _done(update: Update, context: SapaContext, session: SessionToConfirm) -> str | int:
    visitor = await visit(update, context)
    t, person = visitor.t, visitor.person
    assert person is not None
    services = context.services
    finished = await finish_session(
        services.store,
        person,
        session.posyandu_id,
        session.day,
        today=_today(context),
        now=services.clock(),
    )
    if finished is None:
        return await _old_button(update, context, session.posyandu_id)
    end_flow(context.user_data or {})
    query = update.callback_query
    assert query is not None
    await query.edit_message_reply_markup(reply_markup=None)
    counted = finished.session.expected
    lines = [
        t(
            "Done: {posyandu}, {date}. Confirmed: {confirmed}. Did not come: {disputed}. "
            "Household reports not confirmed: {flagged}."
        ).format(
            posyandu=escape(session.posyandu),
            date=t.long_date(session.day),
            confirmed=sum(e.confirmed for e in counted),
            disputed=sum(e.disputed for e in counted),
            flagged=finished.not_confirmed,
        )
    ]
    if finished.companions:
        lines.append(t("Their companions are told, so that they check them."))
    await reply(update, "\n".join(lines))
    return END


@flow_step(FLOW, staff=True)
async def search_typed(update: Update, context: SapaContext, step: Step) -> StepResult:
    """Text typed while the list is open: the names that contain it."""
    flow, visitor = step.flow, step.visitor
    t, person = visitor.t, visitor.person
    assert update.effective_message is not None and person is not None
    if "posyandu" not in flow.draft:
        await reply(update, t("Please choose one of the buttons above, or send /batal to stop."))
        return SELECT
    wanted = " ".join((update.effective_message.text or "").split())[:MAX_SEARCH]
    today = _today(context)
    async with context.services.store.read() as repo:
        session = await session_to_confirm(repo, person, today, int(flow.draft["posyandu"]))
    if session is None or session.day.isoformat() != flow.draft.get("day"):
        end_flow(context.user_data or {})
        await reply(
            update, t("There is no posyandu session of yours to confirm in the last 7 days.")
        )
        return END
    if not session.matching(wanted):
        await reply(
            update,
            t("No name contains “{text}”. Type another part of the name.").format(
                text=escape(wanted)
            ),
        )
        return SELECT
    flow.draft.update({"filter": wanted, "page": 0})
    text, markup = _list_view(t, flow, session)
    await reply(update, text, markup)
    return SELECT
