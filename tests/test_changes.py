"""The writes under the store API (``db.changes``, ``db.store.apply``, ``db.store.proposals``):
every admin write and its audit entry, in one transaction; review decided once; changes bound to
the version they were made on. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select

from db import changes, queries
from db.domain.drafts import COUNT_FIELDS, IncidentDraft, patch_storage
from db.domain.figures import Counts
from db.domain.filters import IncidentFilter, Period
from db.domain.records import ChangeKind, ChangeStatus, DatePrecision
from db.domain.roles import Role
from db.models import AuditEntry, Change, Incident, as_utc
from db.store import apply, proposals
from db.store.duplicates import possible_duplicates
from db.store.errors import ChangeRefused, Refusal
from db.store.history import history
from handlers.context import Services

OWNER, EDITOR, OTHER = 4242, 5151, 5252
JULY = Period(dt.date(2026, 7, 1), dt.date(2026, 7, 31))


def _draft(**overrides: object) -> IncidentDraft:
    values: dict[str, object] = {
        "date": dt.date(2026, 7, 13),
        "precision": DatePrecision.DAY,
        "district_id": 1,
        "source_url": "https://news.az/changes-test",
        "civilian_injured": 1,
    }
    values.update(overrides)
    return IncidentDraft(**values)  # type: ignore[arg-type]


async def _july(services: Services) -> Counts:
    async with services.store.db.read() as connection:
        return (await queries.stats(connection, IncidentFilter(period=JULY))).counts


async def _audit_count(services: Services) -> int:
    async with services.store.db.read() as connection:
        return int(await connection.scalar(select(func.count()).select_from(AuditEntry)) or 0)


async def test_an_add_rolled_back_leaves_no_incident_no_totals_and_no_audit(
    sandbox: Services,
) -> None:
    audit, counts = await _audit_count(sandbox), await _july(sandbox)

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with sandbox.store.db.write() as session:
            await changes.add_incident(session, _draft(), OWNER)
            raise Abort
    assert await _audit_count(sandbox) == audit
    assert await _july(sandbox) == counts


async def test_the_audit_entry_holds_who_when_before_after_and_why(sandbox: Services) -> None:
    async with sandbox.store.db.write() as session:
        incident = await changes.add_incident(session, _draft(), OWNER)
    async with sandbox.store.db.write() as session:
        await apply.edit_incident(
            session, incident.id, {"civilian_injured": 3}, OWNER, "ANAMA update", base_version=1
        )
    async with sandbox.store.db.read() as connection:
        rows = (
            await connection.execute(
                select(
                    AuditEntry.action,
                    AuditEntry.actor,
                    AuditEntry.version,
                    AuditEntry.reason,
                    AuditEntry.before,
                    AuditEntry.after,
                    AuditEntry.at,
                )
                .where(AuditEntry.incident_id == incident.id)
                .order_by(AuditEntry.id)
            )
        ).all()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("incident.add", OWNER, 1, None),
        ("incident.edit", OWNER, 2, "ANAMA update"),
    ]
    assert rows[0][4] is None and rows[0][5]["civilian_injured"] == 1
    assert rows[1][4]["civilian_injured"] == 1 and rows[1][5]["civilian_injured"] == 3
    assert rows[1][5]["status"] == "published"
    assert abs(as_utc(rows[1][6]) - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert (await _july(sandbox)).civilian_injured >= 3


async def test_totals_follow_edits_of_date_district_and_status(sandbox: Services) -> None:
    before = await _july(sandbox)
    async with sandbox.store.db.write() as session:
        incident = await changes.add_incident(session, _draft(), OWNER)
    assert (await _july(sandbox)).total == before.total + 1
    patch = patch_storage({"date": dt.date(2026, 8, 2), "date_precision": DatePrecision.DAY})
    async with sandbox.store.db.write() as session:
        await apply.edit_incident(session, incident.id, patch, OWNER, "date", base_version=1)
    assert await _july(sandbox) == before
    patch = patch_storage({"date": dt.date(2026, 7, 1), "date_precision": DatePrecision.MONTH})
    async with sandbox.store.db.write() as session:
        await apply.edit_incident(session, incident.id, patch, OWNER, "month")
    assert (await _july(sandbox)).total == before.total + 1
    async with sandbox.store.db.write() as session:
        await apply.retract_incident(session, incident.id, OWNER, "dup")
    assert await _july(sandbox) == before
    async with sandbox.store.db.write() as session:
        await apply.restore_incident(session, incident.id, OWNER, None)
    assert (await _july(sandbox)).total == before.total + 1
    async with sandbox.store.db.read() as connection:
        found = await history(connection, incident.id)
    assert found is not None
    assert [e.version for e in found.entries] == [1, 2, 3, 4, 5]
    assert found.current["date_precision"] == "month"


async def test_a_change_made_on_an_old_version_is_refused(sandbox: Services) -> None:
    async with sandbox.store.db.write() as session:
        incident = await changes.add_incident(session, _draft(), OWNER)
    async with sandbox.store.db.write() as session:
        await apply.edit_incident(session, incident.id, {"civilian_injured": 2}, OWNER, "a")
    with pytest.raises(ChangeRefused) as caught:
        async with sandbox.store.db.write() as session:
            await apply.edit_incident(
                session, incident.id, {"civilian_injured": 5}, OWNER, "b", base_version=1
            )
    assert caught.value.refusal is Refusal.STALE


async def test_a_pending_add_counts_nowhere_until_approved(sandbox: Services) -> None:
    before = await _july(sandbox)
    async with sandbox.store.db.write() as session:
        change = await proposals.propose(session, ChangeKind.ADD, EDITOR, _draft().to_json())
    assert await _july(sandbox) == before
    async with sandbox.store.db.read() as connection:
        waiting, total = await proposals.pending_changes(connection)
        duplicates = await possible_duplicates(connection, _draft(civilian_killed=1))
    assert change.id in [c.id for c in waiting] and total >= 1
    assert [d.change_id for d in duplicates] == [change.id]
    with pytest.raises(ChangeRefused) as caught:
        async with sandbox.store.db.write() as session:
            await proposals.approve(session, change.id, EDITOR)
    assert caught.value.refusal is Refusal.OWN_CHANGE
    async with sandbox.store.db.write() as session:
        decision = await proposals.approve(session, change.id, OWNER)
    assert decision.approved and decision.incident_id is not None
    after = await _july(sandbox)
    assert after.civilian_injured == before.civilian_injured + 1
    async with sandbox.store.db.read() as connection:
        found = await history(connection, decision.incident_id)
    assert found is not None
    assert found.entries[0].actor == EDITOR and found.entries[0].approved_by == OWNER


async def test_two_admins_approving_at_once_apply_the_change_once(sandbox: Services) -> None:
    async with sandbox.store.db.write() as session:
        change = await proposals.propose(session, ChangeKind.ADD, EDITOR, _draft().to_json())
    before = await _july(sandbox)

    async def decide(actor: int) -> object:
        try:
            async with sandbox.store.db.write() as session:
                return await proposals.approve(session, change.id, actor)
        except ChangeRefused as refused:
            return refused.refusal

    results = await asyncio.gather(decide(OWNER), decide(OTHER))
    assert sorted(str(type(r).__name__) for r in results) == ["Decision", "Refusal"]
    assert Refusal.ALREADY_DECIDED in results
    assert (await _july(sandbox)).civilian_injured == before.civilian_injured + 1
    async with sandbox.store.db.read() as connection:
        status = await connection.scalar(select(Change.status).where(Change.id == change.id))
    assert status == ChangeStatus.APPROVED


async def test_an_edit_proposed_on_a_retracted_or_changed_incident(sandbox: Services) -> None:
    async with sandbox.store.db.write() as session:
        incident = await changes.add_incident(session, _draft(), OWNER)
        change = await proposals.propose(
            session,
            ChangeKind.EDIT,
            EDITOR,
            {"civilian_injured": 4},
            incident_id=incident.id,
            reason="x",
        )
        with pytest.raises(ChangeRefused) as caught:
            await proposals.propose(
                session, ChangeKind.RESTORE, EDITOR, {}, incident_id=incident.id, reason=None
            )
        assert caught.value.refusal is Refusal.NOT_RETRACTED
    async with sandbox.store.db.write() as session:
        await apply.retract_incident(session, incident.id, OWNER, "dup")
    with pytest.raises(ChangeRefused) as caught:
        async with sandbox.store.db.write() as session:
            await proposals.approve(session, change.id, OWNER)
    assert caught.value.refusal is Refusal.STALE
    # Refused means nothing written: the change is still pending.
    async with sandbox.store.db.read() as connection:
        assert await proposals.pending_change(connection, change.id) is not None


async def test_rejected_and_withdrawn_changes(sandbox: Services) -> None:
    async with sandbox.store.db.write() as session:
        first = await proposals.propose(session, ChangeKind.ADD, EDITOR, _draft().to_json())
        second = await proposals.propose(session, ChangeKind.ADD, EDITOR, _draft().to_json())
    with pytest.raises(ChangeRefused) as caught:
        async with sandbox.store.db.write() as session:
            await proposals.withdraw(session, first.id, OTHER)
    assert caught.value.refusal is Refusal.NOT_YOURS
    async with sandbox.store.db.write() as session:
        await proposals.withdraw(session, first.id, EDITOR)
        await proposals.reject(session, second.id, OTHER)
    for change_id in (first.id, second.id):
        with pytest.raises(ChangeRefused) as caught:
            async with sandbox.store.db.write() as session:
                await proposals.approve(session, change_id, OWNER)
        assert caught.value.refusal is Refusal.ALREADY_DECIDED
    async with sandbox.store.db.read() as connection:
        actions = (
            (
                await connection.execute(
                    select(AuditEntry.action)
                    .where(AuditEntry.change_id.in_([first.id, second.id]))
                    .order_by(AuditEntry.id)
                )
            )
            .scalars()
            .all()
        )
    assert actions == ["change.propose", "change.propose", "change.withdraw", "change.reject"]


async def test_possible_duplicates(sandbox: Services) -> None:
    async with sandbox.store.db.write() as session:
        incident = await changes.add_incident(session, _draft(), OWNER)
    async with sandbox.store.db.read() as connection:
        same_day = await possible_duplicates(connection, _draft(source_url="https://other.az/1"))
        same_source = await possible_duplicates(
            connection, _draft(date=dt.date(2026, 6, 1), district_id=2)
        )
        neither = await possible_duplicates(
            connection, _draft(date=dt.date(2026, 6, 1), source_url="https://other.az/2")
        )
    assert [(d.incident_id, d.same_source) for d in same_day] == [(incident.id, False)]
    assert [(d.incident_id, d.same_source) for d in same_source] == [(incident.id, True)]
    assert neither == []
    async with sandbox.store.db.write() as session:
        await apply.retract_incident(session, incident.id, OWNER, "dup")
    async with sandbox.store.db.read() as connection:
        assert await possible_duplicates(connection, _draft()) == []


async def test_editors_are_added_once_and_removed_once(sandbox: Services) -> None:
    editors = sandbox.store.editors
    await editors.add(OWNER, EDITOR)
    with pytest.raises(ChangeRefused):
        await editors.add(OWNER, EDITOR)
    assert await sandbox.store.access.role_of(EDITOR) is Role.EDITOR
    assert [e.user_id for e in await editors.roster(OWNER)] == [EDITOR]
    await editors.remove(OWNER, EDITOR)
    with pytest.raises(ChangeRefused):
        await editors.remove(OWNER, EDITOR)
    assert await sandbox.store.access.role_of(EDITOR) is not Role.EDITOR


async def test_an_approved_import_adds_new_rows_and_skips_known_ones(sandbox: Services) -> None:
    async with sandbox.store.db.write() as session:
        known = await changes.add_incident(session, _draft(), OWNER)
    rows = [
        [2, _draft().to_json()],
        [3, _draft(civilian_killed=1, source_url="https://a.az/imp").to_json()],
        [4, _draft(civilian_killed=1, source_url="https://a.az/imp").to_json()],
    ]
    async with sandbox.store.db.write() as session:
        change = await proposals.propose(session, ChangeKind.IMPORT, EDITOR, {"rows": rows})
    async with sandbox.store.db.write() as session:
        decision = await proposals.approve(session, change.id, OWNER)
    assert decision.imported is not None
    assert len(decision.imported.added) == 1 and decision.imported.skipped == [2, 4]
    async with sandbox.store.db.read() as connection:
        added = await connection.scalar(
            select(Incident.created_by).where(Incident.id == decision.imported.added[0])
        )
    assert added == EDITOR and known.id not in decision.imported.added


async def _totals_match_the_incidents(services: Services) -> None:
    from db import totals
    from db.models import IncidentTotal

    async with services.store.db.read() as connection:
        stored = {
            (r.grain, r.district, r.date, r.date_end): tuple(getattr(r, n) for n in totals.SUMMED)
            for r in await connection.execute(select(IncidentTotal))
        }
        expected = {
            (r["grain"], r["district"], r["date"], r["date_end"]): tuple(
                r[n] for n in totals.SUMMED
            )
            for r in totals.rows_from_groups(
                await connection.execute(totals.grouped_incidents_query())
            )
        }
    # Rows that fell to zero may stay; every other row must be exactly what a rebuild gives.
    zero = tuple(0 for _ in totals.SUMMED)
    assert {k: v for k, v in stored.items() if v != zero} == expected


@pytest.mark.parametrize("seed", [1, 2])
async def test_totals_stay_equal_to_a_rebuild_through_any_mix_of_changes(
    sandbox: Services, seed: int
) -> None:
    """A random mix of adds, edits, retractions, restorations, undos, imports and reviewed
    changes; after each step incident_totals must equal what a rebuild from the incidents gives."""
    import random

    rng = random.Random(seed)
    mine: list[int] = []

    def draft() -> IncidentDraft:
        precision = rng.choice(list(DatePrecision))
        counts = {name: rng.choice((0, 0, 1, 2)) for name in COUNT_FIELDS}
        counts[rng.choice(COUNT_FIELDS)] += 1
        return _draft(
            date=dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(300)),
            precision=precision,
            district_id=rng.randint(1, 5),
            source_url=f"https://mix.az/{rng.randrange(10**9)}",
            **counts,
        )

    for _ in range(60):
        step = rng.choice(("add", "edit", "retract", "restore", "undo", "import", "review"))
        try:
            async with sandbox.store.db.write() as session:
                if step == "add" or not mine:
                    mine.append((await changes.add_incident(session, draft(), OWNER)).id)
                elif step == "edit":
                    new = draft()
                    patch = patch_storage(
                        {"date": new.date, "date_precision": new.precision, "district_id": 2}
                        if rng.random() < 0.5
                        else {"military_killed": rng.randint(0, 3), "civilian_injured": 1}
                    )
                    await apply.edit_incident(session, rng.choice(mine), patch, OWNER, "mix")
                elif step == "retract":
                    await apply.retract_incident(session, rng.choice(mine), OWNER, "mix")
                elif step == "restore":
                    await apply.restore_incident(session, rng.choice(mine), OWNER, None)
                elif step == "undo":
                    await apply.undo_add(session, rng.choice(mine), OWNER)
                elif step == "import":
                    report = await changes.import_incidents(
                        session, [(n, draft()) for n in range(2, 2 + rng.randint(1, 8))], None
                    )
                    mine += report.added
                else:
                    change = await proposals.propose(
                        session,
                        ChangeKind.EDIT,
                        EDITOR,
                        {"civilian_killed": rng.randint(0, 4), "military_injured": 1},
                        incident_id=rng.choice(mine),
                        reason="mix",
                    )
                    await proposals.approve(session, change.id, OWNER)
        except ChangeRefused:
            pass  # refused changes write nothing (their transaction is rolled back)
        await _totals_match_the_incidents(sandbox)
