"""Admin forms: ``key=value`` arguments to validated drafts. Pure functions, no I/O.

``/add date=2023-07-13 district=Kalbajar civilian_injured=1 source=https://... note="near the
village"``: values with spaces go in double quotes (phones' curly quotes and « » work too).
Every value is checked on its own (:func:`check_value`, also used by the guided ``/add`` and the
CSV import), and every problem names its key; a form with any problem produces no draft.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from db.domain.drafts import COUNT_FIELDS, IncidentDraft, OfficialDraft
from db.domain.gazetteer import Gazetteer
from db.domain.periods import BadPeriod, parse_date_span
from db.domain.problems import ProblemKind
from db.domain.records import DatePrecision, Device
from db.domain.validation import (
    MAX_ACTIVITY,
    MAX_ISSUER,
    MAX_NOTE,
    MAX_OFFICIAL_COUNT,
    MAX_PLACE,
    MAX_REASON,
    MAX_RECORD_ID,
    MIN_YEAR,
    FormProblem,
    Invalid,
    check_count,
    check_device,
    check_district,
    check_text,
    check_url,
    official_total_problems,
)

INCIDENT_KEYS = (
    "date",
    "district",
    "place",
    *COUNT_FIELDS,
    "device",
    "activity",
    "source",
    "note",
)
OFFICIAL_KEYS = (
    "as_of",
    "period_start",
    "published_on",
    "total",
    "killed",
    "injured",
    *COUNT_FIELDS,
    "issuer",
    "source",
    "note",
)
#: Incident keys and the fields they set (an edit's patch is in these terms).
KEY_FIELDS = {
    "date": "date",
    "district": "district_id",
    "place": "settlement",
    **{name: name for name in COUNT_FIELDS},
    "device": "device",
    "activity": "activity",
    "source": "sources",
    "note": "description",
}

_OPEN_QUOTES = {'"': '"', "“": "”", "„": "“", "«": "»", "”": "”"}
_KEY = re.compile(r"^([A-Za-z_]+)=")


@dataclass(frozen=True, slots=True)
class Tokens:
    """A command's words: bare words (an incident's ID) and ``key=value`` pairs, in order."""

    words: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]
    problems: tuple[FormProblem, ...]


def split_pairs(text: str) -> Tokens:
    """Split ``ID key=value key="a value"`` into words and pairs; quotes may hold anything."""
    words: list[str] = []
    pairs: list[tuple[str, str]] = []
    problems: list[FormProblem] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        match = _KEY.match(text[i:])
        key = match.group(1).lower() if match else None
        j = i + (match.end() if match else 0)
        if j < n and text[j] in _OPEN_QUOTES:
            close = _OPEN_QUOTES[text[j]]
            end = j + 1
            while end < n and text[end] not in (close, '"'):
                end += 1
            if end >= n:
                problems.append(FormProblem(ProblemKind.UNCLOSED_QUOTE, key, text[j:][:60]))
                break
            value, i = text[j + 1 : end], end + 1
        else:
            end = j
            while end < n and not text[end].isspace():
                end += 1
            value, i = text[j:end], end
        if key is None:
            words.append(value)
        else:
            pairs.append((key, value))
    return Tokens(tuple(words), tuple(pairs), tuple(problems))


def collect(
    tokens: Tokens, allowed: Sequence[str], *, words_allowed: int = 0
) -> tuple[dict[str, str], list[FormProblem]]:
    """Pairs by key, with problems for unknown and repeated keys and unexpected bare words."""
    problems = list(tokens.problems)
    for word in tokens.words[words_allowed:]:
        problems.append(FormProblem(ProblemKind.NOT_KEY_VALUE, None, word[:60]))
    values: dict[str, str] = {}
    for key, value in tokens.pairs:
        if key not in allowed:
            problems.append(FormProblem(ProblemKind.UNKNOWN_KEY, key[:40], value[:60]))
        elif key in values:
            problems.append(FormProblem(ProblemKind.REPEATED_KEY, key))
        else:
            values[key] = value
    return values, problems


# -- single values --------------------------------------------------------------------------------


def check_date(key: str, value: str, today: dt.date) -> tuple[dt.date, DatePrecision]:
    """``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY`` (also ``DD.MM.YYYY``, ``MM.YYYY``): a real day of
    the past, with the precision written."""
    text = value.strip()
    try:
        start, end = parse_date_span(text)
    except BadPeriod:
        # isdecimal, not isdigit: int() refuses superscripts and circled digits ("²²²²").
        if text[:4].isdecimal() and len(text) >= 4 and int(text[:4]) < MIN_YEAR:
            raise Invalid(FormProblem(ProblemKind.TOO_OLD, key, text[:40])) from None
        raise Invalid(FormProblem(ProblemKind.BAD_DATE, key, text[:40])) from None
    if start > today:
        raise Invalid(FormProblem(ProblemKind.FUTURE_DATE, key, text))
    if start == end:
        precision = DatePrecision.DAY
    elif start.month == end.month:
        precision = DatePrecision.MONTH
    else:
        precision = DatePrecision.YEAR
    return start, precision


def check_day(key: str, value: str, today: dt.date) -> dt.date:
    """A full ``YYYY-MM-DD`` date (official totals refer to a day)."""
    day, precision = check_date(key, value, today)
    if precision is not DatePrecision.DAY:
        raise Invalid(FormProblem(ProblemKind.BAD_DATE, key, value.strip()[:40]))
    return day


def check_value(key: str, value: str, gazetteer: Gazetteer, today: dt.date) -> Any:
    """One incident key's value, typed as the store keeps it (date keys give (date, precision))."""
    if key == "date":
        return check_date(key, value, today)
    if key == "district":
        return check_district(key, value, gazetteer)
    if key in COUNT_FIELDS:
        return check_count(key, value)
    if key == "device":
        return check_device(key, value)
    if key == "source":
        return check_url(key, value)
    limit = {"place": MAX_PLACE, "activity": MAX_ACTIVITY, "note": MAX_NOTE, "reason": MAX_REASON}
    return check_text(key, value, limit[key])


