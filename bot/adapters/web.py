"""The web chat channel: a JSON API plus a static H5 page, for browsers and WeChat's in-app browser.

Telegram is blocked in mainland China, so this is a first-class channel, not a demo. A browser
gets a random bearer token from `POST /api/sessions` and keeps it in localStorage; the database
stores only its SHA-256, and the engine sees the chat as `Address("web", chat_id)` with a random
chat id that is never shown to the browser. Messages that do not answer a request (staff
replies, notices) are queued with `push()` and fetched by polling or over Server-Sent Events.
Photos and files go to `POST /api/uploads`, one per request, as the raw body (≤ 20 MiB).

Every user-input error is a 4xx with a Chinese `{"error": ...}`; anything unexpected is logged
and answered 500 `{"error": BUSY}` by `_CatchAll`, so a stack trace never reaches the page.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.adapters.openapi import OPENAPI
from bot.core.engine import BUSY, Core
from bot.core.messages import Address, Inbound, InboundFile, Reply
from bot.staff.web import create_staff_app
from bot.store.attachments import MAX_BYTES
from bot.store.db import Database, from_db, to_db

log = logging.getLogger(__name__)

CHANNEL = "web"
MAX_BODY = 64 * 1024
POLL_SECONDS = 1.0
KEEPALIVE_POLLS = 15  # an SSE comment every ~15 s keeps proxies from closing an idle stream
STATIC = Path(__file__).parent / "static"

NO_TOKEN = "请先建立会话（缺少或无效的访问令牌）。"
TOO_LARGE = f"消息过大，请求体不能超过 {MAX_BODY // 1024} KB。"
BAD_JSON = "请求格式错误：需要 JSON 对象。"
ONE_OF = "请求格式错误：text 与 button 必须二选一，且为字符串。"
BAD_CHARS = "消息包含无法识别的字符，请修改后重试。"
FILE_TOO_LARGE = f"文件过大，不能超过 {MAX_BYTES // 1024 // 1024} MB，请压缩或拆分后再发送。"
NO_FILE_NAME = "请求格式错误：缺少 X-File-Name 请求头（URL 编码的 UTF-8 文件名）。"
EMPTY_FILE = "文件是空的，请重新选择。"
HTTP_ERRORS = {404: "找不到该地址。", 405: "不支持该请求方法。"}

Sleep = Callable[[float], Awaitable[None]]


class ApiError(Exception):
    """A refusal of the request itself, answered as `{"error": message}` with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _reply_json(reply: Reply) -> dict[str, Any]:
    return {"text": reply.text, "buttons": [{"label": b.label, "payload": b.payload} for b in reply.buttons]}


async def push(db: Database, chat_id: str, reply: Reply, at: datetime) -> int:
    """Queue `reply` for the web session `chat_id` (staff replies, notices); returns the outbox id.

    Raises LookupError for a chat id without a web session, so a typo is not silently dropped.
    """
    buttons = json.dumps(_reply_json(reply)["buttons"], ensure_ascii=False)
    try:
        rows = await db.execute_atomic(
            "INSERT INTO web_outbox (chat_id, text, buttons, created_at) VALUES (?, ?, ?, ?) RETURNING id",
            (chat_id, reply.text, buttons, to_db(at)),
        )
    except sqlite3.IntegrityError as exc:
        raise LookupError(f"没有这个网页会话：{chat_id}") from exc
    return int(rows[0]["id"])


async def take_pending(db: Database, chat_id: str, at: datetime) -> list[dict[str, Any]]:
    """The unread outbox messages of `chat_id`, marked read in the same transaction (at most once)."""
    async with db.transaction() as conn:
        rows = list(
            await conn.execute_fetchall(
                "SELECT id, text, buttons, created_at FROM web_outbox "
                "WHERE chat_id = ? AND read_at IS NULL ORDER BY id",
                (chat_id,),
            )
        )
        if rows:
            await conn.execute(
                "UPDATE web_outbox SET read_at = ? WHERE chat_id = ? AND read_at IS NULL AND id <= ?",
                (to_db(at), chat_id, rows[-1]["id"]),
            )
    return [
        {"id": r["id"], "text": r["text"], "buttons": json.loads(r["buttons"]),
         "at": from_db(r["created_at"]).isoformat()}
        for r in rows
    ]  # fmt: skip


