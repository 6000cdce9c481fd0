"""The global error handler: log with context, then a short apology in the user's language."""

from __future__ import annotations

import logging
import time

from telegram import Update
from telegram.error import Forbidden, NetworkError, TelegramError, TimedOut

from db.store.errors import is_unavailable
from handlers.context import BotContext
from handlers.render import error_text, escape, unavailable_text

log = logging.getLogger(__name__)


def is_database_unavailable(error: BaseException | None) -> bool:
    """The store cannot be reached now (a Telegram error is never the store's)."""
    return is_unavailable(error, besides=(TelegramError,))


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
    if isinstance(error, TimedOut):
        # Telegram may well have carried out the request that timed out (the reply is in the
        # chat): an apology after it would be wrong, and nothing is broken to alert owners about.
        log.warning(
            "timed out handling update_id=%s chat_id=%s user_id=%s: %s",
            update_id,
            chat_id,
            user_id,
            error,
        )
        return
    log.error(
        "error handling update_id=%s chat_id=%s user_id=%s: %r",
        update_id,
        chat_id,
        user_id,
        error,
        exc_info=error,
    )
    if isinstance(error, Forbidden):
        return  # the user blocked the bot: nobody to tell
    if isinstance(update, Update) and update.effective_chat is not None:
        await _apologise(context, update, error)
    await alert_owners(context, update_id, chat_id, error)


async def _apologise(context: BotContext, update: Update, error: BaseException | None) -> None:
    """A short apology in the user's language (an alert for a button, else a message)."""
    assert update.effective_chat is not None
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
        log.warning(
            "could not send the error reply to chat_id=%s: %s", update.effective_chat.id, exc
        )


#: One alert per kind of error in this long, per process; the rest are in the log.
ALERT_INTERVAL = 600.0


async def alert_owners(
    context: BotContext, update_id: int | None, chat_id: int | None, error: BaseException | None
) -> None:
    """Tell the owners (ADMIN_IDS) about an unexpected error, at most once per kind per interval,
    in the default language; nothing secret is in it (the kind, the first line, the ids)."""
    services = context.services
    if error is None or not services.settings.admin_ids:
        return
    kind = type(error).__name__
    now = time.monotonic()
    if now - services.alerted.get(kind, -ALERT_INTERVAL) < ALERT_INTERVAL:
        return
    services.alerted[kind] = now
    first_line = (str(error).strip().splitlines() or [""])[0][:300]
    t = services.catalogs.translator(services.catalogs.default)
    text = t._(
        "Error while handling update {update_id} in chat {chat_id}: {error}. Further errors of "
        "this kind in the next {minutes} minutes are only logged."
    ).format(
        update_id=update_id if update_id is not None else "—",
        chat_id=chat_id if chat_id is not None else "—",
        error=f"{kind}: {first_line}" if first_line else kind,
        minutes=t.number(int(ALERT_INTERVAL // 60)),
    )
    for owner in sorted(services.settings.admin_ids):
        try:
            await context.bot.send_message(owner, escape(text))
        except TelegramError as exc:  # an owner who never started the bot, or blocked it
            log.warning("could not alert owner %s: %s", owner, exc)
