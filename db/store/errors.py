"""Typed domain errors of the store API: the Telegram layer turns each into a localised reply."""

from __future__ import annotations

import enum

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from db.domain.roles import Role

#: Errors that mean the database cannot be reached now (not that a statement was wrong: an
#: IntegrityError, say, is a bug and gets the ordinary apology).
UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout, ConnectionError, TimeoutError)


def is_unavailable(
    error: BaseException | None, besides: tuple[type[BaseException], ...] = ()
) -> bool:
    """Whether ``error``, or what caused it (a few links down), is the database being out of
    reach; errors of the types ``besides`` never count (the caller's own kinds of failure)."""
    seen = 0
    while error is not None and seen < 5:
        if isinstance(error, UNAVAILABLE) and not isinstance(error, besides):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


class StoreError(Exception):
    """The store refused a request; nothing was written."""


class NotAllowed(StoreError):
    """The user's role is below what the request needs."""

    def __init__(self, role: Role, needed: Role) -> None:
        super().__init__(f"role {role.name} below {needed.name}")
        self.role = role
        self.needed = needed


class Refusal(enum.StrEnum):
    NOT_FOUND = "not_found"
    #: The incident changed after the change was proposed (or the form was filled in).
    STALE = "stale"
    ALREADY_RETRACTED = "already_retracted"
    NOT_RETRACTED = "not_retracted"
    NOTHING_CHANGED = "nothing_changed"
    ALREADY_DECIDED = "already_decided"
    OWN_CHANGE = "own_change"
    NOT_YOURS = "not_yours"
    #: An editor's Undo of an incident when review is on: that is a retraction to review.
    NEEDS_REVIEW = "needs_review"
    #: An official total of the same issuer as of the same day is recorded (or waiting).
    OFFICIAL_EXISTS = "official_exists"
    ALREADY_EDITOR = "already_editor"
    NOT_EDITOR = "not_editor"


class ChangeRefused(StoreError):
    """The store refuses a change (``subject``: the incident, change, figure or user it names)."""

    def __init__(self, refusal: Refusal, subject: int | None = None) -> None:
        super().__init__(f"{refusal.value}: {subject}")
        self.refusal = refusal
        self.subject = subject


class CannotApply(ChangeRefused):
    """An approved change can no longer be applied (the incident changed, was retracted...);
    the change stays pending until it is closed (``Review.close``)."""


class NoCasualties(StoreError):
    """An edit would leave the incident with no one killed or injured."""

    def __init__(self, incident_id: int) -> None:
        super().__init__(f"no casualties left in #{incident_id}")
        self.incident_id = incident_id
