"""Sending what the rendering layer produced: a new message, or an edit for a button press."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError

from db.domain.filters import IncidentFilter
from handlers.context import BotContext
from handlers.parsing import parse_filters
from handlers.render import render_problems

log = logging.getLogger(__name__)


async def reply(update: Update, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
    """Answer the update's message in its chat (HTML parse mode comes from the defaults)."""
    message = update.effective_message
    if message is None:
        return
    await message.reply_text(text, reply_markup=keyboard, do_quote=False)


async def show_action(update: Update, action: str) -> None:
    """Show "sending a photo…" (or another chat action) while a slow reply is made. Only a hint:
    if Telegram refuses it (a 429, a 5xx), the reply is made all the same."""
    message = update.effective_message
    if message is None:
        return
    try:
        await message.reply_chat_action(action)
    except TelegramError as exc:
        log.debug("chat action: %s", exc)


async def edit(update: Update, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
    """Replace the text of the message whose button was pressed."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.edit_message_text(text, reply_markup=keyboard)
    except BadRequest as exc:
        # A double tap re-sends the same page: Telegram refuses the identical edit; nothing to do.
        if "message is not modified" not in exc.message.lower():
            raise


async def filter_or_problems(
    update: Update, context: BotContext, args: Sequence[str]
) -> IncidentFilter | None:
    """The filters a command was given, or None after answering which words were not
    understood (the one way every filtered command reports bad filters)."""
    services = context.services
    parsed = parse_filters(args, services.gazetteer, services.vocabulary)
    if parsed.ok:
        return parsed.filter
    t = await context.translator(update)
    await reply(update, render_problems(t, services.gazetteer, parsed.problems))
    return None
