"""Rendering for the guided ``/add``: each question, its re-ask, the preview and the field list.

Same rules as the rest of the rendering layer: every dynamic value escaped, numbers and dates
through Babel, counts through ``ngettext``, button labels in the ``button`` context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from db.domain.drafts import COUNT_FIELDS, IncidentDraft
from db.domain.figures import Counts
from db.domain.gazetteer import Gazetteer
from db.domain.problems import ProblemKind
from db.domain.records import Device
from db.domain.validation import MAX_NOTE, MAX_PLACE, FormProblem
from handlers.callbacks import AddAction, AddButton, AddStep
from handlers.render import DEVICE_LABELS, Rendered, bold, escape, incident_counts
from handlers.render.incidents import FIELD_LABELS, draft_card
from handlers.render.problems import add_usage, problem_text
from locales.i18n import Translator

STEPS = tuple(AddStep)
DISTRICTS_PER_ROW = 3
DEVICES_PER_ROW = 2
#: A note is echoed shortened after it is accepted (the preview shows it whole).
MAX_NOTE_ECHO = 120
#: The quick answers of the counts step: one person in each category.
QUICK_COUNTS = ("1000", "0100", "0010", "0001")
#: What the echo of an accepted answer is labelled with (``FIELD_LABELS`` are translated there).
_STEP_FIELDS = {
    AddStep.DATE: "date",
    AddStep.DISTRICT: "district_id",
    AddStep.PLACE: "settlement",
    AddStep.DEVICE: "device",
    AddStep.SOURCE: "sources",
    AddStep.NOTE: "description",
}


def _button(label: str, session: str, action: AddAction, arg: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=AddButton(session, action, arg).encode())


def _rows(buttons: Sequence[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [list(buttons[i : i + width]) for i in range(0, len(buttons), width)]


def _capitalised(label: str) -> str:
    return label[:1].upper() + label[1:]


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def answers_counts(answers: Mapping[str, Any]) -> Counts:
    return Counts(*(int(answers.get(name) or 0) for name in COUNT_FIELDS))


def counts_label(t: Translator, counts: str) -> str:
    """A quick answer's label: ``1 civilian killed`` (``counts`` as four digits)."""
    return incident_counts(t, Counts(*(int(c) for c in counts)))


def device_label(t: Translator, device: Device) -> str:
    return _capitalised(t._(DEVICE_LABELS[device]))


def answer_text(
    t: Translator, gazetteer: Gazetteer, step: AddStep, answers: Mapping[str, Any]
) -> str:
    """Plain text: a step's answer as the reader knows it (``—`` for an empty one)."""
    if step is AddStep.DATE:
        day, precision = answers["date"]
        return t.date(day, precision)
    if step is AddStep.DISTRICT:
        return gazetteer.name(int(answers["district"]), t.lang)
    if step is AddStep.COUNTS:
        return incident_counts(t, answers_counts(answers))
    if step is AddStep.DEVICE:
        return t._(DEVICE_LABELS[Device(answers["device"])])
    if step is AddStep.SOURCE:
        return str(answers["source"])
    value = answers.get("place" if step is AddStep.PLACE else "note")
    return _short(str(value), MAX_NOTE_ECHO) if value else "—"


def accepted_line(
    t: Translator, gazetteer: Gazetteer, step: AddStep, answers: Mapping[str, Any]
) -> str:
    """HTML: ``✓ district: Kalbajar``, the echo of the answer just accepted."""
    value = answer_text(t, gazetteer, step, answers)
    if step is AddStep.COUNTS:
        return escape(f"✓ {value}")
    return escape(f"✓ {t._(FIELD_LABELS[_STEP_FIELDS[step]])}: {value}")


