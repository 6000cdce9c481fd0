"""/official: record an official total, refused where its parts do not add up."""

from __future__ import annotations

import logging

from telegram import Update

from db import changes
from db.changes import ChangeRefused, OfficialDraft
from db.domain.records import ChangeKind
from db.domain.roles import Role
from handlers.auth import needs_review, require
from handlers.context import BotContext
from handlers.editing import command_text, notify_reviewers
from handlers.forms import parse_official
from handlers.render import escape
from handlers.render.admin import (
    official_card,
    official_usage,
    render_form_problems,
    render_proposed,
    render_refusal,
)
from handlers.replies import reply

log = logging.getLogger(__name__)


async def official_command(update: Update, context: BotContext) -> None:
    role = await require(update, context, Role.EDITOR, "/official")
    if role is None:
        return
    services = context.services
    t = await context.translator(update)
    async with services.db.read() as connection:
        defaults = await changes.official_defaults(connection)
        issuers = await changes.known_issuers(connection)
    draft, problems = parse_official(command_text(update), context.today(), defaults, issuers)
    if draft is None:
        await reply(
            update,
            render_form_problems(
                t, services.gazetteer, problems, official_usage(t, services.gazetteer, defaults[0])
            ),
        )
        return
    user = update.effective_user
    assert user is not None
    try:
        await _store(update, context, role, draft, user.id)
    except ChangeRefused as refused:
        await reply(update, escape(render_refusal(t, refused)))


async def _store(
    update: Update, context: BotContext, role: Role, draft: OfficialDraft, user_id: int
) -> None:
    services = context.services
    t = await context.translator(update)
    if needs_review(context, role):
        async with services.db.write() as session:
            await changes.check_official_is_new(session, draft)
            change = await changes.propose(
                session, ChangeKind.OFFICIAL, user_id, draft.to_json(), language=t.lang
            )
        body = official_card(t, services.gazetteer, draft, t._("Official figure, not shown yet"))
        rendered = render_proposed(t, body, change.id)
        await reply(update, rendered.text, rendered.keyboard)
        await notify_reviewers(context, change.id, user_id)
        return
    async with services.db.write() as session:
        official = await changes.add_official(session, draft, user_id)
    log.info("user_id=%s added official total %s", user_id, official.id)
    heading = t._("Official figure saved ({id})").format(id=official.id)
    await reply(update, official_card(t, services.gazetteer, draft, heading))
