"""A fresh, migrated database file per test, plus helpers shared by the store tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bot.filing import NewOrder
from bot.store import Database, SqliteWorkOrderRepo, open_db
from bot.workorder import OrderType, Source, Urgency

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=CST)


def draft(**changes: Any) -> NewOrder:
    fields: dict[str, Any] = {
        "type": OrderType.help,
        "urgency": Urgency.worrying,
        "source": Source.telegram,
        "content": "厂区门口道路破损，货车进出困难，请协调维修。",
        "petitioner": "person:abc",
        "contact_phone": "13800138000",
        **changes,
    }
    return NewOrder(**fields)


@pytest.fixture
def make_draft() -> Callable[..., NewOrder]:
    """`make_draft(**changes)`: a valid draft; a fixture because test modules cannot import conftest."""
    return draft


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "yiqiban.db"


@pytest.fixture
async def db(db_path: Path) -> AsyncIterator[Database]:
    async with await open_db(db_path) as database:
        yield database


@pytest.fixture
def repo(db: Database) -> SqliteWorkOrderRepo:
    return SqliteWorkOrderRepo(db)
