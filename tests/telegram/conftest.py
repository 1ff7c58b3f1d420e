"""A real `Core` on a fresh SQLite file, a PTB Application on a fake Bot API (STYLE §2).

`FakeTelegram` is the public `BaseRequest` seam: it answers the few Bot API methods the channel
uses from memory, records every call, and fails the test on any other method, so no test can
reach the network. The Core construction is copied from tests/core/conftest.py on purpose
(test packages do not import each other).
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.ext import CallbackContext
from telegram.request import BaseRequest, RequestData

from bot.adapters.telegram import TelegramApp, build_application
from bot.app import build_core
from bot.core.engine import Core
from bot.core.messages import Inbound, Reply
from bot.store import Database, open_db
from intents.classifier import KnowledgeMatcher
from knowledge.loader import KnowledgeBase
from knowledge.matcher import Matcher
from tests.conftest import THURSDAY_10, Clock

FIXTURES = Path(__file__).parent.parent / "fixtures" / "telegram"
BOT = {"id": 7000000001, "is_bot": True, "first_name": "易企办", "username": "yiqiban_bot"}
USER_CHAT = 424242
STAFF_CHAT = -1001987654321
STAFF = 9001
FIRST_THREAD = 77


class FakeTelegram(BaseRequest):
    """Answers Bot API calls from memory and records what the bot sent."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.next_message_id = 5000
        self.next_thread = FIRST_THREAD
        # createForumTopic takes a real round trip in production; this one widens the window in
        # which a second message could try to create the same topic (the race under test).
        self.topic_latency = 0.05
        self.files: dict[str, bytes] = {}  # file_path → content, served at the file download URL

    def add_file(self, file_id: str, data: bytes) -> str:
        """Make `file_id` downloadable (getFile + the file URL); returns its file_path."""
        path = f"documents/{file_id}.bin"
        self.files[path] = data
        return path

    async def initialize(self) -> None: ...

    async def shutdown(self) -> None: ...

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if "/file/bot" in url:  # File.download_* → BaseRequest.retrieve(file URL) → do_request
            path = url.split("/file/bot", 1)[1].split("/", 1)[1]
            self.calls.append(("download", {"path": path}))
            if path not in self.files:
                pytest.fail(f"unexpected file download {url}")
            return 200, self.files[path]
        api = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        self.calls.append((api, params))
        if api == "createForumTopic":
            await asyncio.sleep(self.topic_latency)
        answer: Callable[[dict[str, Any]], Any] | None = getattr(self, f"_{api}", None)
        if answer is None:
            pytest.fail(f"unexpected Bot API call {api} {params}")
        return 200, json.dumps({"ok": True, "result": answer(params)}).encode()

    def _getMe(self, _params: dict[str, Any]) -> dict[str, Any]:
        return {**BOT, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}  # fmt: skip

    def _sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        self.next_message_id += 1
        chat_id = int(params["chat_id"])
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        message = {"message_id": self.next_message_id, "from": BOT, "chat": chat,
                   "date": int(THURSDAY_10.timestamp()), "text": params["text"]}  # fmt: skip
        if "message_thread_id" in params:
            message |= {"message_thread_id": params["message_thread_id"], "is_topic_message": True}
        return message

    _editMessageText = _sendMessage

    def _media(self, params: dict[str, Any], kind: str) -> dict[str, Any]:
        message = self._sendMessage({**params, "text": ""})
        del message["text"]
        file_id = str(params[kind])
        if kind == "photo":
            message["photo"] = [{"file_id": file_id, "file_unique_id": "u", "width": 1, "height": 1}]
        else:
            message["document"] = {"file_id": file_id, "file_unique_id": "u"}
        if params.get("caption"):
            message["caption"] = params["caption"]
        return message

    def _sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._media(params, "photo")

    def _sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._media(params, "document")

    def _getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params["file_id"])
        path = f"documents/{file_id}.bin"
        if path not in self.files:
            pytest.fail(f"getFile for unknown file {file_id}")
        return {"file_id": file_id, "file_unique_id": file_id[-8:], "file_size": len(self.files[path]),
                "file_path": path}  # fmt: skip

    def _answerCallbackQuery(self, _params: dict[str, Any]) -> bool:
        return True

    def _createForumTopic(self, params: dict[str, Any]) -> dict[str, Any]:
        thread, self.next_thread = self.next_thread, self.next_thread + 1
        return {"message_thread_id": thread, "name": params["name"], "icon_color": 7322096}

    # -- what the tests read --------------------------------------------------------------------

    def params(self, api: str) -> list[dict[str, Any]]:
        return [p for name, p in self.calls if name == api]

    def count(self, api: str) -> int:
        return sum(1 for name, _ in self.calls if name == api)

    def sent(self, chat_id: int, thread: int | None = None) -> list[dict[str, Any]]:
        """sendMessage parameters to one chat (and, if given, one forum topic), oldest first."""
        return [
            p
            for name, p in self.calls
            if name == "sendMessage"
            and int(p["chat_id"]) == chat_id
            and (thread is None or p.get("message_thread_id") == thread)
        ]

    def texts_to(self, chat_id: int, thread: int | None = None) -> list[str]:
        return [str(p["text"]) for p in self.sent(chat_id, thread)]


