"""Bulk import from CSV: the parser (every malformed value, header, encoding, size), the store (all
or nothing, duplicates, the audit trail), the chat through the emulator (owners, editors and
review, strangers, groups) in en and ru, and ``python -m bot import`` from the shell.

Every test that changes the store uses the ``sandbox`` fixture, which puts it back afterwards.
"""

from __future__ import annotations

import csv
import datetime as dt
import inspect
import io
import itertools
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from bot.config import DEFAULT_SEED_DIR, Settings
from bot.emulator import SentMessage
from bot.emulator.html import message_length
from bot.harness import EmulatedBot, TrackedApplication
from db import changes, chats, queries
from db.domain import csv_rows as csv_parser
from db.domain import imports, validation
from db.domain.csv_rows import parse_csv
from db.domain.drafts import COUNT_FIELDS, ImportReport
from db.domain.figures import Counts
from db.domain.filters import IncidentFilter, Period
from db.domain.gazetteer import Gazetteer
from db.domain.imports import COLUMNS, ImportProblem
from db.domain.problems import ProblemKind
from db.domain.records import ChangeStatus, DatePrecision, Device
from db.models import AuditEntry, Change, Incident
from db.store.imports import ImportRequest, Operator, present_lines, review_payload
from handlers.context import Services
from handlers.render import MAX_MESSAGE, injured_line, killed_line
from handlers.render.imports import (
    id_ranges,
    import_change_lines,
    import_outcome,
    import_problem_text,
    import_usage,
    problem_line,
    render_import_problems,
    render_not_csv,
    render_too_large,
)
from handlers.render.problems import refused_text
from locales.i18n import Catalogs, Translator
from tests.conftest import ADMIN_ID, emulated_bot, only

OWNER = ADMIN_ID  # English
RU_OWNER = 4343
EDITOR = 7171  # Russian
STRANGER = 7272  # Azerbaijani
GROUP = -7373
TODAY = dt.date(2026, 6, 30)
RUN = uuid.uuid4().hex[:8]
_numbers = itertools.count(1)


# -- files ----------------------------------------------------------------------------------------


def row(**values: str) -> dict[str, str]:
    """A valid row with a source URL of its own (so that it is new to the store)."""
    base = {
        "date": "2022-05-10",
        "date_precision": "day",
        "district": "Kalbajar",
        "settlement": "Chirag",
        "civilian_killed": "0",
        "civilian_injured": "1",
        "military_killed": "0",
        "military_injured": "0",
        "device": "antipersonnel",
        "activity": "farming",
        "description": "A farmer was injured by a mine.",
        "source_url": f"https://example.org/import-test/{RUN}/{next(_numbers)}",
        "source_title": "",
        "date_note": "",
    }
    base.update(values)
    return base


def to_csv(
    rows: Iterable[Mapping[str, str]],
    *,
    header: Iterable[str] = COLUMNS,
    delimiter: str = ",",
    newline: str = "\n",
    bom: bool = False,
) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer,
        fieldnames=list(header),
        delimiter=delimiter,
        lineterminator=newline,
        extrasaction="ignore",
    )
    writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode() + buffer.getvalue().encode()


def sums(rows: Iterable[Mapping[str, str]]) -> tuple[int, int]:
    """Killed and injured in the rows."""
    rows = list(rows)
    killed = sum(int(r["civilian_killed"]) + int(r["military_killed"]) for r in rows)
    injured = sum(int(r["civilian_injured"]) + int(r["military_injured"]) for r in rows)
    return killed, injured


def valid_rows() -> list[dict[str, str]]:
    return [
        row(civilian_killed="1", civilian_injured="2"),
        row(date="2023-07", date_precision="month", district="Ağdam", device="", activity=""),
        row(
            date="2021", date_precision="", district="", military_injured="3", civilian_injured="0"
        ),
        row(
            district="Кельбаджар", military_killed="1", civilian_injured="0", device="anti-vehicle"
        ),
    ]


@pytest.fixture
def gazetteer(services: Services) -> Gazetteer:
    return services.gazetteer


def only_problem(data: bytes, gazetteer: Gazetteer) -> ImportProblem:
    parsed = parse_csv(data, gazetteer, TODAY)
    assert parsed.rows == ()
    assert len(parsed.problems) == 1, parsed.problems
    return parsed.problems[0]


# -- the parser -----------------------------------------------------------------------------------


def test_the_shipped_dataset_is_a_valid_import(gazetteer: Gazetteer) -> None:
    parsed = parse_csv((DEFAULT_SEED_DIR / "incidents.csv").read_bytes(), gazetteer, TODAY)
    assert parsed.ok and len(parsed.rows) == 71
    assert [line for line, _ in parsed.rows] == list(range(2, 73))
    drafts = [draft for _, draft in parsed.rows]
    assert sum(d.civilian_killed for d in drafts) == 32
    assert sum(d.civilian_injured for d in drafts) == 80
    assert sum(d.military_killed for d in drafts) == 5
    assert sum(d.military_injured for d in drafts) == 9
    # The one row whose source does not name the district keeps it empty, as the seed does.
    assert [d.date for d in drafts if d.district_id is None] == [dt.date(2023, 9, 24)]


