"""/add: with arguments, the one-line form; alone, in a private chat, a guided conversation.

The questions, in order: date, district, place, the four counts, device, source, note. Every answer
is checked by the validators of the one-line form (``handlers.forms``) and a wrong one is asked
again, naming what was wrong. Then a preview with Confirm, Edit and Cancel; only Confirm stores
anything (through ``submit_draft``: possible duplicates first, review for editors).

Rights are checked on every update of the conversation, buttons included: callback data can be
forged by anyone. Each button carries its conversation's random session, so a button left from an
earlier /add is refused as expired instead of acting on the current one.

Other commands sent meanwhile are answered as usual and the questions wait (/cancel stops them,
/add alone starts again); a text in the private chat is read as the answer to the question asked.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import warnings
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from db.domain.drafts import COUNT_FIELDS
from db.domain.gazetteer import Gazetteer, normalize
from db.domain.problems import ProblemKind
from db.domain.records import DatePrecision, Device
from db.domain.roles import Role
from db.validation import FormProblem, Invalid, check_count, check_device, clean
from handlers.auth import require
from handlers.callbacks import ADD_PREFIX, AddAction, AddButton, AddStep
from handlers.context import BotContext
from handlers.editing import add_one_line, command_text, respond, submit_draft
from handlers.forms import check_value, collect, draft_from, split_pairs
from handlers.render import DEVICE_LABELS, Rendered, escape, expired_text
from handlers.render.changes import render_cancelled
from handlers.render.conversation import (
    STEPS,
    accepted_line,
    render_dropped,
    render_fields,
    render_preview,
    render_private_only,
    render_restarted,
    render_step,
    render_timed_out,
    render_use_buttons,
)
from handlers.replies import reply
from locales.i18n import Translator

#: Where the answers so far are kept, in ``context.user_data``.
PROGRESS_KEY = "add_conversation"
#: A conversation left this long without an answer is dropped (and the admin told).
TIMEOUT = dt.timedelta(minutes=30)
#: The conversation's state once every question is answered: the preview (and its field list).
PREVIEW = "preview"

_NUMBER_SEPARATORS = re.compile(r"[\s,;]+")

State = object
Callback = Callable[[Update, BotContext], Coroutine[Any, Any, State]]


@dataclass
class Progress:
    """One admin's conversation: its session (in every button) and the answers so far, by the
    keys of :func:`handlers.forms.check_value`."""

    session: str = field(default_factory=lambda: secrets.token_hex(4))
    answers: dict[str, Any] = field(default_factory=dict)
    #: Answering one field again from the preview's Edit (the preview follows the answer).
    editing: bool = False


class Rejected(Exception):
    """An answer that is not accepted, and why."""

    def __init__(self, problems: tuple[FormProblem, ...], numbers_given: int | None = None) -> None:
        super().__init__(", ".join(p.kind.value for p in problems) or "numbers")
        self.problems = problems
        self.numbers_given = numbers_given


# -- answers (pure) --------------------------------------------------------------------------------


def parse_counts(text: str) -> dict[str, int]:
    """``0 1 0 0`` (civilian killed, civilian injured, military killed, military injured; commas
    work too) or ``civilian_injured=1 ...`` (keys not given are 0); at least one above 0."""
    problems: list[FormProblem] = []
    values = dict.fromkeys(COUNT_FIELDS, 0)
    if "=" in text:
        raw, problems = collect(split_pairs(text), COUNT_FIELDS)
        for key, value in raw.items():
            try:
                values[key] = check_count(key, value)
            except Invalid as exc:
                problems.append(exc.problem)
    else:
        words = [w for w in _NUMBER_SEPARATORS.split(clean(text)) if w]
        if len(words) != len(COUNT_FIELDS):
            raise Rejected((), numbers_given=len(words))
        for key, word in zip(COUNT_FIELDS, words, strict=True):
            try:
                values[key] = check_count(key, word)
            except Invalid as exc:
                problems.append(exc.problem)
    if not problems and not any(values.values()):
        problems.append(FormProblem(ProblemKind.NO_CASUALTIES))
    if problems:
        raise Rejected(tuple(problems))
    return values


def parse_device(text: str, t: Translator) -> Device:
    """A device by its value (``uxo``) or its label in English or the reader's language."""
    wanted = normalize(text)
    for device, label in DEVICE_LABELS.items():
        if wanted and wanted in (normalize(label), normalize(t._(label))):
            return device
    return check_device("device", text)


