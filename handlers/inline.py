"""Inline mode: ``@thebot fuzuli 2023`` in any chat offers a stats card to share.

The card is the /stats reply for the query's filters, in the language of the user who types (the
one they chose in their private chat with the bot, else Telegram's), so results are personal.
"""

from __future__ import annotations

import hashlib

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode

from handlers.context import BotContext
from handlers.parsing import parse_filters
from handlers.render.inline import render_inline_card, render_inline_problem
from handlers.start import HELP_PAYLOAD
from handlers.stats import compiled_by

#: How long Telegram may reuse an answer for the same user and query: the figures change only
#: when incidents are recorded, and a card carries its own date.
CACHE_SECONDS = 300


async def inline_query(update: Update, context: BotContext) -> None:
    query = update.inline_query
    if query is None:
        return
    services = context.services
    t = await context.translator(update)
    parsed = parse_filters(query.query, services.gazetteer, services.vocabulary)
    if not parsed.ok:
        # No card for words that are not filters: a button to the private chat's help says how.
        await query.answer(
            [],
            cache_time=CACHE_SECONDS,
            is_personal=True,
            button=InlineQueryResultsButton(
                text=render_inline_problem(t, services.gazetteer, parsed.problems),
                start_parameter=HELP_PAYLOAD,
            ),
        )
        return
    day = context.today()
    report = await services.store.stats.report(parsed.filter, today=day)
    card = render_inline_card(
        t, services.gazetteer, report, compiled_by=compiled_by(context), today=day
    )
    # The same filters in the same language give the same result id (at most 64 bytes).
    key = f"{t.lang}|{parsed.filter!r}".encode()
    result = InlineQueryResultArticle(
        id=hashlib.sha256(key).hexdigest()[:32],
        title=card.title,
        description=card.description,
        input_message_content=InputTextMessageContent(
            card.text,
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        ),
    )
    await query.answer([result], cache_time=CACHE_SECONDS, is_personal=True)
