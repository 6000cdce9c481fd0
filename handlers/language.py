"""/language: inline buttons az/en/ru; the choice is remembered per chat."""

from __future__ import annotations

from telegram import Update

from handlers.callbacks import decode_language
from handlers.context import BotContext
from handlers.render import expired_text
from handlers.render.start import render_language_prompt, render_language_set
from handlers.replies import edit, reply


async def language_command(update: Update, context: BotContext) -> None:
    t = await context.translator(update)
    rendered = render_language_prompt(t, context.services.catalogs.all())
    await reply(update, rendered.text, rendered.keyboard)


async def language_chosen(update: Update, context: BotContext) -> None:
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None:
        return
    services = context.services
    lang = decode_language(query.data or "")
    if lang not in services.catalogs.languages:
        await query.answer(expired_text(await context.translator(update)), show_alert=True)
        return
    await services.store.chats.set_language(chat.id, lang)
    t = services.catalogs.translator(lang)
    context.use_translator(t)
    await query.answer()
    await edit(update, render_language_set(t))
