"""Rendering for admins: incident cards, form problems, previews, review, history, editors.

Same rules as the rest of the rendering layer: every dynamic value escaped, numbers and dates
through Babel, counts through ``ngettext``, nothing longer than Telegram accepts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup

from db.changes import (
    COUNT_FIELDS,
    ChangeRefused,
    Duplicate,
    History,
    HistoryEntry,
    IncidentDraft,
    OfficialDraft,
    PendingChange,
    Refusal,
)
from db.domain.figures import Counts
from db.domain.gazetteer import Gazetteer
from db.domain.listing import outlet
from db.domain.problems import ProblemKind
from db.domain.records import ChangeKind, DatePrecision, Device
from db.validation import FormProblem
from handlers.callbacks import (
    DraftAction,
    ReviewAction,
    UndoTarget,
    encode_draft,
    encode_review,
    encode_undo,
)
from handlers.forms import INCIDENT_KEYS
from handlers.render import (
    ACTIVITY_LABELS,
    DEVICE_LABELS,
    MAX_MESSAGE,
    SEPARATOR,
    Rendered,
    bold,
    escape,
    incident_counts,
    link,
    visible_length,
)
from locales.i18n import N_, Translator

MAX_SHOWN_PROBLEMS = 12
MAX_ECHO = 60
#: A note is shown whole in cards, shortened in lists and in the history's differences; so is a
#: link (its outlet is a link in cards).
MAX_NOTE_IN_LIST = 120
MAX_URL_IN_LIST = 80


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def code(text: str) -> str:
    return f"<code>{escape(text)}</code>"


# -- refusals -------------------------------------------------------------------------------------


def refused_text(t: Translator, owners_only: bool) -> str:
    """Plain text: a short refusal (also fits an alert of 200 characters)."""
    if owners_only:
        return t._("Only the bot's owners can do this.")
    return t._("Only the bot's admins can do this.")


def render_refusal(t: Translator, refused: ChangeRefused) -> str:
    """Plain text (fits an alert): why the store refused a change."""
    n = refused.subject if refused.subject is not None else 0
    messages = {
        Refusal.NOT_FOUND: t._("There is no #{id}.").format(id=n),
        Refusal.STALE: t._(
            "#{id} has changed since this was prepared; nothing was saved. Look at /history {id} "
            "and try again."
        ).format(id=n),
        Refusal.ALREADY_RETRACTED: t._("#{id} is already retracted.").format(id=n),
        Refusal.NOT_RETRACTED: t._("#{id} is not retracted.").format(id=n),
        Refusal.NOTHING_CHANGED: t._("Nothing to change: #{id} already has these values.").format(
            id=n
        ),
        Refusal.ALREADY_DECIDED: t._("Change {id} has already been decided.").format(id=n),
        Refusal.OWN_CHANGE: t._("Change {id} is yours: another admin has to review it.").format(
            id=n
        ),
        Refusal.NOT_YOURS: t._("Only its author can undo this ({id}).").format(id=n),
        Refusal.NEEDS_REVIEW: t._(
            "Changes are reviewed: use /retract {id} with a reason instead."
        ).format(id=n),
        Refusal.OFFICIAL_EXISTS: t._(
            "A figure of this issuer as of this day is already recorded or waiting for review "
            "({id}); nothing was saved."
        ).format(id=n),
        Refusal.ALREADY_EDITOR: t._("User {id} is already an editor.").format(id=n),
        Refusal.NOT_EDITOR: t._("User {id} is not an editor.").format(id=n),
    }
    return messages[refused.refusal]


# -- form problems ----------------------------------------------------------------------------------


def problem_text(t: Translator, gazetteer: Gazetteer, p: FormProblem) -> str:
    """Plain text: one problem, naming its key and what is wrong."""
    value = _short(p.value, MAX_ECHO)
    limit = t.number(p.hints[0]) if p.hints else ""
    key = p.key or ""
    kind = p.kind
    if kind is ProblemKind.NOT_KEY_VALUE:
        return t._("“{word}” is not of the form key=value.").format(word=value)
    if kind is ProblemKind.UNCLOSED_QUOTE:
        return t._("{key}: the quotation mark is not closed.").format(key=key or "—")
    if kind is ProblemKind.UNKNOWN_KEY:
        return t._("{key}: unknown key.").format(key=key)
    if kind is ProblemKind.REPEATED_KEY:
        return t._("{key}: given twice.").format(key=key)
    if kind is ProblemKind.MISSING:
        return t._("{key}: required.").format(key=key)
    if kind is ProblemKind.EMPTY:
        return t._("{key}: empty.").format(key=key)
    if kind is ProblemKind.BAD_DATE:
        return t._(
            "{key}: “{value}” is not a valid date (YYYY-MM-DD, or YYYY-MM or YYYY when the day or "
            "month is not known)."
        ).format(key=key, value=value)
    if kind is ProblemKind.FUTURE_DATE:
        return t._("{key}: “{value}” is in the future.").format(key=key, value=value)
    if kind is ProblemKind.TOO_OLD:
        return t._("{key}: “{value}” is too far in the past.").format(key=key, value=value)
    if kind is ProblemKind.DATE_ORDER:
        return (
            t._("{key}: must not be before as_of.").format(key=key)
            if key == "published_on"
            else t._("{key}: must not be after as_of.").format(key=key)
        )
    if kind is ProblemKind.BAD_NUMBER:
        return t._("{key}: “{value}” is not a whole number of 0 or more.").format(
            key=key, value=value
        )
    if kind is ProblemKind.TOO_LARGE:
        return t._("{key}: “{value}” is more than {limit}.").format(
            key=key, value=value, limit=limit
        )
    if kind is ProblemKind.NO_CASUALTIES:
        return t._(
            "At least one of civilian_killed, civilian_injured, military_killed and "
            "military_injured must be above 0."
        )
    if kind is ProblemKind.UNKNOWN_DISTRICT:
        line = t._("{key}: “{value}” is not a known district.").format(key=key, value=value)
        if p.hints:
            names = ", ".join(gazetteer.name(d, t.lang) for d in p.hints)
            line += " " + t._("Did you mean: {districts}?").format(districts=names)
        return line
    if kind is ProblemKind.BAD_URL:
        return t._("{key}: “{value}” is not an http(s) link.").format(key=key, value=value)
    if kind is ProblemKind.TOO_LONG:
        return t.ngettext(
            "{key}: longer than {n} character.", "{key}: longer than {n} characters.", p.hints[0]
        ).format(key=key, n=limit)
    if kind is ProblemKind.UNKNOWN_DEVICE:
        return t._("{key}: “{value}” is not one of {choices}.").format(
            key=key, value=value, choices=", ".join(d.value for d in Device)
        )
    if kind is ProblemKind.SUMS:
        return t._("The figures do not add up: {sums}.").format(sums="; ".join(p.detail))
    if kind is ProblemKind.NO_FIGURE:
        return t._("Give at least one figure.")
    return t._("{key}: “{value}” is not a number like 12.").format(key=key or "id", value=value)


def render_form_problems(
    t: Translator, gazetteer: Gazetteer, problems: Sequence[FormProblem], usage: str
) -> str:
    """Every problem (up to a dozen), that nothing was saved, and how the command is written."""
    lines = [bold(t._("Nothing was saved."))]
    lines += [f"• {escape(problem_text(t, gazetteer, p))}" for p in problems[:MAX_SHOWN_PROBLEMS]]
    if len(problems) > MAX_SHOWN_PROBLEMS:
        more = len(problems) - MAX_SHOWN_PROBLEMS
        lines.append(escape(t.ngettext("… and {n} more", "… and {n} more", more).format(n=more)))
    lines += ["", usage]
    return "\n".join(lines)


def add_usage(t: Translator) -> str:
    keys = ", ".join(INCIDENT_KEYS)
    return "\n".join(
        [
            escape(t._("Write it as:")),
            code(
                "/add date=2023-07-13 district=Kalbajar place=Seyidlar civilian_injured=1 "
                'device=antipersonnel source=https://… note="…"'
            ),
            escape(
                t._(
                    "Keys: {keys}. Required: date, district, source and at least one count; "
                    "values with spaces in double quotes. Send /add alone to be asked step by step."
                ).format(keys=keys)
            ),
        ]
    )


def edit_usage(t: Translator) -> str:
    return "\n".join(
        [
            escape(t._("Write it as:")),
            code('/edit 123 civilian_injured=2 reason="…"'),
            escape(t._("The keys of /add; a reason is required.")),
        ]
    )


def retract_usage(t: Translator) -> str:
    return "\n".join([escape(t._("Write it as:")), code('/retract 123 reason="…"')])


def restore_usage(t: Translator) -> str:
    return "\n".join([escape(t._("Write it as:")), code('/restore 123 reason="…"')])


def official_usage(t: Translator, gazetteer: Gazetteer, default_issuer: str | None) -> str:
    lines = [
        escape(t._("Write it as:")),
        code(
            "/official as_of=2023-06-16 total=304 civilian_killed=44 civilian_injured=99 "
            "military_killed=13 military_injured=148 source=https://…"
        ),
        escape(t._("Also: killed, injured, period_start, published_on, issuer, note.")),
    ]
    if default_issuer:
        lines.append(
            escape(
                t._(
                    "Without issuer: {issuer}; without period_start: where its latest figure "
                    "counts from."
                ).format(issuer=gazetteer.issuer(default_issuer, t.lang))
            )
        )
    return "\n".join(lines)


# -- incidents -------------------------------------------------------------------------------------


def _place(t: Translator, gazetteer: Gazetteer, state: Mapping[str, Any]) -> str:
    district = state.get("district_id")
    place = [gazetteer.name(district, t.lang) if district else t._("district not stated")]
    if state.get("settlement"):
        place.append(str(state["settlement"]))
    return ", ".join(place)


def _date(t: Translator, state: Mapping[str, Any]) -> str:
    return t.date(dt.date.fromisoformat(state["date"]), DatePrecision(state["date_precision"]))


def _counts(state: Mapping[str, Any]) -> Counts:
    return Counts(*(int(state.get(name) or 0) for name in COUNT_FIELDS))


def _device(t: Translator, value: str) -> str:
    return t._(DEVICE_LABELS[Device(value)])


def _activity(t: Translator, value: str) -> str:
    label = ACTIVITY_LABELS.get(value)
    return t._(label) if label else value


STATUS_LABELS = {
    "published": N_("published"),
    "retracted": N_("retracted: not counted in figures or lists"),
}


def incident_card(
    t: Translator, gazetteer: Gazetteer, state: Mapping[str, Any], heading: str
) -> str:
    """An incident (in the storage form of ``db.changes.snapshot``) as a few lines of HTML."""
    details = [incident_counts(t, _counts(state)), _device(t, state["device"])]
    if state.get("activity"):
        details.append(_activity(t, state["activity"]))
    sources = ", ".join(link(url, outlet(url)) for url in state.get("sources", ()))
    lines = [
        bold(heading),
        f"{bold(_date(t, state))} · {escape(_place(t, gazetteer, state))}",
        escape(SEPARATOR.join(details)),
        escape(t._("Source: {links}")).format(links=sources or "—"),
    ]
    if state.get("description"):
        lines.append(escape(t._("Note: {note}").format(note=state["description"])))
    return "\n".join(lines)


def draft_card(t: Translator, gazetteer: Gazetteer, draft: IncidentDraft, heading: str) -> str:
    return incident_card(t, gazetteer, draft.storage(), heading)


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
        place = _short(
            _place(t, gazetteer, {"district_id": d.district_id, "settlement": d.settlement}),
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


FIELD_LABELS = {
    "date": N_("date"),
    "district_id": N_("district"),
    "settlement": N_("place"),
    "civilian_killed": N_("civilians killed"),
    "civilian_injured": N_("civilians injured"),
    "military_killed": N_("military killed"),
    "military_injured": N_("military injured"),
    "device": N_("device"),
    "activity": N_("activity"),
    "description": N_("note"),
    "sources": N_("source"),
    "status": N_("status"),
}


def field_value(t: Translator, gazetteer: Gazetteer, key: str, state: Mapping[str, Any]) -> str:
    """Plain text: one field of an incident as the reader knows it."""
    value = state.get(key)
    if value is None or value == "" or value == []:
        return "—"
    if key == "date":
        return _date(t, state)
    if key == "district_id":
        return gazetteer.name(int(value), t.lang)
    if key == "device":
        return _device(t, value)
    if key == "activity":
        return _activity(t, value)
    if key == "sources":
        return ", ".join(_short(url, MAX_URL_IN_LIST) for url in value)
    if key == "status":
        label = STATUS_LABELS.get(value)
        return t._(label) if label else str(value)
    if key == "description":
        return _short(str(value), MAX_NOTE_IN_LIST)
    if key in COUNT_FIELDS:
        return t.number(int(value))
    return str(value)


def diff_lines(
    t: Translator, gazetteer: Gazetteer, before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[str]:
    """``• civilians injured: 1 → 2`` for every field that differs (HTML)."""
    lines = []
    for key in FIELD_LABELS:
        # ``after`` may be a whole incident or only the fields an edit sets.
        if key == "date":
            changed = "date" in after and any(
                before.get(k) != after.get(k) for k in ("date", "date_precision")
            )
        else:
            changed = key in after and before.get(key) != after.get(key)
        if changed:
            lines.append(
                escape(
                    f"• {t._(FIELD_LABELS[key])}: {field_value(t, gazetteer, key, before)} → "
                    f"{field_value(t, gazetteer, key, after)}"
                )
            )
    return lines


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


# -- official totals --------------------------------------------------------------------------------

OFFICIAL_FIGURE_LABELS = {
    "total": N_("total"),
    "killed": N_("killed"),
    "injured": N_("injured"),
    "civilian_killed": N_("civilians killed"),
    "civilian_injured": N_("civilians injured"),
    "military_killed": N_("military killed"),
    "military_injured": N_("military injured"),
}


def official_card(t: Translator, gazetteer: Gazetteer, draft: OfficialDraft, heading: str) -> str:
    figures = SEPARATOR.join(
        f"{t._(label)}: {t.number(value)}"
        for key, label in OFFICIAL_FIGURE_LABELS.items()
        if (value := draft.figures.get(key)) is not None
    )
    lines = [
        bold(heading),
        escape(
            t._("{issuer}, as of {date}, counting from {start}").format(
                issuer=gazetteer.issuer(draft.issuer, t.lang),
                date=t.date(draft.as_of),
                start=t.date(draft.period_start),
            )
        ),
        escape(figures),
        escape(t._("Source: {links}")).format(
            links=link(draft.source_url, outlet(draft.source_url))
        ),
    ]
    if draft.published_on:
        lines.append(escape(t._("Made public on {date}").format(date=t.date(draft.published_on))))
    if draft.note:
        lines.append(escape(t._("Note: {note}").format(note=draft.note)))
    return "\n".join(lines)


# -- review ---------------------------------------------------------------------------------------


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


KIND_LABELS = {
    ChangeKind.ADD: N_("New incident"),
    ChangeKind.EDIT: N_("Correction of #{id}"),
    ChangeKind.RETRACT: N_("Retraction of #{id}"),
    ChangeKind.RESTORE: N_("Restoration of #{id}"),
    ChangeKind.OFFICIAL: N_("New official figure"),
    ChangeKind.IMPORT: N_("Import of incidents"),
}


def change_card(
    t: Translator,
    gazetteer: Gazetteer,
    change: PendingChange,
    current: Mapping[str, Any] | None,
) -> str:
    """One change awaiting review: what it does, by whom, when, why (``current``: the incident
    as it is now, for changes to an incident)."""
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
        # Imported here: handlers.render.imports builds on this module.
        from handlers.render.imports import import_change_lines

        lines = [bold(title), *(escape(line) for line in import_change_lines(t, payload)), byline]
    else:
        lines = [bold(title), byline]
        if current is not None and change.kind is ChangeKind.EDIT:
            lines += diff_lines(t, gazetteer, current, payload)
        elif current is not None:
            lines.append(
                escape(f"{_date(t, current)} · {_place(t, gazetteer, current)} · ")
                + escape(incident_counts(t, _counts(current)))
            )
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


# -- history --------------------------------------------------------------------------------------

ACTION_LABELS = {
    "incident.add": N_("recorded"),
    "incident.edit": N_("corrected"),
    "incident.retract": N_("retracted"),
    "incident.restore": N_("restored"),
    "incident.undo": N_("undone by its author"),
    "change.propose": N_("change proposed for review"),
    "change.reject": N_("proposed change rejected"),
    "change.withdraw": N_("proposed change withdrawn"),
    "change.close": N_("proposed change closed: it could no longer be applied"),
}


def _actor(t: Translator, actor: int | None) -> str:
    return t._("user {id}").format(id=actor) if actor is not None else t._("the shell")


def _entry(t: Translator, gazetteer: Gazetteer, entry: HistoryEntry, incident_id: int) -> str:
    label = ACTION_LABELS.get(entry.action)
    about_a_change = entry.action.startswith("change.")
    head = [
        t._("version {n}").format(n=entry.version) if not about_a_change else "…",
        t.datetime(entry.at),
        (t._(label) if label else entry.action)
        + " "
        + t._("by {who}").format(who=_actor(t, entry.actor)),
    ]
    if entry.approved_by is not None and not about_a_change:
        head.append(t._("approved by {who}").format(who=_actor(t, entry.approved_by)))
    lines = [bold(SEPARATOR.join(head))]
    if entry.action == "change.propose":
        payload = (entry.after or {}).get("payload") or {}
        kind = (entry.after or {}).get("kind")
        if kind == ChangeKind.EDIT.value and entry.before is None:
            lines.append(
                escape(", ".join(t._(FIELD_LABELS[k]) for k in payload if k in FIELD_LABELS))
            )
        elif kind:
            lines.append(escape(t._(KIND_LABELS[ChangeKind(kind)]).format(id=incident_id)))
    elif entry.action == "change.close":
        pass  # the reason is a refusal's code; the label says what happened
    elif entry.action != "incident.add" and not about_a_change:
        lines += diff_lines(t, gazetteer, entry.before or {}, entry.after or {})
    if entry.reason and entry.action != "change.close":
        lines.append(escape(t._("Reason: {reason}").format(reason=entry.reason)))
    return "\n".join(lines)


def render_history(t: Translator, gazetteer: Gazetteer, history: History) -> str:
    """Every version, oldest first; when they do not all fit, the first and the latest ones."""
    current = dict(history.current)
    current["description"] = _short(current.get("description") or "", MAX_NOTE_IN_LIST)
    head = incident_card(
        t,
        gazetteer,
        current,
        t._("#{id}, version {n}").format(id=history.incident_id, n=history.current["version"]),
    )
    status = history.current.get("status")
    if status != "published":
        head += "\n" + escape(field_value(t, gazetteer, "status", history.current))
    blocks = []
    if not any(e.action == "incident.add" for e in history.entries):
        # Loaded from the dataset (or before the audit trail existed).
        first = next(
            (e.before for e in history.entries if e.action.startswith("incident.") and e.before),
            history.current,
        )
        blocks.append(
            "\n".join(
                [
                    bold(
                        SEPARATOR.join(
                            [
                                t._("version {n}").format(n=1),
                                t.datetime(history.created_at),
                                t._("loaded from the dataset"),
                            ]
                        )
                    ),
                    escape(
                        f"{_date(t, first)} · {_place(t, gazetteer, first)} · "
                        f"{incident_counts(t, _counts(first))}"
                    ),
                ]
            )
        )
    # An approval shows on the change it applied ("approved by").
    blocks += [
        _entry(t, gazetteer, e, history.incident_id)
        for e in history.entries
        if e.action != "change.approve"
    ]
    room = MAX_MESSAGE - visible_length(head) - 300
    shown: list[str] = []
    used = 0
    # The latest versions matter most: fill from the end, keep the first if it fits.
    for block in reversed(blocks):
        size = visible_length(block) + 2
        if used + size > room:
            break
        shown.insert(0, block)
        used += size
    omitted = len(blocks) - len(shown)
    parts = [head, ""]
    if omitted:
        parts.append(
            escape(
                t.ngettext(
                    "{n} earlier entry is not shown.", "{n} earlier entries are not shown.", omitted
                ).format(n=t.number(omitted))
            )
        )
    parts.append("\n\n".join(shown))
    return "\n".join(parts)


# -- editors --------------------------------------------------------------------------------------


def render_editors(
    t: Translator, owners: Sequence[int], editors: Sequence[tuple[int, int | None, dt.datetime]]
) -> str:
    lines = [bold(t._("Owners")), escape(", ".join(str(o) for o in owners) or "—"), ""]
    lines.append(bold(t._("Editors")))
    if not editors:
        lines.append(escape(t._("No editors yet. Add one with /admin add USER_ID.")))
    for user_id, added_by, added_at in editors:
        lines.append(
            escape(
                t._("{user}, added by {by} on {when}").format(
                    user=user_id,
                    by=added_by if added_by is not None else "—",
                    when=t.date(added_at.date()),
                )
            )
        )
    return "\n".join(lines)


def render_editor_added(t: Translator, user_id: int, review: bool) -> str:
    line = t._("User {id} is now an editor: they can add and correct incidents.").format(id=user_id)
    if review:
        line += " " + t._("Their changes wait until another admin approves them.")
    return escape(line)


def render_editor_removed(t: Translator, user_id: int) -> str:
    return escape(t._("User {id} is no longer an editor.").format(id=user_id))


def admin_usage(t: Translator) -> str:
    return "\n".join(
        [
            escape(t._("Write it as:")),
            code("/admin add USER_ID"),
            code("/admin remove USER_ID"),
            code("/admin list"),
            escape(t._("A user id is a number; the user can see theirs with /whoami.")),
        ]
    )


def render_whoami(t: Translator, user_id: int, role: str) -> str:
    return escape(t._("Your user id is {id}. Role: {role}.").format(id=user_id, role=role))


def render_admin_help(t: Translator, review: bool) -> str:
    lines = [
        bold(t._("Admin commands")),
        "/add — " + escape(t._("record an incident (alone: step by step)")),
        "/edit — " + escape(t._("correct an incident")),
        "/retract, /restore — "
        + escape(t._("hide an incident from figures and lists, or bring it back")),
        "/history — " + escape(t._("every version of an incident")),
        "/official — " + escape(t._("record an official total")),
        "/pending — " + escape(t._("changes waiting for review")),
        "/digest_now — " + escape(t._("send every digest now (breaking news)")),
        "/status — " + escape(t._("version, uptime, database, outbox and last digest run")),
        "/admin — " + escape(t._("owners: add, remove and list editors")),
        escape(t._("Send a CSV file in the dataset's format to import incidents.")),
    ]
    if review:
        lines.append(escape(t._("An editor's changes wait until another admin approves them.")))
    return "\n".join(lines)


def admin_commands(t: Translator) -> list[BotCommand]:
    """The admin part of the command menu of owners' and editors' private chats."""
    return [
        BotCommand("add", t._("Record an incident")),
        BotCommand("edit", t._("Correct an incident")),
        BotCommand("retract", t._("Retract an incident")),
        BotCommand("restore", t._("Restore a retracted incident")),
        BotCommand("history", t._("Every version of an incident")),
        BotCommand("official", t._("Record an official total")),
        BotCommand("pending", t._("Changes waiting for review")),
        BotCommand("import", t._("Import incidents from a CSV file")),
        BotCommand("digest_now", t._("Send every digest now")),
        BotCommand("status", t._("How the bot is doing")),
        BotCommand("admin", t._("Owners: manage editors")),
    ]
