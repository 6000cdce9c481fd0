"""/status: how the bot is doing, for its admins (owners and editors) in their private chat.

Anyone else gets what an unknown command gets (a hint in a private chat, nothing in a group):
the command is not advertised to them, and its answer names the database's host.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import logging

from telegram import Update
from telegram.constants import ChatType

from db.domain.roles import Role
from handlers.auth import role_of
from handlers.context import BotContext
from handlers.render.status import BotStatus, render_status
from handlers.replies import reply
from handlers.start import unknown_command

log = logging.getLogger(__name__)

DISTRIBUTION = "casualty-bot"


def bot_version() -> str | None:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:  # run from a checkout that is not installed
        return None


async def status_command(update: Update, context: BotContext) -> None:
    chat, user = update.effective_chat, update.effective_user
    private = chat is not None and chat.type == ChatType.PRIVATE
    if not private or await role_of(context, user.id if user else None) < Role.EDITOR:
        log.info("/status refused: user_id=%s", user.id if user else None)
        if private:
            await unknown_command(update, context)
        return
    services = context.services
    store = await services.store.status.read()
    status = BotStatus(
        version=bot_version(),
        started_at=services.started_at,
        now=dt.datetime.now(dt.UTC),
        store=store,
    )
    t = await context.translator(update)
    await reply(update, render_status(t, status))
