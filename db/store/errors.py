"""Typed domain errors of the store API: the Telegram layer turns each into a localised reply."""

from __future__ import annotations

from db.domain.roles import Role


class StoreError(Exception):
    """The store refused a request; nothing was written."""


class NotAllowed(StoreError):
    """The user's role is below what the request needs."""

    def __init__(self, role: Role, needed: Role) -> None:
        super().__init__(f"role {role.name} below {needed.name}")
        self.role = role
        self.needed = needed
