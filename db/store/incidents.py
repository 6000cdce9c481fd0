"""Admins' changes to incidents: add (one, or a CSV file's rows), edit, retract, restore, the Undo
of an add, and an incident's history.

Editors and owners may change incidents. With review on (four eyes), an editor's change is kept
as a change for another admin to approve and counts nowhere until then; an owner's change (and
everyone's, with review off) applies at once. Each method is one unit of work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from db.changes import add_incident, incident_state
from db.domain.drafts import COUNT_FIELDS, IncidentDraft, patch_storage
from db.domain.records import ChangeKind
from db.domain.roles import Role
from db.session import Database
from db.store.access import Access
from db.store.apply import edit_incident, status_change, undo_add
from db.store.duplicates import PossibleDuplicates, possible_duplicates
from db.store.errors import ChangeRefused, NoCasualties, Refusal
from db.store.history import History, history
from db.store.proposals import Proposal, proposal, propose


@dataclass(frozen=True, slots=True)
class Recorded:
    """What became of a change to an incident: applied at once (``proposal`` None, ``version``
    the incident's new version) or kept for review (``proposal``). ``before`` and ``after`` are
    the incident in storage form (``before`` None for an add)."""

    incident_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any]
    version: int | None = None
    proposal: Proposal | None = None


class Incidents:
    def __init__(self, db: Database, access: Access) -> None:
        self._db = db
        self._access = access

    async def add(
        self,
        user_id: int,
        draft: IncidentDraft,
        *,
        language: str | None = None,
        confirmed: bool = False,
    ) -> Recorded:
        """Record a new incident, or keep it for review. Unless ``confirmed``, one that looks
        like incidents recorded or waiting is refused with :class:`PossibleDuplicates`."""
        role = await self._access.require(user_id, Role.EDITOR)
        if not confirmed:
            async with self._db.read() as connection:
                duplicates = await possible_duplicates(connection, draft)
            if duplicates:
                raise PossibleDuplicates(duplicates)
        async with self._db.write() as session:
            if self._access.needs_review(role):
                change = await propose(
                    session, ChangeKind.ADD, user_id, draft.to_json(), language=language
                )
                kept = await proposal(session, change, self._access.policy.owners)
                return Recorded(None, None, draft.storage(), proposal=kept)
            incident = await add_incident(session, draft, user_id)
            return Recorded(incident.id, None, draft.storage(), incident.version)

    async def edit(
        self,
        user_id: int,
        incident_id: int,
        patch: Mapping[str, Any],
        reason: str,
        *,
        language: str | None = None,
    ) -> Recorded:
        """Change some fields of an incident (``patch``: fields of ``EDITABLE``, typed values),
        refused when it would leave no one killed or injured (:class:`NoCasualties`)."""
        role = await self._access.require(user_id, Role.EDITOR)
        values = patch_storage(patch)
        async with self._db.write() as session:
            current = await incident_state(session, incident_id)
            if current is None:
                raise ChangeRefused(Refusal.NOT_FOUND, incident_id)
            after = {**current, **values}
            if not any(after.get(name) for name in COUNT_FIELDS):
                raise NoCasualties(incident_id)
            if self._access.needs_review(role):
                change = await propose(
                    session,
                    ChangeKind.EDIT,
                    user_id,
                    values,
                    incident_id=incident_id,
                    reason=reason,
                    language=language,
                )
                kept = await proposal(session, change, self._access.policy.owners)
                return Recorded(incident_id, current, after, proposal=kept)
            incident = await edit_incident(
                session, incident_id, values, user_id, reason, base_version=current["version"]
            )
            return Recorded(incident_id, current, after, incident.version)

    async def retract(
        self, user_id: int, incident_id: int, reason: str | None, *, language: str | None = None
    ) -> Recorded:
        """Hide an incident from figures and lists (it can be restored)."""
        return await self._status(user_id, ChangeKind.RETRACT, incident_id, reason, language)

    async def restore(
        self, user_id: int, incident_id: int, reason: str | None, *, language: str | None = None
    ) -> Recorded:
        """Count a retracted incident again."""
        return await self._status(user_id, ChangeKind.RESTORE, incident_id, reason, language)

    async def _status(
        self,
        user_id: int,
        kind: ChangeKind,
        incident_id: int,
        reason: str | None,
        language: str | None,
    ) -> Recorded:
        role = await self._access.require(user_id, Role.EDITOR)
        async with self._db.write() as session:
            current = await incident_state(session, incident_id)
            if current is None:
                raise ChangeRefused(Refusal.NOT_FOUND, incident_id)
            status = "retracted" if kind is ChangeKind.RETRACT else "published"
            after = {**current, "status": status}
            if self._access.needs_review(role):
                change = await propose(
                    session,
                    kind,
                    user_id,
                    {},
                    incident_id=incident_id,
                    reason=reason,
                    language=language,
                )
                kept = await proposal(session, change, self._access.policy.owners)
                return Recorded(incident_id, current, after, proposal=kept)
            incident = await status_change(
                session, kind, incident_id, user_id, reason, base_version=current["version"]
            )
            return Recorded(incident_id, current, after, incident.version)

    async def undo(self, user_id: int, incident_id: int) -> None:
        """The Undo button under a new incident: its author retracts it, while it is as they
        recorded it. With review on, an editor retracts with a reason instead (to be reviewed)."""
        role = await self._access.require(user_id, Role.EDITOR)
        if self._access.needs_review(role):
            raise ChangeRefused(Refusal.NEEDS_REVIEW, incident_id)
        async with self._db.write() as session:
            await undo_add(session, incident_id, user_id)

    async def history(self, user_id: int, incident_id: int) -> History:
        """Every recorded change of an incident, oldest first."""
        await self._access.require(user_id, Role.EDITOR)
        async with self._db.read() as connection:
            found = await history(connection, incident_id)
        if found is None:
            raise ChangeRefused(Refusal.NOT_FOUND, incident_id)
        return found
