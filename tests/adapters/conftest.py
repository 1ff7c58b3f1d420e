"""A real `Core` on a fresh SQLite file per test, served by the web app through httpx in-process.

The construction is copied from tests/core/conftest.py on purpose: test packages do not import
each other (`--import-mode=importlib`, no `__init__.py`).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from bot.adapters.web import create_web_app
from bot.app import build_core
from bot.core.engine import Core
from bot.store import Database, open_db
from bot.store.attachments import AttachmentStore
from intents.classifier import KnowledgeMatcher
from knowledge.loader import KnowledgeBase
from tests.conftest import Clock

UPLOAD_LIMIT = 4096


class Sleeps:
    """The SSE poll wait: records each call and runs `hook` (e.g. a push) instead of waiting."""

    def __init__(self) -> None:
        self.calls = 0
        self.hook: Callable[[int], Awaitable[None]] | None = None

    async def __call__(self, seconds: float) -> None:
        self.calls += 1
        if self.hook is not None:
            await self.hook(self.calls)
        await asyncio.sleep(0)  # still a checkpoint, as a real sleep would be


class Web:
    """The app, its database and an httpx client bound to it."""

    def __init__(
        self,
        db: Database,
        core: Core,
        clock: Clock,
        sleeps: Sleeps,
        client: httpx.AsyncClient,
        store: AttachmentStore | None = None,
    ) -> None:
        self.db, self.core, self.clock, self.sleeps, self.client = db, core, clock, sleeps, client
        self.store = store

    async def session(self) -> str:
        r = await self.client.post("/api/sessions")
        assert r.status_code == 201
        token = r.json()["token"]
        assert isinstance(token, str)
        return token

    async def chat_id(self, token: str) -> str:
        row = await self.db.fetchone(
            "SELECT chat_id FROM web_sessions WHERE token_hash = ?",
            (hashlib.sha256(token.encode()).hexdigest(),),
        )
        assert row is not None
        return str(row["chat_id"])


async def serve(
    tmp_path: Path, kb: KnowledgeBase, matcher: KnowledgeMatcher, clock: Clock, files: bool
) -> AsyncIterator[Web]:
    db = await open_db(tmp_path / "yiqiban.db")
    store = AttachmentStore(tmp_path / "attachments") if files else None
    core = build_core(db, kb, matcher, clock=clock, attachments=store)
    sleeps = Sleeps()
    limit = {"max_upload_bytes": UPLOAD_LIMIT} if files else {}
    app = create_web_app(core, db, clock=clock, sleep=sleeps, **limit)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Web(db, core, clock, sleeps, client, store)
    await db.close()


@pytest.fixture
async def web(
    tmp_path: Path, kb: KnowledgeBase, matcher: KnowledgeMatcher, clock: Clock
) -> AsyncIterator[Web]:
    async for w in serve(tmp_path, kb, matcher, clock, files=False):
        yield w


@pytest.fixture
async def files_web(
    tmp_path: Path, kb: KnowledgeBase, matcher: KnowledgeMatcher, clock: Clock
) -> AsyncIterator[Web]:
    """As `web`, with an `AttachmentStore` and uploads limited to UPLOAD_LIMIT bytes (fast 413)."""
    async for w in serve(tmp_path, kb, matcher, clock, files=True):
        yield w
