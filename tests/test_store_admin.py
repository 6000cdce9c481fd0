"""The store API for admins' writes (``db.store``), not through Telegram: each rule of who may do
what, once. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from db.domain.drafts import IncidentDraft, OfficialDraft
from db.domain.records import ChangeKind, ChangeStatus, DatePrecision, IncidentStatus
from db.domain.roles import Role
from db.models import AuditEntry, Change, Editor, Incident, OfficialTotal
from db.store import Store
from db.store.access import Policy
from db.store.duplicates import PossibleDuplicates
from db.store.errors import CannotApply, ChangeRefused, NoCasualties, NotAllowed, Refusal
from db.store.imports import ImportRequest
from handlers.context import Services

OWNER, SECOND_OWNER, EDITOR, OTHER_EDITOR, READER = 4242, 4343, 5151, 5252, 6161
_sources = itertools.count(1)


def _draft(**overrides: object) -> IncidentDraft:
    values: dict[str, object] = {
        "date": dt.date(2026, 7, 13),
        "precision": DatePrecision.DAY,
        "district_id": 3,
        "source_url": f"https://news.az/store-test/{next(_sources)}",
        "civilian_injured": 1,
    }
    values.update(overrides)
    return IncidentDraft(**values)  # type: ignore[arg-type]


def _official(as_of: dt.date) -> OfficialDraft:
    return OfficialDraft(
        as_of=as_of,
        period_start=dt.date(2020, 11, 10),
        issuer="Store test",
        source_url="https://news.az/store-test/official",
        figures={"total": 10, "killed": 4, "injured": 6},
    )


def _store(services: Services, *, review: bool = True) -> Store:
    """A store of its own (its policy can change without touching the shared services')."""
    return Store(
        services.store.db, Policy(frozenset({OWNER, SECOND_OWNER}), review_required=review)
    )


@pytest_asyncio.fixture(loop_scope="session")
async def store(sandbox: Services) -> AsyncIterator[Store]:
    store = _store(sandbox)
    await store.editors.add(OWNER, EDITOR)
    await store.editors.add(OWNER, OTHER_EDITOR)
    yield store


async def _rows(store: Store) -> dict[str, int]:
    """How many rows every table an admin writes holds."""
    async with store.db.read() as connection:
        return {
            model.__tablename__: int(
                await connection.scalar(select(func.count()).select_from(model)) or 0
            )
            for model in (Incident, Change, AuditEntry, OfficialTotal, Editor)
        }


async def _actions(store: Store, **where: int) -> list[tuple[str, int | None]]:
    """The audit entries (action, actor) of an incident, a change or an official figure."""
    column = {
        "incident_id": AuditEntry.incident_id,
        "change_id": AuditEntry.change_id,
        "official_id": AuditEntry.official_id,
    }
    ((key, value),) = where.items()
    async with store.db.read() as connection:
        rows = await connection.execute(
            select(AuditEntry.action, AuditEntry.actor)
            .where(column[key] == value)
            .order_by(AuditEntry.id)
        )
        return [(str(r[0]), r[1]) for r in rows]


async def _status(store: Store, incident_id: int) -> IncidentStatus:
    async with store.db.read() as connection:
        status = await connection.scalar(select(Incident.status).where(Incident.id == incident_id))
    return IncidentStatus(status)


async def _change_status(store: Store, change_id: int) -> ChangeStatus:
    async with store.db.read() as connection:
        status = await connection.scalar(select(Change.status).where(Change.id == change_id))
    return ChangeStatus(status)


# -- roles ----------------------------------------------------------------------------------------


async def test_a_reader_is_refused_everything_and_nothing_is_written(store: Store) -> None:
    incident = await store.incidents.add(OWNER, _draft(), confirmed=True)
    assert incident.incident_id is not None
    waiting = await store.incidents.add(EDITOR, _draft(), confirmed=True)
    assert waiting.proposal is not None
    before = await _rows(store)
    change_id = waiting.proposal.change.id
    incident_id = incident.incident_id
    attempts: list[Callable[[], Awaitable[object]]] = [
        lambda: store.incidents.add(READER, _draft(), confirmed=True),
        lambda: store.incidents.edit(READER, incident_id, {"civilian_injured": 2}, "r"),
        lambda: store.incidents.retract(READER, incident_id, "r"),
        lambda: store.incidents.restore(READER, incident_id, "r"),
        lambda: store.incidents.undo(READER, incident_id),
        lambda: store.incidents.history(READER, incident_id),
        lambda: store.imports.import_rows(ImportRequest(((2, _draft()),), READER)),
        lambda: store.official.add(READER, _official(dt.date(2026, 7, 1))),
        lambda: store.review.pending(READER),
        lambda: store.review.approve(READER, change_id),
        lambda: store.review.reject(READER, change_id),
        lambda: store.review.close(READER, change_id, Refusal.STALE),
        lambda: store.review.withdraw(READER, change_id),
        lambda: store.editors.roster(READER),
        lambda: store.editors.add(READER, READER),
        lambda: store.editors.remove(READER, EDITOR),
    ]
    for attempt in attempts:
        with pytest.raises(NotAllowed) as refused:
            await attempt()
        assert refused.value.role is Role.NONE
    assert await _rows(store) == before


async def test_editors_neither_review_nor_appoint(store: Store) -> None:
    waiting = await store.incidents.add(EDITOR, _draft(), confirmed=True)
    assert waiting.proposal is not None
    before = await _rows(store)
    change_id = waiting.proposal.change.id
    attempts: list[Callable[[], Awaitable[object]]] = [
        lambda: store.review.pending(OTHER_EDITOR),
        lambda: store.review.approve(OTHER_EDITOR, change_id),
        lambda: store.review.reject(OTHER_EDITOR, change_id),
        lambda: store.review.close(OTHER_EDITOR, change_id, Refusal.STALE),
        lambda: store.editors.roster(EDITOR),
        lambda: store.editors.add(EDITOR, READER),
        lambda: store.editors.remove(EDITOR, OTHER_EDITOR),
    ]
    for attempt in attempts:
        with pytest.raises(NotAllowed) as refused:
            await attempt()
        assert (refused.value.role, refused.value.needed) == (Role.EDITOR, Role.OWNER)
    assert await _rows(store) == before


# -- four eyes ------------------------------------------------------------------------------------


async def test_an_editors_add_edit_and_retraction_wait_for_review(store: Store) -> None:
    before = await _rows(store)
    added = await store.incidents.add(EDITOR, _draft(), language="ru", confirmed=True)
    assert added.incident_id is None and added.proposal is not None
    change = added.proposal.change
    assert (change.kind, change.proposed_by, change.language) == (ChangeKind.ADD, EDITOR, "ru")
    # Sent to every owner (the author is not one).
    assert added.proposal.reviewers == (OWNER, SECOND_OWNER)
    after = await _rows(store)
    assert after["incidents"] == before["incidents"]
    assert after["changes"] == before["changes"] + 1

    incident = await store.incidents.add(OWNER, _draft(), confirmed=True)
    assert incident.incident_id is not None
    edited = await store.incidents.edit(
        EDITOR, incident.incident_id, {"civilian_injured": 2}, "ANAMA"
    )
    retracted = await store.incidents.retract(EDITOR, incident.incident_id, "duplicate")
    for recorded, kind in ((edited, ChangeKind.EDIT), (retracted, ChangeKind.RETRACT)):
        assert recorded.proposal is not None and recorded.version is None
        assert recorded.proposal.change.kind is kind
        assert recorded.proposal.change.current is not None
        assert recorded.proposal.change.current["version"] == 1
    assert edited.after["civilian_injured"] == 2 and retracted.after["status"] == "retracted"
    # Nothing of them applies until approved.
    history = await store.incidents.history(OWNER, incident.incident_id)
    assert history.current["version"] == 1 and history.current["civilian_injured"] == 1
    assert await _status(store, incident.incident_id) is IncidentStatus.PUBLISHED
    pending = await store.review.pending(OWNER, limit=100)
    ids = [c.id for c in pending.changes]
    assert {
        added.proposal.change.id,
        edited.proposal.change.id,
        retracted.proposal.change.id,
    } <= set(ids)
    assert pending.total >= 3


async def test_with_review_off_an_editors_changes_apply_at_once(sandbox: Services) -> None:
    store = _store(sandbox, review=False)
    await store.editors.add(OWNER, EDITOR)
    added = await store.incidents.add(EDITOR, _draft(), confirmed=True)
    assert added.proposal is None and added.incident_id is not None
    edited = await store.incidents.edit(EDITOR, added.incident_id, {"civilian_killed": 1}, "x")
    assert edited.proposal is None and edited.version == 2
    retracted = await store.incidents.retract(EDITOR, added.incident_id, "duplicate")
    assert retracted.proposal is None and retracted.version == 3
    assert await _status(store, added.incident_id) is IncidentStatus.RETRACTED
    await store.incidents.restore(EDITOR, added.incident_id, None)
    official = await store.official.add(EDITOR, _official(dt.date(2026, 7, 2)))
    assert official.proposal is None and official.official_id is not None
    # The Undo of an add is the author's when review is off.
    other = await store.incidents.add(EDITOR, _draft(), confirmed=True)
    assert other.incident_id is not None
    await store.incidents.undo(EDITOR, other.incident_id)
    assert await _status(store, other.incident_id) is IncidentStatus.RETRACTED


async def test_an_owners_changes_apply_at_once_with_their_audit_entries(store: Store) -> None:
    before = await _rows(store)
    added = await store.incidents.add(OWNER, _draft(), confirmed=True)
    assert added.proposal is None and added.incident_id is not None and added.version == 1
    incident_id = added.incident_id
    edited = await store.incidents.edit(OWNER, incident_id, {"civilian_injured": 3}, "ANAMA")
    assert edited.proposal is None and edited.version == 2
    assert edited.before is not None and edited.before["civilian_injured"] == 1
    assert edited.after["civilian_injured"] == 3
    assert (await store.incidents.retract(OWNER, incident_id, "dup")).version == 3
    assert (await store.incidents.restore(OWNER, incident_id, None)).version == 4
    official = await store.official.add(OWNER, _official(dt.date(2026, 7, 3)))
    assert official.proposal is None and official.official_id is not None
    assert await _actions(store, incident_id=incident_id) == [
        ("incident.add", OWNER),
        ("incident.edit", OWNER),
        ("incident.retract", OWNER),
        ("incident.restore", OWNER),
    ]
    assert await _actions(store, official_id=official.official_id) == [("official.add", OWNER)]
    after = await _rows(store)
    assert after["changes"] == before["changes"]
    assert after["audit_log"] == before["audit_log"] + 5
    history = await store.incidents.history(EDITOR, incident_id)
    assert [e.version for e in history.entries] == [1, 2, 3, 4]


async def test_an_approved_change_applies_on_behalf_of_its_author(store: Store) -> None:
    added = await store.incidents.add(EDITOR, _draft(), confirmed=True)
    assert added.proposal is not None
    change_id = added.proposal.change.id
    decision = await store.review.approve(OWNER, change_id)
    assert decision.approved and decision.incident_id is not None
    assert decision.change.proposed_by == EDITOR
    assert await _change_status(store, change_id) is ChangeStatus.APPROVED
    assert await _actions(store, change_id=change_id) == [
        ("change.propose", EDITOR),
        ("change.approve", OWNER),
        ("incident.add", EDITOR),
    ]
    history = await store.incidents.history(EDITOR, decision.incident_id)
    assert history.entries[0].approved_by == OWNER
    # Decided once.
    with pytest.raises(ChangeRefused) as refused:
        await store.review.reject(SECOND_OWNER, change_id)
    assert refused.value.refusal is Refusal.ALREADY_DECIDED


async def test_the_author_of_a_change_cannot_decide_it(sandbox: Services) -> None:
    store = _store(sandbox)
    await store.editors.add(OWNER, EDITOR)
    added = await store.incidents.add(EDITOR, _draft(), confirmed=True)
    assert added.proposal is not None
    change_id = added.proposal.change.id
    # The author, made an owner meanwhile, still cannot approve or reject their own change.
    store.access.policy = Policy(frozenset({OWNER, EDITOR}), review_required=True)
    before = await _rows(store)
    for decide in (store.review.approve, store.review.reject):
        with pytest.raises(ChangeRefused) as refused:
            await decide(EDITOR, change_id)
        assert refused.value.refusal is Refusal.OWN_CHANGE
    assert await _rows(store) == before
    assert await _change_status(store, change_id) is ChangeStatus.PENDING
    # They can take it back; nobody else can.
    store.access.policy = Policy(frozenset({OWNER}), review_required=True)
    with pytest.raises(ChangeRefused) as refused:
        await store.review.withdraw(OWNER, change_id)
    assert refused.value.refusal is Refusal.NOT_YOURS
    decision = await store.review.withdraw(EDITOR, change_id)
    assert not decision.approved
    assert await _change_status(store, change_id) is ChangeStatus.WITHDRAWN


async def test_a_stale_change_cannot_apply_and_is_closed(store: Store) -> None:
    incident = await store.incidents.add(OWNER, _draft(), confirmed=True)
    assert incident.incident_id is not None
    edited = await store.incidents.edit(
        EDITOR, incident.incident_id, {"civilian_injured": 4}, "later"
    )
    assert edited.proposal is not None
    change_id = edited.proposal.change.id
    # The incident changes after the proposal: the proposal no longer applies.
    await store.incidents.edit(OWNER, incident.incident_id, {"civilian_killed": 1}, "first")
    before = await _rows(store)
    with pytest.raises(CannotApply) as stale:
        await store.review.approve(OWNER, change_id)
    assert stale.value.refusal is Refusal.STALE
    assert await _rows(store) == before
    assert await _change_status(store, change_id) is ChangeStatus.PENDING
    history = await store.incidents.history(OWNER, incident.incident_id)
    assert history.current["civilian_injured"] == 1 and history.current["version"] == 2
    closed = await store.review.close(OWNER, change_id, stale.value.refusal)
    assert not closed.approved and closed.change.proposed_by == EDITOR
    assert await _change_status(store, change_id) is ChangeStatus.REJECTED
    assert (await _actions(store, change_id=change_id))[-1] == ("change.close", OWNER)


# -- what the store refuses whoever asks ----------------------------------------------------------


async def test_a_possible_duplicate_is_saved_only_when_confirmed(store: Store) -> None:
    first = await store.incidents.add(OWNER, _draft(), confirmed=True)
    before = await _rows(store)
    with pytest.raises(PossibleDuplicates) as found:
        await store.incidents.add(OWNER, _draft())
    assert [d.incident_id for d in found.value.duplicates] == [first.incident_id]
    assert await _rows(store) == before
    again = await store.incidents.add(OWNER, _draft(), confirmed=True)
    assert again.incident_id is not None


async def test_an_edit_leaving_no_casualties_is_refused(store: Store) -> None:
    incident = await store.incidents.add(OWNER, _draft(), confirmed=True)
    assert incident.incident_id is not None
    before = await _rows(store)
    for user in (OWNER, EDITOR):
        with pytest.raises(NoCasualties):
            await store.incidents.edit(user, incident.incident_id, {"civilian_injured": 0}, "x")
    with pytest.raises(ChangeRefused) as refused:
        await store.incidents.edit(OWNER, 10**9, {"civilian_injured": 2}, "x")
    assert refused.value.refusal is Refusal.NOT_FOUND
    assert await _rows(store) == before


async def test_an_editors_undo_is_a_retraction_to_review(store: Store) -> None:
    incident = await store.incidents.add(OWNER, _draft(), confirmed=True)
    assert incident.incident_id is not None
    with pytest.raises(ChangeRefused) as refused:
        await store.incidents.undo(EDITOR, incident.incident_id)
    assert refused.value.refusal is Refusal.NEEDS_REVIEW
    with pytest.raises(ChangeRefused) as refused:
        await store.incidents.undo(SECOND_OWNER, incident.incident_id)
    assert refused.value.refusal is Refusal.NOT_YOURS
    await store.incidents.undo(OWNER, incident.incident_id)
    assert await _status(store, incident.incident_id) is IncidentStatus.RETRACTED
    assert (await _actions(store, incident_id=incident.incident_id))[-1] == (
        "incident.undo",
        OWNER,
    )


async def test_an_official_figure_is_recorded_once(store: Store) -> None:
    day = dt.date(2026, 7, 4)
    waiting = await store.official.add(EDITOR, _official(day))
    assert waiting.official_id is None and waiting.proposal is not None
    before = await _rows(store)
    for user in (OWNER, OTHER_EDITOR):
        with pytest.raises(ChangeRefused) as refused:
            await store.official.add(user, _official(day))
        assert refused.value.refusal is Refusal.OFFICIAL_EXISTS
        assert refused.value.subject == waiting.proposal.change.id
    assert await _rows(store) == before
    decision = await store.review.approve(SECOND_OWNER, waiting.proposal.change.id)
    assert decision.official_id is not None
    defaults = await store.official.defaults()
    assert "Store test" in defaults.issuers


async def test_owners_appoint_and_dismiss_editors_once(store: Store) -> None:
    assert await store.access.role_of(READER) is Role.NONE
    await store.editors.add(OWNER, READER)
    assert await store.access.role_of(READER) is Role.EDITOR
    assert READER in await store.editors.ids()
    assert READER in [e.user_id for e in await store.editors.roster(SECOND_OWNER)]
    with pytest.raises(ChangeRefused) as refused:
        await store.editors.add(SECOND_OWNER, READER)
    assert refused.value.refusal is Refusal.ALREADY_EDITOR
    await store.editors.remove(SECOND_OWNER, READER)
    with pytest.raises(ChangeRefused) as refused:
        await store.editors.remove(OWNER, READER)
    assert refused.value.refusal is Refusal.NOT_EDITOR
    async with store.db.read() as connection:
        actions = (
            await connection.execute(
                select(AuditEntry.action, AuditEntry.actor)
                .where(AuditEntry.subject_user == READER)
                .order_by(AuditEntry.id)
            )
        ).all()
    assert [tuple(a) for a in actions] == [("editor.add", OWNER), ("editor.remove", SECOND_OWNER)]
