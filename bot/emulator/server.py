"""The Bot API emulator: an aiohttp server on loopback that a real PTB Application talks to.

Give PTB ``base_url=f"{emu.base_url}/bot"`` and ``base_file_url=f"{emu.base_url}/file/bot"``;
requests then arrive at ``/bot<token>/<method>`` and file downloads at
``/file/bot<token>/<file_path>``, as at api.telegram.org.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web
from aiohttp.web_request import FileField

from bot.emulator.errors import ApiError
from bot.emulator.limits import RateLimits
from bot.emulator.methods import RESPONSE_DELAY, BotAPIMethods, Handler, Result
from bot.emulator.models import RecordedRequest, UploadedFile
from bot.emulator.spec import decode_params
from bot.emulator.state import DEFAULT_TOKEN

__all__ = ["BotAPIEmulator"]

MAX_REQUEST_SIZE = 52 * 1024 * 1024  # 50 MB uploads plus the multipart overhead
WEBHOOK_RETRY_DELAY = 0.2


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _json_response(payload: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(text=_dumps(payload), status=status, content_type="application/json")


class BotAPIEmulator(BotAPIMethods):
    """Telegram's Bot API on ``127.0.0.1``; start with ``await emu.start()`` or ``async with``."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "casualty_bot",
        bot_first_name: str = "Casualty Bot",
        limits: RateLimits | None = None,
        spec: dict[str, Any] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(
            token=token,
            bot_username=bot_username,
            bot_first_name=bot_first_name,
            limits=limits,
            spec=spec,
            clock=clock,
        )
        self.host = host
        self.port = port
        self._methods = self.method_table()
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._poll_generation = 0
        self._closing = False

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The root to give PTB, e.g. ``http://127.0.0.1:PORT`` (bot URL: ``{root}/bot``)."""
        if self._runner is None:
            raise RuntimeError("the emulator is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def bot_base_url(self) -> str:
        """PTB's ``base_url``: ``{base_url}/bot``."""
        return f"{self.base_url}/bot"

    @property
    def bot_base_file_url(self) -> str:
        """PTB's ``base_file_url``: ``{base_url}/file/bot``."""
        return f"{self.base_url}/file/bot"

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
        """Binds the host (a free port unless one was given) and starts serving."""
        if self._runner is not None:
            return
        self._closing = False
        app = web.Application(client_max_size=MAX_REQUEST_SIZE)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=1.0,
            handler_cancellation=True,
        )
        await runner.setup()
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
            site = web.SockSite(runner, sock)
            await site.start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self.port = int(sock.getsockname()[1])
        self._runner = runner
        self._webhook_changed()

    async def stop(self) -> None:
        """Answers pending long polls, stops webhook delivery and closes the server."""
        if self._runner is None:
            return
        self._closing = True
        self._wake()
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> BotAPIEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- HTTP -----------------------------------------------------------------------------------

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if not request.body_exists:
            return params
        content_type = request.content_type
        if content_type == "application/json":
            body = await request.read()
            if body.strip():
                try:
                    data = json.loads(body)
                except ValueError:
                    raise ApiError.bad_request("can't parse JSON encoded request body") from None
                if not isinstance(data, dict):
                    raise ApiError.bad_request("JSON object expected as request body")
                params.update(data)
        elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, FileField):
                    params[name] = UploadedFile(
                        filename=value.filename,
                        data=value.file.read(),
                        mime_type=value.content_type or "application/octet-stream",
                    )
                elif isinstance(value, bytes | bytearray):
                    params[name] = bytes(value).decode("utf-8", "replace")
                else:
                    params[name] = value
        return params

    def _record(
        self, method: str, params: dict[str, Any], status: int, payload: dict[str, Any]
    ) -> None:
        recorded = RecordedRequest(method, params, status, payload, self.clock())
        self.requests.append(recorded)
        if not payload.get("ok"):
            self.errors.append(recorded)
        self._notify()

    async def _handle_api(self, request: web.Request) -> web.Response:
        raw_method = request.match_info["method"]
        entry = self._methods.get(raw_method.lower())
        method = entry[0] if entry else raw_method
        params: dict[str, Any] = {}
        try:
            if request.match_info["token"] != self.token:
                raise ApiError.unauthorized()
            params = await self._read_params(request)
            if entry is None:
                if self.spec_checker is not None and self.spec_checker.method(raw_method):
                    name = self.spec_checker.method_name(raw_method)
                    raise ApiError.bad_request(
                        f'method "{name}" is not implemented by the emulator'
                    )
                raise ApiError.not_found()
            handler: Handler = entry[1]
            if self.spec_checker is not None:
                params = self.spec_checker.decode(method, params)
                problems = self.spec_checker.check_request(method, params)
                if problems:
                    self.spec_problems.extend(f"{method}: {problem}" for problem in problems)
                    raise ApiError.bad_request("; ".join(problems))
            else:
                params = decode_params(method, params)
            value = await handler(params)
            if delay := RESPONSE_DELAY.get():
                await asyncio.sleep(delay)
        except ApiError as error:
            payload = error.payload()
            self._record(method, params, error.status, payload)
            return _json_response(payload, error.status)
        except web.HTTPRequestEntityTooLarge:
            too_large = ApiError(413, "Request Entity Too Large").payload()
            self._record(method, params, 413, too_large)
            return _json_response(too_large, 413)
        if isinstance(value, Result):
            payload = {"ok": True, "result": value.value, "description": value.description}
        else:
            payload = {"ok": True, "result": value}
        self._record(method, params, 200, payload)
        return _json_response(payload)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        stored = None
        if request.match_info["token"] == self.token:
            stored = self.file_by_path(request.match_info["path"])
        if stored is None or stored.url is not None:
            return _json_response(ApiError.not_found().payload(), 404)
        return web.Response(body=stored.data, content_type="application/octet-stream")

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return _json_response(ApiError.not_found().payload(), 404)

    # -- long polling ---------------------------------------------------------------------------

    async def _long_poll(self, limit: int, wait_seconds: float) -> list[dict[str, Any]]:
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake()  # an older getUpdates still waiting is answered with 409
        deadline = time.monotonic() + wait_seconds
        while True:
            updates = self._select_updates(limit)
            if updates or self._closing:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                async with asyncio.timeout(remaining):
                    await self._wakeup.wait()
            except TimeoutError:
                pass
            if generation != self._poll_generation:
                raise ApiError.conflict(
                    "terminated by other getUpdates request; make sure that only one bot "
                    "instance is running"
                )
        self._mark_delivered(updates)
        return [update.payload for update in updates]

    # -- webhook delivery -----------------------------------------------------------------------

    def _webhook_changed(self) -> None:
        if self._runner is None and self.webhook.deliverable:
            return  # started later by start()
        wanted = self.webhook.deliverable and not self._closing
        if wanted and self._webhook_task is None:
            self._webhook_task = asyncio.get_running_loop().create_task(self._deliver_webhook())
        elif not wanted and self._webhook_task is not None:
            self._webhook_task.cancel()
            self._webhook_task = None
        self._wake()

    async def _deliver_webhook(self) -> None:
        if self._session is None:
            self._session = ClientSession(timeout=ClientTimeout(total=10))
        session = self._session
        while self.webhook.deliverable:
            allowed = (
                frozenset(self.webhook.allowed_updates) if self.webhook.allowed_updates else None
            )
            updates = self._select_updates(1, allowed)
            if not updates:
                await self._wakeup.wait()
                continue
            update = updates[0]
            headers = {"Content-Type": "application/json"}
            if self.webhook.secret_token:
                headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook.secret_token
            error: str | None = None
            try:
                async with session.post(
                    self.webhook.url, data=_dumps(update.payload), headers=headers
                ) as response:
                    await response.read()
                    if not 200 <= response.status < 300:
                        error = (
                            f"Wrong response from the webhook: {response.status} {response.reason}"
                        )
            except (ClientError, TimeoutError, OSError) as exc:
                error = f"Connection failed: {exc}"
            if error is None:
                self._updates = [u for u in self._updates if u.update_id != update.update_id]
                self._mark_delivered([update])
                continue
            self.webhook.last_error_date = int(time.time())
            self.webhook.last_error_message = error
            self._notify()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(WEBHOOK_RETRY_DELAY):
                    await self._wakeup.wait()