def question(t: Translator, step: AddStep) -> str:
    """Plain text: what a step asks, and how to answer it."""
    if step is AddStep.DATE:
        return t._(
            "When did it happen? Send the date as 2023-07-13 or 13.07.2023; as 2023-07 or 2023 "
            "when the day or the month is not known."
        )
    if step is AddStep.DISTRICT:
        return t._("In which district? Choose it below or type its name.")
    if step is AddStep.PLACE:
        return t.ngettext(
            "Where exactly: a village, a road, a field? Send the place (at most {n} character), "
            "or press Skip.",
            "Where exactly: a village, a road, a field? Send the place (at most {n} characters), "
            "or press Skip.",
            MAX_PLACE,
        ).format(n=t.number(MAX_PLACE))
    if step is AddStep.COUNTS:
        return t._(
            "How many people were killed or injured? Send four whole numbers: civilians killed, "
            "civilians injured, military killed, military injured. For example, 0 1 0 0 is one "
            "civilian injured; civilian_injured=1 works too."
        )
    if step is AddStep.DEVICE:
        return t._("What exploded? Choose it below.")
    if step is AddStep.SOURCE:
        return t._("Send the link to the report it comes from (http:// or https://).")
    return t.ngettext(
        "Anything to add (at most {n} character)? Send a note, or press Skip. Do not name the "
        "victims.",
        "Anything to add (at most {n} characters)? Send a note, or press Skip. Do not name the "
        "victims.",
        MAX_NOTE,
    ).format(n=t.number(MAX_NOTE))


def numbers_problem(t: Translator, given: int) -> str:
    """Plain text: the counts step got another number of words than four."""
    return t.ngettext(
        "{n} number was sent; four are needed, one for each category.",
        "{n} numbers were sent; four are needed, one for each category.",
        given,
    ).format(n=t.number(given))


def _step_keyboard(
    t: Translator,
    gazetteer: Gazetteer,
    step: AddStep,
    session: str,
    *,
    editing: bool,
    suggested: Sequence[int] = (),
) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if step is AddStep.DATE:
        rows.append(
            [
                _button(t.pgettext("button", "Today"), session, AddAction.TODAY),
                _button(t.pgettext("button", "Yesterday"), session, AddAction.YESTERDAY),
            ]
        )
    elif step is AddStep.DISTRICT:
        if suggested:
            rows.append(
                [
                    _button(gazetteer.name(d, t.lang), session, AddAction.DISTRICT, str(d))
                    for d in suggested
                ]
            )
        buttons = [
            _button(gazetteer.name(d, t.lang), session, AddAction.DISTRICT, str(d))
            for d in gazetteer.sorted_ids(t.lang)
        ]
        rows += _rows(buttons, DISTRICTS_PER_ROW)
    elif step is AddStep.COUNTS:
        buttons = [_button(counts_label(t, c), session, AddAction.COUNTS, c) for c in QUICK_COUNTS]
        rows += _rows(buttons, 2)
    elif step is AddStep.DEVICE:
        buttons = [_button(device_label(t, d), session, AddAction.DEVICE, d.value) for d in Device]
        rows += _rows(buttons, DEVICES_PER_ROW)
    last: list[InlineKeyboardButton] = []
    if step in (AddStep.PLACE, AddStep.NOTE):
        skip = t.pgettext("button", "Leave empty") if editing else t.pgettext("button", "Skip")
        last.append(_button(skip, session, AddAction.SKIP))
    if editing:
        last.append(_button(t.pgettext("button", "‹ Back"), session, AddAction.PREVIEW))
    else:
        last.append(_button(t.pgettext("button", "Cancel"), session, AddAction.CANCEL))
    rows.append(last)
    return InlineKeyboardMarkup(rows)


def render_step(
    t: Translator,
    gazetteer: Gazetteer,
    step: AddStep,
    session: str,
    *,
    editing: bool = False,
    accepted: str | None = None,
    problems: Sequence[FormProblem] = (),
    numbers_given: int | None = None,
    notice: str | None = None,
) -> Rendered:
    """A question with its buttons. ``accepted``: the echo of the previous answer (HTML, see
    :func:`accepted_line`); ``problems``: why the answer just sent was not accepted (a re-ask);
    ``numbers_given``: the counts step got that many words instead of four; ``notice``: a line
    (plain text) to say first."""
    lines: list[str] = []
    if notice:
        lines.append(escape(notice))
    if accepted:
        lines.append(accepted)
    if problems or numbers_given is not None:
        lines.append(bold(t._("Not accepted:")))
        if numbers_given is not None:
            lines.append(f"• {escape(numbers_problem(t, numbers_given))}")
        lines += [f"• {escape(problem_text(t, gazetteer, p))}" for p in problems]
    if lines:
        lines.append("")
    if editing:
        heading = t._("New incident, correction")
    else:
        heading = t._("New incident, step {n} of {total}").format(
            n=t.number(STEPS.index(step) + 1), total=t.number(len(STEPS))
        )
    lines += [bold(heading), escape(question(t, step))]
    if step is AddStep.DATE and not editing and not problems:
        lines.append(
            escape(t._("Send /cancel at any time to stop: nothing is saved until you confirm."))
        )
    suggested = [d for p in problems if p.kind is ProblemKind.UNKNOWN_DISTRICT for d in p.hints]
    keyboard = _step_keyboard(t, gazetteer, step, session, editing=editing, suggested=suggested)
    return Rendered("\n".join(lines), keyboard)


