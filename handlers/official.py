"""/official: record an official total, refused where its parts do not add up."""

from __future__ import annotations

import logging

from telegram import Update

from db.domain.roles import Role
from db.store.errors import ChangeRefused
from handlers.auth import require
from handlers.context import BotContext
from handlers.editing import command_text, notify_reviewers
from handlers.forms import parse_official
from handlers.render import escape
from handlers.render.changes import render_proposed
from handlers.render.incidents import official_card
from handlers.render.problems import official_usage, render_form_problems, render_refusal
from handlers.replies import reply

log = logging.getLogger(__name__)


async def official_command(update: Update, context: BotContext) -> None:
    if await require(update, context, Role.EDITOR, "/official") is None:
        return
    services = context.services
    t = await context.translator(update)
    defaults = await services.store.official.defaults()
    draft, problems = parse_official(
        command_text(update),
        context.today(),
        (defaults.issuer, defaults.period_start),
        defaults.issuers,
    )
    if draft is None:
        usage = official_usage(t, services.gazetteer, defaults.issuer)
        await reply(update, render_form_problems(t, services.gazetteer, problems, usage))
        return
    user = update.effective_user
    assert user is not None
    try:
        recorded = await services.store.official.add(user.id, draft, language=t.lang)
    except ChangeRefused as refused:
        await reply(update, escape(render_refusal(t, refused)))
        return
    if recorded.proposal is not None:
        body = official_card(t, services.gazetteer, draft, t._("Official figure, not shown yet"))
        rendered = render_proposed(t, body, recorded.proposal.change.id)
        await reply(update, rendered.text, rendered.keyboard)
        await notify_reviewers(context, recorded.proposal)
        return
    log.info("user_id=%s added official total %s", user.id, recorded.official_id)
    heading = t._("Official figure saved ({id})").format(id=recorded.official_id)
    await reply(update, official_card(t, services.gazetteer, draft, heading))
