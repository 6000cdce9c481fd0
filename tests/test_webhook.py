"""Webhook mode: its settings, and the bot's webhook server refusing requests that lack the secret.

The end-to-end tests (test_e2e.py) run in webhook mode too; ``python -m bot webhook`` as a process,
alone and several on one database, is in test_webhook_processes.py."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from bot.config import ConfigError, Settings, WebhookSettings, load_settings
from tests.conftest import emulated_bot

TOKEN = "123456789:WEBHOOK-TOKEN"
SECRET = "s3cret_Token-42"


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("WEBHOOK_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_the_path_defaults_to_the_urls(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("WEBHOOK_URL", "https://bot.example.org/telegram/hook")
    environment.setenv("WEBHOOK_SECRET", SECRET)
    settings = load_settings(_env_file=None)
    hook = settings.require_webhook()
    assert hook == WebhookSettings(
        url="https://bot.example.org/telegram/hook",
        listen="0.0.0.0",
        port=8443,
        path="/telegram/hook",
        secret=SECRET,
    )
    assert SECRET not in repr(hook) and SECRET not in repr(settings)
    assert load_settings(_env_file=None, webhook_path="hook").require_webhook().path == "/hook"
    bare = load_settings(_env_file=None, webhook_url="https://bot.example.org")
    assert bare.require_webhook().path == "/"


def test_values_from_the_environment(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("WEBHOOK_URL", " https://bot.example.org:88/t ")
    environment.setenv("WEBHOOK_LISTEN", "127.0.0.1")
    environment.setenv("WEBHOOK_PORT", "8081")
    environment.setenv("WEBHOOK_PATH", "/internal")
    environment.setenv("WEBHOOK_SECRET", "A" * 256)
    hook = load_settings(_env_file=None).require_webhook()
    assert (hook.url, hook.listen, hook.port, hook.path) == (
        "https://bot.example.org:88/t",
        "127.0.0.1",
        8081,
        "/internal",
    )
    assert hook.secret == "A" * 256


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WEBHOOK_SECRET", "with space", "WEBHOOK_SECRET must be 1 to 256 characters"),
        ("WEBHOOK_SECRET", "x" * 257, "WEBHOOK_SECRET must be 1 to 256 characters"),
        ("WEBHOOK_SECRET", "dollar$ign", "WEBHOOK_SECRET must be 1 to 256 characters"),
        ("WEBHOOK_SECRET", "şifrə", "WEBHOOK_SECRET must be 1 to 256 characters"),
        ("WEBHOOK_URL", "bot.example.org/telegram", "WEBHOOK_URL must be an https:// URL"),
        ("WEBHOOK_URL", "ftp://bot.example.org/", "WEBHOOK_URL must be an https:// URL"),
        ("WEBHOOK_PORT", "70000", "WEBHOOK_PORT is malformed"),
        ("WEBHOOK_PORT", "https", "WEBHOOK_PORT is malformed"),
        ("WEBHOOK_PATH", "/tele gram", "WEBHOOK_PATH must be a URL path"),
    ],
)
def test_malformed_values_name_the_variable_but_not_the_secret(
    environment: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    environment.setenv(name, value)
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(_env_file=None)
    if name == "WEBHOOK_SECRET":
        assert value not in str(caught.value)


def test_webhook_mode_names_what_is_missing(environment: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="WEBHOOK_URL is not set"):
        load_settings(_env_file=None, webhook_secret=SECRET).require_webhook()
    for secret in (None, "", "  "):
        settings = load_settings(
            _env_file=None, webhook_url="https://bot.example.org/t", webhook_secret=secret
        )
        with pytest.raises(ConfigError, match="WEBHOOK_SECRET is not set"):
            settings.require_webhook()


def test_the_command_without_a_secret_is_one_line_and_status_2(
    settings: Settings, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBHOOK_")}
    env.update(
        DATABASE_URL=settings.database_url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        WEBHOOK_URL="https://bot.example.org/telegram",
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "webhook"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("casualty-bot: WEBHOOK_SECRET is not set")
    assert result.stderr.count("\n") == 1


def _start_update(update_id: int, user_id: int) -> dict[str, Any]:
    """A user's /start, as Telegram posts it to a webhook."""
    user = {"id": user_id, "is_bot": False, "first_name": "Leyla", "language_code": "en"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Leyla"},
            "from": user,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def test_requests_without_the_right_secret_are_refused_and_not_handled(
    settings: Settings, user_id: int
) -> None:
    async with emulated_bot(settings, TOKEN, mode="webhook") as bot:
        emulator = bot.emulator
        # The bot set its webhook, with its secret, and does not poll.
        hooks = [r.params for r in emulator.requests if r.method == "setWebhook"]
        assert [(p["url"], p["secret_token"]) for p in hooks] == [
            (bot.webhook_url, bot.webhook_secret)
        ]
        assert emulator.webhook.url == bot.webhook_url
        assert not any(r.method == "getUpdates" for r in emulator.requests)
        emulator.add_private_chat(user_id, first_name="Leyla", language_code="en")
        app = bot.app
        refused = {
            900_001: {},
            900_002: {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
            900_003: {"X-Telegram-Bot-Api-Secret-Token": bot.webhook_secret[:-1]},
            900_004: {"X-Telegram-Bot-Api-Secret-Token": ""},
        }
        waiting = {update_id: app.expect(update_id) for update_id in refused}
        async with ClientSession() as http:
            statuses = {}
            for update_id, headers in refused.items():
                async with http.post(
                    bot.webhook_url,
                    data=json.dumps(_start_update(update_id, user_id)),
                    headers={"Content-Type": "application/json", **headers},
                ) as response:
                    statuses[update_id] = response.status
            assert statuses == dict.fromkeys(refused, 403)
            # The right secret: accepted and handled, after anything queued before it in this
            # chat (updates of one chat are handled in turn), so the refused ones would show.
            handled = app.expect(900_005)
            async with http.post(
                bot.webhook_url,
                data=json.dumps(_start_update(900_005, user_id)),
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": bot.webhook_secret,
                },
            ) as response:
                assert response.status == 200
            await asyncio.wait_for(handled, 10)
        assert not any(future.done() for future in waiting.values())
        replies = [m for m in emulator.sent if m.chat_id == user_id]
        assert len(replies) == 1
        assert (replies[0].plain or "").startswith("Hello, Leyla!")