def test_a_valid_file_gives_typed_drafts(gazetteer: Gazetteer) -> None:
    rows = valid_rows()
    parsed = parse_csv(to_csv(rows), gazetteer, TODAY)
    assert parsed.ok
    (l1, first), (l2, month), (l3, year), (l4, cyrillic) = parsed.rows
    assert (l1, l2, l3, l4) == (2, 3, 4, 5)
    assert first.date == dt.date(2022, 5, 10) and first.precision is DatePrecision.DAY
    assert first.district_id == gazetteer.resolve("Kalbajar")
    assert (first.civilian_killed, first.civilian_injured) == (1, 2)
    assert first.device is Device.ANTIPERSONNEL and first.activity == "farming"
    assert first.settlement == "Chirag" and first.note == "A farmer was injured by a mine."
    assert first.source_url == rows[0]["source_url"]
    assert (month.date, month.precision) == (dt.date(2023, 7, 1), DatePrecision.MONTH)
    assert month.district_id == gazetteer.resolve("Aghdam")
    assert month.device is Device.UNKNOWN and month.activity is None
    assert (year.date, year.precision, year.district_id) == (
        dt.date(2021, 1, 1),
        DatePrecision.YEAR,
        None,
    )
    assert cyrillic.district_id == gazetteer.resolve("Kalbajar")
    assert cyrillic.device is Device.ANTIVEHICLE


def test_bom_crlf_semicolons_column_order_and_blank_lines(gazetteer: Gazetteer) -> None:
    rows = valid_rows()
    expected = [draft for _, draft in parse_csv(to_csv(rows), gazetteer, TODAY).rows]
    header = list(reversed(COLUMNS))
    variants = [
        to_csv(rows, bom=True),
        to_csv(rows, newline="\r\n"),
        to_csv(rows, delimiter=";"),
        to_csv(rows, header=header, bom=True, newline="\r\n"),
        to_csv(rows).replace(b"\n", b"\n\n"),
        # Only the required columns.
        to_csv(rows, header=imports.REQUIRED_COLUMNS),
    ]
    for data in variants[:5]:
        parsed = parse_csv(data, gazetteer, TODAY)
        assert parsed.ok, parsed.problems
        assert [draft for _, draft in parsed.rows] == expected
    minimal = parse_csv(variants[5], gazetteer, TODAY)
    assert minimal.ok and len(minimal.rows) == 4
    assert all(d.device is Device.UNKNOWN and d.note is None for _, d in minimal.rows)
    # Blank lines keep the file's numbering: rows start on lines 3, 5, 7 and 9.
    assert [line for line, _ in parse_csv(variants[4], gazetteer, TODAY).rows] == [3, 5, 7, 9]


def test_a_quoted_value_over_several_lines_is_numbered_where_its_row_starts(
    gazetteer: Gazetteer,
) -> None:
    rows = [row(description="two\nlines"), row(civilian_killed="-1")]
    problem = only_problem(to_csv(rows), gazetteer)
    assert (problem.line, problem.column, problem.kind) == (4, "civilian_killed", "bad_number")
    parsed = parse_csv(to_csv(rows[:1]), gazetteer, TODAY)
    assert parsed.rows[0][1].note == "two lines"


MALFORMED = [
    ("date", "2023-02-30", ProblemKind.BAD_DATE, None),
    ("date", "2023-13", ProblemKind.BAD_DATE, None),
    ("date", "13.07.2023", ProblemKind.BAD_DATE, None),
    ("date", "yesterday", ProblemKind.BAD_DATE, None),
    ("date", "2099-01-01", ProblemKind.FUTURE_DATE, None),
    ("date", "1850-01-01", ProblemKind.TOO_OLD, None),
    ("date", "", ProblemKind.MISSING, None),
    ("date_precision", "week", ProblemKind.UNKNOWN_PRECISION, None),
    ("civilian_killed", "-1", ProblemKind.BAD_NUMBER, None),
    ("civilian_injured", "1.5", ProblemKind.BAD_NUMBER, None),
    ("military_killed", "٣", ProblemKind.BAD_NUMBER, None),
    ("military_injured", "two", ProblemKind.BAD_NUMBER, None),
    ("civilian_killed", "", ProblemKind.MISSING, None),
    ("civilian_injured", "1001", ProblemKind.TOO_LARGE, validation.MAX_COUNT),
    ("military_injured", "99999999999999999999", ProblemKind.TOO_LARGE, validation.MAX_COUNT),
    ("source_url", "javascript:alert(1)", ProblemKind.BAD_URL, None),
    ("source_url", "ftp://example.org/file", ProblemKind.BAD_URL, None),
    ("source_url", "https://user:pw@example.org/", ProblemKind.BAD_URL, None),
    ("source_url", "https://localhost/x", ProblemKind.BAD_URL, None),
    ("source_url", 'https://example.org/"><script>', ProblemKind.BAD_URL, None),
    (
        "source_url",
        "https://example.org/" + "a" * 2100,
        ProblemKind.TOO_LONG,
        validation.MAX_URL,
    ),
    ("source_url", "", ProblemKind.MISSING, None),
    ("description", "x" * 5000, ProblemKind.TOO_LONG, validation.MAX_NOTE),
    ("settlement", "y" * 201, ProblemKind.TOO_LONG, validation.MAX_PLACE),
    ("activity", "z" * 65, ProblemKind.TOO_LONG, validation.MAX_ACTIVITY),
    ("source_title", "t" * 1001, ProblemKind.TOO_LONG, imports.MAX_TITLE),
    ("date_note", "n" * 1001, ProblemKind.TOO_LONG, validation.MAX_NOTE),
    ("district", "<script>alert(1)</script>", ProblemKind.UNKNOWN_DISTRICT, None),
    ("device", "bomb", ProblemKind.UNKNOWN_DEVICE, None),
]


@pytest.mark.parametrize(("column", "value", "kind", "limit"), MALFORMED)
def test_each_malformed_value_is_named_by_line_and_column(
    gazetteer: Gazetteer, column: str, value: str, kind: ProblemKind, limit: int | None
) -> None:
    rows = [row(), row(**{column: value}), row()]
    problem = only_problem(to_csv(rows), gazetteer)
    assert (problem.line, problem.column, problem.kind, problem.limit) == (3, column, kind, limit)
    assert len(problem.value) <= 60