def parse_answer(
    step: AddStep, text: str, gazetteer: Gazetteer, day: dt.date, t: Translator
) -> dict[str, Any]:
    """A step's answer as typed values (what :func:`handlers.forms.draft_from` takes)."""
    try:
        if step is AddStep.COUNTS:
            return dict(parse_counts(text))
        if step is AddStep.DEVICE:
            return {"device": parse_device(text, t)}
        key = step.value
        return {key: check_value(key, text, gazetteer, day)}
    except Invalid as exc:
        raise Rejected((exc.problem,)) from None


# -- the conversation's pieces ---------------------------------------------------------------------


def _progress(context: BotContext) -> Progress | None:
    found = (context.user_data or {}).get(PROGRESS_KEY)
    return found if isinstance(found, Progress) else None


def _drop(context: BotContext) -> Progress | None:
    if context.user_data is None:
        return None
    found = context.user_data.pop(PROGRESS_KEY, None)
    return found if isinstance(found, Progress) else None


def _is_private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


def _next(step: AddStep) -> AddStep | None:
    index = STEPS.index(step)
    return STEPS[index + 1] if index + 1 < len(STEPS) else None


async def _advance(
    update: Update, context: BotContext, progress: Progress, step: AddStep, t: Translator
) -> State:
    """``step`` was answered: the next question, or the preview (after the last one, or after
    a field answered again from Edit)."""
    gazetteer = context.services.gazetteer
    accepted = accepted_line(t, gazetteer, step, progress.answers)
    following = None if progress.editing else _next(step)
    if following is None:
        progress.editing = False
        draft = draft_from(progress.answers)
        await respond(
            update, render_preview(t, gazetteer, draft, progress.session, accepted=accepted)
        )
        return PREVIEW
    await respond(update, render_step(t, gazetteer, following, progress.session, accepted=accepted))
    return following


async def _preview(update: Update, context: BotContext, progress: Progress, t: Translator) -> State:
    progress.editing = False
    draft = draft_from(progress.answers)
    await respond(update, render_preview(t, context.services.gazetteer, draft, progress.session))
    return PREVIEW


async def _refuse_button(update: Update, t: Translator) -> State:
    """A button that belongs to no current question: an earlier /add's, or forged."""
    query = update.callback_query
    if query is not None:
        await query.answer(expired_text(t), show_alert=True)
    return None


async def _checked_button(
    update: Update, context: BotContext
) -> tuple[Role, Translator, Progress, AddButton] | State:
    """Rights, then the button's data and session. A tuple when the button may act; else the
    state to return (END when the sender has no rights, None to stay)."""
    role = await require(update, context, Role.EDITOR, "/add button")
    if role is None:
        _drop(context)
        return ConversationHandler.END
    t = await context.translator(update)
    query = update.callback_query
    progress = _progress(context)
    button = AddButton.decode(query.data or "") if query is not None else None
    if progress is None or button is None or button.session != progress.session:
        return await _refuse_button(update, t)
    return role, t, progress, button


# -- entry, /cancel, timeout -----------------------------------------------------------------------


async def add_entry(update: Update, context: BotContext) -> State:
    """``/add key=value ...``: the one-line form. ``/add`` alone in a private chat: the first
    question (a conversation in progress starts again)."""
    role = await require(update, context, Role.EDITOR, "/add")
    if role is None:
        if _is_private(update):
            _drop(context)
        return ConversationHandler.END
    t = await context.translator(update)
    text = command_text(update)
    if text.strip():
        if _is_private(update) and _drop(context) is not None:
            await reply(update, render_dropped(t))
        await add_one_line(update, context, role, text)
        return ConversationHandler.END
    if not _is_private(update):
        await reply(update, render_private_only(t))
        return ConversationHandler.END
    restarted = _drop(context) is not None
    progress = Progress()
    assert context.user_data is not None
    context.user_data[PROGRESS_KEY] = progress
    notice = render_restarted(t) if restarted else None
    rendered = render_step(
        t, context.services.gazetteer, AddStep.DATE, progress.session, notice=notice
    )
    await reply(update, rendered.text, rendered.keyboard)
    return AddStep.DATE


