"""Load: many users sending /stats at once to one bot process, through the Bot API emulator.

The bot runs as users run it, ``python -m bot run`` in a process of its own, long-polling the
emulator in this process, so that the emulator and the driver do not share the bot's event loop.
Flood limits are off on both sides (the emulator's and the bot's own ``FLOOD_*`` settings):
Telegram's limits (one message a second per private chat, 30 a second overall) would otherwise
cap the throughput long before the bot does. N users in private chats (languages en, az, ru
round-robin) send ``/stats`` with the filter shapes of ``bench_e2e.py``, either open-loop at a
target rate (``--rates``: updates a second, whatever the replies do) or closed-loop (``--clients``:
C users, each sending again as soon as its reply arrives).

Each update is timed from its queueing in the emulator to the bot's reply recorded by the emulator
(``SentMessage.time``, the emulator's clock); a chat's replies come in the order of its updates
(``bot.updates.PerChatUpdateProcessor``). Per step it reports the achieved updates a second, p50,
p95, p99 and max latency, replies missing after the drain, errors (ERROR lines in the bot's log,
failed Bot API calls), the bot's CPU (user + system, in % of one core) and RSS, and this process's
CPU (the emulator and the driver). Prints tables, never asserts; the results also go to
``bench/results/load-<timestamp>.json``.

    python bench/bench_load.py --databases sqlite,postgresql --rates 100,200,300,400
    python bench/bench_load.py --databases sqlite --rates 0 --clients 8,32
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import gc
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import support
from bench_e2e import COMMANDS, LANGUAGES

from bot.emulator import BotAPIEmulator, RateLimits

TOKEN = "123456789:BENCH-LOAD"
FIRST_USER = 8_000_001
GOAL_RATE = 300.0
GOAL_P99_MS = 100.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


#: ``python -m bot run`` with cProfile on between SIGUSR1 and SIGUSR2 (``--profile``): the timed
#: steps only, not the start-up (migrations, seed) nor the warm-up.
PROFILED_BOT = """
import cProfile, signal, sys
from bot.cli import main
profiler = cProfile.Profile()
signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())
def dump(*_):
    profiler.disable()
    profiler.dump_stats(sys.argv[1])
signal.signal(signal.SIGUSR2, dump)
sys.exit(main(["run"]))
"""


@dataclass
class Step:
    database: str
    mode: str  # "open" (target rate) or "closed" (clients)
    target: float  # updates a second (open) or clients (closed)
    sent: int = 0
    replied: int = 0
    seconds: float = 0.0  # from the first update queued to the last reply (or the deadline)
    latency: support.Latency = field(default_factory=lambda: support.Latency.of([]))
    log_errors: int = 0
    failed_calls: int = 0
    bot_cpu_percent: float = float("nan")
    bot_cpu_seconds: float = float("nan")
    bot_rss_mib: float = float("nan")
    driver_cpu_percent: float = float("nan")

    @property
    def achieved(self) -> float:
        return self.replied / self.seconds if self.seconds else float("nan")

    @property
    def cpu_ms_per_update(self) -> float:
        """The bot's CPU per update answered: 1000 / this is its ceiling on one core."""
        return 1000 * self.bot_cpu_seconds / self.replied if self.replied else float("nan")

    @property
    def missing(self) -> int:
        return self.sent - self.replied

    @property
    def label(self) -> str:
        return f"{self.target:g}/s" if self.mode == "open" else f"{self.target:g} clients"


