"""The global error handler: log with context, then a short apology in the user's language."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from telegram import Update
from telegram.error import Forbidden, NetworkError, TelegramError

from handlers.context import BotContext
from handlers.render import error_text, escape, unavailable_text

log = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, DBAPIError, PoolTimeout, ConnectionError, asyncio.TimeoutError)


def is_database_unavailable(error: BaseException | None) -> bool:
    seen = 0
    while error is not None and seen < 5:
        if isinstance(error, DATABASE_ERRORS) and not isinstance(error, TelegramError):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


async def error_handler(update: object, context: BotContext) -> None:
    error = context.error
    chat_id = user_id = update_id = None
    if isinstance(update, Update):
        update_id = update.update_id
        chat_id = update.effective_chat.id if update.effective_chat else None
        user_id = update.effective_user.id if update.effective_user else None
    if isinstance(error, NetworkError) and not isinstance(update, Update):
        # Polling hiccups: PTB retries by itself.
        log.warning("network error outside an update: %s", error)
        return
    log.error(
        "error handling update_id=%s chat_id=%s user_id=%s: %r",
        update_id,
        chat_id,
        user_id,
        error,
        exc_info=error,
    )
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if isinstance(error, Forbidden):
        return  # the user blocked the bot: nobody to tell
    t = context.fallback_translator(update)
    text = unavailable_text(t) if is_database_unavailable(error) else error_text(t)
    if update.callback_query is not None:
        try:
            await update.callback_query.answer(text[:200], show_alert=True)
            return
        except TelegramError:
            pass  # already answered by the handler: say it in the chat instead
    try:
        await context.bot.send_message(update.effective_chat.id, escape(text))
    except TelegramError as exc:
        log.warning("could not send the error reply to chat_id=%s: %s", chat_id, exc)