async def cancel_command(update: Update, context: BotContext) -> State:
    role = await require(update, context, Role.EDITOR, "/cancel")
    _drop(context)
    if role is not None:
        await reply(update, render_cancelled(await context.translator(update)))
    return ConversationHandler.END


async def cancel_button(update: Update, context: BotContext) -> State:
    checked = await _checked_button(update, context)
    if not isinstance(checked, tuple):
        return checked
    _, t, _, _ = checked
    _drop(context)
    assert update.callback_query is not None
    await update.callback_query.answer()
    await respond(update, Rendered(render_cancelled(t)))
    return ConversationHandler.END


async def stale_button(update: Update, context: BotContext) -> State:
    """A button of the guided /add that no question is waiting for: refused (rights first)."""
    if await require(update, context, Role.EDITOR, "/add button") is None:
        return None
    return await _refuse_button(update, await context.translator(update))


def _on_timeout(timeout: dt.timedelta) -> Callable[[Update, BotContext], Coroutine[Any, Any, None]]:
    minutes = max(1, round(timeout.total_seconds() / 60))

    async def timed_out(update: Update, context: BotContext) -> None:
        """No answer for ``timeout``: the answers are dropped and the admin is told."""
        if _drop(context) is None or update.effective_chat is None:
            return
        t = await context.translator(update)
        await context.bot.send_message(update.effective_chat.id, render_timed_out(t, minutes))

    return timed_out


# -- answers ---------------------------------------------------------------------------------------


def _on_text(step: AddStep) -> Callback:
    async def answer_text(update: Update, context: BotContext) -> State:
        """A typed answer to ``step``: accepted (next question) or asked again."""
        if await require(update, context, Role.EDITOR, "/add answer") is None:
            _drop(context)
            return ConversationHandler.END
        t = await context.translator(update)
        progress = _progress(context)
        message = update.effective_message
        if progress is None or message is None:
            await reply(update, escape(expired_text(t)))
            return ConversationHandler.END
        gazetteer = context.services.gazetteer
        try:
            values = parse_answer(step, message.text or "", gazetteer, context.today(), t)
        except Rejected as rejected:
            rendered = render_step(
                t,
                gazetteer,
                step,
                progress.session,
                editing=progress.editing,
                problems=rejected.problems,
                numbers_given=rejected.numbers_given,
            )
            await reply(update, rendered.text, rendered.keyboard)
            return None
        progress.answers.update(values)
        return await _advance(update, context, progress, step, t)

    answer_text.__name__ = f"answer_{step.value}"
    return answer_text


def _button_answer(button: AddButton, context: BotContext) -> dict[str, Any] | None:
    """A step's answer given by a button; None for data no real button carries."""
    action, arg = button.action, button.arg
    if action in (AddAction.TODAY, AddAction.YESTERDAY):
        day = context.today() - dt.timedelta(days=1 if action is AddAction.YESTERDAY else 0)
        return {"date": (day, DatePrecision.DAY)}
    if action is AddAction.DISTRICT:
        district = int(arg)
        return {"district": district} if district in context.services.gazetteer.entries else None
    if action is AddAction.COUNTS:
        counts = dict(zip(COUNT_FIELDS, (int(c) for c in arg), strict=True))
        return counts if any(counts.values()) else None
    if action is AddAction.DEVICE:
        try:
            return {"device": Device(arg)}
        except ValueError:
            return None
    return None


def _on_button(step: AddStep) -> Callback:
    async def answer_button(update: Update, context: BotContext) -> State:
        """A button under the question ``step`` (or Back, when it is answered again)."""
        checked = await _checked_button(update, context)
        if not isinstance(checked, tuple):
            return checked
        _, t, progress, button = checked
        query = update.callback_query
        assert query is not None
        if button.action is AddAction.PREVIEW:
            if not progress.editing:
                return await _refuse_button(update, t)
            await query.answer()
            return await _preview(update, context, progress, t)
        if button.action is AddAction.SKIP:
            values: dict[str, Any] | None = {step.value: None}
        else:
            values = _button_answer(button, context)
        if values is None:
            return await _refuse_button(update, t)
        await query.answer()
        progress.answers.update(values)
        return await _advance(update, context, progress, step, t)

    answer_button.__name__ = f"button_{step.value}"
    return answer_button


