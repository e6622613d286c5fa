"""Which handler answers which update, in the order PTB tries them.

All household flows live in one ConversationHandler, so a menu button or a command always starts
its flow afresh (dropping any unfinished draft), even in the middle of another flow. Where each
user is in it lives in the database between updates (`bot.runtime.updates`), which also ends a
flow left unanswered for `flow_timeout_seconds` (15 minutes by default) with a message; nothing
of it was saved, because saving happens only at the final confirmation.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.domain.buttons import (
    CaseloadFilter,
    CompanionAction,
    ComplaintAnswer,
    ComplaintSolved,
    DigestList,
    ErasureDecision,
    FlowStep,
    FollowUpAction,
    Language,
    MissedSession,
    OpenConfirmations,
    OpenVerifications,
    QueueListFile,
    ReminderChoice,
    Verification,
    is_kind,
)
from handlers import (
    assisted,
    attendance,
    caseload,
    common,
    companion,
    complaint_answers,
    complaint_handling,
    complaints,
    data_rights,
    family,
    follow_ups,
    health_worker,
    linking,
    missed,
    payout_lists,
    private_chat,
    recap,
    reminders,
    schedule,
    staff,
    verification,
)
from handlers.menu import MenuAction, menu_filter

if TYPE_CHECKING:
    from bot.runtime.app import SapaApplication, SapaContext

TEXT = filters.TEXT & ~filters.COMMAND
PHOTO = filters.PHOTO | filters.Document.IMAGE


async def not_a_photo(update: Update, context: SapaContext) -> None:
    t = await common.translator_for(update, context)
    await common.reply(
        update,
        t("Please send a photo (or press Skip), or send /batal to stop."),
    )


async def not_text(update: Update, context: SapaContext) -> None:
    """A sticker, voice note, location... where we wait for words or a button."""
    t = await common.translator_for(update, context)
    await common.reply(
        update,
        t(
            "I can only read text, photos and buttons here. Please answer with the buttons or "
            "by typing, or send /batal to stop."
        ),
    )


async def button_expected(update: Update, context: SapaContext) -> None:
    t = await common.translator_for(update, context)
    await common.reply(
        update,
        t("Please choose one of the buttons above, or send /batal to stop."),
    )


def household_conversation(application: SapaApplication) -> ConversationHandler[SapaContext]:
    translations = application.bot_data["services"].translations

    def menu(action: MenuAction) -> filters.BaseFilter:
        return menu_filter(action, translations) & filters.ChatType.PRIVATE

    entry_points = [
        CommandHandler("start", linking.start),
        CommandHandler("hadir", attendance.begin),
        MessageHandler(menu(MenuAction.REPORT), attendance.begin),
        CommandHandler("keluhan", complaints.begin),
        MessageHandler(menu(MenuAction.COMPLAIN), complaints.begin),
        CommandHandler("hadiruntuk", assisted.report_command),
        CommandHandler("keluhanuntuk", assisted.complaint_command),
        CommandHandler("status", complaints.status_command),
        MessageHandler(menu(MenuAction.STATUS), complaints.status_command),
        CommandHandler("jadwal", schedule.schedule_command),
        MessageHandler(menu(MenuAction.SCHEDULE), schedule.schedule_command),
        CommandHandler("pengingat", reminders.reminders_command),
        CallbackQueryHandler(reminders.choice_pressed, pattern=is_kind(ReminderChoice)),
        CommandHandler("bahasa", common.language_command),
        MessageHandler(menu(MenuAction.LANGUAGE), common.language_command),
        CallbackQueryHandler(common.language_chosen, pattern=is_kind(Language)),
        CallbackQueryHandler(missed.answered, pattern=is_kind(MissedSession)),
        CallbackQueryHandler(complaint_handling.staff_button, pattern=is_kind(CompanionAction)),
        CallbackQueryHandler(
            complaint_handling.household_confirms, pattern=is_kind(ComplaintSolved)
        ),
        CallbackQueryHandler(complaint_answers.begin, pattern=is_kind(ComplaintAnswer)),
        CommandHandler("keluhanmasuk", complaint_handling.waiting_command),
        CommandHandler("verifikasi", verification.queue_command),
        CallbackQueryHandler(verification.queue_command, pattern=is_kind(OpenVerifications)),
        CommandHandler("konfirmasi", health_worker.open_list),
        CommandHandler("tindaklanjut", follow_ups.list_command),
        CallbackQueryHandler(follow_ups.action_pressed, pattern=is_kind(FollowUpAction)),
        CommandHandler("kelahiran", family.birth_command),
        CommandHandler("kehamilan", family.pregnancy_command),
        CallbackQueryHandler(health_worker.open_list, pattern=is_kind(OpenConfirmations)),
        CallbackQueryHandler(verification.decision_pressed, pattern=is_kind(Verification)),
        CommandHandler(["bantuan", "help"], common.help_command),
        MessageHandler(menu(MenuAction.HELP), common.help_command),
        CommandHandler("batal", common.cancel),
        CommandHandler("putus", linking.unlink_command),
        CommandHandler("datasaya", data_rights.my_data_command),
        CommandHandler("hapusdata", data_rights.erase_command),
        CallbackQueryHandler(data_rights.decision_pressed, pattern=is_kind(ErasureDecision)),
    ]
    buttons_only = [
        MessageHandler(TEXT, button_expected),
    ]
    states = {
        linking.LINK_NUMBER: [MessageHandler(TEXT, linking.program_number_given)],
        linking.LINK_SECRET: [MessageHandler(TEXT, linking.secret_given)],
        attendance.MEMBER: [
            CallbackQueryHandler(attendance.member_chosen, pattern=is_kind(FlowStep, "att")),
            *buttons_only,
        ],
        attendance.DAY: [
            CallbackQueryHandler(attendance.day_chosen, pattern=is_kind(FlowStep, "att")),
            MessageHandler(TEXT, attendance.day_chosen),
        ],
        attendance.PHOTO: [
            CallbackQueryHandler(attendance.photo_given, pattern=is_kind(FlowStep, "att")),
            MessageHandler(PHOTO, attendance.photo_given),
            MessageHandler(TEXT, not_a_photo),
        ],
        attendance.CONFIRM: [
            CallbackQueryHandler(attendance.confirm_pressed, pattern=is_kind(FlowStep, "att")),
            *buttons_only,
        ],
        complaints.CATEGORY: [
            CallbackQueryHandler(complaints.category_chosen, pattern=is_kind(FlowStep, "klh")),
            *buttons_only,
        ],
        complaints.TEXT: [MessageHandler(TEXT | filters.VOICE, complaints.text_given)],
        complaint_answers.ANSWER: [
            CallbackQueryHandler(complaint_answers.answer_given, pattern=is_kind(FlowStep, "kbl")),
            MessageHandler(TEXT | PHOTO | filters.VOICE, complaint_answers.answer_given),
        ],
        complaint_handling.REPLY_TEXT: [MessageHandler(TEXT, complaint_handling.reply_text)],
        verification.REASON: [MessageHandler(TEXT, verification.reason_given)],
        health_worker.SELECT: [
            CallbackQueryHandler(health_worker.pressed, pattern=is_kind(FlowStep, "hw")),
            MessageHandler(TEXT, health_worker.search_typed),  # part of a name to search
        ],
        missed.REASON: [
            CallbackQueryHandler(missed.reason_chosen, pattern=is_kind(FlowStep, "abs")),
            *buttons_only,
        ],
        complaints.PHOTO: [
            CallbackQueryHandler(complaints.photo_given, pattern=is_kind(FlowStep, "klh")),
            MessageHandler(PHOTO, complaints.photo_given),
            MessageHandler(TEXT, not_a_photo),
        ],
        complaints.CONFIRM: [
            CallbackQueryHandler(complaints.confirm_pressed, pattern=is_kind(FlowStep, "klh")),
            *buttons_only,
        ],
        follow_ups.NOTE: [MessageHandler(TEXT, follow_ups.note_given)],
        family.CONFIRM: [
            CallbackQueryHandler(family.confirm_pressed, pattern=is_kind(FlowStep, "klg")),
            *buttons_only,
        ],
        data_rights.CONFIRM: [
            CallbackQueryHandler(data_rights.confirm_pressed, pattern=is_kind(FlowStep, "hps")),
            *buttons_only,
        ],
    }
    fallbacks = [
        CallbackQueryHandler(common.foreign_button),
        MessageHandler(filters.COMMAND, common.unknown),
        MessageHandler(filters.ALL, not_text),
    ]
    with warnings.catch_warnings():
        # We track flows per user and chat on purpose; our buttons carry their own flow nonce.
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        return ConversationHandler(
            entry_points=entry_points,  # type: ignore[arg-type]
            states=states,  # type: ignore[arg-type]
            fallbacks=fallbacks,  # type: ignore[arg-type]
            allow_reentry=True,
            name="household",
        )


def register(application: SapaApplication) -> ConversationHandler[SapaContext]:
    """Add every handler; returns the household conversation, whose states the runtime keeps in
    the database between updates."""
    # First of all: the bot's own membership changes, then nothing but private chats passes.
    application.add_handler(
        ChatMemberHandler(private_chat.membership_changed, ChatMemberHandler.MY_CHAT_MEMBER),
        group=-2,
    )
    application.add_handler(TypeHandler(Update, private_chat.gate), group=-2)
    # Then, in its own group: note that Telegram reached us (for /healthz).
    application.add_handler(TypeHandler(Update, common.note_update), group=-1)
    application.add_handler(CommandHandler("undang", staff.invite_command))
    application.add_handler(CommandHandler("sesi", staff.session_command))
    application.add_handler(CommandHandler("rekap", recap.recap_command))
    application.add_handler(CommandHandler("rumahtangga", caseload.households_command))
    application.add_handler(
        CallbackQueryHandler(caseload.filter_pressed, pattern=is_kind(CaseloadFilter))
    )
    application.add_handler(CommandHandler("kodetautan", caseload.link_code_command))
    application.add_handler(CommandHandler("ekspor", recap.export_command))
    application.add_handler(CommandHandler("antrean", payout_lists.queue_command))
    application.add_handler(
        CallbackQueryHandler(payout_lists.print_pressed, pattern=is_kind(QueueListFile))
    )
    conversation = household_conversation(application)
    application.add_handler(conversation)
    application.add_handler(
        CallbackQueryHandler(companion.digest_list, pattern=is_kind(DigestList))
    )
    application.add_handler(CallbackQueryHandler(common.stale_button))
    application.add_handler(MessageHandler(filters.ALL, common.unknown))
    application.add_error_handler(common.on_error)
    return conversation
