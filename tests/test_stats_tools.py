"""Journalists' tools around /stats: the trend against the period before, sentences to quote,
/compare and the inline stats card, through the emulator in az, en and ru."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app import build_vocabulary
from bot.config import Settings
from bot.emulator import SentMessage, parse_html
from bot.harness import EmulatedBot
from db.domain.filters import Category, IncidentFilter, Period
from db.domain.problems import ProblemKind
from db.domain.stats import Stats
from db.store.stats import previous_period
from db.totals import month_bounds
from handlers.context import Services
from handlers.parsing import parse_comparison, parse_filters
from handlers.render import MAX_MESSAGE, filters_summary, utf16_length
from handlers.render.inline import filter_query
from handlers.render.stats import MIN_PERCENT_BASE, change_text, signed_percent
from locales.i18n import Catalogs, Translator
from tests.conftest import add_reader, emulated_bot, only
from tests.test_parsing import GAZ, VOCAB

LANGUAGES = ("az", "en", "ru")
CATALOGS = Catalogs.load()
ALL_WORDS = build_vocabulary(CATALOGS)
D = dt.date


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def bot(settings: Settings) -> AsyncIterator[EmulatedBot]:
    async with emulated_bot(settings, "123456789:TOOLS-TOKEN") as running:
        yield running


def _today(bot: EmulatedBot) -> dt.date:
    return dt.datetime.now(bot.services.settings.tz).date()


async def _stats(services: Services, f: IncidentFilter) -> Stats:
    return await services.store.stats.figures(f)


def _quotes(message: SentMessage) -> list[str]:
    """The texts of the message's blockquotes, as Telegram shows them."""
    assert message.plain is not None
    units = message.plain.encode("utf-16-le")
    return [
        units[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
        for e in message.entities
        if e["type"] == "blockquote"
    ]


# -- the period before ---------------------------------------------------------------------------

TODAY = D(2026, 11, 27)


@pytest.mark.parametrize(
    ("period", "current", "previous"),
    [
        # A year against the year before, a month against the month before.
        (Period(D(2023, 1, 1), D(2023, 12, 31)), None, Period(D(2022, 1, 1), D(2022, 12, 31))),
        (Period(D(2023, 3, 1), D(2023, 3, 31)), None, Period(D(2023, 2, 1), D(2023, 2, 28))),
        # Whole months: as many months before (February's length does not matter).
        (Period(D(2024, 3, 1), D(2024, 5, 31)), None, Period(D(2023, 12, 1), D(2024, 2, 29))),
        # Days: as many days before.
        (Period(D(2023, 7, 10), D(2023, 7, 19)), None, Period(D(2023, 6, 30), D(2023, 7, 9))),
        (Period(D(2023, 7, 13), D(2023, 7, 13)), None, Period(D(2023, 7, 12), D(2023, 7, 12))),
        # A year not over: its elapsed part against the same part of the year before.
        (
            Period(D(2026, 1, 1), D(2026, 12, 31)),
            Period(D(2026, 1, 1), TODAY),
            Period(D(2025, 1, 1), TODAY.replace(year=2025)),
        ),
        # A period without an end runs to today.
        (
            Period(D(2026, 11, 20), None),
            Period(D(2026, 11, 20), TODAY),
            Period(D(2026, 11, 12), D(2026, 11, 19)),
        ),
    ],
)
def test_the_period_before_has_the_same_length(
    period: Period, current: Period | None, previous: Period
) -> None:
    found = previous_period(period, TODAY)
    assert found == (current or period, previous)


def test_a_month_not_over_ending_on_a_day_its_predecessor_lacks() -> None:
    # 31 March (today) against the end of February, not against 3 March.
    found = previous_period(Period(D(2024, 3, 1), D(2024, 3, 31)), D(2024, 3, 30))
    assert found == (Period(D(2024, 3, 1), D(2024, 3, 30)), Period(D(2024, 2, 1), D(2024, 2, 29)))


@pytest.mark.parametrize(
    "period", [Period(), Period(None, D(2023, 1, 1)), Period(D(2027, 1, 1), D(2027, 12, 31))]
)
def test_no_period_before_an_open_start_or_the_future(period: Period) -> None:
    assert previous_period(period, TODAY) is None


async def test_the_trend_is_the_previous_periods_figures(services: Services) -> None:
    f = IncidentFilter(period=Period(D(2023, 1, 1), D(2023, 12, 31)), category=Category.CIVILIAN)
    report = await services.store.stats.report(f, today=TODAY)
    assert report.trend is not None
    assert report.trend.previous == Period(D(2022, 1, 1), D(2022, 12, 31))
    before = await _stats(
        services, IncidentFilter(period=report.trend.previous, category=f.category)
    )
    assert report.trend.before.counts == before.counts
    assert report.trend.before.incidents == before.incidents
    assert report.stats.counts == (await _stats(services, f)).counts


async def test_no_trend_where_the_records_do_not_cover_the_period_before(
    services: Services,
) -> None:
    first = await services.store.stats.records_start()
    report = await services.store.stats.report(
        IncidentFilter(period=Period(D(2021, 1, 1), D(2021, 12, 31))), today=TODAY
    )
    assert first is not None and D(2020, 1, 1) < first < D(2021, 1, 1)
    assert report.trend is None
    assert report.records_start == first


def test_percent_only_from_a_base_that_means_something() -> None:
    t = Catalogs.load().translator("en")
    assert change_text(t, MIN_PERCENT_BASE - 1, 20) == "+11"
    assert change_text(t, 28, 25) == "-3; -11%"
    assert change_text(t, 10, 10) == "0; +0%"
    assert signed_percent(Catalogs.load().translator("ru"), 0.5) == "+50\xa0%"


# -- /stats: the trend and the sentences to quote ------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_stats_compare_the_year_with_the_year_before(
    bot: EmulatedBot, catalogs: Catalogs, user_id: int, lang: str
) -> None:
    add_reader(bot, user_id, lang)
    text = only(await bot.send(user_id, "/stats 2023")).plain or ""
    t = catalogs.translator(lang)
    now = await _stats(bot.services, IncidentFilter(period=Period(D(2023, 1, 1), D(2023, 12, 31))))
    before = await _stats(
        bot.services, IncidentFilter(period=Period(D(2022, 1, 1), D(2022, 12, 31)))
    )
    assert (
        t._("{current} compared with {previous}:").format(current="2023", previous="2022") in text
    )
    for label, earlier, later in (
        (t._("killed or injured"), before.counts.total, now.counts.total),
        (t._("killed"), before.counts.killed, now.counts.killed),
        (t._("injured"), before.counts.injured, now.counts.injured),
    ):
        assert _change_line(t, label, earlier, later) in text


