"""/export [filters]: the matching incidents as a CSV document (see ``handlers.render.export``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from contextlib import aclosing

from telegram import InputFile, Update
from telegram.constants import ChatAction

from db.store.exports import BATCH
from handlers.context import BotContext
from handlers.render.export import (
    CsvDocument,
    file_name,
    render_export_caption,
    render_export_empty,
    render_export_too_large,
)
from handlers.replies import filter_or_problems, reply, show_action

log = logging.getLogger(__name__)

#: Telegram lets a bot upload documents of up to 50 MB; kept a little under it for the request's
#: other parts.
MAX_DOCUMENT_BYTES = 50_000_000
#: Seconds to wait for a large upload to go through.
UPLOAD_TIMEOUT = 120.0


async def export_command(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    services = context.services
    t = await context.translator(update)
    f = await filter_or_problems(update, context, context.args or ())
    if f is None:
        return
    await show_action(update, ChatAction.UPLOAD_DOCUMENT)  # a large export takes a few seconds
    exported_at = dt.datetime.now(dt.UTC)
    with CsvDocument(services.gazetteer, t.lang) as document:
        too_large = False
        # One snapshot of the store for the whole file (closed at once when it grows too large).
        async with aclosing(services.store.exports.batches(f, batch=BATCH)) as batches:
            async for rows in batches:
                # Formatting and writing (to disk past the spool size) off the event loop.
                await asyncio.to_thread(document.write, rows)
                if document.size > MAX_DOCUMENT_BYTES:
                    too_large = True
                    break
        if too_large:
            log.info("export refused: over %d bytes for %s", MAX_DOCUMENT_BYTES, f)
            await reply(
                update, render_export_too_large(t, services.gazetteer, f, MAX_DOCUMENT_BYTES)
            )
            return
        if document.incidents == 0:
            await reply(update, render_export_empty(t, services.gazetteer, f))
            return
        name = file_name(services.gazetteer, f, exported_at)
        caption = render_export_caption(
            t, services.gazetteer, f, document.incidents, document.counts, exported_at
        )
        content = await asyncio.to_thread(document.content)
        await message.reply_document(
            document=InputFile(content, filename=name, read_file_handle=False),
            caption=caption,
            do_quote=False,
            write_timeout=UPLOAD_TIMEOUT,
        )
