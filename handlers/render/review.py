"""Rendering of four-eyes review: a change awaiting review (with Approve and Reject), the list of
what is waiting, and the decision, for the reviewer and for the change's author.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from db.domain.drafts import IncidentDraft, OfficialDraft
from db.domain.gazetteer import Gazetteer
from db.domain.records import ChangeKind
from db.store.proposals import PendingChange
from handlers.callbacks import ReviewAction, encode_review
from handlers.render import bold, escape
from handlers.render.changes import KIND_LABELS
from handlers.render.imports import import_change_lines
from handlers.render.incidents import diff_lines, draft_card, official_card, summary
from locales.i18n import Translator


def review_keyboard(t: Translator, change_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t.pgettext("button", "Approve"),
                    callback_data=encode_review(ReviewAction.APPROVE, change_id),
                ),
                InlineKeyboardButton(
                    t.pgettext("button", "Reject"),
                    callback_data=encode_review(ReviewAction.REJECT, change_id),
                ),
            ]
        ]
    )


def change_card(t: Translator, gazetteer: Gazetteer, change: PendingChange) -> str:
    """One change awaiting review: what it does, by whom, when, why (with the incident as it is
    now, for changes to an incident)."""
    title = (
        t._("Change {id}").format(id=change.id)
        + " · "
        + t._(KIND_LABELS[change.kind]).format(id=change.incident_id)
    )
    byline = escape(
        t._("proposed by {user} on {when}").format(
            user=change.proposed_by, when=t.datetime(change.proposed_at)
        )
    )
    payload = change.payload
    if change.kind is ChangeKind.ADD:
        body = draft_card(t, gazetteer, IncidentDraft.from_json(payload), title)
        lines = [body, byline]
    elif change.kind is ChangeKind.OFFICIAL:
        lines = [official_card(t, gazetteer, OfficialDraft.from_json(payload), title), byline]
    elif change.kind is ChangeKind.IMPORT:
        lines = [bold(title), *(escape(line) for line in import_change_lines(t, payload)), byline]
    else:
        lines = [bold(title), byline]
        current = change.current
        if current is not None and change.kind is ChangeKind.EDIT:
            lines += diff_lines(t, gazetteer, current, payload)
        elif current is not None:
            lines.append(escape(summary(t, gazetteer, current)))
    if change.reason:
        lines.append(escape(t._("Reason: {reason}").format(reason=change.reason)))
    return "\n".join(lines)


def render_pending(t: Translator, waiting: int, shown: int) -> str:
    if waiting == 0:
        return escape(t._("Nothing is waiting for review."))
    line = t.ngettext(
        "{n} change is waiting for review.", "{n} changes are waiting for review.", waiting
    ).format(n=t.number(waiting))
    if shown < waiting:
        line += " " + t._("The oldest {n} follow.").format(n=t.number(shown))
    return escape(line)


def render_decision(t: Translator, change_id: int, approved: bool, result: str | None) -> str:
    line = (
        t._("Change {id} approved.").format(id=change_id)
        if approved
        else t._("Change {id} rejected: nothing was applied.").format(id=change_id)
    )
    return "\n".join([escape(line), *([escape(result)] if result else [])])


def render_closed(t: Translator, change_id: int, reason: str) -> str:
    """A change that can no longer be applied, closed on approval (``reason``: plain text)."""
    return escape(
        t._("Change {id} can no longer be applied and is closed: {reason}").format(
            id=change_id, reason=reason
        )
    )


def render_decided_for_author(t: Translator, change_id: int, approved: bool, by: int) -> str:
    if approved:
        return escape(t._("Your change {id} was approved by {user}.").format(id=change_id, user=by))
    return escape(t._("Your change {id} was rejected by {user}.").format(id=change_id, user=by))
