"""A real `Core` on a fresh SQLite file per test, with a clock the test sets and advances."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_core
from bot.core.messages import Address, Inbound, Reply
from bot.filing import NewOrder
from bot.store import Database, open_db
from bot.store.attachments import AttachmentStore
from bot.workorder import Action, OrderType, Source, Urgency, WorkOrder
from intents.classifier import KnowledgeMatcher
from knowledge.loader import KnowledgeBase
from knowledge.matcher import Matcher
from tests.conftest import Clock


@dataclass
class Chat:
    """One user in one chat: `say` text, `press` a button payload."""

    env: Env
    address: Address

    async def say(self, text: str | None) -> list[Reply]:
        return await self.env.core.handle(Inbound(self.address, self.env.clock(), text=text))

    async def press(self, payload: str) -> list[Reply]:
        return await self.env.core.handle(Inbound(self.address, self.env.clock(), button=payload))

    async def person(self) -> str:
        found = await self.env.people.find_by_identity(self.address.channel, self.address.chat_id)
        assert found is not None
        return found.id

    async def state(self) -> str:
        return (await self.env.core.dialogs.load(self.address)).state


class Env:
    """Everything a test needs; `restart()` closes the database and builds a new Core on it."""

    def __init__(
        self, path: Path, kb: KnowledgeBase, matcher: KnowledgeMatcher, clock: Clock, files: bool = False
    ) -> None:
        self.path, self.kb, self.matcher, self.clock = path, kb, matcher, clock
        # Only `files_env` takes files: with a store the form has an extra "photos" step.
        self.store = AttachmentStore(path.parent / "attachments") if files else None

    async def open(self) -> None:
        self.db: Database = await open_db(self.path)
        self.core = build_core(self.db, self.kb, self.matcher, clock=self.clock, attachments=self.store)
        self.tickets, self.people = self.core.deps.tickets, self.core.deps.people
        self.repo = self.tickets.repo

    async def restart(self) -> None:
        await self.db.close()
        await self.open()

    def chat(self, chat_id: str = "1001", channel: str = "telegram") -> Chat:
        return Chat(self, Address(channel, chat_id))

    async def file_for(self, chat: Chat, **changes: Any) -> WorkOrder:
        """An order filed directly in the store for the person behind `chat`."""
        await chat.say("你好")  # first contact creates and links the person
        fields: dict[str, Any] = {
            "type": OrderType.help,
            "urgency": Urgency.hoped,
            "source": Source.telegram,
            "content": "厂区门口道路破损，货车进出困难，请协调维修。",
            "petitioner": await chat.person(),
            "contact_phone": "13800138000",
            **changes,
        }
        return await self.repo.file(NewOrder(**fields), by="test", at=self.clock())

    async def to_awaiting_visit(self, number: str) -> None:
        steps: list[tuple[Action, dict[str, Any]]] = [
            (Action.accept, {}),
            (Action.dispatch, {"unit": "区住建局"}),
            (Action.acknowledge, {}),
            (Action.resolve, {"result": "已修复道路"}),
            (Action.start_visit, {}),
        ]
        for action, params in steps:
            self.clock.advance(minutes=5)
            await self.tickets.act(number, action, by="staff:1", at=self.clock(), **params)


@pytest.fixture
async def env(tmp_path: Path, kb: KnowledgeBase, matcher: Matcher, clock: Clock) -> AsyncIterator[Env]:
    e = Env(tmp_path / "yiqiban.db", kb, matcher, clock)
    await e.open()
    yield e
    await e.db.close()


@pytest.fixture
async def files_env(tmp_path: Path, kb: KnowledgeBase, matcher: Matcher, clock: Clock) -> AsyncIterator[Env]:
    """As `env`, with an `AttachmentStore` (so files are accepted while filing a petition)."""
    e = Env(tmp_path / "yiqiban.db", kb, matcher, clock, files=True)
    await e.open()
    yield e
    await e.db.close()