class Tracker:
    """Queued times per chat, matched in order with the replies the emulator records."""

    def __init__(self, emulator: BotAPIEmulator, users: Sequence[int]) -> None:
        self.emulator = emulator
        self.users = frozenset(users)
        self.queued: dict[int, collections.deque[float]] = {u: collections.deque() for u in users}
        self.samples: list[tuple[float, int]] = []  # (queued at, latency ns)
        self.waiters: dict[int, asyncio.Future[None]] = {}
        self._index = 0

    def send(self, user: int, text: str) -> None:
        self.queued[user].append(self.emulator.clock())
        self.emulator.user_sends(user, text)

    def scan(self) -> None:
        sent = self.emulator.sent
        for message in sent[self._index :]:
            chat = message.chat_id
            if message.method != "sendMessage" or chat not in self.users:
                continue
            pending = self.queued[chat]
            if not pending:
                continue  # a reply nobody asked for (counted as an error by the log, if any)
            queued = pending.popleft()
            self.samples.append((queued, int((message.time - queued) * 1e9)))
            waiter = self.waiters.pop(chat, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        self._index = len(sent)

    async def run(self) -> None:
        """Scans after every recorded request (the emulator wakes its waiters on each)."""
        while True:
            await self.emulator.wait_until(self._more, timeout=3600)
            self.scan()

    def _more(self) -> bool:
        return len(self.emulator.sent) > self._index

    def outstanding(self) -> int:
        return sum(len(q) for q in self.queued.values())


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads), seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _rss_mib(pid: int, field_name: str = "VmRSS") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field_name}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _log_errors(log: Path, offset: int) -> tuple[int, int, str | None]:
    """ERROR lines and tracebacks in the bot's log after ``offset``: (count, new offset, first)."""
    with log.open("rb") as f:
        f.seek(offset)
        data = f.read()
    lines = [
        line
        for line in data.decode(errors="replace").splitlines()
        if " ERROR " in line or "Traceback" in line
    ]
    return len(lines), offset + len(data), (lines[0] if lines else None)


