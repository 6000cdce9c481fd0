"""The command line: ``python -m bot`` (installed as ``casualty-bot``)."""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.config import ConfigError, Settings, load_settings
from bot.logs import build_handler
from bot.logs import secrets_of as log_secrets
from locales import SUPPORTED_LANGUAGES

PROG = "casualty-bot"
log = logging.getLogger(PROG)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="A Telegram bot answering questions about landmine and unexploded-ordnance "
        "casualties, with sourced figures in Azerbaijani, English and Russian. Configuration "
        "comes from the environment and an optional .env file (see README.md).",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    verbs.add_parser(
        "run",
        help="run the bot: long polling against TELEGRAM_API_URL",
        description="Run the bot with long polling against TELEGRAM_API_URL (Telegram or a "
        "self-hosted Bot API server). Applies migrations and seeds an empty database first. "
        "Stops cleanly on SIGINT or SIGTERM.",
    )
    verbs.add_parser(
        "webhook",
        help="run the bot: Telegram posts updates to WEBHOOK_URL",
        description="Run the bot in webhook mode: set the webhook to WEBHOOK_URL with "
        "WEBHOOK_SECRET and answer the updates posted to WEBHOOK_LISTEN:WEBHOOK_PORT (behind a "
        "reverse proxy terminating TLS); requests without the secret header are refused. "
        "Several processes may run on one PostgreSQL database. Applies migrations and seeds an "
        "empty database first. Stops cleanly on SIGINT or SIGTERM.",
    )
    console = verbs.add_parser(
        "console",
        help="try the bot in the terminal, with no token and no network",
        description="Run the real bot against the built-in Bot API emulator and chat with it in "
        "the terminal as a Telegram user. Inline buttons are shown as numbered choices: type "
        "the number to press one. Fed from a pipe, it reads one message a line, prints the "
        "replies and exits at the end of its input.",
    )
    console.add_argument(
        "--lang",
        choices=SUPPORTED_LANGUAGES,
        help="the Telegram language of the console user (default: DEFAULT_LANGUAGE)",
    )
    console.add_argument(
        "--admin",
        action="store_true",
        help="be one of the bot's owners, to try /add, /edit, /history and the other admin "
        "commands (changes are stored in DATABASE_URL)",
    )
    _add_db_verbs(verbs)
    _add_import_verb(verbs)
    return parser


def _add_db_verbs(verbs: Any) -> None:
    db = verbs.add_parser(
        "db",
        help="database: migrations and seed data",
        description="Manage the database given by DATABASE_URL.",
    )
    db_verbs = db.add_subparsers(dest="db_verb", metavar="DB_VERB", required=True)
    db_verbs.add_parser(
        "upgrade",
        help="apply migrations up to the latest",
        description="Apply every Alembic migration up to the latest revision.",
    )
    db_verbs.add_parser(
        "current",
        help="print the schema revision",
        description="Print the database's current schema revision and the latest one.",
    )
    seed = db_verbs.add_parser(
        "seed",
        help="load the dataset (districts, incidents, official totals)",
        description="Load a dataset folder (districts.csv, incidents.csv, official_totals.csv) "
        "into the database, after applying migrations. Rows already present are skipped, so it "
        "can be run again safely.",
    )
    seed.add_argument("--dir", type=Path, help="dataset folder (default: SEED_DIR)")
    backup = db_verbs.add_parser(
        "backup",
        help="copy the SQLite database to PATH, while the bot runs",
        description="Copy the SQLite database to PATH with SQLite's online backup API: a "
        "consistent copy as of one moment, safe while the bot runs and writes. Refuses to "
        "overwrite PATH unless --force. For PostgreSQL, prints the pg_dump command to use "
        "instead (exit status 2).",
    )
    backup.add_argument("path", type=Path, metavar="PATH", help="the backup file to write")
    backup.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    restore = db_verbs.add_parser(
        "restore",
        help="replace the SQLite database with a backup (stop the bot first)",
        description="Check that PATH is an intact SQLite database of this bot's schema, at a "
        "revision this version knows, then replace the database file with it atomically and "
        "apply migrations. Stop the bot first: a database in use is refused. For PostgreSQL, "
        "prints the pg_restore command to use instead (exit status 2).",
    )
    restore.add_argument("path", type=Path, metavar="PATH", help="the backup file to restore")


