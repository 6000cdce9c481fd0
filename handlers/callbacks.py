"""Callback data: compact, at most 64 bytes, and never trusted (clients can send any bytes)."""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass

from db.domain.filters import Category, IncidentFilter, Period
from db.domain.validation import MAX_RECORD_ID

MAX_CALLBACK_BYTES = 64
INCIDENTS_PREFIX = "inc"
LANGUAGE_PREFIX = "lang"
_CATEGORY_CODES = {Category.CIVILIAN: "c", Category.MILITARY: "m"}
_CODE_CATEGORIES = {v: k for k, v in _CATEGORY_CODES.items()}
MAX_OFFSET = 10_000_000
MAX_MASK_DIGITS = 40


def _districts(ids: tuple[int, ...]) -> str:
    """District ids as a list (``3.7``) or, when shorter, a bit mask in hex (``x3fff``)."""
    listed = ".".join(str(d) for d in ids)
    if not ids or min(ids) < 1:
        return listed
    mask = "x" + format(sum(1 << (d - 1) for d in set(ids)), "x")
    return mask if len(mask) < len(listed) else listed


_MASK = re.compile(rf"^x[0-9a-f]{{1,{MAX_MASK_DIGITS}}}$")


def _parse_districts(value: str) -> tuple[int, ...]:
    """Only what ``_districts`` writes: ids a record can have, in ASCII digits (``int()`` alone
    would take ``-3``, `` 3``, ``1_0`` and other scripts' digits)."""
    if not value:
        return ()
    if value.startswith("x"):
        if not _MASK.match(value):
            raise ValueError(value)
        mask = int(value[1:], 16)
        return tuple(bit + 1 for bit in range(mask.bit_length()) if mask >> bit & 1)
    ids: list[int] = []
    for text in value.split("."):
        district = _id(text)
        if district is None:
            raise ValueError(value)
        ids.append(district)
    return tuple(ids)


def _day(value: dt.date | None) -> str:
    return value.strftime("%Y%m%d") if value else ""


def _parse_day(value: str) -> dt.date | None:
    if not value:
        return None
    if len(value) != 8 or not value.isdigit():
        raise ValueError(value)
    return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))


@dataclass(frozen=True, slots=True)
class IncidentsPageData:
    """``inc|<offset>|<district ids>|<start>|<end>|<category>``: a page of /incidents."""

    offset: int
    filter: IncidentFilter

    def encode(self) -> str | None:
        """The callback data, or None when the filter is too long to fit in 64 bytes."""
        f = self.filter
        data = "|".join(
            [
                INCIDENTS_PREFIX,
                str(self.offset),
                _districts(f.districts),
                _day(f.period.start),
                _day(f.period.end),
                _CATEGORY_CODES.get(f.category, "") if f.category else "",
            ]
        )
        return data if len(data.encode()) <= MAX_CALLBACK_BYTES else None

    @classmethod
    def decode(cls, data: str) -> IncidentsPageData | None:
        """Parse callback data; None for anything malformed."""
        parts = data.split("|")
        if len(parts) != 6 or parts[0] != INCIDENTS_PREFIX:
            return None
        _, offset, districts, start, end, category = parts
        if not offset.isascii() or not offset.isdigit() or len(offset) > 8:
            return None
        try:
            page_offset = int(offset)
            ids = _parse_districts(districts)
            period = Period(_parse_day(start), _parse_day(end))
        except ValueError:
            return None
        if not 0 <= page_offset <= MAX_OFFSET or (category and category not in _CODE_CATEGORIES):
            return None
        if period.start and period.end and period.start > period.end:
            return None
        return cls(page_offset, IncidentFilter(ids, period, _CODE_CATEGORIES.get(category)))


def encode_language(lang: str) -> str:
    return f"{LANGUAGE_PREFIX}:{lang}"


def decode_language(data: str) -> str | None:
    prefix, _, lang = data.partition(":")
    return lang if prefix == LANGUAGE_PREFIX and lang else None


# -- admin buttons: the data name what to act on; rights are checked on every press ------------

REVIEW_PREFIX = "rv"
UNDO_PREFIX = "undo"
DRAFT_PREFIX = "draft"


class ReviewAction(enum.StrEnum):
    APPROVE = "a"
    REJECT = "r"


class UndoTarget(enum.StrEnum):
    #: An incident just added: undo retracts it.
    INCIDENT = "i"
    #: A change just proposed for review: undo withdraws it.
    CHANGE = "c"


class DraftAction(enum.StrEnum):
    #: Store a draft shown with its possible duplicates.
    SAVE = "s"
    CANCEL = "x"


def _id(text: str) -> int | None:
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        return None
    value = int(text)
    return value if 0 < value <= MAX_RECORD_ID else None


def encode_review(action: ReviewAction, change_id: int) -> str:
    return f"{REVIEW_PREFIX}|{action.value}|{change_id}"


