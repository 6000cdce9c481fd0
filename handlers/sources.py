"""/sources: where the data come from and when they were last updated."""

from __future__ import annotations

from telegram import Update

from handlers.context import BotContext
from handlers.render.listing import render_sources
from handlers.replies import reply


async def sources_command(update: Update, context: BotContext) -> None:
    t = await context.translator(update)
    summary = await context.services.store.lists.sources()
    await reply(update, render_sources(t, context.services.gazetteer, summary))
