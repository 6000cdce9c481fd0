"""Four eyes: the changes waiting for review, and their decision.

Owners decide; the author of a change cannot decide it, only withdraw it. Editors do not review
each other: two of them could otherwise pass anything between them. A change that can no longer
apply (the incident changed meanwhile, say) is refused with :class:`CannotApply` and stays
pending until it is closed. Each method is one unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass

from db.domain.roles import Role
from db.session import Database
from db.store import proposals
from db.store.access import Access
from db.store.errors import Refusal
from db.store.proposals import Decision, PendingChange


@dataclass(frozen=True, slots=True)
class Pending:
    """The oldest changes waiting (each with the incident it concerns as it is now) and how many
    are waiting in all."""

    changes: tuple[PendingChange, ...]
    total: int


class Review:
    def __init__(self, db: Database, access: Access) -> None:
        self._db = db
        self._access = access

    async def pending(self, user_id: int, *, limit: int = 20) -> Pending:
        await self._access.require(user_id, Role.OWNER)
        async with self._db.read() as connection:
            changes, total = await proposals.pending_changes(connection, limit=limit)
        return Pending(tuple(changes), total)

    async def approve(self, user_id: int, change_id: int) -> Decision:
        """Apply a change on behalf of its author."""
        await self._access.require(user_id, Role.OWNER)
        async with self._db.write() as session:
            return await proposals.approve(session, change_id, user_id)

    async def reject(self, user_id: int, change_id: int) -> Decision:
        await self._access.require(user_id, Role.OWNER)
        async with self._db.write() as session:
            return await proposals.reject(session, change_id, user_id)

    async def close(self, user_id: int, change_id: int, refusal: Refusal) -> Decision:
        """Close a change that can no longer apply, saying why (after ``CannotApply``)."""
        await self._access.require(user_id, Role.OWNER)
        async with self._db.write() as session:
            return await proposals.close(session, change_id, user_id, refusal)

    async def withdraw(self, user_id: int, change_id: int) -> Decision:
        """Its author takes a pending change back (the Undo button under a proposal)."""
        await self._access.require(user_id, Role.EDITOR)
        async with self._db.write() as session:
            return await proposals.withdraw(session, change_id, user_id)