def _add_import_verb(verbs: Any) -> None:
    importing = verbs.add_parser(
        "import",
        help="import incidents from a CSV file in the dataset's format",
        description="Check every row of a CSV file in the format of the dataset's incidents.csv "
        "and add the incidents not in the database yet, in one transaction. If any row has a "
        "problem, the problems are printed by line and nothing is imported (exit status 1). Rows "
        "already in the database, or repeated in the file, are skipped. The import is recorded in "
        "the audit trail as made from the shell and is not reviewed. Applies migrations and loads "
        "the dataset into an empty database first, as run does.",
    )
    importing.add_argument("file", type=Path, metavar="FILE.csv", help="the CSV file")
    importing.add_argument(
        "--dry-run",
        action="store_true",
        help="check the file and say what would be added, without writing anything",
    )
    importing.add_argument(
        "--lang",
        choices=SUPPORTED_LANGUAGES,
        help="the language of the report (default: DEFAULT_LANGUAGE)",
    )


def configure_logging(
    level: str, filename: Path | None = None, *, secrets: Sequence[str] = ()
) -> None:
    """One line per event, with the update and chat ids, ``secrets`` redacted (see bot.logs)."""
    if not logging.getLogger().handlers:  # as basicConfig: a configured root is left alone
        logging.basicConfig(
            level=level, handlers=[build_handler(filename=filename, secrets=secrets)]
        )
    # httpx (not used by the bot itself; aiohttp is, see bot.request) logs every request line at
    # INFO, token included in the URL: keep it quiet.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # Alembic narrates every step at INFO; `db upgrade` prints its own summary.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # APScheduler logs every run of every job at INFO (the digest job runs every minute).
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # aiosqlite logs every call it hands its thread at DEBUG: hundreds of lines per update.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)


