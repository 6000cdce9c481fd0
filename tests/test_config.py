"""Configuration from the environment; a bad value is one clear line and exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.config import ConfigError, async_database_url, load_settings
from db.migrate import head_revision


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TELEGRAM_API_URL", "DATABASE_URL", "ADMIN_IDS", "DEFAULT_LANGUAGE", "TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(_env_file=None)
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.database_url == "sqlite+aiosqlite:///casualty-bot.sqlite3"
    assert settings.admin_ids == frozenset()
    assert settings.default_language == "en"
    assert settings.timezone == "Asia/Baku"


def test_values_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:8081/")
    monkeypatch.setenv("ADMIN_IDS", " 1, 22 ,333")
    monkeypatch.setenv("DEFAULT_LANGUAGE", "AZ")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    settings = load_settings(_env_file=None)
    assert settings.require_token() == "123:abc"
    assert settings.telegram_api_url == "http://127.0.0.1:8081"
    assert settings.admin_ids == {1, 22, 333}
    assert settings.default_language == "az"
    assert settings.database_url == "postgresql+asyncpg://u@h/db"


def test_dotenv_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADMIN_IDS", raising=False)
    env = tmp_path / ".env"
    env.write_text("ADMIN_IDS=7,8\n", encoding="utf-8")
    assert load_settings(_env_file=env).admin_ids == {7, 8}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ADMIN_IDS", "12,abc", "ADMIN_IDS 'abc' is not a Telegram user id"),
        ("DEFAULT_LANGUAGE", "de", "DEFAULT_LANGUAGE must be one of az, en, ru"),
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE is not an IANA time zone"),
        ("TELEGRAM_API_URL", "ftp://x", "TELEGRAM_API_URL must be an http:// or https:// URL"),
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL only sqlite:// and postgresql://"),
        ("SEED_DIR", "/nonexistent", "SEED_DIR /nonexistent is not a dataset folder"),
    ],
)
def test_malformed_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_review_is_on_unless_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REVIEW_REQUIRED", raising=False)
    assert load_settings(_env_file=None).review_required is True
    for value, expected in (("false", False), ("0", False), ("true", True), ("yes", True)):
        monkeypatch.setenv("REVIEW_REQUIRED", value)
        assert load_settings(_env_file=None).review_required is expected
    monkeypatch.setenv("REVIEW_REQUIRED", "sometimes")
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None)
    assert str(info.value).startswith("REVIEW_REQUIRED is malformed")
    assert "\n" not in str(info.value)


def test_missing_token_is_named() -> None:
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN is not set"):
        load_settings(_env_file=None, telegram_bot_token=None).require_token()
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN is malformed"):
        load_settings(_env_file=None, telegram_bot_token="nocolon").require_token()


def test_async_driver_mapping() -> None:
    assert async_database_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    assert async_database_url("postgres://a@b/c") == "postgresql+asyncpg://a@b/c"
    assert async_database_url("postgresql+psycopg://a@b/c") == "postgresql+asyncpg://a@b/c"


def _cli(
    *args: str, env: dict[str, str] | None = None, cwd=None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in {"TELEGRAM_BOT_TOKEN", "ADMIN_IDS"}}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
    )


def test_cli_bad_value_is_one_line_and_status_2(tmp_path) -> None:
    result = _cli("db", "current", env={"ADMIN_IDS": "x"}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "casualty-bot: ADMIN_IDS 'x' is not a Telegram user id (a whole number)"
    ]
    assert "Traceback" not in result.stderr


def test_cli_run_without_token_names_it(tmp_path) -> None:
    result = _cli("run", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "casualty-bot: TELEGRAM_BOT_TOKEN is not set: give the token @BotFather issued"
    ]


@pytest.mark.parametrize(
    "verb", [[], ["run"], ["console"], ["db"], ["db", "upgrade"], ["db", "seed"], ["db", "current"]]
)
def test_every_verb_has_help(verb: list[str], tmp_path) -> None:
    result = _cli(*verb, "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: casualty-bot")


def test_cli_db_upgrade_and_seed_from_any_directory(tmp_path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    upgrade = _cli("db", "upgrade", env=env, cwd=tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    first = _cli("db", "seed", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "71 incidents added" in first.stdout
    again = _cli("db", "seed", env=env, cwd=tmp_path)
    assert "0 incidents added (71 already present)" in again.stdout
    current = _cli("db", "current", env=env, cwd=tmp_path)
    head = head_revision()
    assert current.stdout.strip() == f"current: {head}; latest: {head}"


def test_cli_unreachable_database_is_one_line(tmp_path) -> None:
    env = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = _cli("db", "upgrade", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "the database cannot be reached" in result.stderr
    assert "Traceback" not in result.stderr
    result = _cli(
        "db", "upgrade", env={"DATABASE_URL": "sqlite:////nonexistent/x.sqlite3"}, cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "casualty-bot: DATABASE_URL names a file in /nonexistent, a folder that does not exist"
    ]
