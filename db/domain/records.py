"""What the store keeps about incidents, changes, subscriptions and deliveries, as plain enums.

Stored as their values (see ``db.models``); the rendering layer words them in the reader's language.
"""

from __future__ import annotations

import enum


class DatePrecision(enum.StrEnum):
    DAY = "day"
    MONTH = "month"
    YEAR = "year"


class Device(enum.StrEnum):
    ANTIPERSONNEL = "antipersonnel"
    ANTIVEHICLE = "antivehicle"
    IMPROVISED = "improvised"
    UXO = "uxo"
    UNKNOWN = "unknown"


class IncidentStatus(enum.StrEnum):
    PUBLISHED = "published"
    RETRACTED = "retracted"


class ChangeKind(enum.StrEnum):
    """What a change proposed for review does (see ``db.store.proposals``)."""

    ADD = "add"
    EDIT = "edit"
    RETRACT = "retract"
    RESTORE = "restore"
    OFFICIAL = "official"
    IMPORT = "import"


class ChangeStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class SubscriptionEnd(enum.StrEnum):
    """Why a subscription stopped."""

    UNSUBSCRIBED = "unsubscribed"
    #: Telegram answered 403: the user blocked the bot or the account is deactivated.
    BLOCKED = "blocked"
    #: The bot was removed from the group (a ``my_chat_member`` update).
    REMOVED = "removed"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    #: Claimed by a sender until ``claimed_until``; after that any sender may claim it again.
    SENDING = "sending"
    SENT = "sent"
    #: Given up after the last attempt (the error is kept).
    FAILED = "failed"
    #: Not sent because the chat's subscription ended (blocked, removed, unsubscribed).
    DROPPED = "dropped"
