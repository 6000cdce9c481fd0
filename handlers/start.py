"""/start (with deep-link payloads such as ``stats_kalbajar``), /help and unknown commands."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType

from db.domain.roles import Role
from handlers import menus
from handlers.auth import role_of
from handlers.context import BotContext
from handlers.render import expired_text
from handlers.render.admin import render_admin_help
from handlers.render.start import (
    render_edited_command,
    render_help,
    render_nothing_to_cancel,
    render_start,
    render_unknown_command,
)
from handlers.replies import reply
from handlers.stats import answer_stats

#: ``/start stats_kalbajar_2023`` runs ``/stats kalbajar 2023`` (payloads allow [A-Za-z0-9_-]).
STATS_PAYLOAD = "stats"
#: ``/start help`` answers as /help (the inline results button links there).
HELP_PAYLOAD = "help"


async def start_command(update: Update, context: BotContext) -> None:
    payload = context.args[0] if context.args else ""
    kind, _, rest = payload.partition("_")
    if kind == STATS_PAYLOAD:
        await answer_stats(update, context, rest.split("_") if rest else ())
        return
    if kind == HELP_PAYLOAD:
        await help_command(update, context)
        return
    t = await context.translator(update)
    user = update.effective_user
    await reply(update, render_start(t, user.first_name if user else None))
    # An admin's private chat may not have existed when the bot started: give it the admin menu.
    if user is not None and await _admin_in_private(update, context):
        await menus.set_admin_menu(context.bot, context.services.catalogs, [user.id])


async def _admin_in_private(update: Update, context: BotContext) -> bool:
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != ChatType.PRIVATE:
        return False
    return await role_of(context, user.id) >= Role.EDITOR


async def help_command(update: Update, context: BotContext) -> None:
    t = await context.translator(update)
    text = render_help(t, context.services.gazetteer, context.bot.username)
    # Admins see their commands too, in their private chat only (not in front of a group).
    if await _admin_in_private(update, context):
        text += "\n\n" + render_admin_help(t, context.services.settings.review_required)
    await reply(update, text)


async def nothing_to_cancel(update: Update, context: BotContext) -> None:
    """/cancel outside a conversation (the guided /add handles its own)."""
    t = await context.translator(update)
    await reply(update, render_nothing_to_cancel(t))


async def edited_command(update: Update, context: BotContext) -> None:
    t = await context.translator(update)
    await reply(update, render_edited_command(t))


async def unknown_command(update: Update, context: BotContext) -> None:
    t = await context.translator(update)
    await reply(update, render_unknown_command(t))


async def unknown_button(update: Update, context: BotContext) -> None:
    """A button whose data no handler takes (an old version's, or forged): answered as expired,
    so that the client stops waiting for an answer."""
    query = update.callback_query
    if query is None:
        return
    await query.answer(expired_text(await context.translator(update)), show_alert=True)
