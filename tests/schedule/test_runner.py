"""The scheduler end to end: orders change, notices are scheduled in the same transaction, a
pass (on the test clock) delivers them to the petitioner's web chat exactly once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.schedule.model import Item, Kind, State, Target
from bot.workorder import Action


async def test_a_notice_reaches_the_web_chat_once(env: Any) -> None:
    token, person = await env.web_user()
    order = await env.file_for(person)
    await env.tickets.act(order.number, Action.accept, by="staff:1", at=env.clock())
    key = next(k for k in await env.states() if k.startswith("notice:"))
    assert (await env.states())[key] == "pending"  # scheduled with the change itself

    tick = await env.scheduler.tick()
    assert tick.sent == 1
    [text] = await env.pending(token)
    assert order.number in text and "已受理" in text
    assert (await env.states())[key] == "sent"
    delivered = await env.db.fetchone("SELECT delivered_at FROM notices")
    assert delivered["delivered_at"] is not None

    assert (await env.scheduler.tick()).sent == 0  # nothing twice
    assert await env.pending(token) == []


async def test_quiet_hours_hold_a_notice_until_the_morning(env: Any) -> None:
    token, person = await env.web_user()
    order = await env.file_for(person)
    env.clock.now = env.at("2026-11-26T22:15")
    await env.tickets.act(order.number, Action.accept, by="staff:1", at=env.clock())

    tick = await env.scheduler.tick()
    assert (tick.sent, tick.deferred) == (0, 1)
    assert await env.pending(token) == []
    [item] = await env.scheduler.store.listing([State.pending])
    assert item.due_at == env.at("2026-11-27T08:00") and item.note == "quiet hours"

    env.clock.now = env.at("2026-11-27T07:59")
    assert (await env.scheduler.tick()).sent == 0
    env.clock.now = env.at("2026-11-27T08:00")
    assert (await env.scheduler.tick()).sent == 1
    assert len(await env.pending(token)) == 1


async def test_after_two_days_down_everything_due_goes_out_once(env: Any) -> None:
    token, person = await env.web_user()
    order = await env.file_for(person)
    await env.tickets.act(order.number, Action.accept, by="staff:1", at=env.clock())
    env.clock.advance(hours=1)
    await env.tickets.act(order.number, Action.dispatch, by="staff:1", at=env.clock(), unit="区住建局")
    stale_poll = Item(Kind.poll, Target("person", person), env.clock(), "请为本月服务打分", "poll:2026-11")
    await env.scheduler.store.add([stale_poll], env.clock())

    await env.restart()  # down from Thursday 11:00 …
    env.clock.advance(days=4)  # … to Monday 11:00: four days, two of them a weekend
    first = await env.scheduler.tick()
    assert first.dropped == 1  # the poll is stale (> 3 days): dropped, with a record
    assert await env.scheduler.tick() == type(first)()  # a second pass finds nothing
    texts = await env.pending(token)
    assert sum(order.number in t for t in texts) == first.sent >= 1
    states = await env.states()
    assert states["poll:2026-11"] == "dropped"
    assert all(s in ("sent", "dropped") for s in states.values())


async def test_staff_items_go_to_the_staff_inbox_exactly_once(env: Any) -> None:
    _, person = await env.web_user()
    order = await env.file_for(person)
    warning = Item(
        Kind.deadline_warning,
        Target("unit", "urban"),
        env.clock() - timedelta(minutes=1),
        f"工单 {order.number} 已用去办理时限的 80%",
        f"deadline_warning:{order.number}:80",
        group=f"deadline:{order.number}",
        payload={"order": order.number},
    )
    assert await env.scheduler.store.add([warning, warning], env.clock()) == 1  # keyed: once
    env.clock.now = env.at("2026-11-28T23:00")  # a Saturday night: staff items are not held
    assert (await env.scheduler.tick()).sent == 1
    rows = await env.db.fetchall("SELECT unit, kind, text, order_number FROM staff_inbox")
    assert [tuple(r) for r in rows] == [("urban", "deadline_warning", warning.text, order.number)]
    assert (await env.scheduler.tick()).sent == 0


async def test_a_person_reachable_only_in_the_terminal_is_a_recorded_failure(env: Any) -> None:
    person = (await env.core.deps.people.create(at=env.clock())).id
    item = Item(Kind.visit, Target("person", person), env.clock(), "请评价", "visit:x")
    await env.scheduler.store.add([item], env.clock())
    assert (await env.scheduler.tick()).failed == 1
    [failed] = await env.scheduler.store.listing([State.failed])
    assert "没有可以送达的渠道" in failed.note
