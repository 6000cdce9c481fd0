"""Digest fan-out through the Bot API emulator: the rate against the configured flood limit, /stats
latency during a fan-out, and the bot's peak memory as the number of subscribers grows.

The bot runs as users run it, ``python -m bot run`` in a process of its own, long-polling the
emulator in this process (which enforces Telegram's limits and answers 429 past them). For each
database and each run:

1. a fresh database, migrated and seeded, then N subscriptions written in bulk (daily, all of
   them falling due together) and three new incidents, so that each digest is one message;
2. the bot is started; before anything falls due, a few users send ``/stats`` (the baseline);
3. the subscriptions are made due; while the bot fans out, the same users keep sending
   ``/stats`` (one every ``--probe-interval`` seconds);
4. figures: the fan-out's steady rate (digests a second after the first second's burst, over the
   configured limit), the 429s the emulator answered, /stats latency (from the update being
   queued to the reply's arrival) without and during the fan-out, and the bot process's peak
   resident memory (``VmHWM``).

Prints tables, never asserts; the results also go to ``bench/results/digest-<timestamp>.json``.

    python bench/bench_digest.py --databases sqlite,postgresql --subscribers 10000 --rate 300
    python bench/bench_digest.py --databases sqlite --subscribers 10000,100000 --rate 1000 \\
        --probes 0
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import random
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import support
from sqlalchemy import insert, update

from bot.app import build_services, prepare_database
from bot.config import load_settings
from bot.emulator import BotAPIEmulator, RateLimits
from db import changes
from db.domain.drafts import IncidentDraft
from db.domain.records import DatePrecision
from db.domain.schedule import Frequency
from db.models import Subscription

TOKEN = "123456789:BENCH-DIGEST"
FIRST_CHAT = 5_000_000
PROBE_USERS = tuple(range(9_000_001, 9_000_011))
PROBE_TEXTS = ("/stats", "/stats Fuzuli", "/stats 2023 civilian", "/stats Kalbajar 2022")


@dataclass
class Run:
    database: str
    subscribers: int
    limit_per_second: float
    digests_sent: int
    fan_out_seconds: float
    steady_rate: float
    rate_fraction: float
    responses_429: int
    stats_baseline: support.Latency
    stats_during: support.Latency
    peak_rss_mib: float
    #: The bot's resident memory when a quarter, half, three quarters and all of the digests
    #: had been delivered (MiB): flat means it does not grow with the subscribers.
    rss_by_quarter: list[float]
    #: Every message the bot sent a second in the fan-out's steady part (digests and replies).
    steady_all_rate: float


class Watcher:
    """Reads the emulator's request log incrementally: digests delivered and /stats replies."""

    def __init__(self, emulator: BotAPIEmulator, subscribers: range) -> None:
        self.emulator = emulator
        self.subscribers = subscribers
        self._index = 0
        self.digest_times: list[float] = []
        self.all_times: list[float] = []
        self.replies: dict[int, list[float]] = {user: [] for user in PROBE_USERS}

    def scan(self) -> None:
        requests = self.emulator.requests
        for request in requests[self._index :]:
            if request.method != "sendMessage" or request.http_status != 200:
                continue
            chat = int(request.params.get("chat_id", 0))
            self.all_times.append(request.time)
            if chat in self.subscribers:
                self.digest_times.append(request.time)
            elif chat in self.replies:
                self.replies[chat].append(request.time)
        self._index = len(requests)


