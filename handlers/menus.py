"""The command menu: everyone's in every language; owners and editors also see admin commands in
their private chats (``setMyCommands`` with a chat scope), set at start and when an owner adds or
removes an editor."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from telegram import Bot, BotCommandScopeChat
from telegram.error import TelegramError

from handlers.render.admin import admin_commands
from handlers.render.start import bot_commands
from locales.i18n import Catalogs

log = logging.getLogger(__name__)


async def set_public_menu(bot: Bot, catalogs: Catalogs) -> None:
    # The default language also serves clients of other languages.
    for t in catalogs.all():
        await bot.set_my_commands(bot_commands(t), language_code=t.lang)
    await bot.set_my_commands(bot_commands(catalogs.translator(catalogs.default)))


async def set_admin_menu(bot: Bot, catalogs: Catalogs, user_ids: Iterable[int]) -> None:
    """Admin commands in the menu of each admin's private chat, in every language. A user who
    never started the bot has no chat yet: Telegram refuses, and the menu is set later."""
    for user_id in user_ids:
        scope = BotCommandScopeChat(user_id)
        try:
            for t in catalogs.all():
                commands = [*bot_commands(t), *admin_commands(t)]
                await bot.set_my_commands(commands, scope=scope, language_code=t.lang)
            default = catalogs.translator(catalogs.default)
            await bot.set_my_commands(
                [*bot_commands(default), *admin_commands(default)], scope=scope
            )
        except TelegramError as exc:
            log.info("no admin menu for user %s yet: %s", user_id, exc)


async def remove_admin_menu(bot: Bot, catalogs: Catalogs, user_id: int) -> None:
    scope = BotCommandScopeChat(user_id)
    languages: list[Any] = [*catalogs.languages, None]
    try:
        for lang in languages:
            await bot.delete_my_commands(scope=scope, language_code=lang)
    except TelegramError as exc:
        log.info("could not remove the admin menu of user %s: %s", user_id, exc)
