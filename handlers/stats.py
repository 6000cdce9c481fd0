"""/stats: casualty figures for filters, and plain text in private chats read as filters."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import Update

from db import queries
from handlers.context import BotContext
from handlers.parsing import parse_filters
from handlers.render import render_problems, render_stats
from handlers.replies import reply


async def stats_command(update: Update, context: BotContext) -> None:
    await answer_stats(update, context, context.args or ())


async def stats_text(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is not None and message.text:
        await answer_stats(update, context, (message.text,))


async def answer_stats(update: Update, context: BotContext, args: Sequence[str]) -> None:
    services = context.services
    t = await context.translator(update)
    parsed = parse_filters(args, services.gazetteer, services.vocabulary)
    if not parsed.ok:
        await reply(update, render_problems(t, services.gazetteer, parsed.problems))
        return
    async with services.db.read() as connection:
        report = await queries.stats_report(connection, parsed.filter)
    await reply(update, render_stats(t, services.gazetteer, report))
