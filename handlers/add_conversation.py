"""/add: with arguments, the one-line form; alone, a guided conversation (being built)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler, ConversationHandler

from handlers.auth import Role, require
from handlers.context import BotContext
from handlers.editing import add_one_line, command_text


async def add_entry(update: Update, context: BotContext) -> int:
    role = await require(update, context, Role.EDITOR, "/add")
    if role is None:
        return ConversationHandler.END
    await add_one_line(update, context, role, command_text(update))
    return ConversationHandler.END


def build_add_conversation() -> ConversationHandler[BotContext]:
    return ConversationHandler(
        entry_points=[CommandHandler("add", add_entry)], states={}, fallbacks=[]
    )
