"""Shared fixtures. The database is chosen by TEST_DATABASE_URL (default: a fresh SQLite file);
the suite runs once on SQLite and once on PostgreSQL in CI."""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import pytest_asyncio
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.app import build_services, prepare_database
from bot.config import Settings, async_database_url, load_settings
from bot.emulator import BotAPIEmulator, RateLimits, SentMessage, load_spec
from bot.harness import EmulatedBot, Mode
from handlers.context import Services
from locales.i18n import Catalogs

# Shared, noisy machines: a slow example is not a failure (speed is measured in bench/).
hypothesis_settings.register_profile("casualty-bot", deadline=None)
hypothesis_settings.load_profile("casualty-bot")

REPO = Path(__file__).resolve().parent.parent
API_SPEC = REPO.parent / "shared" / "telegram-bot-api" / "api.json"
ADMIN_ID = 4242


def pytest_report_header() -> str:
    return f"database: {os.environ.get('TEST_DATABASE_URL') or 'SQLite (temporary file)'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    return async_database_url(url)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def clean_database(database_url: str) -> str:
    """An empty database: on PostgreSQL the public schema of the (test) database is recreated."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        if "test" not in (url.database or ""):
            raise RuntimeError(
                "TEST_DATABASE_URL must name a test database (its name holds 'test')"
            )
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
    return database_url


@pytest.fixture(scope="session")
def settings(clean_database: str) -> Settings:
    return load_settings(
        _env_file=None,
        database_url=clean_database,
        admin_ids=str(ADMIN_ID),
        default_language="en",
        timezone="Asia/Baku",
        # Digests are decided and sent by the tests that ask for them (/digest_now), not by a
        # job running in the background of every test.
        digest_check_seconds=0,
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def services(settings: Settings) -> AsyncIterator[Services]:
    """Migrated and seeded store with its gazetteer, shared by the query tests."""
    services = build_services(settings)
    await prepare_database(services)
    yield services
    await services.store.db.dispose()


@pytest.fixture(scope="session")
def catalogs() -> Catalogs:
    return Catalogs.load()


_ids = itertools.count(10_001)


@pytest.fixture
def user_id() -> Iterator[int]:
    """A fresh Telegram user id per test, so that per-chat settings never leak between tests."""
    yield next(_ids)


@pytest_asyncio.fixture(loop_scope="session")
async def sandbox(services: Services) -> AsyncIterator[Services]:
    """A test that changes the store through admin commands gets it back as it found it: the
    incidents, official totals, editors, changes and audit entries it created are deleted (the
    incidents through ``db.writes`` so that the pre-aggregated totals follow) and the incidents
    it changed are put back."""
    from sqlalchemy import delete, func, select
    from sqlalchemy.orm import selectinload

    from db import totals, writes
    from db.domain.drafts import field_value
    from db.models import AuditEntry, Change, Editor, Incident, OfficialTotal

    db = services.store.db
    async with db.session() as session:
        marks = {
            model: int(await session.scalar(select(func.coalesce(func.max(column), 0))) or 0)
            for model, column in (
                (Incident, Incident.id),
                (OfficialTotal, OfficialTotal.id),
                (Change, Change.id),
                (AuditEntry, AuditEntry.id),
            )
        }
        editors = set((await session.scalars(select(Editor.user_id))).all())
    yield services
    async with db.transaction() as session:
        # Incidents that existed and were changed: back to their first recorded "before".
        touched = await session.execute(
            select(AuditEntry.incident_id, AuditEntry.before)
            .where(AuditEntry.id > marks[AuditEntry], AuditEntry.incident_id <= marks[Incident])
            .where(AuditEntry.before.is_not(None))
            .order_by(AuditEntry.id.desc())
        )
        for incident_id, before in touched:
            if not before:
                continue
            incident = await session.get(
                Incident, incident_id, options=[selectinload(Incident.sources)]
            )
            assert incident is not None
            old = totals.Contribution.of(incident)
            for key, value in before.items():
                if key == "sources":
                    continue
                setattr(incident, key, field_value(key, value))
            await session.flush()
            await totals.apply(session, old, totals.Contribution.of(incident))
        await session.execute(delete(Change).where(Change.id > marks[Change]))
        added = await session.scalars(
            select(Incident)
            .where(Incident.id > marks[Incident])
            .options(selectinload(Incident.sources))
        )
        for incident in added.all():
            await writes.delete_incident(session, incident)
        await session.execute(delete(OfficialTotal).where(OfficialTotal.id > marks[OfficialTotal]))
        await session.execute(delete(AuditEntry).where(AuditEntry.id > marks[AuditEntry]))
        await session.execute(delete(Editor).where(Editor.user_id.not_in(editors or {0})))


@asynccontextmanager
async def emulated_bot(
    settings: Settings,
    token: str,
    *,
    wait: float = 10.0,
    mode: Mode = "polling",
    **overrides: object,
) -> AsyncIterator[EmulatedBot]:
    """The real bot against the emulator with Telegram's limits ten times faster on both sides
    (so that tests stay quick), every request checked against the official Bot API description;
    ``wait``: how long a test waits for one update to be handled; ``mode``: long polling, or the
    emulator posting updates to the bot's webhook server.
    On leaving: no request broke the spec and none was answered 429."""
    fast = settings.model_copy(
        update={
            "flood_global_per_second": 300.0,
            "flood_private_per_second": 10.0,
            "flood_group_per_minute": 200.0,
            **overrides,
        }
    )
    emulator = BotAPIEmulator(token=token, spec=load_spec(), limits=RateLimits().scaled(10))
    async with (
        emulator,
        EmulatedBot(fast, emulator=emulator, token=token, timeout=wait, mode=mode) as bot,
    ):
        yield bot
    assert emulator.spec_problems == []
    assert emulator.count_429 == 0


def only(messages: list[SentMessage]) -> SentMessage:
    """The one message a step sent (else the test fails, naming what was sent)."""
    assert len(messages) == 1, [(m.method, m.plain) for m in messages]
    return messages[0]


def add_reader(bot: EmulatedBot, user_id: int, lang: str | None) -> int:
    """A private chat with Leyla, whose Telegram language is ``lang``; her user id."""
    bot.emulator.add_private_chat(user_id, first_name="Leyla", language_code=lang)
    return user_id


async def own_database(settings: Settings, directory: Path, suffix: str) -> str:
    """A new empty database for a test whose bot processes write it: a SQLite file in
    ``directory``, or on PostgreSQL a database named after the suite's with ``_suffix``
    (dropped first if a run left it)."""
    import asyncpg  # type: ignore[import-untyped]

    url = make_url(settings.database_url)
    if url.get_backend_name() != "postgresql":
        return f"sqlite+aiosqlite:///{directory / f'{suffix}.sqlite3'}"
    name = f"{url.database}_{suffix}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.set(database=name).render_as_string(hide_password=False)


def bot_environment(**settings: str) -> dict[str, str]:
    """The environment of a bot process a test starts: this one's, without the settings a
    developer's shell may hold for their own bot (token, admins, webhook), plus ``settings``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"TELEGRAM_BOT_TOKEN", "ADMIN_IDS"} and not k.startswith("WEBHOOK_")
    }
    env.update(settings)
    return env


async def start_bot_process(
    verb: str, env: dict[str, str], log: Path
) -> asyncio.subprocess.Process:
    """``python -m bot VERB`` as users run it, its output appended to ``log`` (whose folder is
    its working directory)."""
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", verb, cwd=log.parent, env=env, stdout=out, stderr=out
        )
