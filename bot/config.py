"""Configuration: read once from the environment (and an optional ``.env``) into one typed object."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from locales import SUPPORTED_LANGUAGES

DEFAULT_API_URL = "https://api.telegram.org"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///casualty-bot.sqlite3"
DEFAULT_SEED_DIR = Path(__file__).resolve().parent.parent / "db" / "seed" / "azerbaijan"
#: What Telegram allows in a webhook's secret token.
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class ConfigError(Exception):
    """A configuration value is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class WebhookSettings:
    """What ``python -m bot webhook`` needs, checked (see :meth:`Settings.require_webhook`)."""

    url: str
    listen: str
    port: int
    path: str
    secret: str = field(repr=False)


class Settings(BaseSettings):
    """Every setting the bot reads. Environment variable names are the field names upper-cased."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = DEFAULT_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    admin_ids: Annotated[frozenset[int], NoDecode] = Field(default_factory=frozenset)
    default_language: str = "en"
    timezone: str = "Asia/Baku"
    seed_dir: Path = DEFAULT_SEED_DIR
    log_level: str = "INFO"
    #: Telegram's flood limits, applied by the bot before it sends (see handlers.ratelimit).
    flood_global_per_second: float = Field(default=30.0, gt=0)
    flood_private_per_second: float = Field(default=1.0, gt=0)
    flood_group_per_minute: float = Field(default=20.0, gt=0)
    #: Four eyes: an editor's changes wait for another admin's approval (owners' apply at once).
    review_required: bool = True
    #: When a daily digest comes unless a subscriber chooses (local time in TIMEZONE).
    digest_time: dt.time = dt.time(9, 0)
    #: How often the bot looks for digests that fell due and sends the outbox; 0 turns it off.
    digest_check_seconds: float = Field(default=60.0, ge=0)
    #: Digests sent at the same time (enough to keep the overall limit busy while each send
    #: waits for Telegram's answer; the flood limits apply whatever this is).
    digest_senders: int = Field(default=16, ge=1, le=256)
    #: How long a sender's claim on a digest lasts: if its process dies, another process sends
    #: the digest once the claim has run out.
    digest_lease_seconds: float = Field(default=120.0, ge=1)
    #: /stats replies kept as rendered until the data change (see ``handlers.cache``); 0: none.
    stats_cache_size: int = Field(default=1024, ge=0)
    #: Webhook mode (``python -m bot webhook``): the public HTTPS URL Telegram posts updates to,
    #: e.g. https://bot.example.org/telegram (a reverse proxy terminating TLS forwards them to
    #: WEBHOOK_LISTEN:WEBHOOK_PORT).
    webhook_url: str | None = None
    #: The address and port the webhook server listens on, behind the proxy.
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    #: The path the webhook server answers on; by default WEBHOOK_URL's path.
    webhook_path: str | None = None
    #: Telegram sends it with every update (header X-Telegram-Bot-Api-Secret-Token); the server
    #: refuses requests without it. Required in webhook mode; 1-256 of A-Z a-z 0-9 _ -.
    webhook_secret: SecretStr | None = None

    @field_validator("telegram_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.fragment:
            raise ValueError("must be an https:// URL such as https://bot.example.org/telegram")
        return value

    @field_validator("webhook_path")
    @classmethod
    def _webhook_path(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:
            return None
        if any(c.isspace() or c in "?#" for c in value):
            raise ValueError("must be a URL path such as /telegram")
        return value if value.startswith("/") else f"/{value}"

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not _WEBHOOK_SECRET.fullmatch(value.get_secret_value().strip()):
            # Never repeat the value: it is a secret.
            raise ValueError("must be 1 to 256 characters, each A-Z, a-z, 0-9, _ or -")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        url = async_database_url(value)
        if url.startswith("sqlite"):
            database = url.partition("://")[2].removeprefix("/").split("?", 1)[0]
            if database and database != ":memory:":
                folder = Path(database).expanduser().resolve().parent
                if not folder.is_dir():
                    raise ValueError(f"names a file in {folder}, a folder that does not exist")
        return url

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            ids = set()
            for part in value.replace(";", ",").split(","):
                part = part.strip()
                if not part:
                    continue
                if not part.lstrip("-").isdigit():
                    raise ValueError(f"{part!r} is not a Telegram user id (a whole number)")
                ids.add(int(part))
            return frozenset(ids)
        return value

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in SUPPORTED_LANGUAGES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LANGUAGES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("is not an IANA time zone such as Asia/Baku") from exc
        return value

    @field_validator("seed_dir")
    @classmethod
    def _seed_dir(cls, value: Path) -> Path:
        missing = [
            name
            for name in ("districts.csv", "incidents.csv", "official_totals.csv")
            if not (value / name).is_file()
        ]
        if missing:
            raise ValueError(f"{value} is not a dataset folder (no {', '.join(missing)})")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def require_token(self) -> str:
        """The bot token, or a ConfigError naming the variable."""
        token = (
            self.telegram_bot_token.get_secret_value().strip() if self.telegram_bot_token else ""
        )
        if not token:
            raise ConfigError("TELEGRAM_BOT_TOKEN is not set: give the token @BotFather issued")
        if ":" not in token:
            raise ConfigError("TELEGRAM_BOT_TOKEN is malformed: expected '<bot id>:<secret>'")
        return token

    def require_webhook(self) -> WebhookSettings:
        """The webhook settings, or a ConfigError naming the missing variable."""
        if not self.webhook_url:
            raise ConfigError(
                "WEBHOOK_URL is not set: give the public HTTPS URL Telegram posts updates to"
            )
        if self.webhook_secret is None:
            raise ConfigError(
                "WEBHOOK_SECRET is not set: give 1 to 256 characters of A-Z, a-z, 0-9, _ or - "
                "(for example the output of `openssl rand -hex 32`)"
            )
        return WebhookSettings(
            url=self.webhook_url,
            listen=self.webhook_listen,
            port=self.webhook_port,
            path=self.webhook_path or urlsplit(self.webhook_url).path or "/",
            secret=self.webhook_secret.get_secret_value(),
        )


def async_database_url(url: str) -> str:
    """Map a plain SQLAlchemy URL to its asyncio driver (sqlite -> aiosqlite, postgresql -> asyncpg)."""
    url = url.strip()
    if not url:
        raise ValueError("must not be empty")
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("is not a SQLAlchemy URL such as sqlite:///bot.sqlite3")
    base = scheme.split("+", 1)[0].lower()
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    if base in {"postgresql", "postgres"}:
        return f"postgresql+asyncpg://{rest}"
    raise ValueError("only sqlite:// and postgresql:// databases are supported")


def load_settings(**overrides: object) -> Settings:
    """Read the settings once. Raises ConfigError with one line naming the bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "configuration"
        if first["type"] == "value_error":  # our validators' messages read on from the name
            raise ConfigError(f"{name} {first['msg'].removeprefix('Value error, ')}") from None
        raise ConfigError(f"{name} is malformed: {first['msg']}") from None


def settings_of(services: Any) -> Settings:
    """The whole configuration behind the services (handlers see only the part they read)."""
    settings = services.settings
    assert isinstance(settings, Settings)
    return settings
