"""/stats and /compare: casualty figures for filters, and plain text in private chats read as
filters."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardMarkup, Update

from db.domain.dimensions import filter_key
from handlers.context import BotContext, language_chat
from handlers.parsing import parse_comparison, parse_filters
from handlers.render import render_problems
from handlers.render.compare import render_comparison
from handlers.render.inline import stats_keyboard
from handlers.render.stats import render_stats
from handlers.replies import filter_or_problems, reply


async def stats_command(update: Update, context: BotContext) -> None:
    await answer_stats(update, context, context.args or ())


async def stats_text(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is not None and message.text:
        await answer_stats(update, context, (message.text,))


def compiled_by(context: BotContext) -> str:
    """Who compiled the recorded incidents, as a quote names it: the bot's @username."""
    return f"@{context.bot.username}"


async def answer_stats(update: Update, context: BotContext, args: Sequence[str]) -> None:
    services = context.services
    parsed = parse_filters(args, services.gazetteer, services.vocabulary)
    if not parsed.ok:
        await filter_or_problems(update, context, args)  # answers which words were not understood
        return
    f = parsed.filter
    day = context.today()
    by = compiled_by(context)
    replies = services.stats_replies
    key = filter_key(f)  # the filter as the registry keys it

    def kept(stored: str | None, version: int) -> tuple[str, InlineKeyboardMarkup] | None:
        t = context.choose_translator(update, stored)
        found: tuple[str, InlineKeyboardMarkup] | None = replies.get(
            version, (key, t.lang, day, by)
        )
        return found

    # The chat's language and the data version in one statement, then the figures (on the same
    # connection) only when this reply was not rendered already from the data as they are.
    read = await services.store.stats.report_unless_kept(
        language_chat(update), f, today=day, lookup=kept
    )
    rendered = read.kept
    if rendered is None:
        assert read.report is not None
        t = await context.translator(update)  # chosen by ``kept`` from the language read
        text = render_stats(t, services.gazetteer, read.report, compiled_by=by, today=day)
        rendered = (text, stats_keyboard(t, services.gazetteer, f))
        replies.put(read.version, (key, t.lang, day, by), rendered)
    await reply(update, *rendered)


async def compare_command(update: Update, context: BotContext) -> None:
    services = context.services
    t = await context.translator(update)
    parsed = parse_comparison(context.args or (), services.gazetteer, services.vocabulary)
    if not parsed.ok:
        await reply(update, render_problems(t, services.gazetteer, parsed.problems))
        return
    comparison = await services.store.stats.compare(parsed.left, parsed.right)
    await reply(update, render_comparison(t, services.gazetteer, comparison, today=context.today()))