async def read_body(request: Request, limit: int = MAX_BODY, too_large: str = TOO_LARGE) -> bytes:
    """The raw body, refusing more than `limit` bytes (413) before reading them all."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, too_large)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, too_large)
    return bytes(body)


async def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object, refusing more than MAX_BODY bytes before reading them all."""
    body = await read_body(request)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ApiError(400, BAD_JSON) from None
    if not isinstance(data, dict):
        raise ApiError(400, BAD_JSON)
    return data


def to_inbound(data: dict[str, Any], address: Address, at: datetime) -> Inbound:
    """Exactly one of `text` / `button`, a string encodable as UTF-8 (no lone surrogates)."""
    text, button = data.get("text"), data.get("button")
    value = text if button is None else button
    if (text is None) == (button is None) or not isinstance(value, str):
        raise ApiError(400, ONE_OF)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, BAD_CHARS) from None
    return Inbound(address, at, text=text, button=button)


class WebChat:
    """The endpoints, holding the engine, the database, the clock and the SSE poll timing."""

    def __init__(self, core: Core, db: Database, clock: Callable[[], datetime], sleep: Sleep,
                 poll_seconds: float, max_upload_bytes: int = MAX_BYTES) -> None:  # fmt: skip
        self.core, self.db, self.clock, self.sleep, self.poll_seconds = core, db, clock, sleep, poll_seconds
        self.max_upload_bytes = max_upload_bytes

    async def authenticate(self, token: str | None) -> str:
        """The chat id of a live session (touching last_seen_at), or a 401."""
        if not token:
            raise ApiError(401, NO_TOKEN)
        rows = await self.db.execute_atomic(
            "UPDATE web_sessions SET last_seen_at = ? WHERE token_hash = ? RETURNING chat_id",
            (to_db(self.clock()), _hash(token)),
        )
        if not rows:
            raise ApiError(401, NO_TOKEN)
        return str(rows[0]["chat_id"])

    async def bearer(self, request: Request) -> str:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return await self.authenticate(token.strip() if scheme.lower() == "bearer" else None)

    async def create_session(self, request: Request) -> Response:
        token, chat_id, now = secrets.token_urlsafe(32), secrets.token_hex(12), to_db(self.clock())
        await self.db.execute_atomic(
            "INSERT INTO web_sessions (token_hash, chat_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
            (_hash(token), chat_id, now, now),
        )
        return JSONResponse({"token": token}, status_code=201)

    async def post_message(self, request: Request) -> Response:
        chat_id = await self.bearer(request)
        address = Address(CHANNEL, chat_id)
        inbound = to_inbound(await read_json(request), address, self.clock())
        return JSONResponse({"replies": await self._deliver(address, inbound)})

    async def upload(self, request: Request) -> Response:
        """One file as the raw body: its type in Content-Type, its name in X-File-Name."""
        address = Address(CHANNEL, await self.bearer(request))
        try:
            name = unquote(request.headers.get("x-file-name", ""), errors="strict")
        except UnicodeDecodeError:
            raise ApiError(400, NO_FILE_NAME) from None
        if not name.strip():
            raise ApiError(400, NO_FILE_NAME)
        data = await read_body(request, self.max_upload_bytes, FILE_TOO_LARGE)
        if not data:
            raise ApiError(400, EMPTY_FILE)
        media_type = request.headers.get("content-type") or None
        file = InboundFile(name, data, media_type)
        inbound = Inbound(address, self.clock(), files=(file,))
        return JSONResponse({"replies": await self._deliver(address, inbound)})

    async def _deliver(self, address: Address, inbound: Inbound) -> list[dict[str, Any]]:
        """The engine's replies to this chat as JSON; the others pushed or dropped."""
        replies = []
        for reply in await self.core.handle(inbound):
            if reply.to is None or reply.to == address:
                replies.append(_reply_json(reply))
            elif reply.to.channel == CHANNEL:
                await push(self.db, reply.to.chat_id, reply, self.clock())
            else:  # other channels deliver through their own adapters
                log.warning("web adapter cannot deliver a reply to %s; dropped", reply.to)
        return replies

    async def pending(self, request: Request) -> Response:
        chat_id = await self.bearer(request)
        return JSONResponse({"messages": await take_pending(self.db, chat_id, self.clock())})

    async def events(self, request: Request) -> Response:
        """SSE; the token is a query parameter because EventSource cannot set headers."""
        chat_id = await self.authenticate(request.query_params.get("token"))
        return StreamingResponse(
            self._stream(request, chat_id),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def _stream(self, request: Request, chat_id: str) -> AsyncIterator[str]:
        """Poll the outbox until the client goes away; a comment now and then detects that early."""
        yield "retry: 3000\n\n"
        idle = 0
        while not await request.is_disconnected():
            for message in await take_pending(self.db, chat_id, self.clock()):
                idle = 0
                data = json.dumps(message, ensure_ascii=False)
                yield f"id: {message['id']}\nevent: message\ndata: {data}\n\n"
            idle += 1
            if idle >= KEEPALIVE_POLLS:
                idle = 0
                yield ": keepalive\n\n"
            await self.sleep(self.poll_seconds)

    async def healthz(self, request: Request) -> Response:
        try:
            await self.db.fetchone("SELECT 1")
        except (sqlite3.Error, ValueError):  # aiosqlite: ValueError once the connection is closed
            log.exception("health check: the database does not answer")
            return JSONResponse({"status": "error"}, status_code=503)
        return JSONResponse({"status": "ok"})


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse({"error": exc.message}, status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = HTTP_ERRORS.get(exc.status_code, "请求无法处理。")
    return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)


class _CatchAll:
    """Outermost of our middlewares: log an unexpected error and answer 500 JSON instead of a trace.

    Unlike an `Exception` handler (which Starlette's ServerErrorMiddleware re-raises after
    answering), this swallows the error once it is logged, so the server logs it exactly once.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:  # the browser left (an SSE tab closed): nobody to answer
            return
        except Exception:
            log.exception("web request %s %s failed", scope.get("method"), scope.get("path"))
            if started:  # too late for a clean answer: let the server drop the connection
                raise
            await JSONResponse({"error": BUSY}, status_code=500)(scope, receive, send)


def create_web_app(
    core: Core,
    db: Database,
    *,
    clock: Callable[[], datetime],
    sleep: Sleep = asyncio.sleep,
    poll_seconds: float = POLL_SECONDS,
    max_upload_bytes: int = MAX_BYTES,
    wake: Callable[[], None] = lambda: None,
) -> Starlette:
    """The ASGI app; `sleep` is the SSE poll wait, injected so tests never really wait; `wake`
    runs the scheduler soon after the staff console schedules a reply."""
    chat = WebChat(core, db, clock, sleep, poll_seconds, max_upload_bytes)

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI)

    routes = [
        Route("/", index),
        Route("/healthz", chat.healthz),
        Route("/openapi.json", openapi),
        Route("/api/sessions", chat.create_session, methods=["POST"]),
        Route("/api/messages", chat.post_message, methods=["POST"]),
        Route("/api/messages/pending", chat.pending),
        Route("/api/uploads", chat.upload, methods=["POST"]),
        Route("/api/events", chat.events),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        Mount("/staff", app=create_staff_app(core, db, clock=clock, wake=wake)),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(_CatchAll)],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
    )
