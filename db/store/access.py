"""Roles and the review rule: who may do what, decided in one place for chat, CLI and jobs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from db.domain.roles import Role
from db.models import Editor
from db.session import Database
from db.store.errors import NotAllowed


@dataclass(frozen=True, slots=True)
class Policy:
    """The rules the operator configures: the owners (``ADMIN_IDS``) and four eyes."""

    owners: frozenset[int] = frozenset()
    #: An editor's change waits until another admin approves it (owners' changes apply at once).
    review_required: bool = True


class Access:
    """Rights go by the Telegram user id of whoever asks, never by username or chat."""

    def __init__(self, db: Database, policy: Policy) -> None:
        self._db = db
        self.policy = policy

    async def role_of(self, user_id: int | None) -> Role:
        if user_id is None:
            return Role.NONE
        if user_id in self.policy.owners:
            return Role.OWNER
        async with self._db.read() as connection:
            found = await connection.execute(
                select(Editor.user_id).where(Editor.user_id == user_id)
            )
            return Role.EDITOR if found.first() is not None else Role.NONE

    async def require(self, user_id: int | None, needed: Role) -> Role:
        """The user's role when it is at least ``needed``, else :class:`NotAllowed`."""
        role = await self.role_of(user_id)
        if role < needed:
            raise NotAllowed(role, needed)
        return role

    def needs_review(self, role: Role) -> bool:
        """Four eyes: an editor's change waits for another admin, when review is on."""
        return self.policy.review_required and role is Role.EDITOR
