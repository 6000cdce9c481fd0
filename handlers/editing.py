"""Admins change incidents: /add (one line), /edit, /retract, /restore, /history, the Undo
button, and saving a draft shown with its possible duplicates.

Each command: check the sender's rights, parse, then ask the store, which applies the change
(owners, or anyone when review is off) or keeps it for review (editors), and answer with what
was stored.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from telegram import Update
from telegram.error import TelegramError

from db.domain.drafts import IncidentDraft
from db.domain.problems import ProblemKind
from db.domain.records import ChangeKind
from db.domain.roles import Role
from db.domain.validation import FormProblem, Invalid
from db.store.drafts import DraftExpired, DraftKey, DraftKind
from db.store.duplicates import PossibleDuplicates
from db.store.errors import ChangeRefused, NoCasualties
from db.store.proposals import Proposal
from handlers.auth import require
from handlers.callbacks import DraftAction, UndoTarget, decode_draft, decode_undo
from handlers.context import BotContext
from handlers.forms import edit_patch, parse_edit, parse_id, parse_id_and_reason, parse_incident
from handlers.render import Rendered, escape, expired_text
from handlers.render.changes import (
    render_added,
    render_cancelled,
    render_changed,
    render_duplicates,
    render_proposed,
    render_undone,
    render_withdrawn,
)
from handlers.render.history import render_history
from handlers.render.incidents import draft_card, incident_card
from handlers.render.problems import (
    add_usage,
    edit_usage,
    render_form_problems,
    render_refusal,
    restore_usage,
    retract_usage,
)
from handlers.render.review import change_card, review_keyboard
from handlers.replies import edit, reply

log = logging.getLogger(__name__)

#: Drafts waiting for "Save anyway", per user (the newest few; older buttons expire).
MAX_DRAFTS = 10
DRAFT_LIFETIME = dt.timedelta(hours=24)


def command_text(update: Update) -> str:
    """What follows the command (``/add@bot key=value ...`` -> ``key=value ...``), untouched."""
    message = update.effective_message
    text = (message.text or message.caption or "") if message else ""
    parts = text.split(maxsplit=1)
    return parts[1] if len(parts) > 1 and parts[0].startswith("/") else ""


async def respond(update: Update, rendered: Rendered) -> None:
    """A new message for a command; for a button, the message with the button is replaced."""
    if update.callback_query is not None:
        await edit(update, rendered.text, rendered.keyboard)
    else:
        await reply(update, rendered.text, rendered.keyboard)


async def notify_reviewers(context: BotContext, proposal: Proposal) -> None:
    """Send a change just kept for review to its reviewers (every owner but its author), with
    Approve and Reject."""
    change = proposal.change
    for owner in proposal.reviewers:
        t = await context.translator_for(owner)
        try:
            await context.bot.send_message(
                owner,
                change_card(t, context.services.gazetteer, change),
                reply_markup=review_keyboard(t, change.id),
            )
        except TelegramError as exc:  # an owner who never started the bot, or blocked it
            log.warning("could not send change %s to owner %s: %s", change.id, owner, exc)


# -- /add -----------------------------------------------------------------------------------------


async def stash_draft(update: Update, context: BotContext, draft: IncidentDraft) -> str:
    """Keep a draft until "Save anyway" (in the store: any process takes the press); its token."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    token = secrets.token_hex(6)
    key = DraftKey(chat.id, user.id, DraftKind.SAVE, token)
    await context.services.store.drafts.put(key, draft.to_json(), DRAFT_LIFETIME, keep=MAX_DRAFTS)
    return token


