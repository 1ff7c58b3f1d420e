"""The web app (with /staff mounted) on a fresh database, a test clock, and orders to look at."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.adapters.web import create_web_app
from bot.app import build_core
from bot.filing import NewOrder
from bot.staff.accounts import Role
from bot.staff.store import StaffStore
from bot.store import Database, open_db
from bot.store.attachments import AttachmentStore
from bot.workorder import Action, OrderType, Source, Urgency, WorkOrder
from intents.classifier import KnowledgeMatcher
from knowledge.loader import KnowledgeBase
from tests.conftest import Clock

PASSWORD = "correct horse battery"


class Console:
    def __init__(self, db: Database, core: Any, clock: Clock, client: httpx.AsyncClient) -> None:
        self.db, self.core, self.clock, self.client = db, core, clock, client
        self.tickets, self.staff = core.deps.tickets, StaffStore(db)

    async def account(self, username: str, role: Role, unit: str | None = None) -> None:
        await self.staff.add(username, f"{username} 姓名", role, PASSWORD, self.clock(), unit)

    async def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        self.client.cookies.clear()
        return await self.client.post("/staff/login", data={"username": username, "password": password})

    async def csrf(self) -> str:
        page = (await self.client.get("/staff/")).text
        found = re.search(r'name="csrf" value="([^"]+)"', page)
        assert found is not None
        return found.group(1)

    async def order(self, unit: str | None, **changes: Any) -> WorkOrder:
        fields: dict[str, Any] = {
            "type": OrderType.complaint,
            "urgency": Urgency.hoped,
            "source": Source.web,
            "content": "厂区门口道路破损，货车进出困难，请协调维修。",
            "petitioner": "p-1",
            "contact_phone": "13812345678",
            **changes,
        }
        order = await self.tickets.repo.file(NewOrder(**fields), by="test", at=self.clock())
        if unit is not None:
            await self.tickets.act(order.number, Action.accept, by="centre", at=self.clock())
            order, _ = await self.tickets.act(
                order.number, Action.dispatch, by="centre", at=self.clock(), unit=unit
            )
        return order


@pytest.fixture
async def console(
    tmp_path: Path, kb: KnowledgeBase, matcher: KnowledgeMatcher, clock: Clock
) -> AsyncIterator[Console]:
    db = await open_db(tmp_path / "yiqiban.db")
    core = build_core(db, kb, matcher, clock=clock, attachments=AttachmentStore(tmp_path / "attachments"))
    app = create_web_app(core, db, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Console(db, core, clock, client)
    await db.close()
