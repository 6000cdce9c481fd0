"""Moving the guided /add on: an answer typed or pressed, and the preview's buttons.

Each step stores the conversation first (``Conversation.save`` or ``take``: ``DraftChanged`` when
another update moved it on meanwhile, and the update is decided again, having said nothing yet),
then acknowledges the button and answers. Which update reaches which step is decided by
``handlers.add_conversation``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telegram import Update

from handlers.add_answers import Rejected, button_answer, parse_answer
from handlers.add_progress import Conversation, Progress
from handlers.callbacks import AddAction, AddButton, AddStep
from handlers.editing import respond, submit_draft
from handlers.forms import draft_from
from handlers.render import Rendered, expired_text
from handlers.render.changes import render_cancelled
from handlers.render.conversation import (
    STEPS,
    accepted_line,
    render_fields,
    render_preview,
    render_step,
    render_use_buttons,
)
from handlers.replies import reply
from locales.i18n import Translator

#: The buttons each question answers (Back, for a field answered again, goes with every one).
STEP_ACTIONS: Mapping[AddStep, frozenset[AddAction]] = {
    AddStep.DATE: frozenset({AddAction.TODAY, AddAction.YESTERDAY}),
    AddStep.DISTRICT: frozenset({AddAction.DISTRICT}),
    AddStep.PLACE: frozenset({AddAction.SKIP}),
    AddStep.COUNTS: frozenset({AddAction.COUNTS}),
    AddStep.DEVICE: frozenset({AddAction.DEVICE}),
    AddStep.SOURCE: frozenset(),
    AddStep.NOTE: frozenset({AddAction.SKIP}),
}
PREVIEW_ACTIONS = frozenset({AddAction.CONFIRM, AddAction.EDIT, AddAction.FIELD, AddAction.PREVIEW})


def _next(step: AddStep) -> AddStep | None:
    index = STEPS.index(step)
    return STEPS[index + 1] if index + 1 < len(STEPS) else None


async def _answer_query(update: Update) -> None:
    """A button's press acknowledged (after the conversation is stored: an update decided again
    has said nothing yet)."""
    if update.callback_query is not None:
        await update.callback_query.answer()


async def _show_preview(
    conv: Conversation, progress: Progress, t: Translator, *, accepted: str | None = None
) -> None:
    progress.step, progress.editing = None, False
    await conv.save(progress, t)
    await _answer_query(conv.update)
    draft = draft_from(progress.answers)
    gazetteer = conv.context.services.gazetteer
    await respond(
        conv.update, render_preview(t, gazetteer, draft, progress.session, accepted=accepted)
    )


async def _advance(conv: Conversation, progress: Progress, step: AddStep, t: Translator) -> None:
    """``step`` was answered: the next question, or the preview (after the last one, or after
    a field answered again from Edit)."""
    gazetteer = conv.context.services.gazetteer
    accepted = accepted_line(t, gazetteer, step, progress.answers)
    following = None if progress.editing else _next(step)
    if following is None:
        await _show_preview(conv, progress, t, accepted=accepted)
        return
    progress.step = following
    await conv.save(progress, t)
    await _answer_query(conv.update)
    rendered = render_step(t, gazetteer, following, progress.session, accepted=accepted)
    await respond(conv.update, rendered)


async def refuse_button(update: Update, t: Translator) -> None:
    """A button that belongs to no current question: an earlier /add's, or forged."""
    query = update.callback_query
    if query is not None:
        await query.answer(expired_text(t), show_alert=True)


# -- typed answers ---------------------------------------------------------------------------------


async def answer_text(conv: Conversation, progress: Progress, step: AddStep, t: Translator) -> None:
    """A typed answer to ``step``: accepted (next question) or asked again."""
    update, context = conv.update, conv.context
    message = update.effective_message
    gazetteer = context.services.gazetteer
    try:
        text = (message.text or "") if message is not None else ""
        values = parse_answer(step, text, gazetteer, context.today(), t)
    except Rejected as rejected:
        await conv.save(progress, t)  # an answer all the same: the time starts again
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
        return
    progress.answers.update(values)
    await _advance(conv, progress, step, t)


async def preview_text(conv: Conversation, progress: Progress, t: Translator) -> None:
    """A message while the preview waits for a button: the preview again, below it."""
    await conv.save(progress, t)
    rendered = render_preview(
        t,
        conv.context.services.gazetteer,
        draft_from(progress.answers),
        progress.session,
        notice=render_use_buttons(t),
    )
    await reply(conv.update, rendered.text, rendered.keyboard)


# -- buttons ---------------------------------------------------------------------------------------


async def answer_button(
    conv: Conversation, progress: Progress, step: AddStep, button: AddButton, t: Translator
) -> None:
    """A button under the question ``step`` (or Back, when it is answered again)."""
    if button.action is AddAction.PREVIEW:
        if not progress.editing:
            await refuse_button(conv.update, t)
            return
        await _show_preview(conv, progress, t)
        return
    if button.action is AddAction.SKIP:
        values: dict[str, Any] | None = {step.value: None}
    else:
        values = button_answer(button, conv.context.services.gazetteer, conv.context.today())
    if values is None:
        await refuse_button(conv.update, t)
        return
    progress.answers.update(values)
    await _advance(conv, progress, step, t)


async def preview_button(
    conv: Conversation, progress: Progress, button: AddButton, t: Translator
) -> None:
    """Confirm, Edit, a field to answer again, or Back, under the preview."""
    update = conv.update
    gazetteer = conv.context.services.gazetteer
    if button.action is AddAction.CONFIRM:
        await conv.take(progress)  # the one update that ends it: a second press is refused
        await _answer_query(update)
        await submit_draft(update, conv.context, draft_from(progress.answers))
        return
    if button.action is AddAction.EDIT:
        await conv.save(progress, t)
        await _answer_query(update)
        draft = draft_from(progress.answers)
        await respond(update, render_fields(t, gazetteer, draft, progress.session))
        return
    if button.action is AddAction.FIELD:
        progress.step, progress.editing = AddStep(button.arg), True
        await conv.save(progress, t)
        await _answer_query(update)
        rendered = render_step(t, gazetteer, progress.step, progress.session, editing=True)
        await respond(update, rendered)
        return
    await _show_preview(conv, progress, t)


async def cancel_button(conv: Conversation, t: Translator) -> None:
    await conv.end()
    await _answer_query(conv.update)
    await respond(conv.update, Rendered(render_cancelled(t)))
