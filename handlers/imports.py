"""Bulk import: an admin sends a CSV file in the dataset's format (a document in a private chat,
or in a group with the caption /import, or /import in reply to such a document).

Every row is checked before anything is written; with any problem nothing is imported and the
problems are listed by line. Otherwise the rows not in the store yet are added in one
transaction (owners, or anyone when review is off), or kept as one change for review (editors).
"""

from __future__ import annotations

import logging
import re

from telegram import Document, Message, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import filters

from db.domain.csv_rows import parse_csv
from db.domain.imports import MAX_FILE_BYTES, is_csv
from db.domain.roles import Role
from db.store.errors import NotAllowed
from db.store.imports import ImportOutcome, ImportRequest, ImportResult
from handlers.auth import require
from handlers.context import BotContext
from handlers.editing import notify_reviewers
from handlers.render.imports import (
    import_usage,
    render_download_failed,
    render_import_problems,
    render_import_proposed,
    render_imported,
    render_not_csv,
    render_too_large,
)
from handlers.render.problems import refused_text
from handlers.replies import reply, show_action
from locales.i18n import Translator

log = logging.getLogger(__name__)

_COMMAND_RE = re.compile(r"^/import(?:@(\w+))?(?:\s|$)", re.IGNORECASE)

#: What the import handler takes (new messages only, not edits): any document in a private chat;
#: in a group, a document with the caption /import; and the command /import itself (alone it
#: explains how to import; in reply to a document it imports that document).
IMPORT_FILTER = filters.UpdateType.MESSAGE & (
    (filters.Document.ALL & (filters.ChatType.PRIVATE | filters.CaptionRegex(_COMMAND_RE)))
    | filters.Regex(_COMMAND_RE)
)


def _addressed_to_another_bot(message: Message, username: str | None) -> bool:
    """``/import@other_bot``: a command for another bot in the same group."""
    match = _COMMAND_RE.match(message.text or message.caption or "")
    mention = match.group(1) if match else None
    return mention is not None and mention.lower() != (username or "").lower()


def _document(message: Message) -> Document | None:
    if message.document is not None:
        return message.document
    if message.text is not None and message.reply_to_message is not None:
        return message.reply_to_message.document
    return None


async def _download(update: Update, t: Translator, document: Document) -> bytes | None:
    """The file's bytes, or None after saying why not (not a CSV file, too large, not there)."""
    if not is_csv(document.file_name, document.mime_type):
        await reply(update, render_not_csv(t))
        return None
    if document.file_size is not None and document.file_size > MAX_FILE_BYTES:
        await reply(update, render_too_large(t))
        return None
    try:
        data = bytes(await (await document.get_file()).download_as_bytearray())
    except TelegramError as exc:
        log.warning("could not download %s: %s", document.file_id, exc)
        await reply(update, render_download_failed(t))
        return None
    if len(data) > MAX_FILE_BYTES:
        await reply(update, render_too_large(t))
        return None
    return data


async def import_document(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None or _addressed_to_another_bot(message, context.bot.username):
        return
    # Rights first: a reader's file is not even downloaded (the store asks again).
    if await require(update, context, Role.EDITOR, "import") is None:
        return
    services = context.services
    t = await context.translator(update)
    document = _document(message)
    if document is None:
        await reply(update, import_usage(t))
        return
    data = await _download(update, t, document)
    if data is None:
        return
    user = update.effective_user
    assert user is not None
    name = document.file_name
    parsed = parse_csv(data, services.gazetteer, context.today())
    if not parsed.ok:
        log.info(
            "user_id=%s import of %r refused: %d problems", user.id, name, len(parsed.problems)
        )
        await reply(update, render_import_problems(t, services.gazetteer, name, parsed.problems))
        return
    await show_action(update, ChatAction.TYPING)  # a large file takes a few seconds
    request = ImportRequest(parsed.rows, user.id, file_name=name, language=t.lang)
    try:
        result = await services.store.imports.import_rows(request)
    except NotAllowed:  # no longer an editor since the file was sent
        await reply(update, refused_text(t, False))
        return
    await _tell(update, context, t, name, result)


async def _tell(
    update: Update, context: BotContext, t: Translator, name: str | None, result: ImportResult
) -> None:
    """What the import did; an import kept for review goes to the reviewers too."""
    user = update.effective_user
    assert user is not None
    if result.proposal is not None:
        change_id = result.proposal.change.id
        log.info(
            "user_id=%s proposed importing %d rows as change %s",
            user.id,
            len(result.rows),
            change_id,
        )
        proposed = render_import_proposed(t, name, result.rows, result.skipped, change_id)
        await reply(update, proposed.text, proposed.keyboard)
        await notify_reviewers(context, result.proposal)
        return
    if result.outcome is ImportOutcome.ADDED:
        log.info(
            "user_id=%s imported %r: %d added, %d skipped",
            user.id,
            name,
            len(result.added),
            len(result.skipped),
        )
    await reply(update, render_imported(t, name, result.report, result.added_drafts))