# -- forms ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Parsed:
    """A form's typed values by key, and its problems (a form with problems is not used)."""

    values: Mapping[str, Any]
    problems: tuple[FormProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_all(
    values: Mapping[str, str], gazetteer: Gazetteer, today: dt.date
) -> tuple[dict[str, Any], list[FormProblem]]:
    typed: dict[str, Any] = {}
    problems: list[FormProblem] = []
    for key, value in values.items():
        try:
            typed[key] = check_value(key, value, gazetteer, today)
        except Invalid as exc:
            problems.append(exc.problem)
    return typed, problems


def draft_from(values: Mapping[str, Any]) -> IncidentDraft:
    """A draft from typed incident values (as :func:`check_value` gives them); the caller has
    checked that date, district and source are there."""
    day, precision = values["date"]
    return IncidentDraft(
        date=day,
        precision=precision,
        district_id=values["district"],
        source_url=values["source"],
        settlement=values.get("place"),
        device=values.get("device", Device.UNKNOWN),
        activity=values.get("activity"),
        note=values.get("note"),
        **{name: values.get(name, 0) for name in COUNT_FIELDS},
    )


def parse_incident(
    text: str, gazetteer: Gazetteer, today: dt.date
) -> tuple[IncidentDraft | None, Parsed]:
    """``/add``'s one-line form."""
    raw, problems = collect(split_pairs(text), INCIDENT_KEYS)
    typed, more = _check_all(raw, gazetteer, today)
    problems += more
    for key in ("date", "district", "source"):
        if key not in raw:
            problems.append(FormProblem(ProblemKind.MISSING, key))
    if not any(typed.get(name) for name in COUNT_FIELDS) and not any(
        p.key in COUNT_FIELDS for p in problems
    ):
        problems.append(FormProblem(ProblemKind.NO_CASUALTIES))
    parsed = Parsed(typed, tuple(problems))
    return (draft_from(typed) if parsed.ok else None), parsed


def parse_id(key: str, word: str | None, limit: int = MAX_RECORD_ID) -> int:
    """An incident's number (``12`` or ``#12``), or with ``limit`` a user id; a number past
    ``limit`` cannot name anything and is refused like a word."""
    text = (word or "").strip().removeprefix("#")
    if not text.isascii() or not text.isdigit() or len(text) > 20 or not 0 < int(text) <= limit:
        raise Invalid(FormProblem(ProblemKind.BAD_ID, key, (word or "")[:40]))
    return int(text)


@dataclass(frozen=True, slots=True)
class EditForm:
    incident_id: int
    #: Typed values by key (only the keys given).
    values: Mapping[str, Any]
    reason: str


def parse_edit(
    text: str, gazetteer: Gazetteer, today: dt.date
) -> tuple[EditForm | None, tuple[FormProblem, ...]]:
    """``/edit ID key=value ... reason="..."``: at least one key, and a reason."""
    tokens = split_pairs(text)
    raw, problems = collect(tokens, (*INCIDENT_KEYS, "reason"), words_allowed=1)
    incident_id = _id_or_problem(tokens, problems)
    reason = raw.pop("reason", None)
    typed, more = _check_all(raw, gazetteer, today)
    problems += more
    if not raw and not any(p.kind is ProblemKind.UNKNOWN_KEY for p in problems):
        problems.append(FormProblem(ProblemKind.MISSING, "key=value"))
    checked_reason = _reason(reason, problems)
    if problems or incident_id is None or checked_reason is None:
        return None, tuple(problems)
    return EditForm(incident_id, typed, checked_reason), ()


def _id_or_problem(tokens: Tokens, problems: list[FormProblem]) -> int | None:
    try:
        return parse_id("id", tokens.words[0] if tokens.words else None)
    except Invalid as exc:
        problems.insert(0, exc.problem if tokens.words else FormProblem(ProblemKind.MISSING, "id"))
        return None


def _reason(value: str | None, problems: list[FormProblem], *, required: bool = True) -> str | None:
    if value is None:
        if required:
            problems.append(FormProblem(ProblemKind.MISSING, "reason"))
        return None
    try:
        return check_text("reason", value, MAX_REASON)
    except Invalid as exc:
        problems.append(exc.problem)
        return None


@dataclass(frozen=True, slots=True)
class IdForm:
    incident_id: int
    reason: str | None


def parse_id_and_reason(
    text: str, *, reason_required: bool
) -> tuple[IdForm | None, tuple[FormProblem, ...]]:
    """``/retract ID reason="..."`` (reason required) and ``/restore ID [reason="..."]``."""
    tokens = split_pairs(text)
    raw, problems = collect(tokens, ("reason",), words_allowed=1)
    incident_id = _id_or_problem(tokens, problems)
    reason = _reason(raw.get("reason"), problems, required=reason_required)
    if problems or incident_id is None:
        return None, tuple(problems)
    return IdForm(incident_id, reason), ()


def edit_patch(values: Mapping[str, Any]) -> dict[str, Any]:
    """An edit form's values as fields of the store (see ``db.domain.drafts.patch_storage``)."""
    patch: dict[str, Any] = {}
    for key, value in values.items():
        if key == "date":
            patch["date"], patch["date_precision"] = value
        elif key == "source":
            patch["sources"] = [value]
        else:
            patch[KEY_FIELDS[key]] = value
    return patch


def parse_official(  # one pass over the keys, then each rule of an official total in turn
    text: str,
    today: dt.date,
    defaults: tuple[str | None, dt.date | None],
    issuers: Iterable[str],
) -> tuple[OfficialDraft | None, tuple[FormProblem, ...]]:
    """``/official as_of=... total=... civilian_killed=... source=...``; ``issuer`` and
    ``period_start`` default to those of the latest official total."""
    raw, problems = collect(split_pairs(text), OFFICIAL_KEYS)
    figures: dict[str, int | None] = dict.fromkeys(("total", "killed", "injured", *COUNT_FIELDS))
    dates: dict[str, dt.date] = {}
    for key, value in raw.items():
        try:
            if key in figures:
                figures[key] = check_count(key, value, MAX_OFFICIAL_COUNT)
            elif key in ("as_of", "period_start", "published_on"):
                dates[key] = check_day(key, value, today)
            elif key == "source":
                raw[key] = check_url(key, value)
            elif key == "issuer":
                raw[key] = check_text(key, value, MAX_ISSUER)
            elif key == "note":
                raw[key] = check_text(key, value, MAX_NOTE)
        except Invalid as exc:
            problems.append(exc.problem)
    for key in ("as_of", "source"):
        if key not in raw:
            problems.append(FormProblem(ProblemKind.MISSING, key))
    issuer = raw.get("issuer") or defaults[0]
    if issuer is None:
        problems.append(FormProblem(ProblemKind.MISSING, "issuer"))
    else:
        # An issuer already known, written in any case, is that issuer.
        issuer = next((i for i in issuers if i.casefold() == issuer.casefold()), issuer)
    start = dates.get("period_start") or defaults[1]
    if start is None and "period_start" not in raw:
        problems.append(FormProblem(ProblemKind.MISSING, "period_start"))
    if all(v is None for v in figures.values()) and not any(p.key in figures for p in problems):
        problems.append(FormProblem(ProblemKind.NO_FIGURE))
    sums = official_total_problems(figures)
    if sums:
        problems.append(FormProblem(ProblemKind.SUMS, None, "", (), tuple(sums)))
    as_of = dates.get("as_of")
    if as_of and start and start > as_of:
        problems.append(FormProblem(ProblemKind.DATE_ORDER, "period_start"))
    published = dates.get("published_on")
    if as_of and published and published < as_of:
        problems.append(FormProblem(ProblemKind.DATE_ORDER, "published_on"))
    if problems or as_of is None or start is None or issuer is None:
        return None, tuple(problems)
    return (
        OfficialDraft(
            as_of=as_of,
            period_start=start,
            issuer=issuer,
            source_url=raw["source"],
            figures=figures,
            published_on=published,
            note=raw.get("note"),
        ),
        (),
    )
