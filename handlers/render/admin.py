"""Rendering for admins: editors and owners, /whoami, the admin part of /help and of the command
menu. (Incidents, changes, review, history and form problems have their own modules.)
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import BotCommand

from db.store.editors import EditorEntry
from handlers.render import bold, escape
from handlers.render.problems import code
from locales.i18n import Translator


def render_editors(t: Translator, owners: Sequence[int], editors: Sequence[EditorEntry]) -> str:
    lines = [bold(t._("Owners")), escape(", ".join(str(o) for o in owners) or "—"), ""]
    lines.append(bold(t._("Editors")))
    if not editors:
        lines.append(escape(t._("No editors yet. Add one with /admin add USER_ID.")))
    for editor in editors:
        lines.append(
            escape(
                t._("{user}, added by {by} on {when}").format(
                    user=editor.user_id,
                    by=editor.added_by if editor.added_by is not None else "—",
                    when=t.date(editor.added_at.date()),
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
