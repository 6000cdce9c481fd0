"""The composition root: build the PTB Application and everything it shares, register handlers."""

from __future__ import annotations

import logging
from typing import Any

from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.config import Settings, settings_of
from bot.digests import WORKER_KEY, DigestJobQueue, schedule_digests, worker_name
from bot.request import AiohttpRequest
from bot.updates import PerChatUpdateProcessor
from db import seed
from db.domain.digests import Delivery
from db.domain.dimensions import REGISTRY
from db.domain.vocabulary import Vocabulary
from db.session import Database
from db.store import Store
from db.store.access import Policy
from handlers import (
    add_conversation,
    admin,
    chart,
    editing,
    errors,
    export,
    imports,
    incidents,
    inline,
    language,
    menus,
    official,
    review,
    sources,
    start,
    stats,
    status,
    subscriptions,
)
from handlers.cache import RenderedReplies
from handlers.callbacks import (
    DRAFT_PREFIX,
    INCIDENTS_PREFIX,
    LANGUAGE_PREFIX,
    REVIEW_PREFIX,
    SUBSCRIPTION_PREFIX,
    UNDO_PREFIX,
)
from handlers.context import SERVICES_KEY, BotContext, Services
from handlers.digests import run_digests
from handlers.ratelimit import FloodLimiter, FloodLimits
from handlers.render import FREQUENCY_WORDS
from locales.i18n import Catalogs

log = logging.getLogger(__name__)

BotApplication = Application[Any, BotContext, Any, Any, Any, Any]


def build_vocabulary(catalogs: Catalogs) -> Vocabulary:
    """The filter words of every language (a word of any language works in every chat)."""

    def words(msgids: dict[Any, str]) -> dict[Any, list[str]]:
        """Every language's words for each key, and the English msgid's."""
        return {
            key: [word for t in catalogs.all() for word in (*t._(msgid).split(), *msgid.split())]
            for key, msgid in msgids.items()
        }

    choices = {key: msgid for d in REGISTRY for key, msgid in d.words.items()}
    return Vocabulary.build(words(choices), words(FREQUENCY_WORDS))


def build_services(settings: Settings) -> Services:
    catalogs = Catalogs.load(settings.default_language, settings.tz)
    database = Database(settings.database_url)
    return Services(
        settings=settings,
        store=Store(database, Policy(settings.admin_ids, settings.review_required)),
        catalogs=catalogs,
        vocabulary=build_vocabulary(catalogs),
        stats_replies=RenderedReplies(settings.stats_cache_size),
    )


async def prepare_database(services: Services) -> None:
    """Migrate, seed an empty store from the dataset, load the gazetteer (``db.seed.prepare``)."""
    seed_dir = settings_of(services).seed_dir
    prepared = await seed.prepare(services.store.db, seed_dir)
    if prepared.seeded is not None:
        log.info(
            "seeded an empty database from %s: %d districts, %d incidents, %d official totals",
            seed_dir,
            prepared.seeded.districts_added,
            prepared.seeded.incidents_added,
            prepared.seeded.totals_added,
        )
    services.gazetteer = prepared.gazetteer


async def _post_init(application: BotApplication) -> None:
    services: Services = application.bot_data[SERVICES_KEY]
    await prepare_database(services)
    interval = settings_of(services).digest_check_seconds
    if interval > 0 and application.job_queue is not None:
        # The schedule is in the store: one job, run again after each run, finds what fell due
        # (also after a restart) and sends the outbox.
        schedule_digests(application.job_queue, interval, first=min(interval, 10.0))
    await menus.set_public_menu(application.bot, services.catalogs)
    editors = await services.store.editors.ids()
    admins = sorted(services.settings.admin_ids) + editors
    await menus.set_admin_menu(application.bot, services.catalogs, admins)


async def _post_shutdown(application: BotApplication) -> None:
    services: Services = application.bot_data[SERVICES_KEY]
    await services.store.db.dispose()


async def run_post_init(application: BotApplication) -> None:
    """What ``run_polling`` does after ``initialize()``; for runners that drive the lifecycle."""
    await _post_init(application)


async def run_post_shutdown(application: BotApplication) -> None:
    await _post_shutdown(application)