def test_a_district_with_a_typo_gets_suggestions(gazetteer: Gazetteer) -> None:
    problem = only_problem(to_csv([row(district="Kalbajr")]), gazetteer)
    assert problem.kind is ProblemKind.UNKNOWN_DISTRICT
    assert problem.hints[0] == gazetteer.resolve("Kalbajar")


def test_a_date_less_exact_than_its_precision_is_refused(gazetteer: Gazetteer) -> None:
    problem = only_problem(to_csv([row(date="2023-07", date_precision="day")]), gazetteer)
    assert (problem.column, problem.kind) == ("date", ProblemKind.BAD_DATE)
    # More exact is fine: the span is the month.
    parsed = parse_csv(to_csv([row(date="2023-07-13", date_precision="month")]), gazetteer, TODAY)
    assert parsed.rows[0][1].span == (dt.date(2023, 7, 1), dt.date(2023, 7, 31))


def test_a_row_without_casualties_is_refused(gazetteer: Gazetteer) -> None:
    problem = only_problem(to_csv([row(civilian_injured="0")]), gazetteer)
    assert (problem.line, problem.column, problem.kind) == (2, None, "no_casualties")


def test_html_and_control_characters_are_kept_as_text(gazetteer: Gazetteer) -> None:
    text = "<b>bold</b> & <a href='x'>link</a>\x00\x07 end"
    parsed = parse_csv(to_csv([row(description=text, settlement="<i>")]), gazetteer, TODAY)
    ((_, draft),) = parsed.rows
    assert draft.note == "<b>bold</b> & <a href='x'>link</a> end"
    assert draft.settlement == "<i>"


def test_every_row_is_checked_and_one_bad_row_spoils_the_file(gazetteer: Gazetteer) -> None:
    rows = [
        row(),
        row(date="2023-02-30", civilian_killed="-5"),
        row(),
        row(source_url="javascript:void(0)"),
        row(),
    ]
    parsed = parse_csv(to_csv(rows), gazetteer, TODAY)
    assert parsed.rows == ()
    assert [(p.line, p.column, p.kind) for p in parsed.problems] == [
        (3, "date", "bad_date"),
        (3, "civilian_killed", "bad_number"),
        (5, "source_url", "bad_url"),
    ]


def test_missing_unknown_and_repeated_columns(gazetteer: Gazetteer) -> None:
    header = [c for c in COLUMNS if c not in ("district", "source_url")]
    problem = only_problem(to_csv([row()], header=header), gazetteer)
    assert problem.kind is ProblemKind.MISSING_COLUMNS
    assert problem.names == ("district", "source_url")
    data = b"date,district,civilan_killed,civilian_injured,military_killed,military_injured,source_url,district\n"
    parsed = parse_csv(data, gazetteer, TODAY)
    assert [(p.kind, p.names) for p in parsed.problems] == [
        (ProblemKind.MISSING_COLUMNS, ("civilian_killed",)),
        (ProblemKind.UNKNOWN_COLUMNS, ("civilan_killed",)),
        (ProblemKind.REPEATED_COLUMNS, ("district",)),
    ]


def test_a_row_with_too_many_or_too_few_values(gazetteer: Gazetteer) -> None:
    good = to_csv([row()]).decode()
    line = good.splitlines()[1]
    data = "\n".join([good.splitlines()[0], line + ",extra", line.rsplit(",", 3)[0], line + ",,"])
    parsed = parse_csv(data.encode(), gazetteer, TODAY)
    assert [(p.line, p.kind, p.value, p.limit) for p in parsed.problems] == [
        (2, ProblemKind.FIELD_COUNT, "15", 14),
        (3, ProblemKind.FIELD_COUNT, "11", 14),
    ]  # the empty cells a spreadsheet adds at the end of line 4 are fine


@pytest.mark.parametrize(
    ("data", "kind", "line"),
    [
        (b"", ProblemKind.EMPTY_FILE, None),
        (b"\n\n  \n", ProblemKind.EMPTY_FILE, None),
        (",".join(COLUMNS).encode() + b"\n", ProblemKind.NO_ROWS, None),
        (",".join(COLUMNS).encode() + b"\n2022-01-01,day,Kalbajar,\xe7\xe4\n", "not_utf8", 2),
        (",".join(COLUMNS).encode() + b'\n\n"2022-01-01,day\n', ProblemKind.BAD_CSV, 3),
    ],
)
def test_files_that_are_not_a_dataset(
    gazetteer: Gazetteer, data: bytes, kind: ProblemKind, line: int | None
) -> None:
    problem = only_problem(data, gazetteer)
    assert (problem.kind, problem.line) == (kind, line)


def test_too_many_rows(gazetteer: Gazetteer) -> None:
    rows = [row() for _ in range(imports.MAX_ROWS)]
    assert parse_csv(to_csv(rows), gazetteer, TODAY).ok
    problem = only_problem(to_csv([*rows, row()]), gazetteer)
    assert (problem.kind, problem.limit, problem.line) == (
        ProblemKind.TOO_MANY_ROWS,
        imports.MAX_ROWS,
        imports.MAX_ROWS + 2,
    )


def import_problem_kinds() -> set[ProblemKind]:
    """Every kind of problem an import can report: those the parser (db.domain.csv_rows) names, and those
    of the checks of db.domain.validation (shared with the admin forms) that it calls."""
    checks = [
        f
        for f in vars(csv_parser).values()
        if inspect.isfunction(f) and f.__module__ == "db.domain.validation"
    ]
    source = inspect.getsource(csv_parser) + "".join(inspect.getsource(f) for f in checks)
    return {ProblemKind[name] for name in re.findall(r"ProblemKind\.([A-Z0-9_]+)", source)}


