"""End-to-end latency of /stats through the Bot API emulator, with the shipped dataset.

The real application long-polls the in-process emulator (``bot.harness.EmulatedBot``). Each timed
command runs from queueing the update in the emulator to the end of the bot's handling, the reply
sent. Users write in English, Azerbaijani and Russian, with district names and category words in
their language. Prints tables, never asserts on timings; the results also go to
``bench/results/e2e-<timestamp>.json``.

    python bench/bench_e2e.py --databases sqlite,postgresql -n 500
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import support
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import DEFAULT_SEED_DIR, Settings, load_settings
from bot.emulator import BotAPIEmulator, RateLimits
from bot.harness import DEFAULT_TOKEN, EmulatedBot
from db.domain.filters import IncidentFilter
from db.domain.stats import StatsReport
from db.store import stats as store_stats
from handlers.context import SERVICES_KEY, Services
from handlers.parsing import parse_filters

GOAL_P99_MS = 30.0
LANGUAGES = ("en", "az", "ru")
FIRST_USER_ID = 700_001


@dataclass(frozen=True, slots=True)
class Command:
    shape: str
    texts: dict[str, str]  # by language

    def text(self, lang: str) -> str:
        return self.texts.get(lang) or self.texts["en"]


def _same(text: str) -> dict[str, str]:
    return dict.fromkeys(LANGUAGES, text)


COMMANDS = (
    Command("all", _same("/stats")),
    Command(
        "district",
        {"en": "/stats Kalbajar", "az": "/stats Kəlbəcər", "ru": "/stats Кельбаджар"},
    ),
    Command("year", _same("/stats 2023")),
    Command(
        "district+month",
        {
            "en": "/stats Fuzuli 2023-07",
            "az": "/stats Füzuli 07.2023",
            "ru": "/stats Физули 2023-07",
        },
    ),
    Command(
        "6 months+civilian",
        {
            "en": "/stats 2024-01-01..2024-06-30 civilian",
            "az": "/stats 2024-01-01..2024-06-30 mülki",
            "ru": "/stats 01.01.2024..30.06.2024 мирные",
        },
    ),
    Command(
        "open range+military",
        {
            "en": "/stats 2024.. military",
            "az": "/stats 2024.. hərbi",
            "ru": "/stats 2024.. военные",
        },
    ),
    Command(
        "2 districts+year",
        {
            "en": "/stats Kalbajar Lachin 2022",
            "az": "/stats Kəlbəcər Laçın 2022",
            "ru": "/stats Кельбаджар Лачин 2022",
        },
    ),
)


@dataclass(frozen=True, slots=True)
class User:
    id: int
    lang: str


@dataclass(frozen=True, slots=True)
class Sample:
    shape: str
    lang: str
    ns: int
    replies: int
    query_ns: int  # of which in ``stats_report``


class QueryTimer:
    """Wraps ``db.store.stats.stats_report`` (what ``store.stats.report`` runs) while installed, to tell the query's share of a command."""

    def __init__(self) -> None:
        self.ns = 0

    def install(self) -> Callable[[], None]:
        """Wraps the function; returns what puts the original back."""
        original = store_stats.stats_report

        async def timed(session: AsyncSession, f: IncidentFilter, **options: Any) -> StatsReport:
            started = time.perf_counter_ns()
            try:
                return await original(session, f, **options)
            finally:
                self.ns += time.perf_counter_ns() - started

        store_stats.stats_report = timed

        def restore() -> None:
            store_stats.stats_report = original

        return restore


