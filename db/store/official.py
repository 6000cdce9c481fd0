"""Official totals: what /official assumes when not told, and recording one (at once for owners,
kept for review for editors when review is on)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.domain.drafts import OfficialDraft
from db.domain.records import ChangeKind
from db.domain.roles import Role
from db.models import IssuerName, OfficialTotal
from db.session import Database
from db.store.access import Access
from db.store.apply import add_official, check_official_is_new
from db.store.proposals import Proposal, proposal, propose


@dataclass(frozen=True, slots=True)
class OfficialDefaults:
    """The dataset's default issuer (``issuers.csv``), where that issuer's latest figure counts
    from (not where it was only assumed), and every issuer of a recorded figure."""

    issuer: str | None
    period_start: dt.date | None
    issuers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OfficialRecorded:
    """An official total recorded (``official_id``) or kept for review (``proposal``)."""

    official_id: int | None
    proposal: Proposal | None = None


async def _defaults(db: AsyncConnection) -> tuple[str | None, dt.date | None]:
    issuer = await db.scalar(
        select(IssuerName.issuer).where(IssuerName.is_default.is_(True)).limit(1)
    )
    if issuer is None:
        return None, None
    start = await db.scalar(
        select(OfficialTotal.period_start)
        .where(OfficialTotal.issuer == issuer, OfficialTotal.period_start_assumed.is_(False))
        .order_by(OfficialTotal.as_of.desc(), OfficialTotal.id.desc())
        .limit(1)
    )
    return str(issuer), start


async def _known_issuers(db: AsyncConnection) -> tuple[str, ...]:
    rows = await db.execute(select(OfficialTotal.issuer).distinct().order_by(OfficialTotal.issuer))
    return tuple(str(r[0]) for r in rows)


class Official:
    def __init__(self, db: Database, access: Access) -> None:
        self._db = db
        self._access = access

    async def defaults(self) -> OfficialDefaults:
        """What /official assumes when it is not given an issuer or a period start."""
        async with self._db.read() as connection:
            issuer, start = await _defaults(connection)
            return OfficialDefaults(issuer, start, await _known_issuers(connection))

    async def add(
        self, user_id: int, draft: OfficialDraft, *, language: str | None = None
    ) -> OfficialRecorded:
        """Record an official total, or keep it for review; refused (``OFFICIAL_EXISTS``) when
        that issuer's figure as of that day is recorded or waiting already."""
        role = await self._access.require(user_id, Role.EDITOR)
        async with self._db.write() as session:
            if self._access.needs_review(role):
                await check_official_is_new(session, draft)
                change = await propose(
                    session, ChangeKind.OFFICIAL, user_id, draft.to_json(), language=language
                )
                return OfficialRecorded(
                    None, await proposal(session, change, self._access.policy.owners)
                )
            official = await add_official(session, draft, user_id)
            return OfficialRecorded(official.id)