async def test_stats_say_why_there_is_no_trend(bot: EmulatedBot, user_id: int) -> None:
    add_reader(bot, user_id, "en")
    text = only(await bot.send(user_id, "/stats 2021")).plain or ""
    assert "No comparison with the period before: the records start on November" in text
    assert "compared with" not in text


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_the_official_figure_is_quoted_as_its_issuer_stated_it(
    bot: EmulatedBot, catalogs: Catalogs, user_id: int, lang: str
) -> None:
    add_reader(bot, user_id, lang)
    quotes = _quotes(only(await bot.send(user_id, "/stats ..2023-07-31")))
    t = catalogs.translator(lang)
    official = quotes[0]
    # The Ombudsman's figure as of 16 June 2023, counted from 10 November 2020.
    for part in (
        bot.services.gazetteer.issuer("Ombudsman", lang),
        t.npgettext("quote", "{n} person", "{n} people", 304).format(n=t.number(304)),
        t.date(D(2020, 11, 10)),
        t.date(D(2023, 6, 16)),
        t.npgettext("quote", "{n} civilian", "{n} civilians", 143).format(n=143),
        t.npgettext("quote", "{n} military serviceman", "{n} military personnel", 161).format(
            n=161
        ),
    ):
        assert part in official, (part, official)
    for n in (44, 99, 13, 148):
        assert t.number(n) in official
    if lang == "en":
        assert official == (
            "According to Ombudsman, mines and unexploded ordnance killed or injured 304 people "
            "between November 10, 2020 and June 16, 2023: 143 civilians (44 killed, 99 injured) "
            "and 161 military personnel (13 killed, 148 injured)."
        )
    # Then the recorded incidents, "at least", naming who compiled them.
    recorded = await _stats(bot.services, IncidentFilter(period=Period(None, D(2023, 7, 31))))
    assert len(quotes) == 2
    assert "@" + (bot.app.bot.username or "") in quotes[1]
    assert (
        t.npgettext(
            "quote", "at least {n} person", "at least {n} people", recorded.counts.total
        ).format(n=t.number(recorded.counts.total))
        in quotes[1]
    )


