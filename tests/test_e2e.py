"""End to end: the real Application against the Bot API emulator, in az, en and ru; every test
runs twice, with the bot long polling and with the emulator posting updates to its webhook.

Every request the bot makes is checked against the official Bot API description when
``../shared/telegram-bot-api/api.json`` is there; every message it sends must pass Telegram's HTML
parser and length limits (the emulator answers 400 otherwise, which fails the assertions below).
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.config import DEFAULT_SEED_DIR, Settings
from bot.emulator import SentMessage
from bot.harness import EmulatedBot, TrackedApplication
from db.session import Database
from db.store import Store
from handlers import render
from handlers.context import Services
from locales.i18n import Catalogs
from tests.conftest import add_reader, emulated_bot, only

LANGUAGES = ("az", "en", "ru")
ROWS = list(csv.DictReader((DEFAULT_SEED_DIR / "incidents.csv").open(encoding="utf-8")))


@pytest_asyncio.fixture(scope="session", loop_scope="session", params=["polling", "webhook"])
async def bot(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[EmulatedBot]:
    async with emulated_bot(settings, "123456789:E2E-TOKEN", mode=request.param) as running:
        yield running


def _services(bot: EmulatedBot) -> Services:
    return bot.services


def _text(message: SentMessage) -> str:
    assert message.plain is not None
    return message.plain


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_start_greets_in_the_users_language(
    bot: EmulatedBot, catalogs: Catalogs, user_id: int, lang: str
) -> None:
    add_reader(bot, user_id, lang)
    reply = only(await bot.send(user_id, "/start"))
    t = catalogs.translator(lang)
    assert _text(reply).startswith(t._("Hello, {name}!").format(name="Leyla"))
    assert reply.parse_mode == "HTML"


async def test_unsupported_telegram_language_falls_back_to_the_default(
    bot: EmulatedBot, user_id: int
) -> None:
    add_reader(bot, user_id, "de")
    assert _text(only(await bot.send(user_id, "/start"))).startswith("Hello, Leyla!")


@pytest.mark.parametrize(
    ("lang", "query", "district"),
    [
        ("en", "Kalbajar 2022", "Kalbajar"),
        ("az", "Kəlbəcər 2022", "Kəlbəcər"),
        ("ru", "Кельбаджар 2022", "Кельбаджар"),
    ],
)
async def test_stats_for_a_district_and_a_year(
    bot: EmulatedBot, catalogs: Catalogs, user_id: int, lang: str, query: str, district: str
) -> None:
    add_reader(bot, user_id, lang)
    text = _text(only(await bot.send(user_id, f"/stats {query}")))
    t = catalogs.translator(lang)
    rows = [r for r in ROWS if r["district"] == "Kalbajar" and r["date"].startswith("2022")]
    killed = sum(int(r["civilian_killed"]) + int(r["military_killed"]) for r in rows)
    injured = sum(int(r["civilian_injured"]) + int(r["military_injured"]) for r in rows)
    assert district in text  # the filters understood are echoed
    assert "2022" in text
    assert render.killed_line(t, killed) in text
    assert render.injured_line(t, injured) in text
    assert (
        t.ngettext("{n} incident recorded", "{n} incidents recorded", len(rows)).format(n=len(rows))
        in text
    )
    assert t.date(max(dt.date.fromisoformat(r["date"]) for r in rows)) in text
    # Official totals are national: none is shown for a district.
    official = t._("Official figure: {issuer}, as of {date}, counting from {start}")
    assert official.split("{")[0] not in text


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_national_stats_show_the_official_total_beside_the_recorded_incidents(
    bot: EmulatedBot, catalogs: Catalogs, user_id: int, lang: str
) -> None:
    add_reader(bot, user_id, lang)
    reply = only(await bot.send(user_id, "/stats ..2023-07-31"))
    text = _text(reply)
    t = catalogs.translator(lang)
    assert t.number(304) in text  # ANAMA's figure via the Ombudsman, as of 16 June 2023
    assert t.date(dt.date(2023, 6, 16)) in text
    links = [e.get("url") for e in reply.entities if e["type"] == "text_link"]
    assert any("ombudsperson" in (url or "") for url in links)
    recorded = [r for r in ROWS if "2020-11-10" <= r["date"] <= "2023-06-16"]
    total = sum(
        sum(
            int(r[k])
            for k in ("civilian_killed", "civilian_injured", "military_killed", "military_injured")
        )
        for r in recorded
    )
    assert render.people(t, total) in text
    assert render.signed(t, 304 - total) in text
    # The leading districts are named when no district was.
    assert t._("Most affected districts: {districts}").split("{")[0] in text


async def test_an_assumed_start_of_count_is_said(bot: EmulatedBot, user_id: int) -> None:
    add_reader(bot, user_id, "en")
    text = _text(only(await bot.send(user_id, "/stats ..2023-07-31")))
    assert (
        "Official figure: Ombudsman, as of June 16, 2023; the source does not say from when it "
        "counts (taken as November 10, 2020) (made public on July 14, 2023)"
    ) in text
    assert "difference +225" in text


async def test_a_figure_made_public_after_the_period_is_not_used_for_it(
    bot: EmulatedBot, user_id: int
) -> None:
    """ANAMA's 304 refers to 16 June 2023 but was made public on 14 July 2023: for a period ending
    on 16 June the latest figure public by then is ANAMA's 298 of 28 April 2023."""
    add_reader(bot, user_id, "en")
    text = _text(only(await bot.send(user_id, "/stats ..2023-06-16")))
    assert "Official figure: ANAMA (Mine Action Agency), as of April 28, 2023" in text
    assert "298 people officially" in text
    assert "304" not in text


