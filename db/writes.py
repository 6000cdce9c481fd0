"""Writes to the incident store. Each keeps ``incident_totals`` in step in the same transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db import totals
from db.models import Incident


async def add_incident(session: AsyncSession, incident: Incident) -> Incident:
    """Store a new incident (with its sources) and count it in the totals."""
    session.add(incident)
    await session.flush()
    await totals.apply(session, None, totals.Contribution.of(incident))
    return incident


async def delete_incident(session: AsyncSession, incident: Incident) -> None:
    """Remove an incident for good (tests and imports that roll back; admins retract instead)."""
    await totals.apply(session, totals.Contribution.of(incident), None)
    await session.delete(incident)
    await session.flush()
