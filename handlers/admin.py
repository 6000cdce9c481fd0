"""/admin add|remove|list (owners appoint editors) and /whoami (anyone: their user id)."""

from __future__ import annotations

import logging

from telegram import Update

from db.domain.problems import ProblemKind
from db.domain.roles import Role
from db.domain.validation import MAX_USER_ID, FormProblem, Invalid
from db.store.errors import ChangeRefused
from handlers import menus
from handlers.auth import ROLE_NAMES, require, role_of
from handlers.context import BotContext
from handlers.editing import command_text
from handlers.forms import parse_id
from handlers.render import escape
from handlers.render.admin import (
    admin_usage,
    render_editor_added,
    render_editor_removed,
    render_editors,
    render_whoami,
)
from handlers.render.problems import render_form_problems, render_refusal
from handlers.replies import reply

log = logging.getLogger(__name__)


def _subject(update: Update, words: list[str]) -> int:
    """The user id given, or the author of the message replied to (handy in a group)."""
    message = update.effective_message
    if len(words) < 2 and message is not None and message.reply_to_message is not None:
        author = message.reply_to_message.from_user
        if author is not None and not author.is_bot:
            return author.id
    return parse_id("user_id", words[1] if len(words) > 1 else None, MAX_USER_ID)


async def admin_command(update: Update, context: BotContext) -> None:
    if await require(update, context, Role.OWNER, "/admin") is None:
        return
    services = context.services
    t = await context.translator(update)
    words = command_text(update).split()
    action = words[0].lower() if words else ""
    user = update.effective_user
    assert user is not None
    if action == "list" and len(words) == 1:
        editors = await services.store.editors.roster(user.id)
        await reply(update, render_editors(t, sorted(services.settings.admin_ids), editors))
        return
    if action not in ("add", "remove") or len(words) > 2:
        problem = FormProblem(ProblemKind.NOT_KEY_VALUE, None, " ".join(words)[:60])
        problems = [problem] if words else []
        await reply(update, render_form_problems(t, services.gazetteer, problems, admin_usage(t)))
        return
    try:
        subject = _subject(update, words)
    except Invalid as exc:
        problem = exc.problem if len(words) > 1 else FormProblem(ProblemKind.MISSING, "user_id")
        await reply(update, render_form_problems(t, services.gazetteer, [problem], admin_usage(t)))
        return
    try:
        if action == "add":
            await services.store.editors.add(user.id, subject)
        else:
            await services.store.editors.remove(user.id, subject)
    except ChangeRefused as refused:
        await reply(update, escape(render_refusal(t, refused)))
        return
    log.info("owner %s: editor %s %s", user.id, action, subject)
    if action == "add":
        await reply(update, render_editor_added(t, subject, services.settings.review_required))
        await menus.set_admin_menu(context.bot, services.catalogs, [subject])
    else:
        await reply(update, render_editor_removed(t, subject))
        if subject not in services.settings.admin_ids:
            await menus.remove_admin_menu(context.bot, services.catalogs, subject)


async def whoami_command(update: Update, context: BotContext) -> None:
    user = update.effective_user
    if user is None:
        return
    t = await context.translator(update)
    role = await role_of(context, user.id)
    await reply(update, render_whoami(t, user.id, t._(ROLE_NAMES[role])))
