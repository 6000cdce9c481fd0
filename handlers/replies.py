"""Sending what the rendering layer produced: a new message, or an edit for a button press."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest

log = logging.getLogger(__name__)


async def reply(update: Update, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
    """Answer the update's message in its chat (HTML parse mode comes from the defaults)."""
    message = update.effective_message
    if message is None:
        return
    await message.reply_text(text, reply_markup=keyboard, do_quote=False)


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
