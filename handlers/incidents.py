"""/incidents: matching incidents, latest first, paged with buttons."""

from __future__ import annotations

from telegram import Update

from handlers.callbacks import IncidentsPageData
from handlers.context import BotContext
from handlers.render import expired_text
from handlers.render.listing import PAGE_SIZE, render_incidents
from handlers.replies import edit, filter_or_problems, reply


async def incidents_command(update: Update, context: BotContext) -> None:
    services = context.services
    t = await context.translator(update)
    f = await filter_or_problems(update, context, context.args or ())
    if f is None:
        return
    page = await services.store.lists.incidents(f, offset=0, limit=PAGE_SIZE)
    rendered = render_incidents(t, services.gazetteer, f, page)
    await reply(update, rendered.text, rendered.keyboard)


async def incidents_page(update: Update, context: BotContext) -> None:
    """A page button. The data come from the client: decode defensively, check the districts."""
    query = update.callback_query
    if query is None:
        return
    services = context.services
    t = await context.translator(update)
    data = IncidentsPageData.decode(query.data or "")
    if data is None or any(d not in services.gazetteer.entries for d in data.filter.districts):
        await query.answer(expired_text(t), show_alert=True)
        return
    await query.answer()
    # A stale button (incidents retracted since) or a forged offset gives the last page.
    page = await services.store.lists.incidents(data.filter, offset=data.offset, limit=PAGE_SIZE)
    rendered = render_incidents(t, services.gazetteer, data.filter, page)
    await edit(update, rendered.text, rendered.keyboard)