def _status_mib(pid: int, field: str) -> float:
    """A memory field of /proc/<pid>/status (``VmHWM``: peak resident set, ``VmRSS``: now), in
    MiB; NaN once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


async def _prepare(url: str, subscribers: int, tz_name: str) -> None:
    """Migrate and seed, write N subscriptions in bulk (not yet due) and three new incidents."""
    settings = load_settings(_env_file=None, database_url=url, timezone=tz_name)
    services = build_services(settings)
    await prepare_database(services)
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "chat_id": FIRST_CHAT + i,
            "frequency": Frequency.DAILY,
            "at": dt.time(9, 0),
            "weekday": 0,
            "districts": [],
            "category": None,
            "send_empty": False,
            "language": ("az", "en", "ru")[i % 3],
            "active": True,
            "created_at": now,
            "updated_at": now,
            "period_start": now,
            "next_due_at": now + dt.timedelta(days=1),
        }
        for i in range(subscribers)
    ]
    async with services.store.db.write() as session:
        for first in range(0, len(rows), 5_000):
            await session.execute(insert(Subscription), rows[first : first + 5_000])
    district = services.gazetteer.resolve("Fuzuli")
    async with services.store.db.write() as session:
        await changes.add_incidents(
            session,
            [
                IncidentDraft(
                    date=dt.date(2026, 11, day),
                    precision=DatePrecision.DAY,
                    district_id=district,
                    source_url=f"https://example.org/bench/{day}",
                    civilian_injured=1,
                )
                for day in (1, 2, 3)
            ],
            None,
        )
    await services.store.db.dispose()


async def _make_due(url: str) -> None:
    services = build_services(load_settings(_env_file=None, database_url=url))
    async with services.store.db.write() as session:
        await session.execute(
            update(Subscription).values(
                next_due_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
            )
        )
    await services.store.db.dispose()


async def _probe(
    emulator: BotAPIEmulator,
    watcher: Watcher,
    samples: list[tuple[float, int]],
    rounds: int,
    interval: float,
) -> None:
    """/stats from the probe users, one every ``interval`` (jittered): (queued at, latency ns)."""
    rng = random.Random(7)
    for n in range(rounds):
        user = PROBE_USERS[n % len(PROBE_USERS)]
        before = len(watcher.replies[user])
        queued = time.monotonic()
        emulator.user_sends(user, PROBE_TEXTS[n % len(PROBE_TEXTS)])

        def answered(user: int = user, before: int = before) -> bool:
            watcher.scan()
            return len(watcher.replies[user]) > before

        await emulator.wait_until(answered, timeout=120)
        samples.append((queued, int((watcher.replies[user][before] - queued) * 1e9)))
        await asyncio.sleep(interval * rng.uniform(0.5, 1.5))


async def _fan_out(
    database: str, url: str, args: argparse.Namespace, subscribers: int, log: Path
) -> Run:
    await _prepare(url, subscribers, args.timezone)
    rate = float(args.rate)
    chats = range(FIRST_CHAT, FIRST_CHAT + subscribers)
    async with BotAPIEmulator(token=TOKEN, limits=RateLimits(global_per_second=rate)) as emulator:
        for chat in chats:
            emulator.add_private_chat(chat, first_name="Reader", language_code="en")
        for user in PROBE_USERS:
            emulator.add_private_chat(user, first_name="Journalist", language_code="en")
        env = {k: v for k, v in os.environ.items() if k not in {"TELEGRAM_BOT_TOKEN", "ADMIN_IDS"}}
        env.update(
            DATABASE_URL=url,
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=emulator.base_url,
            DIGEST_CHECK_SECONDS="1",
            FLOOD_GLOBAL_PER_SECOND=str(rate),
            TIMEZONE=args.timezone,
            LOG_LEVEL="WARNING",
        )
        with log.open("ab") as out:
            bot = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=env, stdout=out, stderr=out
            )
        watcher = Watcher(emulator, chats)
        baseline: list[tuple[float, int]] = []
        during: list[tuple[float, int]] = []
        try:
            await emulator.wait_until(
                lambda: any(r.method == "getUpdates" for r in emulator.requests), timeout=120
            )
            await _probe(emulator, watcher, baseline, args.probes, args.probe_interval)
            await _make_due(url)
            probing = asyncio.create_task(
                _probe(emulator, watcher, during, 10**9 if args.probes else 0, args.probe_interval)
            )
            deadline = time.monotonic() + args.timeout
            rss: list[tuple[int, float]] = []  # (digests delivered, bot RSS MiB)
            while len(watcher.digest_times) < subscribers and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                watcher.scan()
                rss.append((len(watcher.digest_times), _status_mib(bot.pid, "VmRSS")))
            probing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probing
            peak = _status_mib(bot.pid, "VmHWM")
        finally:
            await support.stop_process(bot)
        times = sorted(watcher.digest_times)
        if times:  # the /stats sent while the fan-out ran
            during = [(at, ns) for at, ns in during if times[0] <= at <= times[-1]]
        steady_rate = _steady_rate([t for t in times if t >= times[0] + 1.0] if times else [])
        return Run(
            database=database,
            subscribers=subscribers,
            limit_per_second=rate,
            digests_sent=len(times),
            fan_out_seconds=(times[-1] - times[0]) if times else float("nan"),
            steady_rate=steady_rate,
            rate_fraction=steady_rate / rate,
            responses_429=emulator.count_429,
            stats_baseline=support.Latency.of([ns for _, ns in baseline]),
            stats_during=support.Latency.of([ns for _, ns in during]),
            peak_rss_mib=peak,
            rss_by_quarter=_by_quarter(rss, subscribers),
            steady_all_rate=_steady_rate(
                [t for t in watcher.all_times if times and times[0] + 1.0 <= t <= times[-1]]
            ),
        )


def _steady_rate(times: list[float]) -> float:
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else float("nan")


def _by_quarter(samples: list[tuple[int, float]], total: int) -> list[float]:
    out = []
    for quarter in (0.25, 0.5, 0.75, 1.0):
        reached = [mib for sent, mib in samples if sent >= quarter * total]
        out.append(reached[0] if reached else float("nan"))
    return out


async def main_async(args: argparse.Namespace) -> int:
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="casualty-bench-digest-") as tmp:
        log = Path(tmp) / "bot.log"
        for database in args.databases:
            for subscribers in args.subscribers:
                async with support.fresh_database(database, args.pg_url) as url:
                    print(f"{database}: fan-out to {subscribers:,} subscribers …", flush=True)
                    runs.append(await _fan_out(database, url, args, subscribers, log))
        problems = [
            line
            for line in log.read_text(errors="replace").splitlines()
            if " ERROR " in line or "Traceback" in line
        ]
    print()
    print(
        support.table(
            [
                "database",
                "subscribers",
                "limit/s",
                "sent",
                "fan-out s",
                "digests/s",
                "of limit",
                "all sends/s",
                "429s",
                "/stats p50 ms (idle)",
                "/stats p95 ms (idle)",
                "/stats n during",
                "/stats p50 ms (during)",
                "/stats p95 ms (during)",
                "bot peak RSS MiB",
                "RSS at 1/4, 1/2, 3/4, all",
            ],
            [
                [
                    r.database,
                    f"{r.subscribers:,}",
                    f"{r.limit_per_second:g}",
                    f"{r.digests_sent:,}",
                    f"{r.fan_out_seconds:.1f}",
                    f"{r.steady_rate:.1f}",
                    f"{r.rate_fraction:.1%}",
                    f"{r.steady_all_rate:.1f}",
                    r.responses_429,
                    f"{r.stats_baseline.p50:.1f}",
                    f"{r.stats_baseline.p95:.1f}",
                    r.stats_during.n,
                    f"{r.stats_during.p50:.1f}",
                    f"{r.stats_during.p95:.1f}",
                    f"{r.peak_rss_mib:.0f}",
                    " ".join(f"{mib:.0f}" for mib in r.rss_by_quarter),
                ]
                for r in runs
            ],
        )
    )
    if problems:
        print(f"\nthe bot logged {len(problems)} error lines, the first: {problems[0]}")
    pg_version = None
    if "postgresql" in args.databases:
        pg_version = await support.pg_server_version(args.pg_url)
    path = support.write_results(
        "digest",
        {
            "environment": support.environment(pg_version),
            "arguments": {k: v for k, v in vars(args).items()},
            "runs": [asdict(r) for r in runs],
            "bot_errors": problems[:20],
        },
    )
    print(f"\nresults: {path}")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", type=support.database_list, default=["sqlite"])
    parser.add_argument("--subscribers", type=support.int_list, default=[10_000])
    parser.add_argument(
        "--rate", type=float, default=30.0, help="overall limit, messages a second (both sides)"
    )
    parser.add_argument("--probes", type=int, default=40, help="/stats before the fan-out")
    parser.add_argument("--probe-interval", type=float, default=0.25)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per fan-out")
    parser.add_argument("--timezone", default="Asia/Baku")
    parser.add_argument("--pg-url", default=support.DEFAULT_PG_URL)
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main_async(parse_args())))
