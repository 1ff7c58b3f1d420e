"""Work orders in SQLite: numbering, the persisted lifecycle, lost updates and crash safety."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.filing import MAX_CONTENT_CHARS, InvalidOrder, NewOrder, file_order
from bot.store import ConcurrentUpdate, Database, OrderNotFound, SqliteWorkOrderRepo, open_db
from bot.store.db import StoreError
from bot.transitions import apply
from bot.workorder import Action, Status, TransitionError
from intents.credit_code import credit_code_check_char

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=CST)
ROOT = Path(__file__).resolve().parents[2]
CODE = "91410103MA44A1B2C" + credit_code_check_char("91410103MA44A1B2C")
Draft = Callable[..., NewOrder]


# --- filing, the pure part -------------------------------------------------------------------


def test_file_order_builds_a_pending_order_and_its_file_event(make_draft: Draft) -> None:
    order, event = file_order(
        make_draft(enterprise_credit_code=CODE.lower()), number="EQ-20261126-0001", by="bot", at=T0
    )
    assert (order.status, order.version, order.created_at, order.updated_at) == (Status.pending, 1, T0, T0)
    assert order.enterprise_credit_code == CODE
    assert (event.action, event.from_status, event.to_status, event.by) == (
        Action.file,
        Status.pending,
        Status.pending,
        "bot",
    )
    assert event.get("source") == "telegram"
    with pytest.raises(TransitionError) as info:  # filing is not a transition of an existing order
        apply(order, Action.file, by="bot", at=T0)
    assert info.value.rule == "not_allowed"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"content": "  "}, "content"),
        ({"content": "字" * (MAX_CONTENT_CHARS + 1)}, "content"),
        ({"enterprise_credit_code": CODE[:-1] + ("0" if CODE[-1] != "0" else "1")}, "enterprise_credit_code"),
        ({"petitioner": ""}, "petitioner"),
    ],
)
def test_invalid_drafts_are_refused_naming_the_field(
    make_draft: Draft, changes: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidOrder, match=field) as info:
        make_draft(**changes)
    assert info.value.field == field
    assert make_draft(content="字" * MAX_CONTENT_CHARS).content  # the limit itself is allowed


# --- numbering ---------------------------------------------------------------------------------


async def test_numbers_count_per_day_in_china_time(repo: SqliteWorkOrderRepo, make_draft: Draft) -> None:
    first = await repo.file(make_draft(), by="bot", at=T0)
    second = await repo.file(make_draft(), by="bot", at=T0 + timedelta(hours=1))
    # 16:30 UTC on the 26th is already 00:30 on the 27th in Zhengzhou: a new day, back to 0001.
    next_day = await repo.file(make_draft(), by="bot", at=datetime(2026, 11, 26, 16, 30, tzinfo=UTC))
    assert [first.number, second.number, next_day.number] == [
        "EQ-20261126-0001",
        "EQ-20261126-0002",
        "EQ-20261127-0001",
    ]


async def test_numbers_are_unique_when_two_connections_file_at_once(db_path: Path, make_draft: Draft) -> None:
    async with await open_db(db_path) as a, await open_db(db_path) as b:
        repos = [SqliteWorkOrderRepo(a), SqliteWorkOrderRepo(b)]
        orders = await asyncio.gather(
            *(repos[i % 2].file(make_draft(), by=f"bot{i % 2}", at=T0) for i in range(40))
        )
    numbers = [o.number for o in orders]
    assert sorted(numbers) == [f"EQ-20261126-{i:04d}" for i in range(1, 41)]


# --- reading and the lifecycle -------------------------------------------------------------------


async def test_full_lifecycle_is_persisted_with_events_in_order(
    repo: SqliteWorkOrderRepo, make_draft: Draft
) -> None:
    filed = await repo.file(make_draft(enterprise_credit_code=CODE, confidential=True), by="web:1", at=T0)
    steps: list[tuple[Action, dict[str, object]]] = [
        (Action.accept, {"note": "企业诉求明确"}),
        (Action.dispatch, {"unit": "区住建局", "deadline": T0 + timedelta(days=5)}),
        (Action.acknowledge, {}),
        (Action.apply_extension, {"days": 3}),
        (Action.approve_extension, {"deadline": T0 + timedelta(days=8)}),
        (Action.resolve, {"result": "已修复道路"}),
        (Action.start_visit, {}),
        (Action.rate, {"rating": "satisfied"}),
    ]
    current = filed
    for i, (action, params) in enumerate(steps, start=1):
        current, _ = await repo.act(filed.number, action, by="staff:1", at=T0 + timedelta(hours=i), **params)
    assert current.status is Status.archived and current.version == len(steps) + 1

    loaded = await repo.get(filed.number)
    assert loaded == current
    assert loaded is not None and loaded.deadline == T0 + timedelta(days=8) and loaded.confidential
    events = await repo.events(filed.number)
    assert [e.action for e in events] == [Action.file, *(a for a, _ in steps)]
    assert events[1].note == "企业诉求明确"
    assert events[2].get("unit") == "区住建局"
    assert events[4].get("days") == 3 and events[-1].get("reopened") is False  # types survive JSON
    assert [e.at for e in events] == [T0 + timedelta(hours=i) for i in range(len(steps) + 1)]


async def test_list_filters_newest_first_and_iter_all(repo: SqliteWorkOrderRepo, make_draft: Draft) -> None:
    a = await repo.file(make_draft(petitioner="p1"), by="bot", at=T0)
    b = await repo.file(make_draft(petitioner="p2"), by="bot", at=T0 + timedelta(minutes=1))
    c = await repo.file(make_draft(petitioner="p1"), by="bot", at=T0 + timedelta(minutes=2))
    await repo.act(b.number, Action.accept, by="staff", at=T0 + timedelta(minutes=3))
    await repo.act(b.number, Action.dispatch, by="staff", at=T0 + timedelta(minutes=4), unit="区税务局")

    assert [o.number for o in await repo.list()] == [c.number, b.number, a.number]
    assert [o.number for o in await repo.list(petitioner="p1")] == [c.number, a.number]
    assert [o.number for o in await repo.list(status=Status.pending, limit=1, offset=1)] == [a.number]
    assert [o.number for o in await repo.list(unit="区税务局", status=Status.dispatched)] == [b.number]
    assert [o.number async for o in repo.iter_all()] == [a.number, b.number, c.number]
    assert await repo.get("EQ-20261126-0099") is None


async def test_act_on_a_missing_order(repo: SqliteWorkOrderRepo) -> None:
    with pytest.raises(OrderNotFound, match="EQ-20261126-0099"):
        await repo.act("EQ-20261126-0099", Action.accept, by="staff", at=T0)


async def test_a_refused_action_writes_nothing(repo: SqliteWorkOrderRepo, make_draft: Draft) -> None:
    order = await repo.file(make_draft(), by="bot", at=T0)
    with pytest.raises(TransitionError):
        await repo.act(order.number, Action.resolve, by="unit", at=T0, result="x")
    assert await repo.get(order.number) == order
    assert len(await repo.events(order.number)) == 1


# --- lost updates ----------------------------------------------------------------------------------


async def test_save_from_a_stale_version_changes_nothing(
    repo: SqliteWorkOrderRepo, make_draft: Draft
) -> None:
    order = await repo.file(make_draft(), by="bot", at=T0)
    accepted, event = apply(order, Action.accept, by="staff:1", at=T0 + timedelta(minutes=1))
    await repo.save(accepted, event)
    # A second handler still holding version 1 rejects it: its write must not land.
    rejected, stale_event = apply(
        order, Action.reject, by="staff:2", at=T0 + timedelta(minutes=2), reason="xinfang"
    )
    with pytest.raises(ConcurrentUpdate, match="工单已被他人更新，请刷新后重试") as info:
        await repo.save(rejected, stale_event)
    assert info.value.number == order.number
    assert await repo.get(order.number) == accepted
    assert [e.action for e in await repo.events(order.number)] == [Action.file, Action.accept]
    with pytest.raises(ValueError, match="不属于"):
        await repo.save(accepted, replace(event, order_number="EQ-20261126-0002"))


async def test_two_handlers_acknowledging_at_once_exactly_one_wins(db_path: Path, make_draft: Draft) -> None:
    async with await open_db(db_path) as a, await open_db(db_path) as b:
        one, two = SqliteWorkOrderRepo(a), SqliteWorkOrderRepo(b)
        order = await one.file(make_draft(), by="bot", at=T0)
        await one.act(order.number, Action.accept, by="staff", at=T0)
        await one.act(order.number, Action.dispatch, by="staff", at=T0, unit="区住建局")
        results = await asyncio.gather(
            one.act(order.number, Action.acknowledge, by="unit:1", at=T0 + timedelta(minutes=1)),
            two.act(order.number, Action.acknowledge, by="unit:2", at=T0 + timedelta(minutes=1)),
            return_exceptions=True,
        )
        wins = [r for r in results if isinstance(r, tuple)]
        losses = [r for r in results if isinstance(r, ConcurrentUpdate | TransitionError)]
        assert len(wins) == 1 and len(losses) == 1, results
        stored = await two.get(order.number)
        assert stored == wins[0][0] and stored is not None and stored.status is Status.in_progress
        acks = [e for e in await two.events(order.number) if e.action is Action.acknowledge]
        assert len(acks) == 1 and acks[0].by == wins[0][1].by


# --- crash safety ------------------------------------------------------------------------------------

FILER = """
import asyncio, sys
from datetime import datetime, timezone
from bot.filing import NewOrder
from bot.store import SqliteWorkOrderRepo, open_db
from bot.workorder import OrderType, Source, Urgency