def load_update(name: str, **changes: Any) -> dict[str, Any]:
    """A captured update from tests/fixtures/telegram; `changes` go into its message/query."""
    payload: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    payload = copy.deepcopy(payload)
    body = payload.get("message") or payload["callback_query"]
    body.update(changes)
    if "text" in changes and not str(changes["text"]).startswith("/"):
        body.pop("entities", None)
    return payload


def command(name: str, text: str, **changes: Any) -> dict[str, Any]:
    """A message fixture turned into a /command (with the bot_command entity PTB needs)."""
    head = text.split(" ", 1)[0]
    entity = {"offset": 0, "length": len(head.encode("utf-16-le")) // 2, "type": "bot_command"}
    return load_update(name, text=text, entities=[entity], **changes)


class RecordingCore(Core):
    """A real Core that also keeps every Inbound it was given (what the adapter delivered)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.inbounds: list[Inbound] = []

    async def handle(self, inbound: Inbound) -> list[Reply]:
        self.inbounds.append(inbound)
        return await super().handle(inbound)


class Harness:
    """The Core, its database and a running (initialised, never started) PTB Application."""

    def __init__(self, path: Path, kb: KnowledgeBase, matcher: KnowledgeMatcher, clock: Clock) -> None:
        self.path, self.kb, self.matcher, self.clock = path, kb, matcher, clock
        self.fake = FakeTelegram()
        self.errors: list[object] = []
        self.update_id = 900000000

    async def open(self, *, rate_limit: bool = False) -> None:
        self.stack = AsyncExitStack()
        self.db: Database = await open_db(self.path)
        self.stack.push_async_callback(self.db.close)
        self.core = build_core(self.db, self.kb, self.matcher, clock=self.clock, core_class=RecordingCore)
        self.tickets, self.people = self.core.deps.tickets, self.core.deps.people
        self.repo = self.tickets.repo
        self.app: TelegramApp = build_application(
            self.core,
            "123456:TEST-TOKEN",
            staff_chat_id=STAFF_CHAT,
            staff_user_ids=frozenset({STAFF}),
            request=self.fake,
            rate_limit=rate_limit,
        )

        async def collect(update: object, context: CallbackContext[Any, Any, Any, Any]) -> None:
            self.errors.append(context.error)

        self.app.add_error_handler(collect)  # else PTB only logs handler crashes
        await self.stack.enter_async_context(self.app)  # initialize(): the fake's getMe

    async def close(self) -> None:
        await self.stack.aclose()

    async def restart(self) -> None:
        """A new process: new Application, new Core, same database file, same fake API."""
        await self.close()
        await self.open()

    async def feed(self, payload: dict[str, Any]) -> None:
        """Process one update the webhook way (`de_json` binds the bot), with a fresh update_id."""
        self.update_id += 1
        await self.app.process_update(Update.de_json({**payload, "update_id": self.update_id}, self.app.bot))


@pytest.fixture
async def tg(tmp_path: Path, kb: KnowledgeBase, matcher: Matcher) -> AsyncIterator[Harness]:
    harness = Harness(tmp_path / "yiqiban.db", kb, matcher, Clock(THURSDAY_10))
    await harness.open()
    yield harness
    await harness.close()
    assert not harness.errors, harness.errors
