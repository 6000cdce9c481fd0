"""/subscribe, /unsubscribe, /subscription (with buttons), /digest_now, and the bot being blocked
or removed (a ``my_chat_member`` update ends the chat's digest)."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType

from db.domain.records import SubscriptionEnd
from db.domain.roles import Role
from db.domain.schedule import Frequency
from db.store.subscriptions import SubscribeRequest
from handlers.auth import require
from handlers.callbacks import SubscriptionAction, decode_subscription
from handlers.context import BotContext
from handlers.parsing import parse_subscription
from handlers.render import escape, expired_text, render_problems
from handlers.render.digest import (
    render_digest_now,
    render_group_admins_only,
    render_subscribed,
    render_subscription,
    render_unsubscribed,
)
from handlers.replies import edit, reply

log = logging.getLogger(__name__)

_GROUP_ADMINS = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)


async def _may_change(update: Update, context: BotContext) -> bool:
    """Anyone in a private chat; in a group, its admins only (asked from Telegram each time)."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return False
    if chat.type == ChatType.PRIVATE:
        return True
    member = await context.bot.get_chat_member(chat.id, user.id)
    if member.status in _GROUP_ADMINS:
        return True
    t = await context.translator(update)
    text = render_group_admins_only(t)
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await reply(update, escape(text))
    return False


async def subscribe_command(update: Update, context: BotContext) -> None:
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or not await _may_change(update, context):
        return
    services = context.services
    t = await context.translator(update)
    parsed = parse_subscription(context.args or (), services.gazetteer, services.vocabulary)
    if not parsed.ok:
        await reply(update, render_problems(t, services.gazetteer, parsed.problems))
        return
    request = SubscribeRequest(
        filter=parsed.filter,
        frequency=parsed.frequency,
        at=parsed.at,
    )
    view = await services.store.subscriptions.subscribe(
        chat.id,
        request,
        actor=user.id,
        tz=services.settings.tz,
        default_at=services.settings.digest_time,
        language=t.lang,
    )
    log.info("chat %s subscribed: %s", chat.id, view.settings)
    rendered = render_subscribed(t, services.gazetteer, view)
    await reply(update, rendered.text, rendered.keyboard)


async def unsubscribe_command(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None or not await _may_change(update, context):
        return
    t = await context.translator(update)
    stopped = await context.services.store.subscriptions.end(chat.id, SubscriptionEnd.UNSUBSCRIBED)
    await reply(update, render_unsubscribed(t, stopped))


async def subscription_command(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    services = context.services
    t = await context.translator(update)
    view = await services.store.subscriptions.current(chat.id)
    rendered = render_subscription(t, services.gazetteer, view)
    await reply(update, rendered.text, rendered.keyboard)


async def subscription_button(update: Update, context: BotContext) -> None:
    """Daily/Weekly instead, or Stop, under /subscription: acts on the chat it is pressed in."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    if query is None or chat is None or user is None:
        return
    services = context.services
    t = await context.translator(update)
    action = decode_subscription(query.data or "")
    if action is None:
        await query.answer(expired_text(t), show_alert=True)
        return
    if not await _may_change(update, context):
        return
    await query.answer()
    if action is SubscriptionAction.STOP:
        stopped = await services.store.subscriptions.end(chat.id, SubscriptionEnd.UNSUBSCRIBED)
        await edit(update, render_unsubscribed(t, stopped))
        return
    frequency = Frequency.DAILY if action is SubscriptionAction.DAILY else Frequency.WEEKLY
    view = await services.store.subscriptions.change_frequency(
        chat.id, frequency, actor=user.id, tz=services.settings.tz
    )
    if view is None:  # no running digest (stopped meanwhile)
        await edit(update, render_subscription(t, services.gazetteer, None).text)
        return
    rendered = render_subscription(t, services.gazetteer, view)
    await edit(update, rendered.text, rendered.keyboard)


async def digest_now_command(update: Update, context: BotContext) -> None:
    """Admins: decide every running digest now (breaking news) and send the outbox."""
    if await require(update, context, Role.EDITOR, "/digest_now") is None:
        return
    services = context.services
    t = await context.translator(update)
    assert services.deliver_digests is not None, "set by the composition root"
    delivery = await services.deliver_digests(context.bot)
    await reply(
        update,
        render_digest_now(t, delivery.queued, delivery.sent, delivery.failed, delivery.ended),
    )


async def bot_membership(update: Update, context: BotContext) -> None:
    """The bot was blocked by a user or removed from a group: that chat's digest ends."""
    change = update.my_chat_member
    if change is None:
        return
    status = change.new_chat_member.status
    if status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT):
        reason = (
            SubscriptionEnd.BLOCKED
            if change.chat.type == ChatType.PRIVATE
            else SubscriptionEnd.REMOVED
        )
        if await context.services.store.subscriptions.end(change.chat.id, reason):
            log.info("chat %s: the bot was %s; its digest is ended", change.chat.id, status)
