"""The log: one line per event, naming the update and the chat it happened in, with no secrets.

Every line reads ``<time> <level> <logger> update_id=<id> chat_id=<id> <message>``; outside the
handling of an update (start, shutdown, the digest job) both ids are ``-``. The ids come from
context variables that :class:`bot.updates.PerChatUpdateProcessor` sets around each update, so
everything logged meanwhile carries them: our handlers, PTB, the rate limiter, the requests.

A traceback stays on its event's line: every line break inside a record (a multi-line message,
the traceback, a stack) is written as the two characters ``\\n``, so that one event is one line
for grep, journald and log shippers; ``sed 's/\\\\n/\\n/g'`` gives the lines back.

Secrets are replaced by ``***`` before a record is formatted by any handler that has the
:class:`RedactingFilter`: the bot token (it is in every Bot API URL that ``bot.request`` logs at DEBUG:
``/bot123:ABC…/sendMessage``), every other ``SecretStr`` setting, the database password, and
anything of the form ``scheme://user:password@`` or ``/bot<id>:<secret>/``.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from bot.config import Settings

#: The update being handled and its chat ("-" outside an update, or for an update without a chat).
update_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("update_id", default="-")
chat_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("chat_id", default="-")

FORMAT = (
    "%(asctime)s %(levelname)s %(name)s update_id=%(update_id)s chat_id=%(chat_id)s %(message)s"
)
REDACTED = "***"
#: A password in a URL (``postgresql://bot:PASSWORD@host/db``), and a bot token in a Bot API path.
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+(?=@)")
_TOKEN_IN_PATH = re.compile(r"(?P<head>/(?:file/)?bot\d+:)[A-Za-z0-9_-]+")


@contextmanager
def update_context(update_id: int | None, chat_id: int | None) -> Iterator[None]:
    """Log lines written inside carry these ids (``None`` is written ``-``)."""
    update_token = update_id_var.set("-" if update_id is None else str(update_id))
    chat_token = chat_id_var.set("-" if chat_id is None else str(chat_id))
    try:
        yield
    finally:
        chat_id_var.reset(chat_token)
        update_id_var.reset(update_token)


class UpdateContextFilter(logging.Filter):
    """Adds ``update_id`` and ``chat_id`` to every record (from the context variables)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.update_id = update_id_var.get()
        record.chat_id = chat_id_var.get()
        return True


class Redactor:
    """Replaces the given secrets, URL passwords and Bot API tokens in a text by ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so that a secret containing another is replaced whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        text = _URL_PASSWORD.sub(rf"\g<head>{REDACTED}", text)
        return _TOKEN_IN_PATH.sub(rf"\g<head>{REDACTED}", text)


class RedactingFilter(logging.Filter):
    """Redacts a record in place (its message with the arguments merged in, its traceback and
    stack), so that no handler after this one sees the secrets either."""

    _exceptions = logging.Formatter()

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # malformed arguments: let the handler report it as usual
            return True
        redacted = self.redact(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._exceptions.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class OneLineFormatter(logging.Formatter):
    """The format above; line breaks inside a record (a traceback) escaped as ``\\n``."""

    def __init__(self) -> None:
        super().__init__(FORMAT, defaults={"update_id": "-", "chat_id": "-"})

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\r")


def secrets_of(settings: Settings) -> list[str]:
    """What must never be logged: every ``SecretStr`` setting (the bot token and, from it, its
    secret part) and the database password."""
    from pydantic import SecretStr
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    found: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            secret = value.get_secret_value().strip()
            found.append(secret)
            if name == "telegram_bot_token" and ":" in secret:
                found.append(secret.partition(":")[2])
    try:
        password = make_url(settings.database_url).password
    except ArgumentError:
        password = None
    if password:
        found.append(str(password))
    return found


def build_handler(
    stream: TextIO | None = None, *, filename: Path | None = None, secrets: Iterable[str] = ()
) -> logging.Handler:
    """A handler writing one line per record, with the ids and without the secrets."""
    handler: logging.Handler = (
        logging.FileHandler(filename, encoding="utf-8")
        if filename is not None
        else logging.StreamHandler(stream or sys.stderr)
    )
    handler.addFilter(UpdateContextFilter())
    handler.addFilter(RedactingFilter(Redactor(secrets)))
    handler.setFormatter(OneLineFormatter())
    return handler
