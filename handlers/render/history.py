"""Rendering of an incident's history: every version, who changed what and why, and who approved
reviewed changes; the first and the latest versions when they do not all fit in a message.
"""

from __future__ import annotations

from db.domain.gazetteer import Gazetteer
from db.domain.records import ChangeKind
from db.store.history import History, HistoryEntry
from handlers.render import MAX_MESSAGE, SEPARATOR, bold, escape, visible_length
from handlers.render.changes import KIND_LABELS
from handlers.render.incidents import (
    FIELD_LABELS,
    MAX_NOTE_IN_LIST,
    diff_lines,
    field_value,
    incident_card,
    summary,
)
from handlers.render.problems import short
from locales.i18n import N_, Translator

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


def _loaded(t: Translator, gazetteer: Gazetteer, history: History) -> str:
    """The first version of an incident loaded from the dataset (or before the audit trail)."""
    first = next(
        (e.before for e in history.entries if e.action.startswith("incident.") and e.before),
        history.current,
    )
    head = [
        t._("version {n}").format(n=1),
        t.datetime(history.created_at),
        t._("loaded from the dataset"),
    ]
    return "\n".join([bold(SEPARATOR.join(head)), escape(summary(t, gazetteer, first))])


def _latest(blocks: list[str], room: int) -> list[str]:
    """The latest blocks that fit in ``room``: they matter most (the first, if it fits)."""
    shown: list[str] = []
    used = 0
    for block in reversed(blocks):
        size = visible_length(block) + 2
        if used + size > room:
            break
        shown.insert(0, block)
        used += size
    return shown


def render_history(t: Translator, gazetteer: Gazetteer, history: History) -> str:
    """Every version, oldest first; when they do not all fit, the first and the latest ones."""
    current = dict(history.current)
    current["description"] = short(current.get("description") or "", MAX_NOTE_IN_LIST)
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
        blocks.append(_loaded(t, gazetteer, history))
    # An approval shows on the change it applied ("approved by").
    blocks += [
        _entry(t, gazetteer, e, history.incident_id)
        for e in history.entries
        if e.action != "change.approve"
    ]
    shown = _latest(blocks, MAX_MESSAGE - visible_length(head) - 300)
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