async def test_a_district_quote_names_the_district_and_leaves_out_empty_sides(
    bot: EmulatedBot, services: Services, user_id: int
) -> None:
    add_reader(bot, user_id, "en")
    quotes = _quotes(only(await bot.send(user_id, "/stats Kalbajar 2022 civilian")))
    kalbajar = GAZ.resolve("Kalbajar")
    assert kalbajar is not None
    f = IncidentFilter((kalbajar,), Period(D(2022, 1, 1), D(2022, 12, 31)), Category.CIVILIAN)
    figures = await _stats(services, f)
    assert figures.incidents > 0
    (quote,) = quotes  # no official figure for a district
    c = figures.counts
    assert quote.startswith(
        "According to incidents reported by news media and official statements and compiled by @"
    )
    assert f"at least {c.total} civilian" in quote and "in the Kalbajar district" in quote
    assert "between January 1, 2022 and December 31, 2022" in quote
    assert "military" not in quote
    if not c.injured:
        assert "injured" not in quote


async def test_an_open_period_is_quoted_from_the_first_incident_to_the_latest(
    bot: EmulatedBot, services: Services, user_id: int
) -> None:
    add_reader(bot, user_id, "en")
    quotes = _quotes(only(await bot.send(user_id, "/stats")))
    everything = await _stats(services, IncidentFilter())
    assert everything.first is not None and everything.latest is not None
    t = Catalogs.load().translator("en")
    first = t.date(everything.first.date, everything.first.precision)
    latest = t.date(everything.latest.date, everything.latest.precision)
    assert f"between {first} and {latest}" in quotes[-1]


async def test_nothing_to_quote_when_nothing_is_recorded(bot: EmulatedBot, user_id: int) -> None:
    add_reader(bot, user_id, "en")
    message = only(await bot.send(user_id, "/stats Kalbajar 2099"))
    assert _quotes(message) == []
    assert "No incidents are recorded for these filters." in (message.plain or "")


# -- /compare ------------------------------------------------------------------------------------


def test_compare_parses_two_periods_earlier_first_or_two_districts() -> None:
    parsed = parse_comparison("2023 civilians 2022", GAZ, VOCAB)
    assert parsed.ok and parsed.by_period
    assert parsed.left.period == Period(D(2022, 1, 1), D(2022, 12, 31))
    assert parsed.right.period == Period(D(2023, 1, 1), D(2023, 12, 31))
    assert parsed.left.category is parsed.right.category is Category.CIVILIAN
    fuzuli, aghdam = GAZ.resolve("Fuzuli"), GAZ.resolve("Aghdam")
    parsed = parse_comparison("Fuzuli Aghdam 2023", GAZ, VOCAB)
    assert parsed.ok and not parsed.by_period
    assert (parsed.left.districts, parsed.right.districts) == ((fuzuli,), (aghdam,))
    assert parsed.left.period == parsed.right.period == Period(D(2023, 1, 1), D(2023, 12, 31))
    parsed = parse_comparison("Fuzuli 2022 2023", GAZ, VOCAB)
    assert parsed.ok and parsed.left.districts == parsed.right.districts == (fuzuli,)


@pytest.mark.parametrize(
    "text", ["", "2023", "Fuzuli", "2023 2023", "2021 2022 2023", "Fuzuli Aghdam 2022 2023"]
)
def test_compare_needs_exactly_two_periods_or_two_districts(text: str) -> None:
    parsed = parse_comparison(text, GAZ, VOCAB)
    assert [p.kind for p in parsed.problems] == [ProblemKind.COMPARE_WHAT]


def test_compare_reports_words_it_does_not_know() -> None:
    parsed = parse_comparison("2022 2023 Fuzzuli", GAZ, VOCAB)
    assert [p.kind for p in parsed.problems] == [ProblemKind.UNKNOWN_WORD]


