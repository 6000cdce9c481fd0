"""Where the guided /add stands, kept in the store (``db.store.drafts``), not in a process: the
next message of the admin may reach another webhook process, or one started after a restart.

A conversation is a draft of kind ``add`` under its chat and user: its session (carried by every
button), the question waiting, the answers so far and the language the admin is answered in.
Every update that moves it on writes it at the version it read (another process that moved it on
meanwhile makes the write fail, and the update is decided again), and starts its time again.
A conversation left without an answer for its timeout is dropped and the admin told, once: by a
job of the process that handled the last answer (each process that handled one watches it), or,
when no process watched it to the end (a restart), at the admin's next message.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from telegram import Update

from db.store.drafts import DraftExpired, DraftKey, DraftKind
from handlers.add_answers import answers_from_json, answers_to_json
from handlers.callbacks import AddStep
from handlers.context import BotContext
from handlers.render.conversation import render_timed_out
from locales.i18n import Translator

#: How long a conversation lasts when no timeout is set (its draft must expire some day).
LIFETIME = dt.timedelta(hours=24)


@dataclass
class Progress:
    """One admin's conversation: its session (in every button), the question asked, the answers
    so far by the keys of :func:`handlers.forms.check_value`."""

    session: str = field(default_factory=lambda: secrets.token_hex(4))
    #: The question waiting for an answer; None once every one is answered (the preview waits).
    step: AddStep | None = AddStep.DATE
    answers: dict[str, Any] = field(default_factory=dict)
    #: Answering one field again from the preview's Edit (the preview follows the answer).
    editing: bool = False
    #: The language the admin was last answered in (a timeout is told in it).
    lang: str = ""
    #: The stored draft's version (0: not stored yet).
    version: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "step": self.step.value if self.step is not None else None,
            "answers": answers_to_json(self.answers),
            "editing": self.editing,
            "lang": self.lang,
        }

    @classmethod
    def from_json(cls, data: Any, version: int) -> Progress | None:
        """A stored conversation; None for data this code does not read (an older version's)."""
        try:
            step = data["step"]
            return cls(
                session=str(data["session"]),
                step=AddStep(step) if step is not None else None,
                answers=answers_from_json(data["answers"]),
                editing=bool(data["editing"]),
                lang=str(data["lang"]),
                version=version,
            )
        except (KeyError, TypeError, ValueError):
            return None


def _minutes(timeout: dt.timedelta) -> int:
    return max(1, round(timeout.total_seconds() / 60))


@dataclass
class Conversation:
    """The guided /add of one update's chat and user, as the store keeps it."""

    update: Update
    context: BotContext
    #: No answer for this long drops the conversation (None: it lasts :data:`LIFETIME`).
    timeout: dt.timedelta | None

    @property
    def key(self) -> DraftKey:
        chat, user = self.update.effective_chat, self.update.effective_user
        return DraftKey(chat.id if chat else 0, user.id if user else 0, DraftKind.ADD)

    async def load(self) -> Progress | None:
        """The conversation in progress; :class:`DraftExpired` once its time ran out (it is
        dropped now: the caller tells the admin)."""
        draft = await self.context.services.store.drafts.get(self.key)
        return Progress.from_json(draft.data, draft.version) if draft is not None else None

    async def save(self, progress: Progress, t: Translator) -> None:
        """Store ``progress`` (at the version it was read at: ``DraftChanged`` when another
        update moved the conversation on meanwhile) and start its time again."""
        progress.lang = t.lang
        drafts = self.context.services.store.drafts
        stored = await drafts.put(
            self.key,
            progress.to_json(),
            self.timeout or LIFETIME,
            version=progress.version or None,
        )
        progress.version = stored.version
        if self.timeout is not None:
            _watch(self.context, self.key, self.timeout, _minutes(self.timeout))

    async def take(self, progress: Progress) -> None:
        """End the conversation to store what it made: only one update ever does
        (``DraftChanged`` when it is no longer at the version read)."""
        await self.context.services.store.drafts.take(self.key, version=progress.version)
        _unwatch(self.context, self.key)

    async def end(self) -> bool:
        """Drop the conversation; True when one was in progress."""
        _unwatch(self.context, self.key)
        return await self.context.services.store.drafts.clear(self.key)

    def timed_out(self, t: Translator) -> str:
        """The notice of a conversation dropped for want of an answer."""
        return render_timed_out(t, _minutes(self.timeout or LIFETIME))


def _job_name(key: DraftKey) -> str:
    return f"add-timeout:{key.chat_id}:{key.user_id}"


def _unwatch(context: BotContext, key: DraftKey) -> None:
    if context.job_queue is not None:
        for job in context.job_queue.get_jobs_by_name(_job_name(key)):
            job.schedule_removal()


def _watch(
    context: BotContext, key: DraftKey, when: dt.timedelta | dt.datetime, minutes: int
) -> None:
    """Look at the conversation again at ``when`` (one job per conversation in this process)."""
    _unwatch(context, key)
    queue: Any = context.job_queue  # PTB's JobQueue, generic in a way mypy cannot bind here
    if queue is not None:
        queue.run_once(_look_again, when, data=(key, minutes), name=_job_name(key))


async def _look_again(context: BotContext) -> None:
    """A conversation's time is up here: dropped and the admin told, unless another process
    moved it on (it is watched until its new time) or ended it."""
    assert context.job is not None
    key: DraftKey
    minutes: int
    key, minutes = context.job.data  # type: ignore[misc]
    try:
        draft = await context.services.store.drafts.get(key)
    except DraftExpired as expired:
        progress = Progress.from_json(expired.draft.data, expired.draft.version)
        t = context.services.catalogs.translator(progress.lang if progress else None)
        await context.bot.send_message(key.chat_id, render_timed_out(t, minutes))
        return
    if draft is not None:
        _watch(context, key, draft.expires_at, minutes)