async def test_sources_keep_unattributed_figures_apart(bot: EmulatedBot, user_id: int) -> None:
    add_reader(bot, user_id, "en")
    text = _text(only(await bot.send(user_id, "/sources")))
    assert "• Prosecutor General's Office: 9 statements, latest as of January 28, 2026" in text
    assert "4 further figures come from media reports that do not name their source" in text
    assert "other" not in text


async def test_a_busy_chat_does_not_hold_up_others(bot: EmulatedBot, user_id: int) -> None:
    """20 commands from one user wait for their chat's flood limit; another user's command is
    answered meanwhile, and the busy chat's replies keep their order."""
    busy, other = user_id, user_id + 500_000
    add_reader(bot, busy, "en")
    add_reader(bot, other, "en")
    app = bot.app
    assert isinstance(app, TrackedApplication)
    sent_before = len(bot.emulator.sent)
    updates = [bot.emulator.user_sends(busy, f"/stats {2021 + i % 5}") for i in range(20)]
    done = [app.expect(u["update_id"]) for u in updates]
    assert len(await bot.send(other, "/help")) == 1
    answered_busy = [m for m in bot.emulator.sent[sent_before:] if m.chat_id == busy]
    assert len(answered_busy) < 20
    await asyncio.wait_for(asyncio.gather(*done), 30)
    replies = [m for m in bot.emulator.sent[sent_before:] if m.chat_id == busy]
    assert [(m.plain or "").split("\n")[1] for m in replies] == [
        f"Filters: all districts · {2021 + i % 5}" for i in range(20)
    ]


async def test_english_stats_wording(bot: EmulatedBot, user_id: int) -> None:
    add_reader(bot, user_id, "en")
    text = _text(only(await bot.send(user_id, "/stats")))
    assert "126 people killed or injured" in text
    assert "37 people killed: 32 civilians, 5 military" in text
    assert "89 people injured: 80 civilians, 9 military" in text
    assert "71 incidents recorded; latest: March 12, 2026" in text
    assert "killed or injured: 417 people officially" in text
    assert "Prosecutor General's Office, as of January 28, 2026" in text


@pytest.mark.parametrize(
    ("lang", "issuer"),
    [
        ("en", "Prosecutor General's Office"),
        ("az", "Baş Prokurorluq"),
        ("ru", "Генеральная прокуратура"),
    ],
)
async def test_issuers_are_named_in_the_readers_language(
    bot: EmulatedBot, user_id: int, lang: str, issuer: str
) -> None:
    add_reader(bot, user_id, lang)
    assert issuer in _text(only(await bot.send(user_id, "/stats")))
    assert issuer in _text(only(await bot.send(user_id, "/sources")))


async def test_civilian_filter_in_russian(bot: EmulatedBot, user_id: int) -> None:
    add_reader(bot, user_id, "ru")
    text = _text(only(await bot.send(user_id, "/stats мирные 2023")))
    rows = [
        r
        for r in ROWS
        if r["date"].startswith("2023")
        and int(r["civilian_killed"]) + int(r["civilian_injured"]) > 0
    ]
    killed = sum(int(r["civilian_killed"]) for r in rows)
    assert f"{killed} человек" in text
    assert "мирные жители" in text.lower() or "мирных" in text.lower()


async def test_unknown_word_is_named_with_suggestions(bot: EmulatedBot, user_id: int) -> None:
    add_reader(bot, user_id, "en")
    text = _text(only(await bot.send(user_id, "/stats Kelbajr 2023")))
    assert "“Kelbajr”" in text
    assert "Did you mean: Kalbajar?" in text


