"""The answers of the guided /add (pure): a typed or pressed answer to a question as typed values,
and the answers so far as JSON, the way the conversation is stored between updates.

Every typed answer is checked by the validators of the one-line form (``handlers.forms``); a
wrong one raises :class:`Rejected`, naming what was wrong.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from db.domain.drafts import COUNT_FIELDS
from db.domain.gazetteer import Gazetteer, normalize
from db.domain.problems import ProblemKind
from db.domain.records import DatePrecision, Device
from db.domain.validation import FormProblem, Invalid, check_count, check_device, clean
from handlers.callbacks import AddAction, AddButton, AddStep
from handlers.forms import check_value, collect, split_pairs
from handlers.render import DEVICE_LABELS
from locales.i18n import Translator

_NUMBER_SEPARATORS = re.compile(r"[\s,;]+")


class Rejected(Exception):
    """An answer that is not accepted, and why."""

    def __init__(self, problems: tuple[FormProblem, ...], numbers_given: int | None = None) -> None:
        super().__init__(", ".join(p.kind.value for p in problems) or "numbers")
        self.problems = problems
        self.numbers_given = numbers_given


def parse_counts(text: str) -> dict[str, int]:
    """``0 1 0 0`` (civilian killed, civilian injured, military killed, military injured; commas
    work too) or ``civilian_injured=1 ...`` (keys not given are 0); at least one above 0."""
    problems: list[FormProblem] = []
    values = dict.fromkeys(COUNT_FIELDS, 0)
    if "=" in text:
        raw, problems = collect(split_pairs(text), COUNT_FIELDS)
        for key, value in raw.items():
            try:
                values[key] = check_count(key, value)
            except Invalid as exc:
                problems.append(exc.problem)
    else:
        words = [w for w in _NUMBER_SEPARATORS.split(clean(text)) if w]
        if len(words) != len(COUNT_FIELDS):
            raise Rejected((), numbers_given=len(words))
        for key, word in zip(COUNT_FIELDS, words, strict=True):
            try:
                values[key] = check_count(key, word)
            except Invalid as exc:
                problems.append(exc.problem)
    if not problems and not any(values.values()):
        problems.append(FormProblem(ProblemKind.NO_CASUALTIES))
    if problems:
        raise Rejected(tuple(problems))
    return values


def parse_device(text: str, t: Translator) -> Device:
    """A device by its value (``uxo``) or its label in English or the reader's language."""
    wanted = normalize(text)
    for device, label in DEVICE_LABELS.items():
        if wanted and wanted in (normalize(label), normalize(t._(label))):
            return device
    return check_device("device", text)


def parse_answer(
    step: AddStep, text: str, gazetteer: Gazetteer, day: dt.date, t: Translator
) -> dict[str, Any]:
    """A step's answer as typed values (what :func:`handlers.forms.draft_from` takes)."""
    try:
        if step is AddStep.COUNTS:
            return dict(parse_counts(text))
        if step is AddStep.DEVICE:
            return {"device": parse_device(text, t)}
        key = step.value
        return {key: check_value(key, text, gazetteer, day)}
    except Invalid as exc:
        raise Rejected((exc.problem,)) from None


def button_answer(button: AddButton, gazetteer: Gazetteer, today: dt.date) -> dict[str, Any] | None:
    """A step's answer given by a button; None for data no real button carries."""
    action, arg = button.action, button.arg
    if action in (AddAction.TODAY, AddAction.YESTERDAY):
        day = today - dt.timedelta(days=1 if action is AddAction.YESTERDAY else 0)
        return {"date": (day, DatePrecision.DAY)}
    if action is AddAction.DISTRICT:
        district = int(arg)
        return {"district": district} if district in gazetteer.entries else None
    if action is AddAction.COUNTS:
        counts = dict(zip(COUNT_FIELDS, (int(c) for c in arg), strict=True))
        return counts if any(counts.values()) else None
    if action is AddAction.DEVICE:
        try:
            return {"device": Device(arg)}
        except ValueError:
            return None
    return None


def answers_to_json(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The typed answers as a JSON object (the date as ``[iso, precision]``)."""
    data = dict(answers)
    if "date" in data:
        day, precision = data["date"]
        data["date"] = [day.isoformat(), DatePrecision(precision).value]
    if "device" in data:
        data["device"] = Device(data["device"]).value
    return data


def answers_from_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`answers_to_json` read back (ValueError, KeyError or TypeError for anything else)."""
    answers = dict(data)
    if "date" in answers:
        day, precision = answers["date"]
        answers["date"] = (dt.date.fromisoformat(day), DatePrecision(precision))
    if "device" in answers:
        answers["device"] = Device(answers["device"])
    return answers