async def preview_button(update: Update, context: BotContext) -> State:
    """Confirm, Edit, a field to answer again, or Back, under the preview."""
    checked = await _checked_button(update, context)
    if not isinstance(checked, tuple):
        return checked
    role, t, progress, button = checked
    query = update.callback_query
    assert query is not None
    gazetteer = context.services.gazetteer
    if button.action is AddAction.CONFIRM:
        await query.answer()
        draft = draft_from(progress.answers)
        _drop(context)
        await submit_draft(update, context, draft, role)
        return ConversationHandler.END
    if button.action is AddAction.EDIT:
        await query.answer()
        await respond(
            update, render_fields(t, gazetteer, draft_from(progress.answers), progress.session)
        )
        return PREVIEW
    if button.action is AddAction.FIELD:
        step = AddStep(button.arg)
        await query.answer()
        progress.editing = True
        await respond(update, render_step(t, gazetteer, step, progress.session, editing=True))
        return step
    await query.answer()
    return await _preview(update, context, progress, t)


async def preview_text(update: Update, context: BotContext) -> State:
    """A message while the preview waits for a button: the preview again, below it."""
    if await require(update, context, Role.EDITOR, "/add answer") is None:
        _drop(context)
        return ConversationHandler.END
    t = await context.translator(update)
    progress = _progress(context)
    if progress is None:
        await reply(update, escape(expired_text(t)))
        return ConversationHandler.END
    rendered = render_preview(
        t,
        context.services.gazetteer,
        draft_from(progress.answers),
        progress.session,
        notice=render_use_buttons(t),
    )
    await reply(update, rendered.text, rendered.keyboard)
    return None


# -- the handler -----------------------------------------------------------------------------------

#: The buttons each question answers (Back, for a field answered again, goes with every one).
_STEP_ACTIONS: Mapping[AddStep, frozenset[AddAction]] = {
    AddStep.DATE: frozenset({AddAction.TODAY, AddAction.YESTERDAY}),
    AddStep.DISTRICT: frozenset({AddAction.DISTRICT}),
    AddStep.PLACE: frozenset({AddAction.SKIP}),
    AddStep.COUNTS: frozenset({AddAction.COUNTS}),
    AddStep.DEVICE: frozenset({AddAction.DEVICE}),
    AddStep.SOURCE: frozenset(),
    AddStep.NOTE: frozenset({AddAction.SKIP}),
}
_PREVIEW_ACTIONS = frozenset(
    {AddAction.CONFIRM, AddAction.EDIT, AddAction.FIELD, AddAction.PREVIEW}
)


def _actions(allowed: frozenset[AddAction]) -> Callable[[object], bool]:
    """A callback-data pattern: a well-formed button of the guided /add with one of ``allowed``."""

    def matches(data: object) -> bool:
        button = AddButton.decode(data) if isinstance(data, str) else None
        return button is not None and button.action in allowed

    return matches


def build_add_conversation(
    timeout: dt.timedelta | None = TIMEOUT,
) -> ConversationHandler[BotContext]:
    """The /add handler: entry for both forms, one state per question and the preview."""
    answer = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND
    states: dict[object, list[BaseHandler[Update, BotContext, State]]] = {
        step: [
            MessageHandler(answer, _on_text(step)),
            CallbackQueryHandler(
                _on_button(step), pattern=_actions(_STEP_ACTIONS[step] | {AddAction.PREVIEW})
            ),
        ]
        for step in STEPS
    }
    states[PREVIEW] = [
        CallbackQueryHandler(preview_button, pattern=_actions(_PREVIEW_ACTIONS)),
        MessageHandler(answer, preview_text),
    ]
    if timeout is not None:
        states[ConversationHandler.TIMEOUT] = [TypeHandler(Update, _on_timeout(timeout))]
    add = CommandHandler("add", add_entry, filters=filters.UpdateType.MESSAGE)
    stale = CallbackQueryHandler(stale_button, pattern=f"^{ADD_PREFIX}\\|")
    with warnings.catch_warnings():
        # The conversation is per user and chat on purpose (answers are typed as messages);
        # every button carries the conversation's session instead.
        warnings.filterwarnings("ignore", message=".*per_message=False", category=PTBUserWarning)
        return ConversationHandler(
            entry_points=[add, stale],
            states=states,
            fallbacks=[
                CommandHandler("cancel", cancel_command),
                add,
                CallbackQueryHandler(
                    cancel_button, pattern=_actions(frozenset({AddAction.CANCEL}))
                ),
                stale,
            ],
            conversation_timeout=timeout,
        )
