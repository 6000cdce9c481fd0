"""The parser of an import: every row of a CSV file in the dataset's format (``incidents.csv``,
see ``db/seed/azerbaijan/README.md`` and :mod:`db.domain.imports`) checked, and which rows the
store has already. The import itself (all or nothing, review) is ``db.store.imports``.

:func:`parse_csv` is pure: it reads the file's bytes and returns the rows as drafts, or the
problems found, each with its line and column, its kind, the value and the limit broken. The
rendering layer words them in the reader's language. Any problem anywhere means nothing is
imported. The checks of single values are those of the admin forms (``db.domain.validation``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from db.domain.drafts import COUNT_FIELDS, IncidentDraft, date_span
from db.domain.gazetteer import Gazetteer
from db.domain.imports import COLUMNS, MAX_ROWS, MAX_TITLE, REQUIRED_COLUMNS, ImportProblem
from db.domain.problems import ProblemKind
from db.domain.records import DatePrecision, Device
from db.domain.validation import (
    MAX_ACTIVITY,
    MAX_NOTE,
    MAX_PLACE,
    MIN_YEAR,
    Invalid,
    check_count,
    check_device,
    check_district,
    check_text,
    check_url,
    clean,
)

#: Optional text columns and their longest length.
TEXT_LIMITS = {
    "settlement": MAX_PLACE,
    "activity": MAX_ACTIVITY,
    "description": MAX_NOTE,
    "source_title": MAX_TITLE,
    "date_note": MAX_NOTE,
}

T = TypeVar("T")
_DATE = re.compile(r"^([0-9]{4})(?:-([0-9]{1,2})(?:-([0-9]{1,2}))?)?$")


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """A file's rows as drafts (line, draft) when it has no problem; else its problems."""

    rows: tuple[tuple[int, IncidentDraft], ...] = ()
    problems: tuple[ImportProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


class _RowInvalid(ValueError):
    def __init__(self, problem: ImportProblem) -> None:
        super().__init__(problem.kind.value)
        self.problem = problem


def _short(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[:limit]


# -- single values --------------------------------------------------------------------------------


def _date(
    value: str, precision_text: str, line: int, today: dt.date
) -> tuple[dt.date, DatePrecision]:
    text = value.strip()
    if not text:
        raise _RowInvalid(ImportProblem(ProblemKind.MISSING, line, "date"))
    match = _DATE.match(text)
    problem = ImportProblem(ProblemKind.BAD_DATE, line, "date", _short(text))
    if match is None:
        raise _RowInvalid(problem)
    year, month, day = (int(g) if g else None for g in match.groups())
    assert year is not None
    written = (
        DatePrecision.DAY
        if day is not None
        else DatePrecision.MONTH
        if month is not None
        else DatePrecision.YEAR
    )
    if precision_text:
        try:
            precision = DatePrecision(precision_text.strip().lower())
        except ValueError:
            raise _RowInvalid(
                ImportProblem(
                    ProblemKind.UNKNOWN_PRECISION,
                    line,
                    "date_precision",
                    _short(clean(precision_text)),
                )
            ) from None
    else:
        precision = written
    # A date may be written more exactly than its precision (2023-07-01 for July 2023), not less.
    order = (DatePrecision.YEAR, DatePrecision.MONTH, DatePrecision.DAY)
    if order.index(written) < order.index(precision):
        raise _RowInvalid(problem)
    if year < MIN_YEAR:
        raise _RowInvalid(ImportProblem(ProblemKind.TOO_OLD, line, "date", _short(text)))
    try:
        start = dt.date(year, month or 1, day or 1)
    except ValueError:
        raise _RowInvalid(problem) from None
    start = date_span(start, precision)[0]
    if start > today:
        raise _RowInvalid(ImportProblem(ProblemKind.FUTURE_DATE, line, "date", _short(text)))
    return start, precision


def _checked(line: int, column: str, check: Callable[[], T]) -> T:
    """A check shared with the admin forms (``db.domain.validation``), its problem placed in the file."""
    try:
        return check()
    except Invalid as exc:
        p = exc.problem
        raise _RowInvalid(
            ImportProblem(
                ProblemKind(p.kind.value),
                line,
                column,
                p.value,
                limit=p.hints[0] if p.kind in _LIMITED else None,
                hints=p.hints if p.kind is ProblemKind.UNKNOWN_DISTRICT else (),
            )
        ) from None


_LIMITED = (ProblemKind.TOO_LARGE, ProblemKind.TOO_LONG)


def _required(value: str, column: str, line: int) -> str:
    if not value.strip():
        raise _RowInvalid(ImportProblem(ProblemKind.MISSING, line, column))
    return value


def _count(value: str, column: str, line: int) -> int:
    return _checked(line, column, partial(check_count, column, _required(value, column, line)))


def _url(value: str, column: str, line: int) -> str:
    return _checked(line, column, partial(check_url, column, _required(value, column, line)))


def _text(value: str, column: str, line: int, limit: int) -> str | None:
    """Optional text: None when empty."""
    if not clean(value):
        return None
    return _checked(line, column, partial(check_text, column, value, limit))


def _district(value: str, line: int, gazetteer: Gazetteer) -> int | None:
    """A district by any of its names; empty where the source does not say."""
    if not clean(value):
        return None
    return _checked(line, "district", partial(check_district, "district", value, gazetteer))


def _device(value: str, line: int) -> Device:
    if not clean(value):
        return Device.UNKNOWN
    return _checked(line, "device", partial(check_device, "device", value))


def _attempt(problems: list[ImportProblem], check: Callable[[], T]) -> T | None:
    try:
        return check()
    except _RowInvalid as exc:
        problems.append(exc.problem)
        return None


def check_row(
    line: int, row: Mapping[str, str], gazetteer: Gazetteer, today: dt.date
) -> tuple[IncidentDraft | None, list[ImportProblem]]:
    """One row: its draft, or every problem it has (each column is checked on its own)."""
    problems: list[ImportProblem] = []
    cell = {column: row.get(column) or "" for column in COLUMNS}
    date = _attempt(problems, partial(_date, cell["date"], cell["date_precision"], line, today))
    district = _attempt(problems, partial(_district, cell["district"], line, gazetteer))
    counts = {
        name: _attempt(problems, partial(_count, cell[name], name, line)) for name in COUNT_FIELDS
    }
    device = _attempt(problems, partial(_device, cell["device"], line))
    url = _attempt(problems, partial(_url, cell["source_url"], "source_url", line))
    texts = {
        column: _attempt(problems, partial(_text, cell[column], column, line, limit))
        for column, limit in TEXT_LIMITS.items()
    }
    if all(c is not None for c in counts.values()) and not any(counts.values()):
        problems.append(ImportProblem(ProblemKind.NO_CASUALTIES, line))
    if problems:
        return None, problems
    assert date is not None and device is not None and url is not None
    draft = IncidentDraft(
        date=date[0],
        precision=date[1],
        # The dataset leaves the district empty where the source does not say.
        district_id=district,
        source_url=url,
        settlement=texts["settlement"],
        device=device,
        activity=texts["activity"],
        note=texts["description"],
        source_title=texts["source_title"],
        date_note=texts["date_note"],
        **{name: counts[name] or 0 for name in COUNT_FIELDS},
    )
    return draft, []


# -- the file -------------------------------------------------------------------------------------


def _header_problems(header: Sequence[str]) -> list[ImportProblem]:
    missing = tuple(c for c in REQUIRED_COLUMNS if c not in header)
    unknown = tuple(dict.fromkeys(c for c in header if c not in COLUMNS))
    repeated = tuple(dict.fromkeys(c for c in header if c in COLUMNS and header.count(c) > 1))
    problems = []
    if missing:
        problems.append(ImportProblem(ProblemKind.MISSING_COLUMNS, 1, names=missing))
    if unknown:
        problems.append(
            ImportProblem(
                ProblemKind.UNKNOWN_COLUMNS, 1, names=tuple(_short(c) for c in unknown[:10])
            )
        )
    if repeated:
        problems.append(ImportProblem(ProblemKind.REPEATED_COLUMNS, 1, names=repeated))
    return problems


def _cells(record: list[str], header: Sequence[str], line: int) -> dict[str, str] | ImportProblem:
    """A record's values by column, or the problem that it has not one value per column."""
    if len(record) > len(header) and not any(c.strip() for c in record[len(header) :]):
        record = record[: len(header)]  # trailing empty cells, as spreadsheets add
    if len(record) != len(header):
        return ImportProblem(
            ProblemKind.FIELD_COUNT, line, value=str(len(record)), limit=len(header)
        )
    return dict(zip(header, record, strict=True))


def parse_csv(data: bytes, gazetteer: Gazetteer, today: dt.date) -> ParsedFile:
    """Every row of a file in the dataset's format, checked; no draft at all if any has a problem.

    UTF-8 (a byte-order mark is fine), comma-separated (semicolons too, as spreadsheets in some
    locales write them), one header row naming the columns in any order; blank lines are
    skipped. Line numbers are those of the file, where each row starts."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return ParsedFile(problems=(ImportProblem(ProblemKind.NOT_UTF8, line),))
    first = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = ";" if ";" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    drafts: list[tuple[int, IncidentDraft]] = []
    problems: list[ImportProblem] = []
    count = 0
    start = 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = [clean(cell).lower() for cell in record]
                found = _header_problems(header)
                if found:
                    return ParsedFile(problems=tuple(found))
                continue
            count += 1
            if count > MAX_ROWS:
                return ParsedFile(
                    problems=(ImportProblem(ProblemKind.TOO_MANY_ROWS, line, limit=MAX_ROWS),)
                )
            cells = _cells(record, header, line)
            if isinstance(cells, ImportProblem):
                problems.append(cells)
                continue
            draft, row_problems = check_row(line, cells, gazetteer, today)
            problems += row_problems
            if draft is not None:
                drafts.append((line, draft))
    except csv.Error:
        problems.append(ImportProblem(ProblemKind.BAD_CSV, start))
    if header is None and not problems:
        return ParsedFile(problems=(ImportProblem(ProblemKind.EMPTY_FILE),))
    if problems:
        return ParsedFile(problems=tuple(problems))
    if not drafts:
        return ParsedFile(problems=(ImportProblem(ProblemKind.NO_ROWS),))
    return ParsedFile(rows=tuple(drafts))