@dataclass(slots=True)
class Run:
    database: str
    paced: bool
    samples: list[Sample] = field(default_factory=list)
    seconds: float = 0.0  # wall time of the timed phase (pacing included)
    failed_requests: int = 0
    #: Updates whose handler raised (answered with the error message, not the figures).
    handler_errors: int = 0
    rejections: int = 0
    chats_over_telegram_limits: int = 0
    peak_rss_mib: float = 0.0

    @property
    def latency(self) -> support.Latency:
        return support.Latency.of([s.ns for s in self.samples])

    @property
    def query_latency(self) -> support.Latency:
        return support.Latency.of([s.query_ns for s in self.samples])

    @property
    def without_reply(self) -> int:
        return sum(1 for s in self.samples if s.replies == 0)

    @property
    def throughput(self) -> float:
        """Commands per second over the timed phase."""
        return len(self.samples) / self.seconds if self.seconds else float("nan")

    def by(self, key: str, order: Sequence[str]) -> dict[str, support.Latency]:
        groups: dict[str, list[int]] = {name: [] for name in order}
        for s in self.samples:
            groups.setdefault(getattr(s, key), []).append(s.ns)
        return {name: support.Latency.of(v) for name, v in groups.items() if v}

    def by_shape(self) -> dict[str, support.Latency]:
        return self.by("shape", [c.shape for c in COMMANDS])

    def by_language(self) -> dict[str, support.Latency]:
        return self.by("lang", LANGUAGES)


# -- the schedule --------------------------------------------------------------------------------


def make_users(count: int) -> list[User]:
    return [User(FIRST_USER_ID + i, LANGUAGES[i % len(LANGUAGES)]) for i in range(count)]