@pytest.mark.parametrize("lang", ["az", "en", "ru"])
def test_every_problem_an_import_can_report_is_worded_in_each_language(
    catalogs: Catalogs, gazetteer: Gazetteer, lang: str
) -> None:
    kinds = import_problem_kinds()
    # The parser's own kinds and the shared checks' are both found.
    assert {ProblemKind.NOT_UTF8, ProblemKind.FIELD_COUNT, ProblemKind.UNKNOWN_DEVICE} <= kinds
    assert {ProblemKind.BAD_NUMBER, ProblemKind.BAD_URL, ProblemKind.EMPTY} <= kinds
    t, en = catalogs.translator(lang), catalogs.translator("en")

    def worded(kind: ProblemKind, t: Translator) -> str:
        problem = ImportProblem(kind, 3, "civilian_killed", "x", limit=7, names=("district",))
        return import_problem_text(t, gazetteer, problem)

    # Every kind, the import's and the others (those of /stats words fall through to one text).
    texts = {kind: worded(kind, t) for kind in ProblemKind}
    for kind in sorted(kinds):
        text = texts[kind]
        assert text.strip() and text != kind.value, (kind, text)
        if lang != "en":  # translated, not the English msgid
            assert text != worded(kind, en), (kind, text)
        # Worded as that kind: a kind the renderer does not know would share another's text.
        assert [k for k, other in texts.items() if other == text] == [kind], (kind, text)


def test_the_format_has_the_count_columns_of_the_store() -> None:
    assert [c for c in COLUMNS if c in COUNT_FIELDS] == list(COUNT_FIELDS)
    assert set(COUNT_FIELDS) <= set(imports.REQUIRED_COLUMNS)


@pytest.mark.parametrize(
    ("name", "mime", "expected"),
    [
        ("incidents.csv", None, True),
        ("INCIDENTS.CSV", "application/octet-stream", True),
        ("export", "text/csv", True),
        ("export.txt", "text/comma-separated-values", True),
        ("photo.png", "image/png", False),
        ("table.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", False),
        (None, None, False),
    ],
)
def test_what_counts_as_a_csv_file(name: str | None, mime: str | None, expected: bool) -> None:
    assert imports.is_csv(name, mime) is expected


# -- rendering ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "ru", "az"])
def test_thousands_of_problems_fit_in_one_message(
    catalogs: Catalogs, gazetteer: Gazetteer, lang: str
) -> None:
    t = catalogs.translator(lang)
    rows = [row(date="2023-02-30", civilian_killed="-1", district="<b>Ner&lt;</b>")] * 1000
    parsed = parse_csv(to_csv(rows), gazetteer, TODAY)
    assert len(parsed.problems) == 3000
    text = render_import_problems(t, gazetteer, "x" * 300 + ".csv", parsed.problems)
    assert message_length(text, "HTML") <= MAX_MESSAGE
    more = t.ngettext("… and {n} more", "… and {n} more", 2).split("{")[0]
    assert more in text
    assert "<b>Ner" not in text and "&lt;b&gt;Ner&amp;lt;&lt;/b&gt;" in text


def test_problems_are_worded_by_line_and_column(catalogs: Catalogs, gazetteer: Gazetteer) -> None:
    t = catalogs.translator("en")
    rows = [row(), row(civilian_killed="-1", source_url="javascript:alert(1)")]
    words = [
        problem_line(t, gazetteer, p) for p in parse_csv(to_csv(rows), gazetteer, TODAY).problems
    ]
    assert words == [
        "Line 3: civilian_killed: “-1” is not a whole number of 0 or more.",
        "Line 3: source_url: “javascript:alert(1)” is not an http(s) link.",
    ]
    header = [c for c in COLUMNS if c != "district"]
    missing = only_problem(to_csv([row()], header=header), gazetteer)
    assert problem_line(t, gazetteer, missing) == "The header lacks a required column: “district”."


def test_an_import_for_review_and_its_outcome_in_words(
    catalogs: Catalogs, gazetteer: Gazetteer
) -> None:
    t = catalogs.translator("en")
    rows = parse_csv(to_csv(valid_rows()), gazetteer, TODAY).rows
    payload = review_payload(rows, "april.csv")
    assert import_change_lines(t, payload) == [
        "4 rows · april.csv",
        "To be added to the figures: 2 people killed, 6 people injured.",
    ]
    report = ImportReport(added=[80, 81, 82], skipped=[3])
    assert import_outcome(t, payload, report).splitlines() == [
        "Imported from april.csv",
        "3 incidents added: #80–#82.",
        "1 row skipped as a duplicate (already in the store or earlier in the file): line 3.",
        "Added to the figures: 2 people killed, 5 people injured.",
    ]


def test_incident_numbers_are_shown_as_ranges() -> None:
    assert id_ranges([5, 3, 4, 9, 11, 10, 20]) == ["#3–#5", "#9–#11", "#20"]
    assert id_ranges([]) == []


# -- the store ------------------------------------------------------------------------------------


async def _count(services: Services, model: Any) -> int:
    async with services.store.db.read() as connection:
        return int(await connection.scalar(select(func.count()).select_from(model)) or 0)


async def _national(services: Services) -> Counts:
    async with services.store.db.read() as connection:
        return (await queries.stats(connection, IncidentFilter(period=Period()))).counts