async def test_user_input_comes_back_unchanged(bot: EmulatedBot, user_id: int) -> None:
    add_reader(bot, user_id, "en")
    text = _text(only(await bot.send(user_id, '/stats Ali <&> "Veli"')))
    for word in ("Ali", "<&>", '"Veli"'):
        assert f"“{word}”" in text
    # Plain text in a private chat is read as filters too.
    text = _text(only(await bot.send(user_id, "<b>&amp;</b>")))
    assert "“<b>&amp;</b>”" in text


async def test_invalid_date_and_empty_result(bot: EmulatedBot, user_id: int) -> None:
    add_reader(bot, user_id, "en")
    assert "“2023-02-30” is not a valid date." in _text(
        only(await bot.send(user_id, "/stats 2023-02-30"))
    )
    assert "No incidents are recorded for these filters." in _text(
        only(await bot.send(user_id, "/stats Zangilan"))
    )


async def test_deep_link_runs_stats(bot: EmulatedBot, user_id: int) -> None:
    add_reader(bot, user_id, "en")
    text = _text(only(await bot.send(user_id, "/start stats_kalbajar_2022")))
    assert "Filters: Kalbajar · 2022" in text


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_help_lists_every_command_with_examples(
    bot: EmulatedBot, user_id: int, lang: str
) -> None:
    add_reader(bot, user_id, lang)
    text = _text(only(await bot.send(user_id, "/help")))
    for command in ("/stats", "/incidents", "/sources", "/language", "/help"):
        assert command in text
    assert "/stats 2021-01-01..2021-06-30" in text


async def test_language_choice_is_remembered_per_chat(
    bot: EmulatedBot, catalogs: Catalogs, user_id: int
) -> None:
    add_reader(bot, user_id, "en")
    prompt = only(await bot.send(user_id, "/language"))
    data = [b["callback_data"] for b in prompt.buttons]
    assert data == ["lang:az", "lang:en", "lang:ru"]
    edited = only(await bot.press(user_id, prompt.message_id, "lang:az"))
    assert edited.method == "editMessageText"
    assert _text(edited) == catalogs.translator("az")._("Language set: {language}.").format(
        language="Azərbaycanca"
    )
    assert _text(only(await bot.send(user_id, "/start"))).startswith("Salam")


async def test_forged_callback_data_changes_nothing(bot: EmulatedBot, user_id: int) -> None:
    add_reader(bot, user_id, "en")
    prompt = only(await bot.send(user_id, "/language"))
    before = len(bot.emulator.requests)
    for data in ("lang:xx", "lang:", "inc|0|99999||||", "inc|-5||||", "nonsense"):
        assert await bot.press(user_id, prompt.message_id, data) == []
    answers = [r for r in bot.emulator.requests[before:] if r.method == "answerCallbackQuery"]
    assert len(answers) == 5  # "nonsense" too: no press is left unanswered
    assert all(r.params.get("show_alert") for r in answers)
    assert _text(only(await bot.send(user_id, "/start"))).startswith("Hello")


async def test_incidents_are_paged_with_buttons(bot: EmulatedBot, user_id: int) -> None:
    add_reader(bot, user_id, "en")
    first = only(await bot.send(user_id, "/incidents"))
    text = _text(first)
    assert "1–5 of 71" in text
    assert "March 12, 2026" in text  # latest first
    assert text.count(" · #") == 5  # each entry has its number, for /edit and /history
    assert [b["text"] for b in first.buttons] == ["Older ›"]
    links = [e for e in first.entities if e["type"] == "text_link"]
    assert len(links) == 5
    second = only(await bot.press(user_id, first.message_id, first.buttons[0]["callback_data"]))
    assert second.message_id == first.message_id
    assert "6–10 of 71" in _text(second)
    assert [b["text"] for b in second.buttons] == ["‹ Newer", "Older ›"]
    # A double tap sends the same page again: nothing breaks and nothing is sent.
    assert await bot.press(user_id, first.message_id, first.buttons[0]["callback_data"]) == []
    # A stale or forged offset past the end shows the last page.
    last = only(await bot.press(user_id, first.message_id, "inc|500||||"))
    assert "71–71 of 71" in _text(last)


async def test_every_incident_page_fits_telegrams_limits(bot: EmulatedBot, user_id: int) -> None:
    add_reader(bot, user_id, "ru")
    message = only(await bot.send(user_id, "/incidents"))
    offsets = [0]
    while True:
        assert len(_text(message).encode("utf-16-le")) // 2 <= render.MAX_MESSAGE
        forward = [
            b for b in message.buttons if int(b["callback_data"].split("|")[1]) > offsets[-1]
        ]
        if not forward:
            break
        offsets.append(int(forward[0]["callback_data"].split("|")[1]))
        message = only(await bot.press(user_id, message.message_id, forward[0]["callback_data"]))
    assert offsets == list(range(0, 71, 5))  # 71 incidents, 5 a page, each page reached once