def render_preview(
    t: Translator,
    gazetteer: Gazetteer,
    draft: IncidentDraft,
    session: str,
    *,
    accepted: str | None = None,
    notice: str | None = None,
) -> Rendered:
    """The incident as it will be saved, with Confirm, Edit and Cancel."""
    lines: list[str] = []
    if notice:
        lines.append(escape(notice))
    if accepted:
        lines.append(accepted)
    if lines:
        lines.append("")
    lines += [
        draft_card(t, gazetteer, draft, t._("Not saved yet")),
        "",
        escape(t._("Is everything right? Confirm saves it; Edit changes a field.")),
    ]
    keyboard = InlineKeyboardMarkup(
        [
            [_button(t.pgettext("button", "Confirm"), session, AddAction.CONFIRM)],
            [
                _button(t.pgettext("button", "Edit"), session, AddAction.EDIT),
                _button(t.pgettext("button", "Cancel"), session, AddAction.CANCEL),
            ],
        ]
    )
    return Rendered("\n".join(lines), keyboard)


def step_button_label(t: Translator, step: AddStep) -> str:
    labels = {
        AddStep.DATE: t.pgettext("button", "Date"),
        AddStep.DISTRICT: t.pgettext("button", "District"),
        AddStep.PLACE: t.pgettext("button", "Place"),
        AddStep.COUNTS: t.pgettext("button", "Casualties"),
        AddStep.DEVICE: t.pgettext("button", "Device"),
        AddStep.SOURCE: t.pgettext("button", "Source"),
        AddStep.NOTE: t.pgettext("button", "Note"),
    }
    return labels[step]


def render_fields(
    t: Translator, gazetteer: Gazetteer, draft: IncidentDraft, session: str
) -> Rendered:
    """The preview's Edit: which field to answer again."""
    text = "\n".join(
        [
            draft_card(t, gazetteer, draft, t._("Not saved yet")),
            "",
            escape(t._("What should be changed?")),
        ]
    )
    buttons = [
        _button(step_button_label(t, step), session, AddAction.FIELD, step.value) for step in STEPS
    ]
    buttons.append(_button(t.pgettext("button", "‹ Back"), session, AddAction.PREVIEW))
    return Rendered(text, InlineKeyboardMarkup(_rows(buttons, 3)))


def render_use_buttons(t: Translator) -> str:
    """Plain text: a message sent while the preview waits for a button."""
    return t._("Please use the buttons under the card: Confirm, Edit or Cancel.")


def render_restarted(t: Translator) -> str:
    """Plain text: /add alone again while one was in progress."""
    return t._("The /add in progress was dropped; starting again.")


def render_dropped(t: Translator) -> str:
    return escape(t._("The step-by-step /add in progress was dropped; nothing from it was saved."))


def render_timed_out(t: Translator, minutes: int) -> str:
    return escape(
        t.ngettext(
            "No answer for {n} minute: the /add in progress was dropped and nothing was saved.",
            "No answer for {n} minutes: the /add in progress was dropped and nothing was saved.",
            minutes,
        ).format(n=t.number(minutes))
    )


def render_private_only(t: Translator) -> str:
    """``/add`` alone in a group: the questions are asked in a private chat only."""
    return "\n".join(
        [
            escape(
                t._(
                    "To be asked step by step, send /add in a private chat with me. Here, write "
                    "the incident on one line."
                )
            ),
            "",
            add_usage(t),
        ]
    )
