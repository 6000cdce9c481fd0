"""Who may change the store: owners (``ADMIN_IDS``) and the editors they appoint.

Rights go by the Telegram user id of whoever sent the command or pressed the button, never by
username or chat: in a group only an admin's own commands act, and callback data (which any
client can forge) carry no rights. Every admin command and callback asks :func:`require` first.
"""

from __future__ import annotations

import logging

from telegram import Update

from db.domain.roles import Role
from handlers.context import BotContext
from handlers.render.problems import refused_text
from locales.i18n import N_

log = logging.getLogger(__name__)


ROLE_NAMES = {Role.NONE: N_("reader"), Role.EDITOR: N_("editor"), Role.OWNER: N_("owner")}


async def role_of(context: BotContext, user_id: int | None) -> Role:
    return await context.services.store.access.role_of(user_id)


async def require(update: Update, context: BotContext, needed: Role, what: str) -> Role | None:
    """The sender's role when it is at least ``needed``; else a short localised refusal (an
    alert for a button), a log line, and None. ``what`` names the attempt in the log."""
    user = update.effective_user
    role = await role_of(context, user.id if user else None)
    if role >= needed:
        return role
    chat = update.effective_chat
    log.warning(
        "refused %s: user_id=%s chat_id=%s role=%s needed=%s",
        what,
        user.id if user else None,
        chat.id if chat else None,
        role.name,
        needed.name,
    )
    t = await context.translator(update)
    text = refused_text(t, needed is Role.OWNER)
    query = update.callback_query
    if query is not None:
        await query.answer(text, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text, do_quote=False)
    return None
