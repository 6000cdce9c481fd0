"""Periods as users type them, and as replies, queries and file names write them back.

Typed: ``2023``, ``2023-07``, ``2023-07-13``, ``13.07.2023``, ``07.2023`` and ranges ``A..B`` with
either end open. Pure functions, no I/O; the ``period`` dimension (``db.domain.dimensions``) is
made of them.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from db.domain.filters import Period
from db.domain.problems import ProblemKind
from db.domain.records import DatePrecision
from db.domain.validation import MIN_YEAR
from locales.i18n import Translator

_ISO = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_DOTTED = re.compile(r"^(?:(\d{1,2})\.)?(\d{1,2})\.(\d{4})$")
_LOOKS_LIKE_DATE = re.compile(r"^[\d.\-/]+$")
MAX_YEAR = 2100


class BadPeriod(ValueError):
    def __init__(self, kind: ProblemKind) -> None:
        super().__init__(kind.value)
        self.kind = kind


def _span(year: int, month: int | None, day: int | None) -> tuple[dt.date, dt.date]:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise BadPeriod(ProblemKind.BAD_DATE)
    try:
        if month is None:
            return dt.date(year, 1, 1), dt.date(year, 12, 31)
        if day is None:
            last = calendar.monthrange(year, month)[1]
            return dt.date(year, month, 1), dt.date(year, month, last)
        day_date = dt.date(year, month, day)
        return day_date, day_date
    except (ValueError, calendar.IllegalMonthError):
        raise BadPeriod(ProblemKind.BAD_DATE) from None


def parse_date_span(text: str) -> tuple[dt.date, dt.date]:
    """The first and last day a date token stands for; raises BadPeriod."""
    iso = _ISO.match(text)
    if iso:
        year, month, day = iso.groups()
        return _span(int(year), int(month) if month else None, int(day) if day else None)
    dotted = _DOTTED.match(text)
    if dotted:
        day, month, year = dotted.groups()
        return _span(int(year), int(month), int(day) if day else None)
    raise BadPeriod(ProblemKind.BAD_DATE)


def parse_period(text: str) -> Period:
    """``2023``, ``2023-07-13``, ``2021-01-01..2021-06-30``, ``2022..``, ``..2021-06``."""
    if ".." in text:
        left, _, right = text.partition("..")
        if not left and not right:
            raise BadPeriod(ProblemKind.EMPTY_RANGE)
        start = parse_date_span(left)[0] if left else None
        end = parse_date_span(right)[1] if right else None
        if start and end and start > end:
            raise BadPeriod(ProblemKind.BAD_RANGE)
        return Period(start, end)
    start, end = parse_date_span(text)
    return Period(start, end)


def looks_like_period(token: str) -> bool:
    return bool(_LOOKS_LIKE_DATE.match(token)) and (
        ".." in token or any(c.isdigit() for c in token)
    )


def period_text(t: Translator, period: Period) -> str:
    """``2023``, ``July 2023``, ``13 July 2023``, ``1 Jan 2021 – 30 Jun 2021``, ``from …``."""
    start, end = period.start, period.end
    if start and end:
        if start == end:
            return t.date(start)
        if start.day == 1 and (end + dt.timedelta(days=1)).day == 1:
            same_year = start.year == end.year
            if same_year and start.month == 1 and end.month == 12:
                return t.date(start, DatePrecision.YEAR)
            if same_year and start.month == end.month:
                return t.date(start, DatePrecision.MONTH)
        return t._("{start} to {end}").format(start=t.date(start), end=t.date(end))
    if start:
        return t._("from {start}").format(start=t.date(start))
    if end:
        return t._("until {end}").format(end=t.date(end))
    return t._("all dates")


def period_query(period: Period) -> str:
    """A period as a user types it: ``2023``, ``2023-07``, ``2023-07-13``, ``2021-01-05..2021-06``
    style ranges with ISO days (either end open); empty for all dates."""
    start, end = period.start, period.end
    if start is None and end is None:
        return ""
    if start is not None and end is not None:
        if start == end:
            return start.isoformat()
        if start.day == 1 and (end + dt.timedelta(days=1)).day == 1:
            if start.year == end.year and (start.month, end.month) == (1, 12):
                return f"{start.year:04d}"
            if (start.year, start.month) == (end.year, end.month):
                return f"{start.year:04d}-{start.month:02d}"
    return f"{start.isoformat() if start else ''}..{end.isoformat() if end else ''}"


def _is_year(start: dt.date, end: dt.date) -> bool:
    return (start.month, start.day, end.month, end.day) == (1, 1, 12, 31)


def _is_month_end(day: dt.date) -> bool:
    return (day + dt.timedelta(days=1)).day == 1


def _compact_start(day: dt.date) -> str:
    if (day.month, day.day) == (1, 1):
        return f"{day.year:04d}"
    if day.day == 1:
        return f"{day.year:04d}-{day.month:02d}"
    return day.isoformat()


def _compact_end(day: dt.date) -> str:
    if (day.month, day.day) == (12, 31):
        return f"{day.year:04d}"
    if _is_month_end(day):
        return f"{day.year:04d}-{day.month:02d}"
    return day.isoformat()


def period_slug(period: Period) -> str:
    """``2023``, ``2023-07``, ``2023-07-13``, ``2021-01-01_2021-06-30``, ``from-2022``,
    ``until-2021-06``; empty for all dates."""
    start, end = period.start, period.end
    if start is not None and end is not None:
        if start.year == end.year and _is_year(start, end):
            return f"{start.year:04d}"
        same_month = (start.year, start.month) == (end.year, end.month)
        if same_month and start.day == 1 and _is_month_end(end):
            return f"{start.year:04d}-{start.month:02d}"
        if start == end:
            return start.isoformat()
        return f"{start.isoformat()}_{end.isoformat()}"
    if start is not None:
        return f"from-{_compact_start(start)}"
    if end is not None:
        return f"until-{_compact_end(end)}"
    return ""