def decode_review(data: str) -> tuple[ReviewAction, int] | None:
    parts = data.split("|")
    if len(parts) != 3 or parts[0] != REVIEW_PREFIX:
        return None
    try:
        action = ReviewAction(parts[1])
    except ValueError:
        return None
    change_id = _id(parts[2])
    return (action, change_id) if change_id is not None else None


def encode_undo(target: UndoTarget, target_id: int) -> str:
    return f"{UNDO_PREFIX}|{target.value}|{target_id}"


def decode_undo(data: str) -> tuple[UndoTarget, int] | None:
    parts = data.split("|")
    if len(parts) != 3 or parts[0] != UNDO_PREFIX:
        return None
    try:
        target = UndoTarget(parts[1])
    except ValueError:
        return None
    target_id = _id(parts[2])
    return (target, target_id) if target_id is not None else None


_TOKEN = re.compile(r"^[0-9a-f]{8,16}$")


def encode_draft(action: DraftAction, token: str) -> str:
    return f"{DRAFT_PREFIX}|{action.value}|{token}"


def decode_draft(data: str) -> tuple[DraftAction, str] | None:
    parts = data.split("|")
    if len(parts) != 3 or parts[0] != DRAFT_PREFIX or not _TOKEN.match(parts[2]):
        return None
    try:
        return DraftAction(parts[1]), parts[2]
    except ValueError:
        return None


# -- the guided /add: each button names its conversation (a random session) and one answer ------

ADD_PREFIX = "addc"


class AddStep(enum.StrEnum):
    """The questions of the guided /add, in the order they are asked (Edit returns to one)."""

    DATE = "date"
    DISTRICT = "district"
    PLACE = "place"
    COUNTS = "counts"
    DEVICE = "device"
    SOURCE = "source"
    NOTE = "note"


class AddAction(enum.StrEnum):
    TODAY = "t"
    YESTERDAY = "y"
    #: Argument: a district id.
    DISTRICT = "d"
    #: Argument: the four counts as four digits (civilian killed, civilian injured, military
    #: killed, military injured).
    COUNTS = "n"
    #: Argument: a ``db.domain.records.Device`` value.
    DEVICE = "v"
    #: Leave an optional field (place, note) empty.
    SKIP = "s"
    #: Show the fields that can be changed.
    EDIT = "e"
    #: Argument: the :class:`AddStep` to answer again.
    FIELD = "f"
    #: Back to the preview, nothing changed.
    PREVIEW = "p"
    CONFIRM = "ok"
    CANCEL = "x"


_ADD_STEPS = frozenset(step.value for step in AddStep)
_ADD_WORD = re.compile(r"^[a-z]{1,20}$")


def _add_argument_ok(action: AddAction, arg: str) -> bool:
    if action is AddAction.DISTRICT:
        return _id(arg) is not None
    if action is AddAction.COUNTS:
        return len(arg) == 4 and arg.isascii() and arg.isdigit()
    if action is AddAction.DEVICE:
        # The shape only: the handler reads it as a ``db.domain.records.Device``.
        return bool(_ADD_WORD.match(arg))
    if action is AddAction.FIELD:
        return arg in _ADD_STEPS
    return arg == ""


@dataclass(frozen=True, slots=True)
class AddButton:
    """``addc|<session>|<action>[|<argument>]``: a button of the guided /add. The session ties
    it to one conversation; a button of an earlier one is refused as expired."""

    session: str
    action: AddAction
    arg: str = ""

    def encode(self) -> str:
        parts = [ADD_PREFIX, self.session, self.action.value]
        if self.arg:
            parts.append(self.arg)
        return "|".join(parts)

    @classmethod
    def decode(cls, data: str) -> AddButton | None:
        """Parse callback data; None for anything malformed."""
        parts = data.split("|")
        if not 3 <= len(parts) <= 4 or parts[0] != ADD_PREFIX or not _TOKEN.match(parts[1]):
            return None
        try:
            action = AddAction(parts[2])
        except ValueError:
            return None
        arg = parts[3] if len(parts) == 4 else ""
        if len(parts) == 4 and not arg:
            return None
        return cls(parts[1], action, arg) if _add_argument_ok(action, arg) else None


# -- /subscription buttons: they act on the chat they are pressed in ---------------------------

SUBSCRIPTION_PREFIX = "sub"


class SubscriptionAction(enum.StrEnum):
    DAILY = "d"
    WEEKLY = "w"
    STOP = "x"


def encode_subscription(action: SubscriptionAction) -> str:
    return f"{SUBSCRIPTION_PREFIX}|{action.value}"


def decode_subscription(data: str) -> SubscriptionAction | None:
    prefix, _, value = data.partition("|")
    if prefix != SUBSCRIPTION_PREFIX:
        return None
    try:
        return SubscriptionAction(value)
    except ValueError:
        return None
