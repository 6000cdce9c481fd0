"""/chart [filters]: casualties per month as an image, for the same filters as /stats."""

from __future__ import annotations

import asyncio
import functools

from telegram import Update
from telegram.constants import ChatAction

from handlers.context import BotContext
from handlers.render.chart import chart_caption, chart_png, chart_text
from handlers.replies import filter_or_problems, reply, show_action
from handlers.stats import compiled_by


async def chart_command(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    services = context.services
    t = await context.translator(update)
    f = await filter_or_problems(update, context, context.args or ())
    if f is None:
        return
    series = await services.store.stats.monthly(f, today=context.today())
    if not series.months:
        await reply(
            update, chart_text(t, services.gazetteer, series, compiled_by=compiled_by(context))
        )
        return
    await show_action(update, ChatAction.UPLOAD_PHOTO)
    # Drawing takes 0.1–0.3 s of CPU (more the first time: matplotlib is imported then), so it
    # runs in a worker thread, not on the event loop.
    source = compiled_by(context)
    png = await asyncio.to_thread(
        functools.partial(chart_png, t, services.gazetteer, series, compiled_by=source)
    )
    await message.reply_photo(
        png,
        caption=chart_caption(t, services.gazetteer, series, compiled_by=source),
        do_quote=False,
    )