def _command(users: Sequence[int], languages: dict[int, str], i: int) -> tuple[int, str]:
    """The i-th update: users round-robin, each going through the filter shapes in turn."""
    user = users[i % len(users)]
    command = COMMANDS[(i // len(users) + user) % len(COMMANDS)]
    return user, command.text(languages[user])


async def _open_loop(
    tracker: Tracker,
    users: Sequence[int],
    languages: dict[int, str],
    rate: float,
    seconds: float,
    first: int,
) -> int:
    """Queues updates at ``rate`` a second for ``seconds`` on a fixed schedule (catching up after
    a late wake-up); returns how many."""
    total = int(rate * seconds)
    started = time.monotonic()
    for i in range(total):
        due = started + i / rate
        delay = due - time.monotonic()
        if delay > 0.001:
            await asyncio.sleep(delay)
        tracker.send(*_command(users, languages, first + i))
    return total


async def _closed_loop(
    tracker: Tracker,
    users: Sequence[int],
    languages: dict[int, str],
    clients: int,
    seconds: float,
    first: int,
) -> int:
    """``clients`` users, each sending its next update once the previous one is answered."""
    deadline = time.monotonic() + seconds
    count = 0

    async def client(k: int) -> None:
        nonlocal count
        user = users[k]
        n = 0
        while time.monotonic() < deadline:
            waiter = asyncio.get_running_loop().create_future()
            tracker.waiters[user] = waiter
            command = COMMANDS[(first + n + user) % len(COMMANDS)]
            tracker.send(user, command.text(languages[user]))
            count += 1
            n += 1
            try:
                await asyncio.wait_for(waiter, timeout=30)
            except TimeoutError:
                return

    await asyncio.gather(*(client(k) for k in range(min(clients, len(users)))))
    return count


async def _step(
    database: str,
    mode: str,
    target: float,
    args: argparse.Namespace,
    emulator: BotAPIEmulator,
    tracker: Tracker,
    bot: asyncio.subprocess.Process,
    users: Sequence[int],
    languages: dict[int, str],
    log: Path,
    log_offset: int,
    first: int,
) -> tuple[Step, int]:
    step = Step(database, mode, target)
    tracker.samples.clear()
    failed_before = len(emulator.errors)
    cpu_before = _cpu_seconds(bot.pid)
    driver_before = time.process_time()
    started = time.monotonic()
    if mode == "open":
        step.sent = await _open_loop(tracker, users, languages, target, args.seconds, first)
    else:
        step.sent = await _closed_loop(tracker, users, languages, int(target), args.seconds, first)
    step.bot_rss_mib = _rss_mib(bot.pid)

    def drained() -> bool:
        tracker.scan()
        return not tracker.outstanding()

    with contextlib.suppress(TimeoutError):
        await emulator.wait_until(drained, timeout=args.drain)
    ended = time.monotonic()
    samples = list(tracker.samples)
    step.replied = len(samples)
    last_reply = max((q + ns / 1e9 for q, ns in samples), default=ended)
    step.seconds = (last_reply if not tracker.outstanding() else ended) - started
    step.latency = support.Latency.of([ns for _, ns in samples])
    step.bot_cpu_seconds = _cpu_seconds(bot.pid) - cpu_before
    step.bot_cpu_percent = 100 * step.bot_cpu_seconds / (ended - started)
    step.driver_cpu_percent = 100 * (time.process_time() - driver_before) / (ended - started)
    step.failed_calls = len(emulator.errors) - failed_before
    step.log_errors, log_offset, first_error = _log_errors(log, log_offset)
    if first_error:
        print(f"  the bot logged: {first_error}", flush=True)
    # What was never answered is forgotten, so that it does not shift the next step's matches.
    for queue in tracker.queued.values():
        queue.clear()
    return step, log_offset


def bot_environment(url: str, emulator: BotAPIEmulator, args: argparse.Namespace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"TELEGRAM_BOT_TOKEN", "ADMIN_IDS"}}
    env.update(
        DATABASE_URL=url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=emulator.base_url,
        DIGEST_CHECK_SECONDS="0",  # no digest job: only /stats is measured
        # The bot's own flood limiter opened up, as bench_e2e's --limits off does.
        FLOOD_GLOBAL_PER_SECOND="1000000",
        FLOOD_PRIVATE_PER_SECOND="1000000",
        FLOOD_GROUP_PER_MINUTE="1000000",
        LOG_LEVEL="WARNING",
    )
    if args.stats_cache_size is not None:
        env["STATS_CACHE_SIZE"] = str(args.stats_cache_size)
    return env


@contextlib.contextmanager
def _no_collections_here() -> Iterator[None]:
    """No garbage collection in this process (the emulator and the driver) during a step: a full
    collection here stopped the emulator for 100–125 ms (gc.callbacks), and every update in
    flight then counted that pause as the bot's latency. Collected between steps instead."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


async def run_database(database: str, args: argparse.Namespace, log: Path) -> list[Step]:
    users = [FIRST_USER + i for i in range(args.users)]
    languages = {user: LANGUAGES[i % len(LANGUAGES)] for i, user in enumerate(users)}
    steps: list[Step] = []
    async with (
        support.fresh_database(database, args.pg_url) as url,
        BotAPIEmulator(token=TOKEN, limits=RateLimits(enabled=False)) as emulator,
    ):
        for user in users:
            emulator.add_private_chat(
                user, first_name=f"Load {languages[user]}", language_code=languages[user]
            )
        log_offset = _log_errors(log, 0)[1]  # what earlier databases' runs logged is skipped
        with log.open("ab") as out:
            command = ["-c", PROFILED_BOT, f"{args.profile}.{database}"] if args.profile else []
            bot = await asyncio.create_subprocess_exec(
                sys.executable,
                *(command or ["-m", "bot", "run"]),
                env=bot_environment(url, emulator, args),
                stdout=out,
                stderr=out,
            )
        tracker = Tracker(emulator, users)
        scanning = asyncio.create_task(tracker.run())
        try:
            # Started (migrated and seeded) once it polls.
            await emulator.wait_until(
                lambda: any(r.method == "getUpdates" for r in emulator.requests), timeout=180
            )
            first = 0
            plan = [("open", float(r)) for r in args.rates if r > 0]
            plan += [("closed", float(c)) for c in args.clients if c > 0]
            if args.warmup > 0:
                warm, log_offset = await _step(
                    database, "open", args.warmup_rate, _warmup_args(args), emulator, tracker,
                    bot, users, languages, log, log_offset, first,
                )  # fmt: skip
                first += warm.sent
                print(
                    f"{database}: warm-up {warm.sent} updates, {warm.achieved:.0f}/s, "
                    f"p50 {warm.latency.p50:.1f} ms",
                    flush=True,
                )
            if args.profile:
                bot.send_signal(signal.SIGUSR1)
            for mode, target in plan:
                with _no_collections_here():
                    step, log_offset = await _step(
                        database, mode, target, args, emulator, tracker, bot, users, languages,
                        log, log_offset, first,
                    )  # fmt: skip
                first += step.sent
                steps.append(step)
                print(_step_line(step), flush=True)
                await asyncio.sleep(args.pause)
            if args.profile:
                bot.send_signal(signal.SIGUSR2)
                await asyncio.sleep(1)
        finally:
            scanning.cancel()
            await support.stop_process(bot)
    return steps


def _warmup_args(args: argparse.Namespace) -> argparse.Namespace:
    warm = argparse.Namespace(**vars(args))
    warm.seconds = args.warmup
    return warm


def _step_line(s: Step) -> str:
    return (
        f"{s.database} {s.label}: {s.achieved:.0f} updates/s, p50 {s.latency.p50:.1f} ms, "
        f"p99 {s.latency.p99:.1f} ms, missing {s.missing}, errors {s.log_errors}+"
        f"{s.failed_calls}, bot CPU {s.bot_cpu_percent:.0f} % ({s.cpu_ms_per_update:.2f} ms "
        f"an update), driver CPU "
        f"{s.driver_cpu_percent:.0f} %"
    )


HEADERS = [
    "database",
    "load",
    "sent",
    "updates/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "max ms",
    "missing",
    "log errors",
    "failed calls",
    "bot CPU %",
    "CPU ms/update",
    "bot RSS MiB",
    "driver CPU %",
    "goal",
]


def _row(s: Step) -> list[object]:
    met = s.achieved >= 0.97 * GOAL_RATE and s.latency.p99 < GOAL_P99_MS and s.missing == 0
    return [
        s.database,
        s.label,
        s.sent,
        s.achieved,
        s.latency.p50,
        s.latency.p95,
        s.latency.p99,
        s.latency.max,
        s.missing,
        s.log_errors,
        s.failed_calls,
        s.bot_cpu_percent,
        s.cpu_ms_per_update,
        s.bot_rss_mib,
        s.driver_cpu_percent,
        "met" if met else "-",
    ]


def _json(s: Step) -> dict[str, Any]:
    out = asdict(s)
    out["latency"] = s.latency.as_dict()
    out["achieved_per_second"] = round(s.achieved, 2)
    out["missing"] = s.missing
    out["cpu_ms_per_update"] = round(s.cpu_ms_per_update, 3)
    return out


async def main_async(args: argparse.Namespace) -> int:
    print(
        "Flood limits are off on both sides (emulator and bot): with Telegram's limits the bot "
        "could send 30 messages a second overall and one a second per private chat.",
        flush=True,
    )
    runs: list[Step] = []
    with tempfile.TemporaryDirectory(prefix="casualty-bench-load-") as tmp:
        log = Path(tmp) / "bot.log"
        log.touch()
        for database in args.databases:
            print(f"{database}: {args.users} users …", flush=True)
            runs += await run_database(database, args, log)
    print()
    print(support.table(HEADERS, [_row(s) for s in runs]))
    print(
        f"goal: at least {GOAL_RATE:g} updates/s (97 % of the target allowed for the ramp) with "
        f"p99 under {GOAL_P99_MS:g} ms and nothing missing"
    )
    pg_version = None
    if "postgresql" in args.databases:
        pg_version = await support.pg_server_version(args.pg_url)
    path = support.write_results(
        "load",
        {
            "benchmark": "load",
            "goal": f"≥ {GOAL_RATE:g} /stats updates a second, p99 < {GOAL_P99_MS:g} ms",
            "arguments": vars(args),
            "environment": support.environment(pg_version),
            "steps": [_json(s) for s in runs],
        },
    )
    print(f"results: {path}")
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", type=support.database_list, default=["sqlite"])
    parser.add_argument("--users", type=int, default=500, help="private chats (default 500)")
    parser.add_argument(
        "--rates",
        type=support.int_list,
        default=[100, 200, 300, 400],
        help="open-loop steps: updates a second (0: none)",
    )
    parser.add_argument(
        "--clients",
        type=support.int_list,
        default=[0],
        help="closed-loop steps: concurrent users, each waiting for its reply (0: none)",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="sending time per step")
    parser.add_argument("--drain", type=float, default=20.0, help="seconds to wait for replies")
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between steps")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of untimed load first")
    parser.add_argument("--warmup-rate", type=float, default=100.0)
    parser.add_argument(
        "--profile",
        help="profile the bot (cProfile) during the timed steps, into PROFILE.<database>",
    )
    parser.add_argument(
        "--stats-cache-size",
        type=int,
        help="the bot's STATS_CACHE_SIZE (0: every /stats reads and renders; default: the bot's)",
    )
    parser.add_argument("--pg-url", default=support.DEFAULT_PG_URL)
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main_async(parse_args())))
