"""/add: with arguments, the one-line form; alone, in a private chat, a guided conversation.

The questions, in order: date, district, place, the four counts, device, source, note. Every answer
is checked by the validators of the one-line form (``handlers.add_answers``) and a wrong one is
asked again, naming what was wrong (``handlers.add_steps``). Then a preview with Confirm, Edit and Cancel; only Confirm
stores anything (through ``submit_draft``: possible duplicates first, review for editors).

The conversation is kept in the store (``handlers.add_progress``), read again for every update: the
next message may reach another webhook process, or one started after a restart.

Rights are checked on every update of the conversation, buttons included: callback data can be
forged by anyone. Each button carries its conversation's random session, so a button left from an
earlier /add is refused as expired instead of acting on the current one.

Other commands sent meanwhile are answered as usual and the questions wait (/cancel stops them,
/add alone starts again); a text in the private chat is read as the answer to the question asked.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, BaseHandler, CommandHandler, filters

from db.domain.roles import Role
from db.store.drafts import DraftChanged, DraftExpired
from handlers.add_progress import Conversation, Progress
from handlers.add_steps import (
    PREVIEW_ACTIONS,
    STEP_ACTIONS,
    answer_button,
    answer_text,
    cancel_button,
    preview_button,
    preview_text,
    refuse_button,
)
from handlers.auth import require
from handlers.callbacks import ADD_PREFIX, AddAction, AddButton, AddStep
from handlers.context import BotContext
from handlers.editing import add_one_line, command_text
from handlers.render.changes import render_cancelled
from handlers.render.conversation import (
    render_dropped,
    render_private_only,
    render_restarted,
    render_step,
)
from handlers.replies import reply

log = logging.getLogger(__name__)

#: A conversation left this long without an answer is dropped (and the admin told).
TIMEOUT = dt.timedelta(minutes=30)
#: How many times an update is decided again when other updates keep moving the conversation on.
ATTEMPTS = 3


def _is_private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


# -- /add, /cancel ---------------------------------------------------------------------------------


async def add_entry(conv: Conversation) -> None:
    """``/add key=value ...``: the one-line form. ``/add`` alone in a private chat: the first
    question (a conversation in progress starts again)."""
    update, context = conv.update, conv.context
    role = await require(update, context, Role.EDITOR, "/add")
    if role is None:
        if _is_private(update):
            await conv.end()
        return
    t = await context.translator(update)
    text = command_text(update)
    if text.strip():
        if _is_private(update) and await conv.end():
            await reply(update, render_dropped(t))
        await add_one_line(update, context, text)
        return
    if not _is_private(update):
        await reply(update, render_private_only(t))
        return
    restarted = await conv.end()
    progress = Progress()
    await conv.save(progress, t)
    notice = render_restarted(t) if restarted else None
    rendered = render_step(
        t, context.services.gazetteer, AddStep.DATE, progress.session, notice=notice
    )
    await reply(update, rendered.text, rendered.keyboard)


async def on_cancel(conv: Conversation) -> bool:
    """/cancel: the conversation in progress stopped; False when none is (for the next handler)."""
    update, context = conv.update, conv.context
    try:
        progress = await conv.load()
    except DraftExpired:
        await reply(update, conv.timed_out(await context.translator(update)))
        return True
    if progress is None:
        return False
    role = await require(update, context, Role.EDITOR, "/cancel")
    await conv.end()
    if role is not None:
        await reply(update, render_cancelled(await context.translator(update)))
    return True


# -- typed answers ---------------------------------------------------------------------------------


async def on_text(conv: Conversation) -> bool:
    """A text in a private chat: the answer to the question asked, if one is; False when no
    conversation waits (the text is for the next handler)."""
    update, context = conv.update, conv.context
    try:
        progress = await conv.load()
    except DraftExpired:
        await reply(update, conv.timed_out(await context.translator(update)))
        return True
    if progress is None:
        return False
    if await require(update, context, Role.EDITOR, "/add answer") is None:
        await conv.end()
        return True
    t = await context.translator(update)
    if progress.step is None:
        await preview_text(conv, progress, t)
    else:
        await answer_text(conv, progress, progress.step, t)
    return True


# -- buttons ---------------------------------------------------------------------------------------


async def on_button(conv: Conversation) -> None:
    """A button of the guided /add: rights first, then its session and whether the question
    asked takes it (else it is refused as expired)."""
    update, context = conv.update, conv.context
    role = await require(update, context, Role.EDITOR, "/add button")
    if role is None:
        await conv.end()
        return
    t = await context.translator(update)
    query = update.callback_query
    button = AddButton.decode(query.data or "") if query is not None else None
    try:
        progress = await conv.load()
    except DraftExpired:
        progress = None
    if progress is None or button is None or button.session != progress.session:
        await refuse_button(update, t)
    elif button.action is AddAction.CANCEL:
        await cancel_button(conv, t)
    elif progress.step is None and button.action in PREVIEW_ACTIONS:
        await preview_button(conv, progress, button, t)
    elif progress.step is not None and button.action in (
        STEP_ACTIONS[progress.step] | {AddAction.PREVIEW}
    ):
        await answer_button(conv, progress, progress.step, button, t)
    else:
        await refuse_button(update, t)


# -- the handler -----------------------------------------------------------------------------------


class Entry(enum.Enum):
    """What an update is to the guided /add (:meth:`AddConversation.check_update`)."""

    ADD = "add"
    CANCEL = "cancel"
    BUTTON = "button"
    TEXT = "text"


async def _unused(update: Update, context: BotContext) -> None:
    """The handler's callback (PTB wants one): :meth:`AddConversation.handle_update` decides."""


