"""Rendering of what admins get wrong and how to get it right: refusals, the problems of a form,
and how each admin command is written.

Same rules as the rest of the rendering layer: every dynamic value escaped, numbers through Babel,
counts through ``ngettext``. ``refused_text``, ``render_refusal`` and ``problem_text`` give plain
text (they also fit an alert); the rest HTML.
"""

from __future__ import annotations

from collections.abc import Sequence

from db.domain.gazetteer import Gazetteer
from db.domain.problems import ProblemKind
from db.domain.records import Device
from db.domain.validation import FormProblem
from db.store.errors import ChangeRefused, Refusal
from handlers.forms import INCIDENT_KEYS
from handlers.render import bold, escape
from locales.i18n import Translator

MAX_SHOWN_PROBLEMS = 12
MAX_ECHO = 60


def short(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the last one an ellipsis when it is cut."""
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


def problem_text(t: Translator, gazetteer: Gazetteer, p: FormProblem) -> str:  # a branch per kind
    """Plain text: one problem, naming its key and what is wrong."""
    value = short(p.value, MAX_ECHO)
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
