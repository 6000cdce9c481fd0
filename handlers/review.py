"""Four eyes: /pending lists the changes waiting for review; Approve and Reject decide them."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from db.domain.roles import Role
from db.store.errors import CannotApply, ChangeRefused
from db.store.proposals import Decision
from handlers.auth import require
from handlers.callbacks import ReviewAction, decode_review
from handlers.context import BotContext
from handlers.render import expired_text
from handlers.render.imports import import_outcome
from handlers.render.problems import render_refusal
from handlers.render.review import (
    change_card,
    render_closed,
    render_decided_for_author,
    render_decision,
    render_pending,
    review_keyboard,
)
from handlers.replies import edit, reply
from locales.i18n import Translator

log = logging.getLogger(__name__)

#: Changes shown by one /pending, oldest first, each in its own message with its buttons.
PENDING_SHOWN = 5


async def pending_command(update: Update, context: BotContext) -> None:
    if await require(update, context, Role.OWNER, "/pending") is None:
        return
    services = context.services
    t = await context.translator(update)
    user = update.effective_user
    assert user is not None
    pending = await services.store.review.pending(user.id, limit=PENDING_SHOWN)
    await reply(update, render_pending(t, pending.total, len(pending.changes)))
    for change in pending.changes:
        await reply(
            update, change_card(t, services.gazetteer, change), review_keyboard(t, change.id)
        )


async def review_button(update: Update, context: BotContext) -> None:
    """Approve or Reject under a change. Owners decide (one who proposed a change cannot decide
    it); the data are re-checked, so a forged or replayed press by anyone else changes nothing.
    Editors do not review each other: two of them could otherwise pass anything between them."""
    query = update.callback_query
    if query is None:
        return
    if await require(update, context, Role.OWNER, "review button") is None:
        return
    services = context.services
    t = await context.translator(update)
    decoded = decode_review(query.data or "")
    user = update.effective_user
    if decoded is None or user is None:
        await query.answer(expired_text(t), show_alert=True)
        return
    action, change_id = decoded
    review = services.store.review
    try:
        if action is ReviewAction.APPROVE:
            decision = await review.approve(user.id, change_id)
        else:
            decision = await review.reject(user.id, change_id)
    except CannotApply as stale:
        # It can never apply now (the incident changed meanwhile, say): close it and say why.
        decision = await review.close(user.id, change_id, stale.refusal)
        log.info("user_id=%s closed change %s: %s", user.id, change_id, stale.refusal.value)
        await query.answer()
        reason = render_refusal(t, stale)
        await edit(update, render_closed(t, change_id, reason))
        await _tell_author(context, decision, user.id, stale)
        return
    except ChangeRefused as refused:
        await query.answer(render_refusal(t, refused), show_alert=True)
        return
    log.info("user_id=%s %s change %s", user.id, action.name.lower(), change_id)
    await query.answer()
    await edit(update, render_decision(t, change_id, decision.approved, _outcome(t, decision)))
    await _tell_author(context, decision, user.id)


def _outcome(t: Translator, decision: Decision) -> str | None:
    if not decision.approved:
        return None
    if decision.imported is not None:
        return import_outcome(t, decision.change.payload, decision.imported)
    if decision.official_id is not None:
        return t._("Official figure saved ({id})").format(id=decision.official_id)
    if decision.incident_id is not None:
        return t._("Applied to #{id}.").format(id=decision.incident_id)
    return None


async def _tell_author(
    context: BotContext, decision: Decision, reviewer: int, stale: ChangeRefused | None = None
) -> None:
    author = decision.change.proposed_by
    language = decision.change.language
    if language is not None:
        t = context.services.catalogs.translator(language)
    else:
        t = await context.translator_for(author)
    try:
        if stale is not None:
            text = render_closed(t, decision.change.id, render_refusal(t, stale))
        else:
            text = render_decided_for_author(t, decision.change.id, decision.approved, reviewer)
        await context.bot.send_message(author, text)
    except TelegramError as exc:
        log.warning("could not tell user %s about change %s: %s", author, decision.change.id, exc)