def _change_line(t: Translator, label: str, before: int, after: int) -> str:
    return t._("{label}: {before} → {after} ({change})").format(
        label=label,
        before=t.number(before),
        after=t.number(after),
        change=change_text(t, before, after),
    )


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_compare_two_years_side_by_side(
    bot: EmulatedBot, catalogs: Catalogs, user_id: int, lang: str
) -> None:
    add_reader(bot, user_id, lang)
    text = only(await bot.send(user_id, "/compare 2023 2022")).plain or ""
    t = catalogs.translator(lang)
    a = await _stats(bot.services, IncidentFilter(period=Period(D(2022, 1, 1), D(2022, 12, 31))))
    b = await _stats(bot.services, IncidentFilter(period=Period(D(2023, 1, 1), D(2023, 12, 31))))
    assert t._("{first} → {second}").format(first="2022", second="2023") in text
    for label, x, y in (
        (t._("killed or injured"), a.counts.total, b.counts.total),
        (t._("killed"), a.counts.killed, b.counts.killed),
        (t._("injured"), a.counts.injured, b.counts.injured),
        (t._("civilians"), a.counts.civilian, b.counts.civilian),
        (t._("military personnel"), a.counts.military, b.counts.military),
        (t._("incidents recorded"), a.incidents, b.incidents),
    ):
        assert _change_line(t, label, x, y) in text


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_compare_two_districts(
    bot: EmulatedBot, catalogs: Catalogs, user_id: int, lang: str
) -> None:
    add_reader(bot, user_id, lang)
    text = only(await bot.send(user_id, "/compare Fuzuli Aghdam civilian")).plain or ""
    t = catalogs.translator(lang)
    fuzuli, aghdam = GAZ.resolve("Fuzuli"), GAZ.resolve("Aghdam")
    assert fuzuli is not None and aghdam is not None
    a = await _stats(bot.services, IncidentFilter((fuzuli,), category=Category.CIVILIAN))
    b = await _stats(bot.services, IncidentFilter((aghdam,), category=Category.CIVILIAN))
    names = [bot.services.gazetteer.name(d, lang) for d in (fuzuli, aghdam)]
    assert t._("{first} → {second}").format(first=names[0], second=names[1]) in text
    assert _change_line(t, t._("killed or injured"), a.counts.total, b.counts.total) in text
    assert _change_line(t, t._("incidents recorded"), a.incidents, b.incidents) in text
    assert t._("military personnel") + ":" not in text  # one category: no civilian/military rows


async def test_compare_says_what_makes_periods_unlike(bot: EmulatedBot, user_id: int) -> None:
    add_reader(bot, user_id, "en")
    year = _today(bot).year
    text = only(await bot.send(user_id, f"/compare 2020 {year}-01..{year}-12")).plain or ""
    assert f"{year} is not over: its figures run to" in text
    assert "The records start on November" in text and "2020 is covered from then on" in text
    text = only(await bot.send(user_id, "/compare 2022 2023-07")).plain or ""
    assert "The periods differ in length: 365 days and 31 days." in text


async def test_compare_with_nothing_recorded_on_either_side(bot: EmulatedBot, user_id: int) -> None:
    add_reader(bot, user_id, "en")
    text = only(await bot.send(user_id, "/compare 2098 2099")).plain or ""
    assert "No incidents are recorded for either side." in text
    assert "killed or injured: 0 → 0 (0)" in text
    assert "has not begun" in text


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_compare_without_two_things_explains_itself(
    bot: EmulatedBot, catalogs: Catalogs, user_id: int, lang: str
) -> None:
    add_reader(bot, user_id, lang)
    text = only(await bot.send(user_id, "/compare 2023")).plain or ""
    t = catalogs.translator(lang)
    expected = t._(
        "Give two periods or two districts to compare, as in /compare 2022 2023 or "
        "/compare {first} {second}."
    ).split("{")[0]
    assert expected in text


# -- inline mode ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "query"), [("en", "fuzuli 2023"), ("az", "Füzuli 2023"), ("ru", "Физули 2023")]
)
async def test_inline_query_offers_a_stats_card_in_the_users_language(
    bot: EmulatedBot, catalogs: Catalogs, user_id: int, lang: str, query: str
) -> None:
    add_reader(bot, user_id, lang)
    answer = await bot.inline(user_id, query)
    t = catalogs.translator(lang)
    (result,) = answer["results"]
    fuzuli = GAZ.resolve("Fuzuli")
    assert fuzuli is not None
    f = IncidentFilter((fuzuli,), Period(D(2023, 1, 1), D(2023, 12, 31)))
    figures = await _stats(bot.services, f)
    assert result["type"] == "article"
    assert result["title"] == filters_summary(t, bot.services.gazetteer, f)
    assert result["description"] == t.ngettext(
        "{n} person killed or injured", "{n} people killed or injured", figures.counts.total
    ).format(n=t.number(figures.counts.total))
    content = result["input_message_content"]
    assert content["parse_mode"] == "HTML"
    plain = parse_html(content["message_text"]).text  # Telegram would accept it
    assert utf16_length(plain) <= MAX_MESSAGE
    assert t._("Mine and UXO casualties") in plain
    assert bot.services.gazetteer.name(fuzuli, lang) in plain
    assert answer["is_personal"] is True


