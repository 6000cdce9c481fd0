"""Gettext catalogs, one folder per language: ``<lang>/LC_MESSAGES/messages.po``."""

from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parent
DOMAIN = "messages"
#: Languages the bot speaks; each has a complete catalog. English msgids are the source text.
SUPPORTED_LANGUAGES: tuple[str, ...] = ("az", "en", "ru")