def build_application(
    settings: Settings,
    *,
    token: str | None = None,
    application_class: type[Application[Any, Any, Any, Any, Any, Any]] = Application,
) -> BotApplication:
    """The bot, wired: one Application, its services, every handler in one place."""
    token = token or settings.require_token()
    api = settings.telegram_api_url
    services = build_services(settings)
    context_types = ContextTypes(context=BotContext)
    application: BotApplication = (
        ApplicationBuilder()
        .application_class(application_class)
        .token(token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .context_types(context_types)
        # Stops a digest run cleanly with the process (see DigestJobQueue).
        .job_queue(DigestJobQueue())
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                tzinfo=settings.tz,
            )
        )
        .rate_limiter(
            FloodLimiter(
                FloodLimits(
                    global_per_second=settings.flood_global_per_second,
                    private_per_second=settings.flood_private_per_second,
                    group_per_minute=settings.flood_group_per_minute,
                )
            )
        )
        .concurrent_updates(PerChatUpdateProcessor())
        # Every Bot API call through aiohttp (see bot.request); long polling on a connection of
        # its own, as PTB does.
        .request(AiohttpRequest())
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    application.bot_data[SERVICES_KEY] = services
    worker = application.bot_data.setdefault(WORKER_KEY, worker_name())

    async def deliver_now(bot: Any) -> Delivery:
        return await run_digests(bot, services, worker, at_once=True)

    services.deliver_digests = deliver_now
    register_handlers(application)
    return application


# Long on purpose: every handler registered in one place, in order (the order decides matches).
def register_handlers(application: BotApplication) -> None:
    """Every handler, feature by feature. Group 0 holds one handler per update kind; the first
    match wins, so the catch-all for unknown commands comes last."""
    application.add_handler(CommandHandler("start", start.start_command))
    application.add_handler(CommandHandler("help", start.help_command))
    application.add_handler(CommandHandler("stats", stats.stats_command))
    application.add_handler(CommandHandler("compare", stats.compare_command))
    application.add_handler(InlineQueryHandler(inline.inline_query))
    application.add_handler(CommandHandler("incidents", incidents.incidents_command))
    application.add_handler(CommandHandler("export", export.export_command))
    application.add_handler(CommandHandler("sources", sources.sources_command))
    application.add_handler(CommandHandler("chart", chart.chart_command))
    application.add_handler(CommandHandler("language", language.language_command))
    application.add_handler(
        CallbackQueryHandler(incidents.incidents_page, pattern=f"^{INCIDENTS_PREFIX}\\|")
    )
    application.add_handler(
        CallbackQueryHandler(language.language_chosen, pattern=f"^{LANGUAGE_PREFIX}:")
    )
    # Digests: settings per chat (in a group, its admins), and the bot blocked or removed.
    application.add_handler(CommandHandler("subscribe", subscriptions.subscribe_command))
    application.add_handler(CommandHandler("unsubscribe", subscriptions.unsubscribe_command))
    application.add_handler(CommandHandler("subscription", subscriptions.subscription_command))
    application.add_handler(
        CallbackQueryHandler(
            subscriptions.subscription_button, pattern=f"^{SUBSCRIPTION_PREFIX}\\|"
        )
    )
    application.add_handler(
        ChatMemberHandler(subscriptions.bot_membership, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    # Admins (rights are checked inside every handler, by user id, for commands and buttons).
    # Only new messages: editing a sent /official or /edit must not apply it a second time.
    new = filters.UpdateType.MESSAGE
    application.add_handler(add_conversation.build_add_conversation())
    for name, callback in (
        ("edit", editing.edit_command),
        ("retract", editing.retract_command),
        ("restore", editing.restore_command),
        ("history", editing.history_command),
        ("official", official.official_command),
        ("pending", review.pending_command),
        ("admin", admin.admin_command),
        ("whoami", admin.whoami_command),
        ("cancel", start.nothing_to_cancel),
        ("digest_now", subscriptions.digest_now_command),
        ("status", status.status_command),
    ):
        application.add_handler(CommandHandler(name, callback, filters=new))
    application.add_handler(MessageHandler(imports.IMPORT_FILTER, imports.import_document))
    application.add_handler(CallbackQueryHandler(editing.undo_button, pattern=f"^{UNDO_PREFIX}\\|"))
    application.add_handler(
        CallbackQueryHandler(editing.draft_button, pattern=f"^{DRAFT_PREFIX}\\|")
    )
    application.add_handler(
        CallbackQueryHandler(review.review_button, pattern=f"^{REVIEW_PREFIX}\\|")
    )
    # In a private chat, plain text is read as /stats filters; unknown commands get a hint.
    private = filters.ChatType.PRIVATE
    application.add_handler(
        MessageHandler(private & filters.TEXT & ~filters.COMMAND, stats.stats_text)
    )
    application.add_handler(MessageHandler(private & new & filters.COMMAND, start.unknown_command))
    # An edited admin command is not run again (the ones above take new messages only).
    application.add_handler(
        MessageHandler(
            private & filters.UpdateType.EDITED_MESSAGE & filters.COMMAND, start.edited_command
        )
    )
    # A button no handler above takes (an old version's, or forged data) is still answered.
    application.add_handler(CallbackQueryHandler(start.unknown_button))
    application.add_error_handler(errors.error_handler)