async def test_an_import_adds_new_rows_once_with_an_audit_entry_each(
    sandbox: Services,
) -> None:
    rows = valid_rows()
    parsed = parse_csv(to_csv([*rows, rows[0]]), sandbox.gazetteer, TODAY)
    before = await _national(sandbox)
    audits = await _count(sandbox, AuditEntry)
    async with sandbox.store.db.read() as connection:
        assert await present_lines(connection, parsed.rows) == [6]
    report = await sandbox.store.imports.import_rows(ImportRequest(parsed.rows, Operator.SHELL))
    assert len(report.added) == 4 and report.skipped == (6,)
    after = await _national(sandbox)
    killed, injured = sums(rows)
    assert after.killed == before.killed + killed and after.injured == before.injured + injured
    # One audit entry per incident and one for the import, by the shell (actor NULL).
    assert await _count(sandbox, AuditEntry) == audits + 5
    async with sandbox.store.db.read() as connection:
        entries = (
            await connection.execute(
                select(AuditEntry.action, AuditEntry.actor, AuditEntry.incident_id)
                .order_by(AuditEntry.id.desc())
                .limit(5)
            )
        ).all()
    assert sorted(e.action for e in entries) == ["import", *["incident.add"] * 4]
    assert {e.actor for e in entries} == {None}
    assert {e.incident_id for e in entries if e.action == "incident.add"} == set(report.added)
    # Again: everything is skipped.
    again = await sandbox.store.imports.import_rows(ImportRequest(parsed.rows, Operator.SHELL))
    assert again.added == () and again.skipped == (2, 3, 4, 5, 6)
    assert await _national(sandbox) == after


