"""Checks of single values typed by admins (forms, the guided /add) or read from a CSV file.

Each check returns the value as the store keeps it or raises :class:`Invalid` with a problem that
names the key and what is wrong; the rendering layer words it in the reader's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from db.domain.drafts import COUNT_FIELDS
from db.domain.gazetteer import Gazetteer
from db.domain.problems import ProblemKind
from db.domain.records import Device

#: The largest count one incident may have: a mine incident harms a handful of people; a figure
#: above this is a typing error. Official totals are cumulative and have their own limit.
MAX_COUNT = 1000
MAX_OFFICIAL_COUNT = 1_000_000
MAX_URL = 2048
MAX_PLACE = 200
MAX_ACTIVITY = 64
MAX_NOTE = 1000
MAX_REASON = 500
MAX_ISSUER = 128
#: The largest number of an incident or a change (their ids are 32-bit integers in the store).
MAX_RECORD_ID = 2**31 - 1
#: The largest Telegram user id (they fit in 52 bits).
MAX_USER_ID = 2**52
#: Dates before this year are typing errors.
MIN_YEAR = 1900

_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_HOST = re.compile(r"^[^\s/@:?#]+(?::\d{1,5})?$")


@dataclass(frozen=True, slots=True)
class FormProblem:
    kind: ProblemKind
    key: str | None = None
    value: str = ""
    #: Nearest districts for UNKNOWN_DISTRICT; the limit for TOO_LARGE / TOO_LONG (as one int).
    hints: tuple[int, ...] = ()
    #: For SUMS: which sums do not add up.
    detail: tuple[str, ...] = ()


def clean(value: str) -> str:
    """Control characters out, runs of white space as one space, no edges."""
    return _SPACE.sub(" ", _CONTROL.sub(" ", value)).strip()


class Invalid(ValueError):
    def __init__(self, problem: FormProblem) -> None:
        super().__init__(problem.kind.value)
        self.problem = problem


def check_count(key: str, value: str, limit: int = MAX_COUNT) -> int:
    text = value.strip()
    if not text.isascii() or not text.isdigit():
        raise Invalid(FormProblem(ProblemKind.BAD_NUMBER, key, text[:40]))
    if len(text) > 12 or int(text) > limit:
        raise Invalid(FormProblem(ProblemKind.TOO_LARGE, key, text[:40], (limit,)))
    return int(text)


def check_url(key: str, value: str) -> str:
    """An absolute http(s) URL with a host, no credentials, no spaces or control characters."""
    url = value.strip()
    if len(url) > MAX_URL:
        raise Invalid(FormProblem(ProblemKind.TOO_LONG, key, url[:60], (MAX_URL,)))
    try:
        parts = urlsplit(url)
        host = parts.netloc
    except ValueError:
        raise Invalid(FormProblem(ProblemKind.BAD_URL, key, url[:60])) from None
    if (
        parts.scheme.lower() not in ("http", "https")
        or not host
        or not _HOST.match(host)
        or "." not in host.split(":")[0].strip(".")
        or any(c.isspace() or ord(c) < 32 or c in "<>\"'`" for c in url)
    ):
        raise Invalid(FormProblem(ProblemKind.BAD_URL, key, url[:60]))
    return url


def check_text(key: str, value: str, limit: int) -> str:
    text = clean(value)
    if not text:
        raise Invalid(FormProblem(ProblemKind.EMPTY, key))
    if len(text) > limit:
        raise Invalid(FormProblem(ProblemKind.TOO_LONG, key, text[:40], (limit,)))
    return text


def check_district(key: str, value: str, gazetteer: Gazetteer) -> int:
    name = clean(value)
    found = gazetteer.resolve(name) if name else None
    if found is None:
        hints = tuple(gazetteer.suggest(name)) if name else ()
        raise Invalid(FormProblem(ProblemKind.UNKNOWN_DISTRICT, key, name[:60], hints))
    return found


def check_device(key: str, value: str) -> Device:
    word = clean(value).lower().replace("-", "").replace("_", "").replace(" ", "")
    for device in Device:
        if word == device.value:
            return device
    raise Invalid(FormProblem(ProblemKind.UNKNOWN_DEVICE, key, clean(value)[:40]))


def official_total_problems(row: dict[str, int | None]) -> list[str]:
    """The sums that an official total states and that do not add up (empty when consistent):
    parts that are all stated must add up to the whole, and parts stated must not exceed it."""
    ck, ci, mk, mi = (row.get(name) for name in COUNT_FIELDS)
    killed, injured, total = row.get("killed"), row.get("injured"), row.get("total")
    checks = [
        ("civilian_killed + military_killed = killed", (ck, mk), killed),
        ("civilian_injured + military_injured = injured", (ci, mi), injured),
        ("killed + injured = total", (killed, injured), total),
        ("civilian + military = total", (ck, ci, mk, mi), total),
    ]
    problems = []
    for label, parts, whole in checks:
        stated = [p for p in parts if p is not None]
        if whole is None:
            continue
        # All parts stated: they must add up; some stated: they must not exceed the whole.
        if (len(stated) == len(parts) and sum(stated) != whole) or sum(stated) > whole:
            problems.append(label)
    return problems
