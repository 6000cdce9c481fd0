"""/start (with deep-link payloads such as ``stats_kalbajar``), /help and unknown commands."""

from __future__ import annotations

from telegram import Update

from handlers.context import BotContext
from handlers.render import render_help, render_start, render_unknown_command
from handlers.replies import reply
from handlers.stats import answer_stats

#: ``/start stats_kalbajar_2023`` runs ``/stats kalbajar 2023`` (payloads allow [A-Za-z0-9_-]).
STATS_PAYLOAD = "stats"


async def start_command(update: Update, context: BotContext) -> None:
    payload = context.args[0] if context.args else ""
    kind, _, rest = payload.partition("_")
    if kind == STATS_PAYLOAD:
        await answer_stats(update, context, rest.split("_") if rest else ())
        return
    t = await context.translator(update)
    user = update.effective_user
    await reply(update, render_start(t, user.first_name if user else None))


async def help_command(update: Update, context: BotContext) -> None:
    t = await context.translator(update)
    await reply(update, render_help(t, context.services.gazetteer))


async def unknown_command(update: Update, context: BotContext) -> None:
    t = await context.translator(update)
    await reply(update, render_unknown_command(t))
