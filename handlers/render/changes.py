"""Rendering of what became of an admin's change: saved (with Undo), kept for review (with Undo),
possible duplicates (Save anyway / Cancel), corrected, retracted, restored, undone, withdrawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from db.domain.drafts import IncidentDraft
from db.domain.gazetteer import Gazetteer
from db.domain.records import ChangeKind
from db.store.duplicates import Duplicate
from handlers.callbacks import DraftAction, UndoTarget, encode_draft, encode_undo
from handlers.render import Rendered, bold, escape
from handlers.render.incidents import (
    MAX_NOTE_IN_LIST,
    diff_lines,
    draft_card,
    incident_card,
    place_of,
)
from handlers.render.problems import short
from locales.i18n import N_, Translator

KIND_LABELS = {
    ChangeKind.ADD: N_("New incident"),
    ChangeKind.EDIT: N_("Correction of #{id}"),
    ChangeKind.RETRACT: N_("Retraction of #{id}"),
    ChangeKind.RESTORE: N_("Restoration of #{id}"),
    ChangeKind.OFFICIAL: N_("New official figure"),
    ChangeKind.IMPORT: N_("Import of incidents"),
}


def undo_keyboard(t: Translator, target: UndoTarget, target_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t.pgettext("button", "Undo"), callback_data=encode_undo(target, target_id)
                )
            ]
        ]
    )


def render_added(
    t: Translator, gazetteer: Gazetteer, incident_id: int, state: Mapping[str, Any]
) -> Rendered:
    heading = t._("Saved as #{id}").format(id=incident_id)
    return Rendered(
        incident_card(t, gazetteer, state, heading),
        undo_keyboard(t, UndoTarget.INCIDENT, incident_id),
    )


def render_proposed(t: Translator, body: str, change_id: int) -> Rendered:
    """A change kept for review, with the proposer's button to withdraw it."""
    note = t._(
        "Waiting for review as change {id}: it counts nowhere until another admin approves it."
    ).format(id=change_id)
    return Rendered(
        "\n".join([body, "", escape(note)]), undo_keyboard(t, UndoTarget.CHANGE, change_id)
    )


def render_duplicates(
    t: Translator,
    gazetteer: Gazetteer,
    draft: IncidentDraft,
    duplicates: Sequence[Duplicate],
    token: str,
) -> Rendered:
    lines = [
        draft_card(t, gazetteer, draft, t._("Not saved yet")),
        "",
        bold(t._("Possible duplicates:")),
    ]
    for d in duplicates:
        name = f"#{d.incident_id}" if d.incident_id else t._("change {id}").format(id=d.change_id)
        reason = t._("same source") if d.same_source else t._("same district and date")
        place = short(
            place_of(t, gazetteer, {"district_id": d.district_id, "settlement": d.settlement}),
            MAX_NOTE_IN_LIST,
        )
        who = t.ngettext("{n} person", "{n} people", d.casualties).format(n=t.number(d.casualties))
        lines.append(
            escape(f"• {name} · {t.date(d.date, d.precision)} · {place} · {who} ({reason})")
        )
    lines += ["", escape(t._("Save it anyway?"))]
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t.pgettext("button", "Save anyway"),
                    callback_data=encode_draft(DraftAction.SAVE, token),
                ),
                InlineKeyboardButton(
                    t.pgettext("button", "Cancel"),
                    callback_data=encode_draft(DraftAction.CANCEL, token),
                ),
            ]
        ]
    )
    return Rendered("\n".join(lines), keyboard)


def render_cancelled(t: Translator) -> str:
    return escape(t._("Cancelled. Nothing was saved."))


def render_changed(
    t: Translator,
    gazetteer: Gazetteer,
    heading: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    reason: str | None,
) -> str:
    lines = [bold(heading), *diff_lines(t, gazetteer, before, after)]
    if reason:
        lines.append(escape(t._("Reason: {reason}").format(reason=reason)))
    return "\n".join(lines)


def render_undone(t: Translator, incident_id: int) -> str:
    return escape(
        t._("Undone: #{id} is retracted. /restore {id} brings it back.").format(id=incident_id)
    )


def render_withdrawn(t: Translator, change_id: int) -> str:
    return escape(t._("Change {id} is withdrawn.").format(id=change_id))
