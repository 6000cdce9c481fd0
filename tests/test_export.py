"""/export: the matching incidents as a CSV document, through the emulator in az, en and ru.

The file is read back as a spreadsheet program or pandas would read it (``utf-8-sig``) and must add
up to what /stats counts for the same filters, row by row and column by column.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.emulator import SentMessage
from bot.harness import EmulatedBot
from db import export, queries
from db.domain.figures import Counts
from db.domain.filters import Category, IncidentFilter, Period
from db.domain.gazetteer import DistrictEntry, Gazetteer
from db.domain.listing import ExportRow, SourceRef
from db.domain.periods import parse_period, period_slug
from db.domain.records import DatePrecision, Device, IncidentStatus
from db.models import Incident, IncidentSource
from db.store.exports import BATCH
from db.writes import add_incident
from handlers import export as export_handler
from handlers.context import Services
from handlers.parsing import parse_filters
from handlers.render import export as render_export
from handlers.render import filters_text, render_problems, visible_length
from locales.i18n import Catalogs
from tests.conftest import add_reader, emulated_bot, only

LANGUAGES = ("az", "en", "ru")
COUNT_COLUMNS = ("civilian_killed", "civilian_injured", "military_killed", "military_injured")
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def bot(settings: Settings) -> AsyncIterator[EmulatedBot]:
    async with emulated_bot(settings, "123456789:EXPORT-TOKEN") as running:
        yield running


def _rows(message: SentMessage) -> list[dict[str, str]]:
    assert message.method == "sendDocument"
    assert message.document is not None
    assert message.document.startswith(b"\xef\xbb\xbf")  # the byte-order mark
    reader = csv.DictReader(io.StringIO(message.document.decode("utf-8-sig"), newline=""))
    assert tuple(reader.fieldnames or ()) == render_export.COLUMNS
    return list(reader)


def _filter(services: Services, query: str) -> IncidentFilter:
    parsed = parse_filters(query, services.gazetteer, services.vocabulary)
    assert parsed.ok, parsed.problems
    return parsed.filter


async def _stored_sources(services: Services, ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {i: [] for i in ids}
    async with services.store.db.read() as connection:
        for incident_id, url in await connection.execute(
            select(IncidentSource.incident_id, IncidentSource.url)
            .where(IncidentSource.incident_id.in_(ids))
            .order_by(IncidentSource.id)
        ):
            found[int(incident_id)].append(url)
    return found


async def _reference_ids(services: Services, f: IncidentFilter) -> list[int]:
    """The incidents the export must hold, read in one plain query."""
    async with services.store.db.read() as connection:
        return [
            int(i)
            for i in await connection.scalars(
                select(Incident.id)
                .where(queries.incident_conditions(f))
                .order_by(Incident.date, Incident.id)
            )
        ]


# -- the file adds up to /stats ------------------------------------------------------------------

#: (what follows /export, what the file name holds between ``casualties_`` and the time)
FILTERS = [
    ("", "all"),
    ("Aghdam", "aghdam"),
    ("2023", "2023"),
    ("military", "military"),
    ("Kalbajar 2022", "kalbajar_2022"),
    ("2021-01-01..2021-06-30 civilian", "2021-01-01_2021-06-30_civilian"),
    ("Tartar 2021..", "tartar_from-2021"),
]


@pytest.mark.parametrize(("query", "name_part"), FILTERS)
@pytest.mark.parametrize("lang", LANGUAGES)
async def test_the_file_adds_up_to_stats_for_the_same_filters(
    bot: EmulatedBot,
    services: Services,
    catalogs: Catalogs,
    user_id: int,
    lang: str,
    query: str,
    name_part: str,
) -> None:
    add_reader(bot, user_id, lang)
    t = catalogs.translator(lang)
    before = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    message = only(await bot.send(user_id, f"/export {query}".strip()))
    after = dt.datetime.now(dt.UTC)
    rows = _rows(message)
    f = _filter(services, query)
    stats = await services.store.stats.figures(f, leading=0, latest=False)

    # One row per incident /stats counts, and every count column adds up to its figure.
    assert stats.incidents > 0
    assert len(rows) == stats.incidents
    assert len({r["id"] for r in rows}) == len(rows)
    sums = Counts(*(sum(int(r[c]) for r in rows) for c in COUNT_COLUMNS))
    assert sums == stats.counts
    assert sum(int(r["killed"]) for r in rows) == stats.counts.killed
    assert sum(int(r["injured"]) for r in rows) == stats.counts.injured
    assert sum(int(r["total"]) for r in rows) == stats.counts.total
    for r in rows:
        c = Counts(*(int(r[col]) for col in COUNT_COLUMNS))
        assert (int(r["killed"]), int(r["injured"]), int(r["total"])) == (
            c.killed,
            c.injured,
            c.total,
        )
        if f.category is Category.MILITARY:
            assert c.civilian == 0 and c.military > 0
        elif f.category is Category.CIVILIAN:
            assert c.military == 0 and c.civilian > 0

    # Ordered by date, then id; exactly the incidents the filter selects.
    keys = [(r["date"], int(r["id"])) for r in rows]
    assert keys == sorted(keys)
    assert [int(r["id"]) for r in rows] == await _reference_ids(services, f)

    # Sources: never empty, and the store's, in its order.
    stored = await _stored_sources(services, [int(r["id"]) for r in rows])
    for r in rows:
        urls = r["source_urls"].split(render_export.SOURCE_SEPARATOR)
        assert r["source_urls"] and all(urls)
        assert urls == stored[int(r["id"])]
        assert len(r["source_titles"].split(render_export.SOURCE_SEPARATOR)) == len(urls)

    # The district: a stable key, and its name in the chat's language.
    gazetteer = services.gazetteer
    for r in rows:
        if r["district_key"]:
            district = gazetteer.by_key(r["district_key"])
            assert district is not None
            assert r["district_name"] == gazetteer.name(district, lang)
            if f.districts:
                assert district in f.districts
        else:
            assert r["district_name"] == ""
        assert r["date_precision"] in {p.value for p in DatePrecision}
        assert r["device"] in {d.value for d in Device}
        assert dt.date.fromisoformat(r["date"]) <= dt.date.fromisoformat(r["date_end"])
        assert STAMP.match(r["recorded_at"]) and STAMP.match(r["updated_at"])
        assert int(r["version"]) >= 1

    # The file name: the query and the time of the export, ASCII only.
    assert message.filename is not None and message.filename.isascii()
    found = re.fullmatch(
        rf"casualties_{re.escape(name_part)}_(\d{{8}}-\d{{4}})Z\.csv", message.filename
    )
    assert found, message.filename
    stamp = dt.datetime.strptime(found.group(1), "%Y%m%d-%H%M").replace(tzinfo=dt.UTC)
    assert before <= stamp <= after
    assert message.mime_type == "text/csv"

    # The caption: filters, incidents, people, when, the source line, in the chat's language.
    caption = message.plain
    assert caption is not None and message.caption is not None
    assert visible_length(message.caption) < 1024
    assert filters_text(t, gazetteer, f) in caption
    assert (
        t.ngettext("{n} incident recorded", "{n} incidents recorded", len(rows)).format(
            n=t.number(len(rows))
        )
        in caption
    )
    assert (
        t.ngettext(
            "{n} person killed or injured", "{n} people killed or injured", stats.counts.total
        ).format(n=t.number(stats.counts.total))
        in caption
    )
    assert t._("Exported on {when}").split("{")[0] in caption
    assert (user_id, "upload_document") in bot.emulator.chat_actions


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_one_incident_gives_a_file_of_one_row(
    bot: EmulatedBot, services: Services, catalogs: Catalogs, user_id: int, lang: str
) -> None:
    add_reader(bot, user_id, lang)
    t = catalogs.translator(lang)
    message = only(await bot.send(user_id, "/export Khojaly"))
    (row,) = _rows(message)
    assert row["district_key"] == "khojaly"
    assert row["district_name"] == services.gazetteer.name(
        services.gazetteer.by_key("khojaly") or 0, lang
    )
    assert message.plain is not None
    assert (
        t.ngettext("{n} incident recorded", "{n} incidents recorded", 1).format(n=t.number(1))
        in message.plain
    )
    assert message.filename is not None and message.filename.startswith("casualties_khojaly_")


# -- no file -------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_no_matching_incident_is_answered_in_text_without_a_file(
    bot: EmulatedBot, services: Services, catalogs: Catalogs, user_id: int, lang: str
) -> None:
    add_reader(bot, user_id, lang)
    t = catalogs.translator(lang)
    message = only(await bot.send(user_id, "/export Zangilan 2019"))
    assert message.method == "sendMessage"
    assert message.document is None
    f = _filter(services, "Zangilan 2019")
    assert message.plain == html.unescape(
        render_export.render_export_empty(t, services.gazetteer, f)
    )
    assert filters_text(t, services.gazetteer, f) in message.plain
    assert t._("No incidents are recorded for these filters.") in message.plain


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_bad_filters_are_explained_in_the_chats_language(
    bot: EmulatedBot, services: Services, catalogs: Catalogs, user_id: int, lang: str
) -> None:
    add_reader(bot, user_id, lang)
    t = catalogs.translator(lang)
    message = only(await bot.send(user_id, "/export Narnia 2023-13"))
    assert message.method == "sendMessage"
    parsed = parse_filters("Narnia 2023-13", services.gazetteer, services.vocabulary)
    assert not parsed.ok
    assert message.plain == html.unescape(render_problems(t, services.gazetteer, parsed.problems))
    assert t._("I did not understand “{word}”.").format(word="Narnia") in message.plain


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_a_file_over_telegrams_limit_is_refused(
    bot: EmulatedBot,
    services: Services,
    catalogs: Catalogs,
    user_id: int,
    lang: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(export_handler, "MAX_DOCUMENT_BYTES", 4_000)
    monkeypatch.setattr(export_handler, "BATCH", 5)
    add_reader(bot, user_id, lang)
    t = catalogs.translator(lang)
    message = only(await bot.send(user_id, "/export"))
    assert message.method == "sendMessage"
    assert message.document is None
    assert message.plain == html.unescape(
        render_export.render_export_too_large(t, services.gazetteer, IncidentFilter(), 4_000)
    )
    # A smaller query still fits.
    assert only(await bot.send(user_id, "/export Khojaly")).method == "sendDocument"


# -- streaming -----------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["Fuzuli", "Tartar", "2021", ""])
@pytest.mark.parametrize("batch", [1, 2, 3, 7])
async def test_no_row_is_lost_or_repeated_at_batch_boundaries(
    services: Services, query: str, batch: int
) -> None:
    f = _filter(services, query)
    batches = [rows async for rows in services.store.exports.batches(f, batch=batch)]
    assert batches and all(0 < len(rows) <= batch for rows in batches)
    assert all(len(rows) == batch for rows in batches[:-1])
    ids = [row.id for rows in batches for row in rows]
    assert ids == await _reference_ids(services, f)
    async with services.store.db.read() as connection:
        assert [row.id async for row in export.export_rows(connection, f, batch=BATCH)] == ids


async def test_same_day_incidents_across_a_batch_boundary(services: Services) -> None:
    """Fuzuli's first two incidents share a day (2020-11-14): the keyset's id breaks the tie."""
    f = _filter(services, "Fuzuli 2020-11-14")
    async with services.store.db.read() as connection:
        one = [row.id async for row in export.export_rows(connection, f, batch=1)]
    assert len(one) == 2 and one == sorted(one)


async def test_the_bot_streams_in_small_batches_and_spools_to_disk(
    bot: EmulatedBot, user_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_reader(bot, user_id, "en")
    whole = _rows(only(await bot.send(user_id, "/export")))
    monkeypatch.setattr(export_handler, "BATCH", 3)
    monkeypatch.setattr(render_export, "SPOOL_BYTES", 2_000)  # past it, a temporary file
    streamed = only(await bot.send(user_id, "/export"))
    assert streamed.document is not None and len(streamed.document) > 2_000
    assert _rows(streamed) == whole


# -- what is in a row ----------------------------------------------------------------------------

AWKWARD_SETTLEMENT = 'Köhnə "Kənd", north\nside; Кельбаджар'
AWKWARD_DESCRIPTION = (
    'A tractor driver, 52, hit a mine; "it was marked", said one.\r\n'
    "Second line,\tafter a tab | and a bar\n=1+1 (not a formula)"
)


async def _add(
    session: AsyncSession,
    day: dt.date,
    district_id: int,
    *,
    status: IncidentStatus = IncidentStatus.PUBLISHED,
    **fields: object,
) -> Incident:
    incident = Incident(
        date=day,
        date_end=day,
        date_precision=DatePrecision.DAY,
        district_id=district_id,
        civilian_killed=0,
        civilian_injured=1,
        military_killed=0,
        military_injured=0,
        device=Device.UXO,
        status=status,
        **fields,
    )
    return await add_incident(session, incident)


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_commas_quotes_and_newlines_round_trip_and_private_fields_stay_out(
    bot: EmulatedBot, sandbox: Services, catalogs: Catalogs, user_id: int, lang: str
) -> None:
    gazetteer = sandbox.gazetteer
    fuzuli = gazetteer.by_key("fuzuli")
    assert fuzuli is not None
    day = dt.date(2019, 3, 5)
    async with sandbox.store.db.write() as session:
        published = await _add(
            session,
            day,
            fuzuli,
            settlement=AWKWARD_SETTLEMENT,
            description=AWKWARD_DESCRIPTION,
            date_note='Reported "a day later", as is usual',
            activity="farming",
            created_by=987_654_321,
            updated_by=987_654_322,
            sources=[
                IncidentSource(url="https://example.org/a?x=1,2", title='One | two, "three"'),
                IncidentSource(url="https://example.org/b", title=None),
            ],
        )
        await _add(
            session,
            day,
            fuzuli,
            status=IncidentStatus.RETRACTED,
            description="retracted",
            sources=[IncidentSource(url="https://example.org/retracted")],
        )
    add_reader(bot, user_id, lang)
    message = only(await bot.send(user_id, "/export 2019-03-05"))
    (row,) = _rows(message)
    assert int(row["id"]) == published.id
    assert row["settlement"] == AWKWARD_SETTLEMENT
    assert row["description"] == AWKWARD_DESCRIPTION
    assert row["date_note"] == 'Reported "a day later", as is usual'
    assert row["district_key"] == "fuzuli"
    assert row["district_name"] == gazetteer.name(fuzuli, lang)
    assert row["activity"] == "farming" and row["device"] == "uxo"
    assert row["source_urls"] == "https://example.org/a?x=1,2 | https://example.org/b"
    assert row["source_titles"] == 'One ¦ two, "three" | '
    assert (row["date"], row["date_end"], row["date_precision"]) == (
        "2019-03-05",
        "2019-03-05",
        "day",
    )
    assert row["version"] == "1"
    assert message.document is not None
    assert b"987654321" not in message.document and b"987654322" not in message.document
    assert b"retracted" not in message.document
    assert message.filename is not None
    assert message.filename.startswith("casualties_2019-03-05_")
    t = catalogs.translator(lang)
    assert message.plain is not None
    assert (
        t.ngettext("{n} person killed or injured", "{n} people killed or injured", 1).format(
            n=t.number(1)
        )
        in message.plain
    )


# -- pure parts ----------------------------------------------------------------------------------


def _gazetteer() -> Gazetteer:
    return Gazetteer.build(
        [
            DistrictEntry(1, "fuzuli", {"en": "Fuzuli", "az": "Füzuli", "ru": "Физули"}),
            DistrictEntry(2, "kalbajar", {"en": "Kalbajar", "az": "Kəlbəcər", "ru": "Кельбаджар"}),
            DistrictEntry(3, "Şuşa", {"en": "Shusha", "az": "Şuşa", "ru": "Шуша"}),
            DistrictEntry(4, "lachin", {"en": "Lachin"}),
        ]
    )


@pytest.mark.parametrize(
    ("typed", "slug"),
    [
        ("2023", "2023"),
        ("2023-07", "2023-07"),
        ("2023-07-13", "2023-07-13"),
        ("2021-01-01..2021-06-30", "2021-01-01_2021-06-30"),
        ("2021..2022", "2021-01-01_2022-12-31"),
        ("2022..", "from-2022"),
        ("2022-03..", "from-2022-03"),
        ("2022-03-05..", "from-2022-03-05"),
        ("..2021-06", "until-2021-06"),
        ("..2021", "until-2021"),
        ("..2021-06-15", "until-2021-06-15"),
    ],
)
def test_period_in_the_file_name(typed: str, slug: str) -> None:
    assert period_slug(parse_period(typed)) == slug


def test_file_name_holds_the_query_and_the_time_in_utc() -> None:
    gaz = _gazetteer()
    baku = dt.timezone(dt.timedelta(hours=4))
    at = dt.datetime(2026, 11, 28, 1, 42, 30, tzinfo=baku)
    year = Period(dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    name = render_export.file_name(gaz, IncidentFilter((1,), year, Category.CIVILIAN), at)
    assert name == "casualties_fuzuli_2023_civilian_20261127-2142Z.csv"
    assert render_export.file_name(gaz, IncidentFilter(), at) == (
        "casualties_all_20261127-2142Z.csv"
    )
    assert render_export.file_name(gaz, IncidentFilter((2, 3)), at) == (
        "casualties_kalbajar-susa_20261127-2142Z.csv"
    )
    assert render_export.file_name(gaz, IncidentFilter((1, 2, 3, 4)), at) == (
        "casualties_4-districts_20261127-2142Z.csv"
    )


def test_the_caption_stays_under_telegrams_limit(
    catalogs: Catalogs, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    gazetteer = services.gazetteer
    every = IncidentFilter(
        tuple(gazetteer.entries),
        Period(dt.date(2021, 1, 13), dt.date(2024, 11, 27)),
        Category.MILITARY,
    )
    at = dt.datetime(2026, 11, 27, 21, 42, tzinfo=dt.UTC)
    for t in catalogs.all():
        caption = render_export.render_export_caption(
            t, gazetteer, every, 123_456, Counts(1, 2, 3_000, 40_000), at
        )
        assert visible_length(caption) < 1024
        assert filters_text(t, gazetteer, every) in html.unescape(caption)
    # Past the limit the filters line goes (the file name carries them).
    monkeypatch.setattr(render_export, "MAX_CAPTION", 100)
    t = catalogs.translator("en")
    short = render_export.render_export_caption(t, gazetteer, every, 1, Counts(1), at)
    assert filters_text(t, gazetteer, every) not in html.unescape(short)
    assert "1 incident recorded" in short


_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)


@given(settlement=_TEXT, description=_TEXT, title=_TEXT)
def test_any_text_round_trips_through_the_csv(
    settlement: str, description: str, title: str
) -> None:
    row = ExportRow(
        id=7,
        date=dt.date(2023, 7, 1),
        date_end=dt.date(2023, 7, 31),
        date_precision=DatePrecision.MONTH,
        date_note=None,
        district_id=2,
        settlement=settlement or None,
        counts=Counts(1, 0, 0, 2),
        device=Device.UNKNOWN,
        activity=None,
        description=description,
        sources=(SourceRef("https://example.org/x", title or None),),
        version=3,
        recorded_at=dt.datetime(2024, 5, 1, 12, 30, 5, 999, tzinfo=dt.UTC),
        updated_at=dt.datetime(2024, 5, 2, 16, 30, tzinfo=dt.timezone(dt.timedelta(hours=4))),
    )
    with render_export.CsvDocument(_gazetteer(), "az") as document:
        document.write([row])
        content = document.content()
        assert isinstance(content, bytes)
    (back,) = csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline=""))
    assert back["settlement"] == settlement
    assert back["description"] == description
    assert back["source_titles"] == title.replace("|", "¦")
    assert back["district_name"] == "Kəlbəcər"
    assert back["recorded_at"] == "2024-05-01T12:30:05Z"
    assert back["updated_at"] == "2024-05-02T12:30:00Z"
    assert (back["killed"], back["injured"], back["total"]) == ("1", "2", "3")
    assert document.incidents == 1 and document.counts == Counts(1, 0, 0, 2)