async def take_draft(update: Update, context: BotContext, token: str) -> IncidentDraft | None:
    """The draft under ``token``, once, for the user who made it; None when gone or expired."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return None
    try:
        found = await context.services.store.drafts.take(
            DraftKey(chat.id, user.id, DraftKind.SAVE, token)
        )
    except DraftExpired:
        return None
    return IncidentDraft.from_json(found.data) if found is not None else None


async def submit_draft(
    update: Update,
    context: BotContext,
    draft: IncidentDraft,
    *,
    confirmed: bool = False,
) -> None:
    """Store a validated draft (or keep it for review). Unless ``confirmed``, possible duplicates
    are shown first with Save anyway / Cancel, and nothing is stored yet."""
    services = context.services
    t = await context.translator(update)
    user = update.effective_user
    assert user is not None
    try:
        recorded = await services.store.incidents.add(
            user.id, draft, language=t.lang, confirmed=confirmed
        )
    except PossibleDuplicates as found:
        token = await stash_draft(update, context, draft)
        await respond(
            update, render_duplicates(t, services.gazetteer, draft, found.duplicates, token)
        )
        return
    if recorded.proposal is not None:
        body = draft_card(t, services.gazetteer, draft, t._("New incident, not counted yet"))
        await respond(update, render_proposed(t, body, recorded.proposal.change.id))
        await notify_reviewers(context, recorded.proposal)
        return
    assert recorded.incident_id is not None
    log.info("user_id=%s added incident #%s", user.id, recorded.incident_id)
    await respond(update, render_added(t, services.gazetteer, recorded.incident_id, recorded.after))


async def add_one_line(update: Update, context: BotContext, text: str) -> None:
    """``/add date=... district=... source=... civilian_injured=1 ...``"""
    services = context.services
    t = await context.translator(update)
    draft, parsed = parse_incident(text, services.gazetteer, context.today())
    if draft is None:
        await reply(
            update, render_form_problems(t, services.gazetteer, parsed.problems, add_usage(t))
        )
        return
    await submit_draft(update, context, draft)


async def draft_button(update: Update, context: BotContext) -> None:
    """Save anyway / Cancel under a draft shown with its possible duplicates."""
    query = update.callback_query
    if query is None:
        return
    role = await require(update, context, Role.EDITOR, "draft button")
    if role is None:
        return
    t = await context.translator(update)
    decoded = decode_draft(query.data or "")
    draft = await take_draft(update, context, decoded[1]) if decoded else None
    if decoded is None or draft is None:
        await query.answer(expired_text(t), show_alert=True)
        return
    await query.answer()
    if decoded[0] is DraftAction.CANCEL:
        await edit(update, render_cancelled(t))
        return
    await submit_draft(update, context, draft, confirmed=True)


# -- /edit, /retract, /restore ---------------------------------------------------------------------


async def edit_command(update: Update, context: BotContext) -> None:
    if await require(update, context, Role.EDITOR, "/edit") is None:
        return
    services = context.services
    t = await context.translator(update)
    form, problems = parse_edit(command_text(update), services.gazetteer, context.today())
    if form is None:
        await reply(update, render_form_problems(t, services.gazetteer, problems, edit_usage(t)))
        return
    user = update.effective_user
    assert user is not None
    try:
        recorded = await services.store.incidents.edit(
            user.id, form.incident_id, edit_patch(form.values), form.reason, language=t.lang
        )
    except NoCasualties:
        problem = FormProblem(ProblemKind.NO_CASUALTIES)
        await reply(update, render_form_problems(t, services.gazetteer, [problem], edit_usage(t)))
        return
    except ChangeRefused as refused:
        await reply(update, escape(render_refusal(t, refused)))
        return
    assert recorded.before is not None
    if recorded.proposal is not None:
        heading = t._("Correction of #{id}, not applied yet").format(id=form.incident_id)
        body = render_changed(
            t, services.gazetteer, heading, recorded.before, recorded.after, form.reason
        )
        await respond(update, render_proposed(t, body, recorded.proposal.change.id))
        await notify_reviewers(context, recorded.proposal)
        return
    heading = t._("#{id} corrected (version {n})").format(id=form.incident_id, n=recorded.version)
    await reply(
        update,
        render_changed(
            t, services.gazetteer, heading, recorded.before, recorded.after, form.reason
        ),
    )


async def _status_change(update: Update, context: BotContext, kind: ChangeKind) -> None:
    retract = kind is ChangeKind.RETRACT
    if await require(update, context, Role.EDITOR, f"/{kind.value}") is None:
        return
    services = context.services
    t = await context.translator(update)
    form, problems = parse_id_and_reason(command_text(update), reason_required=retract)
    if form is None:
        usage = retract_usage(t) if retract else restore_usage(t)
        await reply(update, render_form_problems(t, services.gazetteer, problems, usage))
        return
    user = update.effective_user
    assert user is not None
    incidents = services.store.incidents
    apply = incidents.retract if retract else incidents.restore
    try:
        recorded = await apply(user.id, form.incident_id, form.reason, language=t.lang)
    except ChangeRefused as refused:
        await reply(update, escape(render_refusal(t, refused)))
        return
    assert recorded.before is not None
    if recorded.proposal is not None:
        heading = (
            t._("Retraction of #{id}, not applied yet")
            if retract
            else t._("Restoration of #{id}, not applied yet")
        ).format(id=form.incident_id)
        body = incident_card(t, services.gazetteer, recorded.before, heading)
        await respond(update, render_proposed(t, body, recorded.proposal.change.id))
        await notify_reviewers(context, recorded.proposal)
        return
    heading = (
        t._(
            "#{id} retracted: it no longer counts in figures or lists. /restore {id} brings it back."
        )
        if retract
        else t._("#{id} restored: it counts in figures and lists again.")
    ).format(id=form.incident_id)
    await reply(
        update,
        render_changed(
            t, services.gazetteer, heading, recorded.before, recorded.after, form.reason
        ),
    )


async def retract_command(update: Update, context: BotContext) -> None:
    await _status_change(update, context, ChangeKind.RETRACT)


async def restore_command(update: Update, context: BotContext) -> None:
    await _status_change(update, context, ChangeKind.RESTORE)


# -- /history -------------------------------------------------------------------------------------


async def history_command(update: Update, context: BotContext) -> None:
    if await require(update, context, Role.EDITOR, "/history") is None:
        return
    services = context.services
    t = await context.translator(update)
    words = command_text(update).split()
    try:
        incident_id = parse_id("id", words[0] if words else None)
    except Invalid as exc:
        problem = exc.problem if words else FormProblem(ProblemKind.MISSING, "id")
        usage = escape(t._("Write it as: /history 123"))
        await reply(update, render_form_problems(t, services.gazetteer, [problem], usage))
        return
    user = update.effective_user
    assert user is not None
    try:
        found = await services.store.incidents.history(user.id, incident_id)
    except ChangeRefused as refused:
        await reply(update, escape(render_refusal(t, refused)))
        return
    await reply(update, render_history(t, services.gazetteer, found))


# -- Undo -----------------------------------------------------------------------------------------


async def undo_button(update: Update, context: BotContext) -> None:
    """Undo under a saved incident (retracts it) or a proposal (withdraws it)."""
    query = update.callback_query
    if query is None:
        return
    if await require(update, context, Role.EDITOR, "undo button") is None:
        return
    services = context.services
    t = await context.translator(update)
    decoded = decode_undo(query.data or "")
    user = update.effective_user
    if decoded is None or user is None:
        await query.answer(expired_text(t), show_alert=True)
        return
    target, target_id = decoded
    try:
        if target is UndoTarget.CHANGE:
            await services.store.review.withdraw(user.id, target_id)
        else:
            await services.store.incidents.undo(user.id, target_id)
    except ChangeRefused as refused:
        await query.answer(render_refusal(t, refused), show_alert=True)
        return
    await query.answer()
    text = (
        render_withdrawn(t, target_id)
        if target is UndoTarget.CHANGE
        else render_undone(t, target_id)
    )
    await edit(update, text)