async def main() -> None:
    async with await open_db(sys.argv[1]) as db:
        repo = SqliteWorkOrderRepo(db)
        while True:
            draft = NewOrder(type=OrderType.help, urgency=Urgency.urgent, source=Source.web,
                             content="停电影响生产，请尽快处理", petitioner="person:crash")
            order = await repo.file(draft, by="bot", at=datetime.now(timezone.utc))
            print(order.number, flush=True)  # the acknowledgement the petitioner would see

asyncio.run(main())
"""


async def test_a_process_killed_while_filing_leaves_whole_orders_or_none(db_path: Path) -> None:
    async with await open_db(db_path):  # create and migrate first, so the child only files
        pass
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", FILER, str(db_path), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    acknowledged: list[str] = []
    try:
        while len(acknowledged) < 20:
            line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
            assert line, "the filer exited early"
            acknowledged.append(line.decode().strip())
        proc.send_signal(signal.SIGKILL)
        rest, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    acknowledged += rest.decode().split()  # printed before the kill, read after it

    async with await open_db(db_path) as db:
        repo = SqliteWorkOrderRepo(db)
        for number in acknowledged:
            order = await repo.get(number)
            assert order is not None, number
            assert [e.action for e in await repo.events(number)] == [Action.file]
        await _assert_orders_and_events_agree(db)
        assert [tuple(r) for r in await db.fetchall("PRAGMA integrity_check")] == [("ok",)]
        stored = await repo.list(limit=10_000)
        assert len(stored) - len(acknowledged) in (0, 1)  # at most the one committed, not yet printed


async def _assert_orders_and_events_agree(db: Database) -> None:
    without_file = await db.fetchall(
        "SELECT number FROM work_orders w WHERE (SELECT count(*) FROM order_events e "
        "WHERE e.order_number = w.number AND e.action = 'file') != 1"
    )
    orphans = await db.fetchall(
        "SELECT id FROM order_events e WHERE NOT EXISTS "
        "(SELECT 1 FROM work_orders w WHERE w.number = e.order_number)"
    )
    assert without_file == [] and orphans == []
    assert await db.fetchall("PRAGMA foreign_key_check") == []


async def test_a_day_runs_out_of_numbers_cleanly(
    db: Database, repo: SqliteWorkOrderRepo, make_draft: Draft
) -> None:
    at = datetime(2026, 11, 26, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    first = await repo.file(make_draft(), by="web", at=at)
    async with db.transaction() as conn:
        await conn.execute("UPDATE order_sequences SET last = 9999 WHERE day = '2026-11-26'")
    with pytest.raises(StoreError, match="9999"):
        await repo.file(make_draft(), by="web", at=at)
    assert [o.number for o in await repo.list()] == [first.number]  # nothing half-filed
    assert len(await db.fetchall("SELECT * FROM order_events")) == 1
    assert not await db.fetchall("SELECT * FROM order_filings")  # the staging row never stays
    nxt = await repo.file(make_draft(), by="web", at=at + timedelta(days=1))
    assert nxt.number == "EQ-20261127-0001"
