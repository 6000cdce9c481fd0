"""/start, /help, /language, the command menu, and the short answers to what is not a question."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup

from db.domain.dimensions import CATEGORY
from db.domain.filters import Category
from db.domain.gazetteer import Gazetteer
from handlers.callbacks import encode_language
from handlers.render import Rendered, bold, escape, example_district, filter_syntax
from locales.i18n import Translator


def render_start(t: Translator, name: str | None) -> str:
    greeting = t._("Hello, {name}!").format(name=name) if name else t._("Hello!")
    return "\n".join(
        [
            bold(greeting),
            escape(
                t._(
                    "I answer questions about people killed or injured by landmines and unexploded "
                    "ordnance, with the source of every figure."
                )
            ),
            "",
            escape(
                t._(
                    "Try /stats for the figures, /incidents for the latest incidents, /help for "
                    "examples and /language to change the language."
                )
            ),
        ]
    )


def render_help(t: Translator, gazetteer: Gazetteer, bot_username: str | None = None) -> str:
    district = example_district(t, gazetteer)
    other = example_district(t, gazetteer, 1)
    civilian = CATEGORY.query_words(Category.CIVILIAN, t, gazetteer)[0]
    lines = [
        bold(t._("What I can do")),
        "",
        "/stats " + escape(t._("[filters] — killed and injured, with the official figure")),
        escape(
            t._("Examples: {examples}").format(
                examples="; ".join(
                    [
                        "/stats",
                        f"/stats {district}",
                        f"/stats {district} 2023",
                        f"/stats 2021-01-01..2021-06-30 {civilian}",
                    ]
                )
            )
        ),
        "",
        "/incidents " + escape(t._("[filters] — incidents, latest first, with their sources")),
        escape(
            t._("Examples: {examples}").format(
                examples="; ".join(["/incidents", f"/incidents {district} 2024"])
            )
        ),
        "",
        "/compare " + escape(t._("[two periods or two districts] — side by side, with the change")),
        escape(
            t._("Examples: {examples}").format(
                examples="; ".join(["/compare 2022 2023", f"/compare {district} {other}"])
            )
        ),
        "",
        "/chart " + escape(t._("[filters] — a chart of casualties per month")),
        "/export " + escape(t._("[filters] — the incidents as a CSV file")),
        "/sources — " + escape(t._("where the data come from and when they were updated")),
        "/subscribe " + escape(t._("[daily|weekly] [HH:MM] [filters] — a digest of what is new")),
        "/subscription — " + escape(t._("this chat's digest: change or stop it")),
        "/language — " + escape(t._("choose Azerbaijani, English or Russian")),
        "/help — " + escape(t._("this message")),
        "",
        escape(filter_syntax(t, gazetteer)),
    ]
    if bot_username:
        lines += [
            "",
            escape(
                t._(
                    "In any chat, type @{bot} and filters (@{bot} {example}) to share the figures "
                    "there."
                ).format(bot=bot_username, example=f"{district} 2023")
            ),
        ]
    return "\n".join(lines)


def render_language_prompt(t: Translator, languages: Sequence[Translator]) -> Rendered:
    buttons = [
        InlineKeyboardButton(
            ("✓ " if lang.lang == t.lang else "") + lang.own_name(),
            callback_data=encode_language(lang.lang),
        )
        for lang in languages
    ]
    return Rendered(
        escape(t._("Choose the language of this chat:")), InlineKeyboardMarkup([buttons])
    )


def render_language_set(t: Translator) -> str:
    return escape(t._("Language set: {language}.").format(language=t.own_name()))


def render_edited_command(t: Translator) -> str:
    return escape(t._("An edited command is not run again: send it as a new message."))


def render_nothing_to_cancel(t: Translator) -> str:
    return escape(t._("There is nothing to cancel."))


def render_unknown_command(t: Translator) -> str:
    return escape(t._("I do not know that command. Send /help to see what I can do."))


def bot_commands(t: Translator) -> list[BotCommand]:
    """The command menu in one language (``setMyCommands`` with ``language_code``)."""
    return [
        BotCommand("stats", t._("Casualty figures with filters")),
        BotCommand("incidents", t._("Latest incidents with sources")),
        BotCommand("compare", t._("Compare two periods or two districts")),
        BotCommand("chart", t._("A chart of casualties per month")),
        BotCommand("export", t._("The incidents as a CSV file")),
        BotCommand("sources", t._("Where the data come from")),
        BotCommand("subscribe", t._("Get a daily or weekly digest")),
        BotCommand("subscription", t._("This chat's digest: change or stop it")),
        BotCommand("language", t._("Change the language")),
        BotCommand("help", t._("How to use the bot")),
    ]