async def test_incidents_with_filters_in_azerbaijani(bot: EmulatedBot, user_id: int) -> None:
    add_reader(bot, user_id, "az")
    text = _text(only(await bot.send(user_id, "/incidents Ağdam 2024")))
    rows = [r for r in ROWS if r["district"] == "Aghdam" and r["date"].startswith("2024")]
    assert f"1–{min(5, len(rows))}" in text
    assert "Ağdam" in text


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_sources(bot: EmulatedBot, catalogs: Catalogs, user_id: int, lang: str) -> None:
    add_reader(bot, user_id, lang)
    text = _text(only(await bot.send(user_id, "/sources")))
    t = catalogs.translator(lang)
    assert t._("Where the figures come from") in text
    assert "azernews.az" in text
    assert "ANAMA" in text


async def test_unknown_command_gets_a_hint(bot: EmulatedBot, user_id: int) -> None:
    add_reader(bot, user_id, "en")
    assert "Send /help" in _text(only(await bot.send(user_id, "/frobnicate")))


async def test_group_chat_commands(bot: EmulatedBot, user_id: int) -> None:
    bot.emulator.add_private_chat(user_id, first_name="Leyla", language_code="en")
    bot.emulator.add_group_chat(-1000 - user_id, "Newsroom", member_ids=[user_id])
    text = _text(
        only(await bot.send(user_id, "/stats@casualty_bot Fuzuli", chat_id=-1000 - user_id))
    )
    assert "Filters: Fuzuli" in text
    # Chatter in a group is not answered.
    assert await bot.send(user_id, "hello everyone", chat_id=-1000 - user_id) == []


async def test_command_menu_is_set_in_every_language(bot: EmulatedBot) -> None:
    for lang in LANGUAGES:
        commands = bot.emulator.get_commands(language_code=lang)
        assert [c["command"] for c in commands] == [
            "stats",
            "incidents",
            "compare",
            "chart",
            "export",
            "sources",
            "subscribe",
            "subscription",
            "language",
            "help",
        ]
    assert (
        bot.emulator.get_commands(language_code="ru")[0]["description"]
        != (bot.emulator.get_commands(language_code="en")[0]["description"])
    )
    assert bot.emulator.get_commands()  # the default menu, for other languages


async def test_an_unexpected_error_gets_an_apology_and_alerts_the_owners_once(
    bot: EmulatedBot, user_id: int
) -> None:
    from telegram.ext import CommandHandler

    from tests.conftest import ADMIN_ID

    async def broken(update: object, context: object) -> None:
        raise RuntimeError("the handler broke\nsecond line")

    add_reader(bot, user_id, "ru")
    bot.emulator.add_private_chat(ADMIN_ID, first_name="Owner", language_code="en")
    handler = CommandHandler("broken", broken)
    bot.app.handlers[0].insert(0, handler)  # before the catch-all for unknown commands
    _services(bot).alerted.clear()
    try:
        before = len(bot.emulator.sent)
        reply = only(await bot.send(user_id, "/broken"))
        assert _text(reply) == Catalogs.load().translator("ru").gettext(
            "Sorry, something went wrong while answering. Please try again later."
        )
        await bot.send(user_id, "/broken")
    finally:
        bot.app.remove_handler(handler, group=0)
    alerts = [m for m in bot.emulator.sent[before:] if m.chat_id == ADMIN_ID]
    assert len(alerts) == 1  # the second error of the same kind is only logged
    assert "RuntimeError: the handler broke." in (alerts[0].plain or "")
    assert "second line" not in (alerts[0].plain or "")


async def test_database_outage_gets_a_localised_answer_and_the_bot_goes_on(
    bot: EmulatedBot, user_id: int
) -> None:
    add_reader(bot, user_id, "ru")
    services = _services(bot)
    working, store = services.store.db, services.store
    services.store.db = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    services.store = Store(services.store.db, store.access.policy)
    try:
        text = _text(only(await bot.send(user_id, "/stats")))
    finally:
        await services.store.db.dispose()
        services.store.db, services.store = working, store
    assert text == Catalogs.load().translator("ru").gettext(
        "The database is temporarily unavailable. Please try again in a few minutes."
    )
    assert "126" in _text(only(await bot.send(user_id, "/stats")))