async def test_inline_card_follows_the_language_chosen_in_the_private_chat(
    bot: EmulatedBot, catalogs: Catalogs, user_id: int
) -> None:
    add_reader(bot, user_id, "en")
    prompt = only(await bot.send(user_id, "/language"))
    ru = next(b for b in prompt.buttons if b["text"].endswith("Русский"))
    await bot.press(user_id, prompt.message_id, ru["callback_data"])
    (result,) = (await bot.inline(user_id, "2023"))["results"]
    t = catalogs.translator("ru")
    assert t._("Mine and UXO casualties") in result["input_message_content"]["message_text"]


async def test_inline_query_without_filters_gives_the_national_card(
    bot: EmulatedBot, user_id: int
) -> None:
    add_reader(bot, user_id, "en")
    (result,) = (await bot.inline(user_id, ""))["results"]
    everything = await _stats(bot.services, IncidentFilter())
    assert result["description"] == f"{everything.counts.total} people killed or injured"


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_inline_query_with_unknown_words_points_to_help(
    bot: EmulatedBot, catalogs: Catalogs, user_id: int, lang: str
) -> None:
    add_reader(bot, user_id, lang)
    answer = await bot.inline(user_id, "fuzuli <b>nonsense</b>")
    assert answer["results"] == []
    button = answer["button"]
    assert button["start_parameter"] == "help"
    assert "nonsense" in button["text"] and 1 <= len(button["text"]) <= 64
    # The button opens the private chat with /start help: the help, in the user's language.
    help_text = only(await bot.send(user_id, "/start help")).plain or ""
    assert catalogs.translator(lang)._("What I can do") in help_text


async def test_the_card_fits_for_every_district(bot: EmulatedBot, user_id: int) -> None:
    """Long names and every figure: the emulator refuses a card Telegram would refuse."""
    add_reader(bot, user_id, "ru")
    gazetteer = bot.services.gazetteer
    names = " ".join(gazetteer.name(d, "ru") for d in gazetteer.sorted_ids("ru")[:6])
    answer = await bot.inline(user_id, names)
    (result,) = answer["results"]
    for district in gazetteer.sorted_ids("ru")[:6]:
        assert gazetteer.name(district, "ru") in result["title"]


# -- sharing -------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    districts=st.lists(st.sampled_from(GAZ.sorted_ids("en")), max_size=3, unique=True),
    start=st.none() | st.dates(D(2000, 1, 1), D(2099, 12, 31)),
    length=st.integers(0, 800),
    shape=st.sampled_from(["days", "year", "month", "open_end", "open_start", "none"]),
    category=st.none() | st.sampled_from(list(Category)),
    lang=st.sampled_from(LANGUAGES),
)
def test_the_share_query_reads_back_as_the_same_filters(
    districts: list[int],
    start: dt.date | None,
    length: int,
    shape: str,
    category: Category | None,
    lang: str,
) -> None:
    period = Period()
    if start is not None:
        if shape == "days":
            period = Period(start, min(start + dt.timedelta(days=length), D(2100, 12, 31)))
        elif shape == "year":
            period = Period(D(start.year, 1, 1), D(start.year, 12, 31))
        elif shape == "month":
            period = Period(start.replace(day=1), month_bounds(start)[1])
        elif shape == "open_end":
            period = Period(start, None)
        elif shape == "open_start":
            period = Period(None, start)
    f = IncidentFilter(tuple(districts), period, category)
    t = CATALOGS.translator(lang)
    parsed = parse_filters(filter_query(t, GAZ, f), GAZ, ALL_WORDS)
    assert parsed.ok, parsed.problems
    assert parsed.filter == f


async def test_stats_replies_carry_a_share_button_for_the_same_card(
    bot: EmulatedBot, user_id: int
) -> None:
    add_reader(bot, user_id, "az")
    reply = only(await bot.send(user_id, "/stats Kalbajar 2021-03..2021-06 military"))
    (button,) = reply.buttons
    query = button["switch_inline_query"]
    assert query == "Kəlbəcər 2021-03-01..2021-06-30 hərbi"
    (result,) = (await bot.inline(user_id, query))["results"]
    assert parse_html(result["input_message_content"]["message_text"]).text.startswith(
        reply.plain or "-"
    )


async def test_inline_card_for_filters_with_nothing_recorded(
    bot: EmulatedBot, catalogs: Catalogs, user_id: int
) -> None:
    add_reader(bot, user_id, "az")
    (result,) = (await bot.inline(user_id, "Kəlbəcər 2099"))["results"]
    t = catalogs.translator("az")
    assert result["description"] == t._("No incidents are recorded for these filters.")
    text = parse_html(result["input_message_content"]["message_text"]).text
    assert t._("No incidents are recorded for these filters.") in text
    assert t._("To quote:") not in text  # nothing to quote