def schedule(users: Sequence[User], n: int) -> list[tuple[User, Command]]:
    """N commands round-robin over the users; each user goes through every filter shape."""
    out = []
    for i in range(n):
        user = users[i % len(users)]
        command = COMMANDS[(i // len(users) + user.id) % len(COMMANDS)]
        out.append((user, command))
    return out


class Pacer:
    """Keeps each chat and the whole bot within send rates (when limits are on); the waits are
    not timed."""

    SAFETY = 1.1  # a little slower than the limits, for the clocks' jitter

    def __init__(self, per_chat: float | None = None, overall: float | None = None) -> None:
        self.chat_interval = self.SAFETY / per_chat if per_chat else 0.0
        self.overall_interval = self.SAFETY / overall if overall else 0.0
        self.last: dict[int, float] = {}
        self.last_any = float("-inf")

    async def wait(self, chat_id: int) -> None:
        ready = max(
            self.last.get(chat_id, float("-inf")) + self.chat_interval,
            self.last_any + self.overall_interval,
        )
        delay = ready - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    def sent(self, chat_id: int) -> None:
        self.last[chat_id] = self.last_any = time.monotonic()


# -- one run -------------------------------------------------------------------------------------


def check_commands(bot: EmulatedBot) -> None:
    """Every command must parse: the benchmark times /stats answers, not problem reports."""
    services: Services = bot.app.bot_data[SERVICES_KEY]
    for command in COMMANDS:
        for lang in LANGUAGES:
            args = command.text(lang).split(maxsplit=1)[1:]
            parsed = parse_filters(args, services.gazetteer, services.vocabulary)
            if not parsed.ok:
                raise SystemExit(f"{command.text(lang)!r} does not parse: {parsed.problems}")


async def send(
    bot: EmulatedBot, pacer: Pacer, timer: QueryTimer, user: User, command: Command
) -> Sample:
    text = command.text(user.lang)
    await pacer.wait(user.id)
    timer.ns = 0
    started = time.perf_counter_ns()
    messages = await bot.send(user.id, text)
    elapsed = time.perf_counter_ns() - started
    pacer.sent(user.id)
    return Sample(command.shape, user.lang, elapsed, len(messages), timer.ns)


def emulator_limits(mode: str) -> RateLimits:
    return RateLimits() if mode == "telegram" else RateLimits(enabled=False)


#: With ``--limits off``, the bot's own flood limiter (``handlers.ratelimit``) is opened up too.
BOT_FLOOD_OFF = {
    "flood_global_per_second": 1e6,
    "flood_private_per_second": 1e6,
    "flood_group_per_minute": 1e6,
}


def bot_settings(url: str, mode: str) -> Settings:
    overrides: dict[str, object] = {}
    if mode == "off":
        # Only the settings this version of the bot has.
        overrides = {k: v for k, v in BOT_FLOOD_OFF.items() if k in Settings.model_fields}
    return load_settings(
        _env_file=None,
        database_url=url,
        seed_dir=DEFAULT_SEED_DIR,
        log_level="WARNING",
        **overrides,
    )


async def run_one(kind: str, args: argparse.Namespace) -> Run:
    limits = emulator_limits(args.limits)
    run = Run(kind, paced=limits.enabled)
    pacer = (
        Pacer(limits.private_per_second, limits.global_per_second) if limits.enabled else Pacer()
    )
    users = make_users(args.users)
    timer = QueryTimer()
    restore = timer.install()
    try:
        await _run(run, kind, args, limits, pacer, timer, users)
    finally:
        restore()
    run.peak_rss_mib = support.peak_rss_mib()
    return run


async def _run(
    run: Run,
    kind: str,
    args: argparse.Namespace,
    limits: RateLimits,
    pacer: Pacer,
    timer: QueryTimer,
    users: Sequence[User],
) -> None:
    async with support.fresh_database(kind, args.pg_url) as url:
        settings = bot_settings(url, args.limits)
        emulator = BotAPIEmulator(token=DEFAULT_TOKEN, limits=limits)
        async with emulator, EmulatedBot(settings, emulator=emulator, token=DEFAULT_TOKEN) as bot:
            for user in users:
                emulator.add_private_chat(
                    user.id, first_name=f"Bench {user.lang}", language_code=user.lang
                )
            check_commands(bot)
            warmup = schedule(users, max(args.warmup, len(users) * len(COMMANDS)))
            for user, command in warmup:
                await send(bot, pacer, timer, user, command)
            if args.show_replies:
                await show_replies(bot, users)
            failed_before = len(emulator.errors)
            errors = _ErrorCounter()
            logging.getLogger("handlers.errors").addHandler(errors)
            started = time.perf_counter()
            try:
                for user, command in schedule(users, args.n):
                    run.samples.append(await send(bot, pacer, timer, user, command))
            finally:
                logging.getLogger("handlers.errors").removeHandler(errors)
            run.seconds = time.perf_counter() - started
            run.handler_errors = errors.count
            run.failed_requests = len(emulator.errors) - failed_before
            run.rejections = emulator.limiter.count_429
            run.chats_over_telegram_limits = len(emulator.limiter.chats_over_limit(RateLimits()))


class _ErrorCounter(logging.Handler):
    """Counts the error handler's reports: a command that failed is timed, but is no answer."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


async def show_replies(bot: EmulatedBot, users: Sequence[User]) -> None:
    for user in users[: len(LANGUAGES)]:
        text = COMMANDS[1].text(user.lang) + " 2023"
        messages = await bot.send(user.id, text)
        for message in messages:
            print(f"--- {text} ({user.lang})\n{message.plain or message.text}\n")


# -- output --------------------------------------------------------------------------------------


def latency_row(name: str, latency: support.Latency) -> list[object]:
    return [name, latency.n, latency.p50, latency.p95, latency.p99, latency.max]


HEADERS = ["", "n", "p50 ms", "p95 ms", "p99 ms", "max ms"]


def run_tables(run: Run) -> str:
    rows = [latency_row("all commands", run.latency)]
    rows += [latency_row(f"  {shape}", lat) for shape, lat in run.by_shape().items()]
    rows += [latency_row(f"  language {lang}", lat) for lang, lat in run.by_language().items()]
    rows += [latency_row("of which stats_report", run.query_latency)]
    return support.table(["commands", *HEADERS[1:]], rows)


def verdict(run: Run) -> str:
    p99 = run.latency.p99
    met = "MET" if p99 <= GOAL_P99_MS else "NOT MET"
    return (
        f"{run.database}: p99 {p99:.2f} ms vs goal p99 ≤ {GOAL_P99_MS:g} ms: {met}; "
        f"throughput {run.throughput:,.1f} commands/s{' (paced)' if run.paced else ''}; "
        f"without reply {run.without_reply}; handler errors {run.handler_errors}; "
        f"failed Bot API calls {run.failed_requests}; 429s {run.rejections}; "
        f"chats over Telegram's limits {run.chats_over_telegram_limits}; "
        f"peak RSS {run.peak_rss_mib:,.0f} MiB"
    )


def summary_table(runs: Sequence[Run]) -> str:
    rows = [
        [
            r.database,
            r.latency.n,
            r.latency.p50,
            r.latency.p95,
            r.latency.p99,
            r.latency.max,
            r.throughput,
            "yes" if r.latency.p99 <= GOAL_P99_MS else "no",
        ]
        for r in runs
    ]
    headers = ["database", *HEADERS[1:], "commands/s", "p99 ≤ 30 ms"]
    return support.table(headers, rows)


def run_json(run: Run) -> dict[str, Any]:
    return {
        "database": run.database,
        "commands": len(run.samples),
        "seconds": round(run.seconds, 3),
        "throughput_per_second": round(run.throughput, 2),
        "paced": run.paced,
        "latency_ms": run.latency.as_dict(),
        "by_shape": {k: v.as_dict() for k, v in run.by_shape().items()},
        "by_language": {k: v.as_dict() for k, v in run.by_language().items()},
        "stats_report_ms": run.query_latency.as_dict(),
        "without_reply": run.without_reply,
        "failed_requests": run.failed_requests,
        "handler_errors": run.handler_errors,
        "rejections_429": run.rejections,
        "chats_over_telegram_limits": run.chats_over_telegram_limits,
        "goal": {"p99_ms": GOAL_P99_MS},
        "goal_met": run.latency.p99 <= GOAL_P99_MS,
        "peak_rss_mib": round(run.peak_rss_mib, 1),
    }


# -- main ----------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", type=support.database_list, default=list(support.DATABASES))
    parser.add_argument("-n", "--commands", dest="n", type=int, default=500)
    parser.add_argument(
        "--warmup", type=int, default=50, help="untimed commands first (at least one per user)"
    )
    parser.add_argument("--users", type=int, default=6, help="users (languages round-robin)")
    parser.add_argument(
        "--limits",
        choices=("off", "telegram"),
        default="off",
        help=(
            "off: flood limits off in the emulator and in the bot; telegram: Telegram's limits "
            "on both sides, commands paced per chat and overall"
        ),
    )
    parser.add_argument("--pg-url", default=support.DEFAULT_PG_URL)
    parser.add_argument("--show-replies", action="store_true", help="print a sample reply")
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace) -> list[Run]:
    runs = []
    for kind in args.databases:
        run = await run_one(kind, args)
        runs.append(run)
        print(f"\n/stats end to end on {kind} ({args.users} users, limits {args.limits}):")
        print(run_tables(run))
        print(verdict(run), flush=True)
    return runs


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    pg_version = None
    if "postgresql" in args.databases:
        asyncio.run(support.ensure_pg_database(args.pg_url))
        pg_version = asyncio.run(support.pg_server_version(args.pg_url))
    started = time.perf_counter()
    runs = asyncio.run(main_async(args))
    print("\nSummary:")
    print(summary_table(runs))
    path = support.write_results(
        "e2e",
        {
            "benchmark": "e2e",
            "goal": f"/stats p99 ≤ {GOAL_P99_MS:g} ms end to end with the shipped dataset",
            "arguments": vars(args),
            "environment": support.environment(pg_version),
            "elapsed_seconds": round(time.perf_counter() - started, 1),
            "runs": [run_json(run) for run in runs],
        },
    )
    print(f"results written to {path}")


if __name__ == "__main__":
    main()