async def test_an_import_that_fails_half_way_leaves_nothing(
    sandbox: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed = parse_csv(to_csv(valid_rows()), sandbox.gazetteer, TODAY)
    incidents, audits = await _count(sandbox, Incident), await _count(sandbox, AuditEntry)
    before = await _national(sandbox)
    real = changes.totals.apply_many
    calls = 0

    async def failing(*args: Any, **kwargs: Any) -> None:
        # The incidents are already flushed to the database when the totals fail.
        nonlocal calls
        calls += 1
        await real(*args, **kwargs)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(changes.totals, "apply_many", failing)
    with pytest.raises(RuntimeError):
        await sandbox.store.imports.import_rows(ImportRequest(parsed.rows, OWNER))
    assert calls == 1
    assert await _count(sandbox, Incident) == incidents
    assert await _count(sandbox, AuditEntry) == audits
    assert await _national(sandbox) == before


# -- the chat -------------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def bot(settings: Settings) -> AsyncIterator[EmulatedBot]:
    owners = frozenset({OWNER, RU_OWNER})
    async with emulated_bot(settings, "123456789:IMPORT-TOKEN", admin_ids=owners) as running:
        for user, lang in ((OWNER, "en"), (RU_OWNER, "ru"), (EDITOR, "ru"), (STRANGER, "az")):
            running.emulator.add_private_chat(user, first_name="Admin", language_code=lang)
        running.emulator.add_group_chat(
            GROUP, "Deminers", member_ids=(STRANGER, EDITOR), admin_ids=(OWNER,)
        )
        # The Russian owner chose Russian (/language): what the bot sends them on its own, a
        # review request, is in the chat's stored language. (This file passed only after
        # test_admin.py, which makes the same choice for the same user.)
        async with running.services.store.db.transaction() as session:
            await chats.set_chat_language(session, RU_OWNER, "ru")
        yield running


OWNERS = {"en": OWNER, "ru": RU_OWNER}


def _plain(messages: list[SentMessage]) -> str:
    return "\n".join(m.plain or "" for m in messages)


def _has_line_starting(text: str, start: str) -> bool:
    return re.search(rf"(?<![\d\w]){re.escape(start)}", text) is not None


def _downloads(bot: EmulatedBot) -> int:
    return sum(1 for r in bot.emulator.requests if r.method == "getFile")


def _button(message: SentMessage, label: str) -> str:
    for button in message.buttons:
        if button["text"] == label:
            return str(button["callback_data"])
    raise AssertionError(f"no button {label!r} in {[b['text'] for b in message.buttons]}")


async def _stats(bot: EmulatedBot, user: int) -> str:
    return _plain(await bot.send(user, "/stats"))


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_an_owner_imports_a_file_and_the_figures_follow(
    bot: EmulatedBot, catalogs: Catalogs, sandbox: Services, lang: str
) -> None:
    owner, t = OWNERS[lang], catalogs.translator(lang)
    rows = valid_rows()
    killed, injured = sums(rows)
    before = await _national(sandbox)
    incidents = await _count(sandbox, Incident)
    reply = only(await bot.send_document(owner, "new-incidents.csv", to_csv(rows)))
    text = reply.plain or ""
    assert text.startswith(t._("Imported from {file}").format(file="new-incidents.csv"))
    first, last = (int(n) for n in re.findall(r"#(\d+)", text)[:2])
    assert last == first + 3
    named = t.ngettext("{n} incident added: {ids}.", "{n} incidents added: {ids}.", 4)
    assert named.format(n=4, ids=f"#{first}–#{last}") in text
    added = t._("Added to the figures: {killed}, {injured}.").format(
        killed=killed_line(t, killed), injured=injured_line(t, injured)
    )
    assert added in text
    assert await _count(sandbox, Incident) == incidents + 4
    after = await _national(sandbox)
    assert (after.killed, after.injured) == (before.killed + killed, before.injured + injured)
    stats = await _stats(bot, owner)
    assert _has_line_starting(stats, killed_line(t, after.killed))
    assert _has_line_starting(stats, injured_line(t, after.injured))
    # The new incidents are the ones named, recorded by the owner.
    async with sandbox.store.db.read() as connection:
        ids = set(
            (
                await connection.scalars(select(Incident.id).where(Incident.created_by == owner))
            ).all()
        )
    assert set(range(first, last + 1)) <= ids

    # The same file again: all skipped as duplicates, nothing changes.
    again = only(await bot.send_document(owner, "new-incidents.csv", to_csv(rows)))
    skipped = t.ngettext(
        "{n} row skipped as a duplicate (already in the store or earlier in the file): line "
        "{lines}.",
        "{n} rows skipped as duplicates (already in the store or earlier in the file): lines "
        "{lines}.",
        4,
    ).format(n=4, lines="2, 3, 4, 5")
    assert skipped in (again.plain or "")
    assert t._("No incident was added.") in (again.plain or "")
    assert await _national(sandbox) == after
    assert await _count(sandbox, Incident) == incidents + 4


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_one_bad_row_among_valid_ones_imports_nothing(
    bot: EmulatedBot, catalogs: Catalogs, sandbox: Services, lang: str
) -> None:
    owner, t = OWNERS[lang], catalogs.translator(lang)
    rows = [row(), row(), row(civilian_killed="-1"), row()]
    before = await _national(sandbox)
    incidents = await _count(sandbox, Incident)
    text = only(await bot.send_document(owner, "batch.csv", to_csv(rows))).plain or ""
    assert text.startswith(t._("Nothing was imported from {file}.").format(file="batch.csv"))
    bad = ImportProblem(ProblemKind.BAD_NUMBER, 4, "civilian_killed", "-1")
    assert problem_line(t, sandbox.gazetteer, bad) in text
    if lang == "en":
        assert "Line 4: civilian_killed: “-1” is not a whole number of 0 or more." in text
    assert await _count(sandbox, Incident) == incidents
    assert await _national(sandbox) == before


async def test_every_kind_of_malformed_value_is_listed_in_the_chat(
    bot: EmulatedBot, sandbox: Services
) -> None:
    rows = [
        row(date="2023-02-30"),
        row(civilian_killed="-3"),
        row(military_injured="1000000000000"),
        row(source_url="javascript:alert(document.cookie)"),
        row(description="d" * 5000),
        row(district="<b>Atlantis</b>", settlement="<script>x</script>"),
        row(),
    ]
    incidents = await _count(sandbox, Incident)
    reply = only(await bot.send_document(OWNER, "bad.csv", to_csv(rows)))
    text = reply.plain or ""
    assert "6 problems were found" in text
    for expected in (
        "Line 2: date: “2023-02-30” is not a valid date",
        "Line 3: civilian_killed: “-3” is not a whole number of 0 or more.",
        "Line 4: military_injured: “1000000000000” is more than 1,000.",
        "Line 5: source_url: “javascript:alert(document.cookie)” is not an http(s) link.",
        "Line 6: description: longer than 1,000 characters.",
        "Line 7: district: “<b>Atlantis</b>” is not a known district.",
    ):
        assert expected in text
    assert "Line 8" not in text
    # The heading is the only markup: the district's tags are text.
    assert [e["type"] for e in reply.entities] == ["bold"]
    assert await _count(sandbox, Incident) == incidents


async def test_html_in_an_imported_row_is_shown_as_text(
    bot: EmulatedBot, sandbox: Services
) -> None:
    note = "<b>not bold</b> & <a href='https://evil.example'>not a link</a>"
    rows = [row(date="2019-03-03", description=note, settlement="<i>Village</i>")]
    text = only(await bot.send_document(OWNER, "html.csv", to_csv(rows))).plain or ""
    (incident_id,) = re.findall(r"#(\d+)", text)
    history = only(await bot.send(OWNER, f"/history {incident_id}"))
    assert "<i>Village</i>" in (history.plain or "")
    assert note in (history.plain or "")
    assert all(e["type"] != "text_link" or "evil" not in e.get("url", "") for e in history.entities)


@pytest.mark.parametrize(("user", "lang"), [(STRANGER, "az"), (STRANGER + 1, "en")])
async def test_a_stranger_is_refused_and_nothing_is_downloaded(
    bot: EmulatedBot, catalogs: Catalogs, sandbox: Services, user: int, lang: str
) -> None:
    bot.emulator.add_private_chat(user, first_name="Reader", language_code=lang)
    incidents, downloads = await _count(sandbox, Incident), _downloads(bot)
    reply = only(await bot.send_document(user, "incidents.csv", to_csv(valid_rows())))
    assert reply.plain == refused_text(catalogs.translator(lang), False)
    assert only(await bot.send(user, "/import")).plain == reply.plain
    assert _downloads(bot) == downloads
    assert await _count(sandbox, Incident) == incidents


async def test_an_editors_import_waits_for_an_owner(
    bot: EmulatedBot, catalogs: Catalogs, sandbox: Services
) -> None:
    ru = catalogs.translator("ru")
    assert "is now an editor" in _plain(await bot.send(OWNER, f"/admin add {EDITOR}"))
    rows = valid_rows()
    known = row(date="2023-01-01")
    await bot.send_document(OWNER, "known.csv", to_csv([known]))
    killed, injured = sums(rows)
    before = await _national(sandbox)
    incidents = await _count(sandbox, Incident)
    sent_before = len(bot.emulator.sent)
    reply = only(await bot.send_document(EDITOR, "editor.csv", to_csv([*rows, known])))
    text = reply.plain or ""
    assert text.startswith(ru._("Import from {file}, not applied yet").format(file="editor.csv"))
    assert ru.ngettext("{n} row", "{n} rows", 5).format(n=5) in text
    assert "6." in text  # the known row, line 6, will be skipped
    to_add = ru._("To be added to the figures: {killed}, {injured}.").format(
        killed=killed_line(ru, killed), injured=injured_line(ru, injured)
    )
    assert to_add in text
    assert [b["text"] for b in reply.buttons] == [ru.pgettext("button", "Undo")]
    # Nothing counts yet.
    assert await _count(sandbox, Incident) == incidents
    assert await _national(sandbox) == before
    async with sandbox.store.db.read() as connection:
        change = (
            await connection.execute(
                select(Change.id, Change.status, Change.payload).order_by(Change.id.desc()).limit(1)
            )
        ).one()
    assert change.status == ChangeStatus.PENDING
    assert change.payload["file"] == "editor.csv" and len(change.payload["rows"]) == 5
    # Both owners get the change with Approve and Reject.
    cards = {
        m.chat_id: m for m in bot.emulator.sent[sent_before:] if m.chat_id in (OWNER, RU_OWNER)
    }
    assert set(cards) == {OWNER, RU_OWNER}
    card = cards[OWNER]
    assert "Import of incidents" in (card.plain or "") and "editor.csv" in (card.plain or "")
    # The owner approves: the new rows count now, the known one is skipped; the editor is told.
    done = _plain(await bot.press(OWNER, card.message_id, _button(card, "Approve")))
    assert f"Change {change.id} approved." in done
    after = await _national(sandbox)
    assert (after.killed, after.injured) == (before.killed + killed, before.injured + injured)
    assert await _count(sandbox, Incident) == incidents + 4
    told = [m for m in bot.emulator.sent if m.chat_id == EDITOR][-1]
    assert told.plain == ru._("Your change {id} was approved by {user}.").format(
        id=change.id, user=OWNER
    )
    # The incidents are the editor's, applied with the change, in the audit trail.
    async with sandbox.store.db.read() as connection:
        entries = (
            await connection.execute(
                select(AuditEntry.action, AuditEntry.actor).where(AuditEntry.change_id == change.id)
            )
        ).all()
    actions = sorted(e.action for e in entries)
    assert actions == sorted(["change.propose", "change.approve", "import", *["incident.add"] * 4])
    assert {e.actor for e in entries if e.action == "incident.add"} == {EDITOR}
    # The other owner's card is decided already: pressing it changes nothing.
    other = cards[RU_OWNER]
    await bot.press(RU_OWNER, other.message_id, _button(other, ru.pgettext("button", "Approve")))
    assert await _national(sandbox) == after


async def test_an_editor_withdraws_an_import_waiting_for_review(
    bot: EmulatedBot, catalogs: Catalogs, sandbox: Services
) -> None:
    await bot.send(OWNER, f"/admin add {EDITOR}")
    ru = catalogs.translator("ru")
    incidents = await _count(sandbox, Incident)
    proposal = only(await bot.send_document(EDITOR, "later.csv", to_csv(valid_rows())))
    undo = _button(proposal, ru.pgettext("button", "Undo"))
    withdrawn = only(await bot.press(EDITOR, proposal.message_id, undo))
    assert "Nothing is waiting for review." in _plain(await bot.send(OWNER, "/pending"))
    async with sandbox.store.db.read() as connection:
        change_id, status = (
            await connection.execute(
                select(Change.id, Change.status).order_by(Change.id.desc()).limit(1)
            )
        ).one()
    assert withdrawn.plain == ru._("Change {id} is withdrawn.").format(id=change_id)
    assert status == ChangeStatus.WITHDRAWN
    assert await _count(sandbox, Incident) == incidents


async def test_an_editors_file_with_nothing_new_bothers_no_reviewer(
    bot: EmulatedBot, sandbox: Services
) -> None:
    await bot.send(OWNER, f"/admin add {EDITOR}")
    changes_before = await _count(sandbox, Change)
    sent_before = len(bot.emulator.sent)
    data = (DEFAULT_SEED_DIR / "incidents.csv").read_bytes()
    reply = only(await bot.send_document(EDITOR, "incidents.csv", data))
    assert "71" in (reply.plain or "")
    assert await _count(sandbox, Change) == changes_before
    assert not [m for m in bot.emulator.sent[sent_before:] if m.chat_id in (OWNER, RU_OWNER)]


async def test_with_review_off_an_editors_import_applies_at_once(
    bot: EmulatedBot, sandbox: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bot.send(OWNER, f"/admin add {EDITOR}")
    access = bot.services.store.access
    monkeypatch.setattr(access, "policy", replace(access.policy, review_required=False))
    incidents = await _count(sandbox, Incident)
    reply = only(await bot.send_document(EDITOR, "direct.csv", to_csv([row()])))
    assert not reply.buttons
    assert await _count(sandbox, Incident) == incidents + 1


async def test_files_that_are_not_csv_or_too_large_are_not_downloaded(
    bot: EmulatedBot, catalogs: Catalogs, sandbox: Services
) -> None:
    t = catalogs.translator("en")
    downloads = _downloads(bot)
    not_csv = only(await bot.send_document(OWNER, "photo.png", b"\x89PNG", mime_type="image/png"))
    assert not_csv.text == render_not_csv(t)
    big = to_csv([row()]) + b" " * imports.MAX_FILE_BYTES
    too_large = only(await bot.send_document(OWNER, "big.csv", big))
    assert too_large.text == render_too_large(t)
    assert _downloads(bot) == downloads
    # A CSV by its media type only is read.
    reply = only(
        await bot.send_document(
            OWNER, "export", to_csv([row(civilian_killed="x")]), mime_type="text/csv"
        )
    )
    assert "Line 2: civilian_killed" in (reply.plain or "")
    assert _downloads(bot) == downloads + 1


async def test_import_alone_explains_how(bot: EmulatedBot, catalogs: Catalogs) -> None:
    t = catalogs.translator("ru")
    assert only(await bot.send(RU_OWNER, "/import")).text == import_usage(t)


async def test_import_in_reply_to_a_file(bot: EmulatedBot, sandbox: Services) -> None:
    """In a group, a file sent without the caption is left alone; an owner's /import in reply
    to it imports it."""
    app = bot.app
    assert isinstance(app, TrackedApplication)
    incidents = await _count(sandbox, Incident)
    before = len(bot.emulator.sent)
    posted = bot.emulator.user_sends_document(STRANGER, "list.csv", to_csv([row()]), chat_id=GROUP)
    await app.expect(int(posted["update_id"]))
    assert [m for m in bot.emulator.sent[before:] if m.chat_id == GROUP] == []
    update = bot.emulator.user_sends(
        OWNER, "/import", chat_id=GROUP, reply_to=int(posted["message"]["message_id"])
    )
    await app.expect(int(update["update_id"]))
    replies = [m for m in bot.emulator.sent[before:] if m.chat_id == GROUP]
    assert "1 incident added" in _plain(replies)
    assert await _count(sandbox, Incident) == incidents + 1


async def test_in_a_group_only_an_admins_file_captioned_import_is_taken(
    bot: EmulatedBot, catalogs: Catalogs, sandbox: Services
) -> None:
    incidents, downloads = await _count(sandbox, Incident), _downloads(bot)
    data = to_csv([row()])
    # Any file without the caption: not for the bot.
    assert await bot.send_document(OWNER, "a.csv", data, chat_id=GROUP) == []
    assert await bot.send_document(OWNER, "a.csv", data, caption="look", chat_id=GROUP) == []
    # For another bot.
    other = await bot.send_document(
        OWNER, "a.csv", data, caption="/import@other_bot", chat_id=GROUP
    )
    assert other == []
    # A reader's /import is refused.
    refused = only(
        await bot.send_document(STRANGER, "a.csv", data, caption="/import", chat_id=GROUP)
    )
    assert refused.plain == refused_text(catalogs.translator("az"), False)
    assert _downloads(bot) == downloads
    assert await _count(sandbox, Incident) == incidents
    # The owner's is imported.
    reply = only(
        await bot.send_document(OWNER, "a.csv", data, caption="/import@casualty_bot", chat_id=GROUP)
    )
    assert "1 incident added" in (reply.plain or "")
    assert await _count(sandbox, Incident) == incidents + 1


# -- the shell ------------------------------------------------------------------------------------


def _cli(database: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"TELEGRAM_BOT_TOKEN", "ADMIN_IDS"}}
    env.update(DATABASE_URL=f"sqlite:///{database}", DEFAULT_LANGUAGE="en")
    return subprocess.run(
        [sys.executable, "-m", "bot", "import", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )


def _incidents(database: Path) -> tuple[int, int, int]:
    """Incidents, and killed and injured over the published ones, read straight from the file."""
    with sqlite3.connect(database) as connection:
        (count,) = connection.execute("SELECT count(*) FROM incidents").fetchone()
        killed, injured = connection.execute(
            "SELECT sum(civilian_killed + military_killed), "
            "sum(civilian_injured + military_injured) FROM incidents WHERE status = 'published'"
        ).fetchone()
    return int(count), int(killed), int(injured)


def test_the_shell_imports_a_file_all_or_nothing(tmp_path: Path) -> None:
    database = tmp_path / "cli.sqlite3"
    rows = valid_rows()
    good = tmp_path / "good.csv"
    good.write_bytes(to_csv(rows, bom=True))
    # A dry run loads the dataset into the new database and writes nothing else.
    dry = _cli(database, str(good), "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "good.csv has no problem; nothing was written." in dry.stdout
    assert _incidents(database) == (71, 37, 89)
    # The import.
    result = _cli(database, str(good), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    killed, injured = sums(rows)
    assert "Imported from good.csv" in result.stdout
    assert "4 incidents added: #72–#75." in result.stdout
    assert _incidents(database) == (75, 37 + killed, 89 + injured)
    with sqlite3.connect(database) as connection:
        actors = connection.execute(
            "SELECT DISTINCT actor FROM audit_log WHERE action IN ('import', 'incident.add')"
        ).fetchall()
    assert actors == [(None,)]
    # Again: all duplicates, exit status 0.
    again = _cli(database, str(good), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "4 rows skipped as duplicates" in again.stdout
    assert _incidents(database) == (75, 37 + killed, 89 + injured)
    # One bad row: the errors by line on stderr, exit status 1, nothing imported.
    bad = tmp_path / "bad.csv"
    bad.write_bytes(to_csv([row(), row(date="2023-02-30"), row(source_url="javascript:x")]))
    failed = _cli(database, str(bad), cwd=tmp_path)
    assert failed.returncode == 1
    assert failed.stdout == ""
    assert f"{bad}:3: date: “2023-02-30” is not a valid date" in failed.stderr
    assert f"{bad}:4: source_url: “javascript:x” is not an http(s) link." in failed.stderr
    assert "Nothing was imported from bad.csv." in failed.stderr
    assert _incidents(database) == (75, 37 + killed, 89 + injured)
    # A file that is not there.
    missing = _cli(database, str(tmp_path / "nope.csv"), cwd=tmp_path)
    assert missing.returncode == 2
    assert "nope.csv" in missing.stderr and "Traceback" not in missing.stderr


def test_the_shell_names_missing_columns(tmp_path: Path) -> None:
    database = tmp_path / "cli.sqlite3"
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("date;place;killed\n2022-01-01;x;1\n", encoding="utf-8")
    result = _cli(database, str(wrong), cwd=tmp_path)
    assert result.returncode == 1
    assert (
        f"{wrong}:1: The header lacks required columns: “district”, “civilian_killed”, "
        "“civilian_injured”, “military_killed”, “military_injured”, “source_url”." in result.stderr
    )
    assert _incidents(database)[0] == 71
