"""The store's import (``store.imports.import_rows``), called as the chat and the shell call it,
without Telegram: who may import, four eyes, all or nothing, duplicates, the dry run; and
``python -m bot import`` going through the same call.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.csv_import import import_file
from db.domain.csv_rows import parse_csv
from db.domain.records import ChangeKind, ChangeStatus
from db.models import AuditEntry, Change, Incident
from db.store.errors import NotAllowed
from db.store.imports import ImportOutcome, ImportRequest, ImportResult, Imports, Operator
from handlers.context import Services
from locales.i18n import Catalogs
from tests.conftest import ADMIN_ID
from tests.test_import import TODAY, row, to_csv, valid_rows

OWNER = ADMIN_ID
EDITOR = 8181
READER = 8282


async def _counts(services: Services) -> tuple[int, ...]:
    """Incidents, changes and audit entries in the store."""
    async with services.store.db.read() as connection:
        return tuple(
            [
                int(await connection.scalar(select(func.count()).select_from(model)) or 0)
                for model in (Incident, Change, AuditEntry)
            ]
        )


def _rows(services: Services, data: bytes) -> Any:
    parsed = parse_csv(data, services.gazetteer, TODAY)
    assert parsed.ok, parsed.problems
    return parsed.rows


async def _add_editor(services: Services) -> None:
    if EDITOR not in await services.store.editors.ids():
        await services.store.editors.add(OWNER, EDITOR)


async def test_an_owners_import_applies_at_once(sandbox: Services) -> None:
    rows = _rows(sandbox, to_csv(valid_rows()))
    incidents, changes_before, _ = await _counts(sandbox)
    result = await sandbox.store.imports.import_rows(
        ImportRequest(rows, OWNER, file_name="a.csv", language="en")
    )
    assert result.outcome is ImportOutcome.ADDED
    assert len(result.added) == 4 and result.skipped == () and result.change_id is None
    assert result.added_drafts == [draft for _, draft in rows]
    assert (await _counts(sandbox))[:2] == (incidents + 4, changes_before)
    async with sandbox.store.db.read() as connection:
        creators = set(
            (
                await connection.scalars(
                    select(Incident.created_by).where(Incident.id.in_(result.added))
                )
            ).all()
        )
    assert creators == {OWNER}


async def test_an_editors_import_with_review_on_is_a_pending_change(sandbox: Services) -> None:
    await _add_editor(sandbox)
    assert sandbox.store.access.policy.review_required
    known = row(date="2023-01-01")
    await sandbox.store.imports.import_rows(ImportRequest(_rows(sandbox, to_csv([known])), OWNER))
    rows = _rows(sandbox, to_csv([*valid_rows(), known]))
    incidents, changes_before, _ = await _counts(sandbox)
    result = await sandbox.store.imports.import_rows(
        ImportRequest(rows, EDITOR, file_name="editor.csv", language="ru")
    )
    assert result.outcome is ImportOutcome.PROPOSED
    assert result.skipped == (6,) and result.added == () and result.change_id is not None
    assert (await _counts(sandbox))[:2] == (incidents, changes_before + 1)
    async with sandbox.store.db.read() as connection:
        change = (
            await connection.execute(
                select(
                    Change.kind, Change.status, Change.proposed_by, Change.language, Change.payload
                ).where(Change.id == result.change_id)
            )
        ).one()
    assert (change.kind, change.status) == (ChangeKind.IMPORT, ChangeStatus.PENDING)
    assert (change.proposed_by, change.language) == (EDITOR, "ru")
    assert change.payload["file"] == "editor.csv" and len(change.payload["rows"]) == 5
    # An owner approves it: the new rows are added as the editor's, the known one skipped.
    assert result.change_id is not None
    decision = await sandbox.store.review.approve(OWNER, result.change_id)
    assert decision.imported is not None
    assert len(decision.imported.added) == 4 and decision.imported.skipped == [6]
    assert (await _counts(sandbox))[0] == incidents + 4


async def test_an_editors_file_with_nothing_new_keeps_no_change(sandbox: Services) -> None:
    await _add_editor(sandbox)
    rows = _rows(sandbox, to_csv([row()]))
    await sandbox.store.imports.import_rows(ImportRequest(rows, OWNER))
    before = await _counts(sandbox)
    result = await sandbox.store.imports.import_rows(ImportRequest(rows, EDITOR))
    assert result.outcome is ImportOutcome.NOTHING_NEW and result.skipped == (2,)
    assert result.change_id is None and result.added_drafts == []
    assert await _counts(sandbox) == before


async def test_with_review_off_an_editors_import_applies_at_once(
    sandbox: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _add_editor(sandbox)
    access = sandbox.store.access
    monkeypatch.setattr(access, "policy", replace(access.policy, review_required=False))
    incidents, changes_before, _ = await _counts(sandbox)
    result = await sandbox.store.imports.import_rows(
        ImportRequest(_rows(sandbox, to_csv([row()])), EDITOR)
    )
    assert result.outcome is ImportOutcome.ADDED and len(result.added) == 1
    assert (await _counts(sandbox))[:2] == (incidents + 1, changes_before)


@pytest.mark.parametrize("dry_run", [False, True])
async def test_a_reader_is_refused_and_nothing_is_written(sandbox: Services, dry_run: bool) -> None:
    rows = _rows(sandbox, to_csv(valid_rows()))
    before = await _counts(sandbox)
    with pytest.raises(NotAllowed):
        await sandbox.store.imports.import_rows(ImportRequest(rows, READER, dry_run=dry_run))
    assert await _counts(sandbox) == before


@pytest.mark.parametrize("actor", [OWNER, EDITOR, Operator.SHELL])
async def test_a_dry_run_writes_nothing(sandbox: Services, actor: int | Operator) -> None:
    await _add_editor(sandbox)
    known = row()
    await sandbox.store.imports.import_rows(ImportRequest(_rows(sandbox, to_csv([known])), OWNER))
    rows = _rows(sandbox, to_csv([row(), known, row()]))
    before = await _counts(sandbox)
    result = await sandbox.store.imports.import_rows(ImportRequest(rows, actor, dry_run=True))
    assert result.outcome is ImportOutcome.CHECKED
    assert result.skipped == (3,) and result.added == () and result.change_id is None
    assert await _counts(sandbox) == before


async def test_rows_in_the_store_or_repeated_in_the_file_are_skipped(sandbox: Services) -> None:
    first, second = row(), row()
    imports = sandbox.store.imports
    once = await imports.import_rows(ImportRequest(_rows(sandbox, to_csv([first])), OWNER))
    assert len(once.added) == 1
    rows = _rows(sandbox, to_csv([first, second, second, first]))
    result = await imports.import_rows(ImportRequest(rows, Operator.SHELL))
    assert result.outcome is ImportOutcome.ADDED
    assert len(result.added) == 1 and result.skipped == (2, 4, 5)
    assert result.added_drafts == [rows[1][1]]
    again = await imports.import_rows(ImportRequest(rows, OWNER))
    assert again.added == () and again.skipped == (2, 3, 4, 5)
    # The shell's import is recorded with no actor.
    async with sandbox.store.db.read() as connection:
        actor = await connection.scalar(
            select(Incident.created_by).where(Incident.id == result.added[0])
        )
    assert actor is None


async def test_the_shell_imports_through_the_same_store_call(
    settings: Settings,
    catalogs: Catalogs,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls: list[ImportRequest] = []
    real = Imports.import_rows

    async def spy(self: Imports, request: ImportRequest) -> ImportResult:
        calls.append(request)
        return await real(self, request)

    monkeypatch.setattr(Imports, "import_rows", spy)
    own = settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{tmp_path / 'shell.sqlite3'}"}
    )
    path = tmp_path / "new.csv"
    path.write_bytes(to_csv(valid_rows()))
    t = catalogs.translator("en")
    assert await import_file(own, t, path, path.read_bytes(), "casualty-bot", dry_run=True) == 0
    assert await import_file(own, t, path, path.read_bytes(), "casualty-bot", dry_run=False) == 0
    assert [(r.actor, r.dry_run, r.file_name, len(r.rows)) for r in calls] == [
        (Operator.SHELL, True, "new.csv", 4),
        (Operator.SHELL, False, "new.csv", 4),
    ]
    out = capsys.readouterr().out
    assert "new.csv has no problem; nothing was written." in out
    assert "4 incidents added: #72–#75." in out
