"""Imports of incidents from a CSV file: one path for an admin's file in the chat and for
``python -m bot import`` at the shell.

The file is parsed first (``db.domain.csv_rows.parse_csv``, pure: its problems are the caller's to word);
:meth:`Imports.import_rows` then decides, for whoever asks, whether the rows are added at once or
kept as one change of kind IMPORT for an owner to approve, and adds all of them or none, skipping
the rows the store has already.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from db.changes import import_incidents
from db.domain.drafts import COUNT_FIELDS, ImportReport, IncidentDraft, natural_key
from db.domain.records import ChangeKind
from db.domain.roles import Role
from db.models import Incident, IncidentSource
from db.queries import Reader
from db.session import Database
from db.store.access import Access
from db.store.proposals import Proposal, proposal, propose

Rows = tuple[tuple[int, IncidentDraft], ...]


class Operator(enum.Enum):
    """Whoever runs the command line (``python -m bot import``): trusted as the one who runs the
    bot, so never refused and never reviewed; recorded in the audit trail with no actor, as the
    shipped dataset is."""

    SHELL = "shell"


class ImportOutcome(enum.StrEnum):
    #: The rows not in the store yet were added (maybe none: every row was there already).
    ADDED = "added"
    #: Kept as a change for review (an editor's import, review on); nothing counts yet.
    PROPOSED = "proposed"
    #: Would have been kept for review, but every row is in the store already: nothing was
    #: written and no reviewer is bothered.
    NOTHING_NEW = "nothing_new"
    #: A dry run: the rows were checked against the store and nothing was written.
    CHECKED = "checked"


@dataclass(frozen=True, slots=True)
class ImportRequest:
    """The rows of a parsed file (line, draft), and who imports them."""

    rows: Rows
    #: The Telegram user who sent the file (their role decides), or the operator at the shell.
    actor: int | Operator
    file_name: str | None = None
    #: The language of the user, for what the bot tells them later about a change they proposed.
    language: str | None = None
    #: Check the rows against the store and say what would be added, writing nothing.
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class ImportResult:
    outcome: ImportOutcome
    rows: Rows
    #: Lines skipped (already in the store, or earlier in the file), or that would be.
    skipped: tuple[int, ...] = ()
    #: The incidents added, in the file's order (ADDED only).
    added: tuple[int, ...] = ()
    #: The change kept for review and who is to review it (PROPOSED only).
    proposal: Proposal | None = None

    @property
    def change_id(self) -> int | None:
        return self.proposal.change.id if self.proposal is not None else None

    @property
    def report(self) -> ImportReport:
        return ImportReport(added=list(self.added), skipped=list(self.skipped))

    @property
    def added_drafts(self) -> list[IncidentDraft]:
        return added_drafts(self.rows, self.report)


def review_payload(
    rows: Sequence[tuple[int, IncidentDraft]], file_name: str | None
) -> dict[str, Any]:
    """The payload of an import kept for review (``db.store.proposals.approve`` applies it)."""
    payload: dict[str, Any] = {"rows": [[line, draft.to_json()] for line, draft in rows]}
    if file_name:
        payload["file"] = file_name
    return payload


def added_drafts(
    rows: Sequence[tuple[int, IncidentDraft]], report: ImportReport
) -> list[IncidentDraft]:
    """The rows that an import added (those it did not skip), in the file's order."""
    skipped = set(report.skipped)
    return [draft for line, draft in rows if line not in skipped]


class Imports:
    def __init__(self, db: Database, access: Access) -> None:
        self._db = db
        self._access = access

    async def import_rows(self, request: ImportRequest) -> ImportResult:
        """Import the rows of a parsed file, all or none, skipping those the store has already.

        An owner's rows (an editor's when review is off) are added at once, in one transaction
        that takes turns with the other admins' writes (so that two imports of one file add it
        once); an editor's, when review is on, are kept as one change of kind IMPORT; the
        operator's are added at once. Raises :class:`~db.store.errors.NotAllowed`, with nothing
        written, for anyone below editor."""
        review = await self._needs_review(request.actor)
        if request.dry_run:
            async with self._db.read() as connection:
                skipped = await present_lines(connection, request.rows)
            return ImportResult(ImportOutcome.CHECKED, request.rows, tuple(skipped))
        if review:
            assert isinstance(request.actor, int)
            return await self._propose(request, request.actor)
        actor = None if request.actor is Operator.SHELL else request.actor
        async with self._db.write() as session:
            report = await import_incidents(session, request.rows, actor)
        return ImportResult(
            ImportOutcome.ADDED, request.rows, tuple(report.skipped), tuple(report.added)
        )

    async def _needs_review(self, actor: int | Operator) -> bool:
        """The policy: who may import, and whose import waits for an owner."""
        if actor is Operator.SHELL:
            return False
        role = await self._access.require(actor, Role.EDITOR)
        return self._access.needs_review(role)

    async def _propose(self, request: ImportRequest, proposer: int) -> ImportResult:
        async with self._db.write() as session:
            skipped = tuple(await present_lines(session, request.rows))
            if len(skipped) == len(request.rows):
                return ImportResult(ImportOutcome.NOTHING_NEW, request.rows, skipped)
            change = await propose(
                session,
                ChangeKind.IMPORT,
                proposer,
                review_payload(request.rows, request.file_name),
                language=request.language,
            )
            kept = await proposal(session, change, self._access.policy.owners)
        return ImportResult(ImportOutcome.PROPOSED, request.rows, skipped, proposal=kept)


# -- what the store has ---------------------------------------------------------------------------


async def present_lines(db: Reader, rows: Sequence[tuple[int, IncidentDraft]]) -> list[int]:
    """The lines an import would skip now: rows already in the store (by natural key, as
    ``changes.import_incidents`` decides) and rows repeated earlier in the file. Reads only."""
    present = {
        tuple(r)
        for r in await db.execute(
            select(
                Incident.date,
                Incident.district_id,
                *(getattr(Incident, name) for name in COUNT_FIELDS),
                IncidentSource.url,
            ).join(IncidentSource, IncidentSource.incident_id == Incident.id)
        )
    }
    skipped = []
    for line, draft in rows:
        key = natural_key(draft)
        if key in present:
            skipped.append(line)
        else:
            present.add(key)
    return skipped