class AddConversation(BaseHandler[Update, BotContext, None]):
    """/add, /cancel, the guided /add's buttons and the texts of private chats. What is not the
    conversation's after all (a text or /cancel while none is in progress) goes on to the next
    handler of the group that takes it, as if this one had not matched."""

    def __init__(self, timeout: dt.timedelta | None) -> None:
        super().__init__(_unused)
        self.timeout = timeout
        self._add = CommandHandler("add", _unused, filters=filters.UpdateType.MESSAGE)
        self._cancel = CommandHandler("cancel", _unused)
        self._answer = (
            filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND
        )

    def check_update(self, update: object) -> Entry | None:
        if not isinstance(update, Update):
            return None
        query = update.callback_query
        if query is not None:
            data = query.data
            return (
                Entry.BUTTON
                if isinstance(data, str) and data.startswith(f"{ADD_PREFIX}|")
                else None
            )
        if self._add.check_update(update):
            return Entry.ADD
        if self._cancel.check_update(update):
            return Entry.CANCEL
        return Entry.TEXT if self._answer.check_update(update) else None

    async def handle_update(
        self,
        update: Update,
        application: Application[Any, BotContext, Any, Any, Any, Any],
        check_result: object,
        context: BotContext,
    ) -> None:
        conv = Conversation(update, context, self.timeout)
        for _ in range(ATTEMPTS):
            try:
                handled = await self._handle(conv, check_result)
            except DraftChanged:
                continue  # moved on by another update meanwhile: decided again on what it is now
            if not handled:
                await self._pass_on(update, application, context)
            return
        log.warning("update %s left unanswered: its /add kept moving on", update.update_id)

    @staticmethod
    async def _handle(conv: Conversation, entry: object) -> bool:
        if entry is Entry.ADD:
            await add_entry(conv)
            return True
        if entry is Entry.BUTTON:
            await on_button(conv)
            return True
        if entry is Entry.TEXT:
            return await on_text(conv)
        return await on_cancel(conv)

    async def _pass_on(
        self,
        update: Update,
        application: Application[Any, BotContext, Any, Any, Any, Any],
        context: BotContext,
    ) -> None:
        """The update to the first handler after this one in its group that takes it."""
        for handlers in application.handlers.values():
            if self in handlers:
                for handler in handlers[handlers.index(self) + 1 :]:
                    check = handler.check_update(update)
                    if check is not None and check is not False:
                        await handler.handle_update(update, application, check, context)
                        return
                return


def build_add_conversation(timeout: dt.timedelta | None = TIMEOUT) -> AddConversation:
    """The /add handler: both forms, the conversation's questions, preview and buttons."""
    return AddConversation(timeout)
