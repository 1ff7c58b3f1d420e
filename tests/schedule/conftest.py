"""A real engine, web app (httpx in-process) and scheduler on one SQLite file, on a test clock.

Built like tests/adapters/conftest.py on purpose: test packages do not import each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.adapters.web import create_web_app
from bot.app import build_core
from bot.calendar_config import load_calendar
from bot.filing import NewOrder
from bot.schedule.runner import Pusher, Scheduler
from bot.store import Database, open_db
from bot.workorder import Action, OrderType, Source, Urgency, WorkOrder
from intents.classifier import KnowledgeMatcher
from knowledge.loader import KnowledgeBase
from tests.conftest import Clock

Step = tuple[Action, dict[str, Any]]
IN_PROGRESS: list[Step] = [
    (Action.accept, {}),
    (Action.dispatch, {"unit": "区住建局"}),
    (Action.acknowledge, {}),
]
CLOSED: list[Step] = [*IN_PROGRESS, (Action.resolve, {"result": "道路已修复。"})]


async def no_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


class Env:
    def __init__(self, path: Path, kb: KnowledgeBase, matcher: KnowledgeMatcher, clock: Clock) -> None:
        self.path, self.kb, self.matcher, self.clock = path, kb, matcher, clock

    async def open(self, telegram: Pusher | None = None) -> None:
        self.db: Database = await open_db(self.path)
        self.core = build_core(self.db, self.kb, self.matcher, clock=self.clock)
        self.tickets = self.core.deps.tickets
        self.scheduler = Scheduler(
            self.db, clock=self.clock, calendar=load_calendar(), telegram=telegram, tickets=self.tickets
        )
        app = create_web_app(self.core, self.db, clock=self.clock, sleep=no_sleep)
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")

    async def close(self) -> None:
        await self.client.aclose()
        await self.db.close()

    async def restart(self) -> None:
        await self.close()
        await self.open()

    async def web_user(self) -> tuple[str, str]:
        """A web chat that has said hello: (bearer token, person id)."""
        token = (await self.client.post("/api/sessions")).json()["token"]
        r = await self.client.post("/api/messages", json={"text": "你好"}, headers=self.auth(token))
        assert r.status_code == 200
        row = await self.db.fetchone(
            "SELECT i.person_id FROM identities i JOIN messages m ON m.chat_id = i.external_id "
            "AND m.channel = i.channel WHERE i.channel = 'web' ORDER BY m.id DESC LIMIT 1"
        )
        assert row is not None
        return token, str(row["person_id"])

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def pending(self, token: str) -> list[str]:
        r = await self.client.get("/api/messages/pending", headers=self.auth(token))
        assert r.status_code == 200
        return [m["text"] for m in r.json()["messages"]]

    async def file_for(self, person: str, **changes: Any) -> WorkOrder:
        fields: dict[str, Any] = {
            "type": OrderType.help,
            "urgency": Urgency.hoped,
            "source": Source.web,
            "content": "厂区门口道路破损，货车进出困难，请协调维修。",
            "petitioner": person,
            "contact_phone": "13800138000",
            **changes,
        }
        return await self.tickets.repo.file(NewOrder(**fields), by="test", at=self.clock())

    async def walk(self, number: str, steps: Sequence[Step]) -> None:
        """Take the order through `steps` now, as staff would."""
        for action, params in steps:
            await self.tickets.act(number, action, by="staff:1", at=self.clock(), **params)

    async def states(self) -> dict[str, str]:
        rows = await self.db.fetchall("SELECT key, state FROM schedule ORDER BY id")
        return {str(r["key"]): str(r["state"]) for r in rows}

    def at(self, iso: str) -> datetime:
        return datetime.fromisoformat(iso).replace(tzinfo=self.clock().tzinfo)


@pytest.fixture
async def env(
    tmp_path: Path, kb: KnowledgeBase, matcher: KnowledgeMatcher, clock: Clock
) -> AsyncIterator[Env]:
    e = Env(tmp_path / "yiqiban.db", kb, matcher, clock)
    await e.open()
    yield e
    await e.close()
