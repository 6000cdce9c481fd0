"""Fixtures for the Bot API emulator's tests: a running emulator and a real PTB Bot on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Bot

from bot.emulator import BotAPIEmulator, load_spec


@pytest.fixture
async def emu() -> AsyncIterator[BotAPIEmulator]:
    async with BotAPIEmulator() as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: BotAPIEmulator) -> AsyncIterator[Bot]:
    async with Bot(
        emu.token, base_url=f"{emu.base_url}/bot", base_file_url=f"{emu.base_url}/file/bot"
    ) as client:
        yield client


@pytest.fixture(scope="session")
def api_spec() -> dict[str, Any]:
    spec = load_spec()
    if spec is None:
        pytest.skip("../shared/telegram-bot-api/api.json not found (it is not part of the repo)")
    return spec
