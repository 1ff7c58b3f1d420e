"""A small period of real work orders in a real SQLite file, made through `TicketService`.

March 2026 (China time): two 路灯 petitions and one 噪音 petition handled by 城市管理局 or 淮河路街道
with different outcomes, one confidential order, one whose content starts with "=" (a formula if
an export were careless), and one order in April that every March report must leave out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bot.calendar_config import load_calendar
from bot.deadlines import DeadlinePolicy
from bot.filing import NewOrder
from bot.store import SqliteWorkOrderRepo, open_db
from bot.tickets import TicketService
from bot.workorder import Action, Event, OrderType, Source, Urgency, WorkOrder

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CST)  # a Monday
MARCH = (datetime(2026, 3, 1, tzinfo=CST), datetime(2026, 4, 1, tzinfo=CST))
FORMULA = '=HYPERLINK("http://evil.example","点我")路灯不亮已经一周了'


@dataclass
class Seeded:
    db: Path
    numbers: dict[str, str]  # role -> order number
    orders: list[WorkOrder]
    events: list[Event]


async def _seed(path: Path) -> Seeded:
    async with await open_db(path) as db:
        repo = SqliteWorkOrderRepo(db)
        service = TicketService(repo, load_calendar(), DeadlinePolicy.load())
        numbers: dict[str, str] = {}

        async def new(role: str, content: str, at: datetime, **kw: Any) -> str:
            draft = NewOrder(
                type=OrderType.complaint, urgency=Urgency.hoped, source=Source.web, content=content,
                petitioner=f"web:{role}", contact_phone=kw.pop("phone", "13812345678"), **kw,
            )  # fmt: skip
            order = await repo.file(draft, by="web", at=at)
            numbers[role] = order.number
            return order.number

        async def step(number: str, action: Action, at: datetime, **params: Any) -> None:
            await service.act(number, action, by="staff:1", at=at, **params)

        async def taken(number: str, unit: str, at: datetime) -> None:
            await step(number, Action.accept, at)
            await step(number, Action.dispatch, at + timedelta(hours=1), unit=unit)
            await step(number, Action.acknowledge, at + timedelta(hours=2))

        async def closed(number: str, at: datetime, rating: str | None) -> None:
            await step(number, Action.resolve, at, result="已修复")
            await step(number, Action.start_visit, at + timedelta(hours=20))
            if rating is not None:
                await step(number, Action.rate, at + timedelta(hours=21), rating=rating)

        n = await new("happy", "小区门口路灯不亮，晚上出行不安全", T0)
        await taken(n, "urban", T0)
        await closed(n, T0 + timedelta(days=1), "satisfied")
        n = await new("secret", "路灯晚上不亮，请尽快维修", T0, phone="13900001111", confidential=True)
        await taken(n, "huaiheroad", T0)
        await closed(n, T0 + timedelta(days=1), "very_unsatisfied")  # 重办: back in progress, rated
        n = await new("formula", FORMULA, T0 + timedelta(days=1))
        await taken(n, "urban", T0 + timedelta(days=1))
        await closed(n, T0 + timedelta(days=2), None)  # awaiting the 回访: 未评价
        n = await new("working", "夜间施工噪音扰民，影响休息", T0 + timedelta(days=2))
        await taken(n, "urban", T0 + timedelta(days=2))  # still in progress
        await new("april", "四月的诉求：路灯不亮", datetime(2026, 4, 6, 9, 0, tzinfo=CST))
        orders = [o async for o in repo.iter_all()]
        events = await repo.all_events()
    return Seeded(path, numbers, orders, events)


@pytest.fixture
def seeded(tmp_path: Path) -> Seeded:
    """Synchronous on purpose: the CLI under test runs its own event loop (`asyncio.run`)."""
    return asyncio.run(_seed(tmp_path / "var" / "orders.db"))


@pytest.fixture
def by_role(seeded: Seeded) -> Callable[[str], WorkOrder]:
    return lambda role: next(o for o in seeded.orders if o.number == seeded.numbers[role])