#: glibc's ``mallopt`` parameter for the number of malloc arenas.
_M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas, as ``MALLOC_ARENA_MAX=2`` would (unless that is set).

    glibc gives each thread that allocates its own arena, up to eight per core; aiosqlite runs a
    thread per connection and a fan-out keeps a dozen busy, so freed memory was spread over
    arenas that never shrink: the bot's peak RSS in a 10k fan-out fell from 136 to 119 MiB
    with two (bench/bench_digest.py). Elsewhere than glibc this does nothing."""
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return
    mallopt(_M_ARENA_MAX, arenas)


def main(argv: Sequence[str] | None = None) -> int:
    limit_malloc_arenas()
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    secrets = log_secrets(settings)
    if args.verb == "console":
        # The console is a chat: the bot's log goes to a file, not between the messages.
        configure_logging(
            settings.log_level,
            Path(tempfile.gettempdir()) / "casualty-bot-console.log",
            secrets=secrets,
        )
    else:
        configure_logging(settings.log_level, secrets=secrets)
    try:
        if args.verb == "run":
            return run(settings)
        if args.verb == "webhook":
            return webhook(settings)
        if args.verb == "console":
            from bot.console import run_console

            return asyncio.run(run_console(settings, language=args.lang, admin=args.admin))
        if args.verb == "import":
            from bot.csv_import import import_command

            return import_command(settings, args.file, PROG, lang=args.lang, dry_run=args.dry_run)
        return asyncio.run(db_command(settings, args))
    except ConfigError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from handlers.errors import is_database_unavailable

        log.debug("failed", exc_info=exc)
        first_line = (str(exc).strip().splitlines() or [""])[0]
        if is_database_unavailable(exc):
            print(f"{PROG}: the database cannot be reached: {first_line}", file=sys.stderr)
        else:
            print(f"{PROG}: {type(exc).__name__}: {first_line}", file=sys.stderr)
        return 1


def freeze_after_start(application: Any) -> None:
    """After the start (migrations, seed, gazetteer, catalogs: objects that live as long as the
    process), move everything alive out of the garbage collector's sight (``gc.freeze``), so that
    its full collections, which stop the event loop, walk only what updates create: the tail of
    the reply latencies under load (bench/bench_load.py)."""
    start = application.post_init

    async def post_init(app: Any) -> None:
        if start is not None:
            await start(app)
        gc.collect()
        gc.freeze()

    application.post_init = post_init


def run(settings: Settings) -> int:
    settings.require_token()  # before anything else starts, so that a missing token is one line
    from telegram import Update

    from bot.app import build_application

    application = build_application(settings)
    freeze_after_start(application)
    log.info("starting long polling against %s", settings.telegram_api_url)
    # run_polling handles SIGINT/SIGTERM: it stops polling, finishes the update in hand and shuts
    # down (post_shutdown closes the database).
    application.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


def webhook(settings: Settings) -> int:
    """``webhook``: PTB's webhook server (tornado) behind the operator's TLS proxy. The log
    redacts WEBHOOK_SECRET with the other secrets (PTB logs setWebhook's parameters at DEBUG)."""
    settings.require_token()
    hook = settings.require_webhook()
    from telegram import Update

    from bot.app import build_application

    application = build_application(settings)
    freeze_after_start(application)
    log.info(
        "listening on %s:%d%s for the updates Telegram posts to %s",
        hook.listen,
        hook.port,
        hook.path,
        hook.url,
    )
    # run_webhook: initialize, post_init (migrations, seed), setWebhook with the secret, serve;
    # on SIGINT/SIGTERM it stops serving, finishes the updates in hand and shuts down. The
    # webhook stays set, for the other processes and the next start.
    application.run_webhook(
        listen=hook.listen,
        port=hook.port,
        url_path=hook.path,
        webhook_url=hook.url,
        secret_token=hook.secret,
        allowed_updates=Update.ALL_TYPES,
    )
    return 0


async def db_command(settings: Settings, args: argparse.Namespace) -> int:
    from db import migrate, seed
    from db.session import Database

    if args.db_verb in ("backup", "restore"):
        return await backup_command(settings, args)
    database = Database(settings.database_url)
    try:
        if args.db_verb == "upgrade":
            await migrate.upgrade(database)
            print(f"database at {database.safe_url()} is at revision {migrate.head_revision()}")
        elif args.db_verb == "current":
            current = await migrate.current_revision(database)
            print(f"current: {current or 'none'}; latest: {migrate.head_revision()}")
        elif args.db_verb == "seed":
            await migrate.upgrade(database)
            directory = args.dir or settings.seed_dir
            try:
                report = await seed.seed(database, directory)
            except seed.DatasetError as exc:
                print(f"{PROG}: {exc}", file=sys.stderr)
                return 1
            print(
                f"loaded {directory}: {report.districts_added} districts added, "
                f"{report.incidents_added} incidents added ({report.incidents_present} already "
                f"present), {report.totals_added} official totals added "
                f"({report.totals_present} already present)"
            )
    finally:
        await database.dispose()
    return 0


async def backup_command(settings: Settings, args: argparse.Namespace) -> int:
    """``db backup PATH`` and ``db restore PATH`` (SQLite; PostgreSQL: what to run instead)."""
    from db import backup, migrate
    from db.session import Database

    database = Database(settings.database_url)
    try:
        if not database.is_sqlite:
            print(backup.postgresql_commands(database.url, args.path), file=sys.stderr)
            return 2
        try:
            if args.db_verb == "backup":
                report = await backup.backup(database.url, args.path, force=args.force)
                print(
                    f"backed up {database.safe_url()} to {report.path} ({report.bytes} bytes, "
                    f"schema revision {report.revision or 'none'})"
                )
                return 0
            revision = await backup.restore(database.url, args.path)
        except backup.BackupError as exc:
            print(f"{PROG}: {exc}", file=sys.stderr)
            return 1
        await migrate.upgrade(database)
        print(
            f"restored {args.path} (schema revision {revision}) into {database.safe_url()}, "
            f"now at revision {migrate.head_revision()}"
        )
    finally:
        await database.dispose()
    return 0
