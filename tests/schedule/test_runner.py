"""The scheduler end to end: orders change, notices are scheduled in the same transaction, a
pass (on the test clock) delivers them to the petitioner's web chat exactly once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from bot.schedule.model import Item, Kind, State, Target
from bot.workorder import Action
from tests.schedule.conftest import CLOSED, IN_PROGRESS


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
    # Dropped with a record: the stale polls (> 3 days late: ours and the monthly round, due on
    # 11-02 and only scheduled now) and the older of the two 签收 reminders the 派单 planned (50 %
    # and 100 % of the 签收 window: only the newest is worth sending).
    assert first.dropped == 3
    dropped = await env.db.fetchall("SELECT key, note FROM schedule WHERE state = 'dropped' ORDER BY key")
    assert [(r["key"].split(":")[0], r["note"].split(":")[0].split(" ")[0]) for r in dropped] == [
        ("ack_reminder", "merged"),
        ("poll", "stale"),
        ("poll", "stale"),
    ]
    [reminder] = await env.db.fetchall("SELECT kind, unit FROM staff_inbox")
    assert tuple(reminder) == ("ack_reminder", "区住建局")
    assert await env.scheduler.tick() == type(first)()  # a second pass finds nothing
    texts = await env.pending(token)
    assert [("已受理" in t, "已转交" in t) for t in texts if order.number in t] == [
        (True, False),
        (False, True),
    ]
    assert first.sent == 3  # those two notices and the 签收 reminder
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


async def test_the_visit_after_closing_arrives_next_working_day_and_can_be_answered(env: Any) -> None:
    token, person = await env.web_user()
    order = await env.file_for(person)
    env.clock.now = env.at("2026-11-27T15:00")  # a Friday afternoon
    await env.walk(order.number, CLOSED)
    await env.scheduler.tick()
    await env.pending(token)  # the notices (受理, 办结) read

    env.clock.now = env.at("2026-11-30T08:59")  # Monday, just before the 回访
    assert (await env.scheduler.tick()).sent == 0
    env.clock.now = env.at("2026-11-30T09:00")
    await env.scheduler.tick()
    r = await env.client.get("/api/messages/pending", headers=env.auth(token))
    [visit] = r.json()["messages"]
    assert order.number in visit["text"]
    payloads = [b["payload"] for b in visit["buttons"]]
    assert payloads[0] == f"rv:{order.number}:very_satisfied" and len(payloads) == 5

    r = await env.client.post("/api/messages", json={"button": payloads[1]}, headers=env.auth(token))
    assert "感谢您的评价" in r.json()["replies"][0]["text"]
    rated = await env.tickets.get(order.number)
    assert rated.rating is not None and rated.rating.value == "satisfied"
    states = await env.states()
    assert [s for k, s in states.items() if k.startswith(("visit_reminder", "visit_expire"))] == [
        "dropped",
        "dropped",
    ]  # answered: no reminder, no 未评价


async def test_an_unanswered_visit_gets_one_reminder_then_is_archived_unrated(env: Any) -> None:
    token, person = await env.web_user()
    order = await env.file_for(person)
    env.clock.now = env.at("2026-11-27T15:00")  # Friday: 回访 Monday, reminder Tuesday, 未评价 Wednesday
    await env.walk(order.number, CLOSED)
    seen: list[str] = []
    for day in ("2026-11-30", "2026-12-01", "2026-12-02"):
        env.clock.now = env.at(f"{day}T10:00")
        await env.scheduler.tick()
        seen += await env.pending(token)
    visits = [t for t in seen if t.startswith("【回访") and order.number in t]
    assert len(visits) == 2  # the 回访 and its one reminder, nothing more
    archived = await env.tickets.get(order.number)
    assert archived.status.value == "archived" and archived.rating is None  # 未评价: no rating invented
    events = await env.tickets.repo.events(order.number)
    assert events[-1].action is Action.close_unrated and events[-1].by == "scheduler"
    [expired] = await env.db.fetchall("SELECT kind FROM staff_inbox WHERE kind = 'visit_expire'")
    assert expired["kind"] == "visit_expire"  # the unit is told too


async def test_the_weekly_overdue_list_goes_out_once_a_week(env: Any) -> None:
    _, person = await env.web_user()
    late = await env.file_for(person)
    env.clock.now = env.at("2026-11-23T10:00")  # a Monday: dispatched, never signed for
    await env.tickets.act(late.number, Action.accept, by="staff:1", at=env.clock())
    await env.tickets.act(late.number, Action.dispatch, by="staff:1", at=env.clock(), unit="区住建局")

    env.clock.now = env.at("2026-11-30T08:30")  # next Monday, before opening: not yet
    assert not await env.scheduler.plan_weekly_digest(env.clock())
    env.clock.now = env.at("2026-11-30T09:00")
    await env.scheduler.run_due()
    rows = await env.db.fetchall("SELECT text FROM staff_inbox WHERE kind = 'overdue_digest'")
    assert len(rows) == 1 and late.number in rows[0]["text"] and "区住建局" in rows[0]["text"]
    [summary] = await env.db.fetchall("SELECT audience, text FROM staff_inbox WHERE kind = 'weekly_summary'")
    assert summary["audience"] == "leader"  # the weekly summary for the leaders, same morning
    assert (
        "【12345 工单周报】2026-11-23 至 2026-11-29" in summary["text"] and "全区受理 1 件" in summary["text"]
    )
    env.clock.now = env.at("2026-12-02T11:00")  # later the same week: not again
    await env.restart()  # not even after a restart (the week's key is stored)
    assert not await env.scheduler.plan_weekly_digest(env.clock())


async def test_a_late_order_is_urged_then_supervised_and_both_are_on_its_record(env: Any) -> None:
    _, person = await env.web_user()
    order = await env.file_for(person)
    await env.walk(order.number, IN_PROGRESS)
    deadline = (await env.tickets.get(order.number)).deadline
    assert deadline is not None
    day = env.clock().date()
    for _ in range(20):  # every morning for four weeks, nobody closes it
        day += timedelta(days=1)
        env.clock.now = env.at(f"{day.isoformat()}T09:05")
        await env.scheduler.run_due()
    events = [e for e in await env.tickets.repo.events(order.number) if e.by == "scheduler"]
    urge, supervise = (next(e for e in events if e.action is a) for a in (Action.urge, Action.supervise))
    calendar = env.scheduler.calendar
    assert urge.at.date() == calendar.next_workday(deadline.date())  # 催办: the working day after
    assert supervise.at.date() == calendar.next_workday(calendar.next_workday(deadline.date()))
    late = await env.tickets.get(order.number)
    assert late.urge_count == 1 and late.supervised
    kinds = [r["kind"] for r in await env.db.fetchall("SELECT kind FROM staff_inbox ORDER BY id")]
    assert kinds.count("urge") == 1 and kinds.count("supervise") == 1
    assert kinds.count("deadline_warning") >= 1


async def test_a_bad_rating_tells_the_leader_and_plans_a_second_visit(env: Any) -> None:
    _, person = await env.web_user()
    order = await env.file_for(person)
    await env.walk(
        order.number,
        [
            (Action.accept, {}),
            (Action.dispatch, {"unit": "urban"}),
            (Action.acknowledge, {}),
            (Action.resolve, {"result": "已清理。"}),
            (Action.start_visit, {}),
            (Action.rate, {"rating": "unsatisfied"}),
        ],
    )
    await env.scheduler.tick()
    [told] = await env.db.fetchall("SELECT audience, unit, text FROM staff_inbox WHERE kind = 'supervise'")
    assert (told["audience"], told["unit"]) == ("leader", "urban")
    assert "二七区城市管理局" in told["text"] and "整改期限" in told["text"]  # the owner, by name
    [rectify] = await env.db.fetchall("SELECT due_at, payload FROM schedule WHERE kind = 'rectify_visit'")
    assert '"owner": "urban"' in rectify["payload"]

    # Not redone by the rectification deadline: the second 回访 waits for its 办结 instead.
    env.clock.now = env.at(rectify["due_at"][:16])
    await env.scheduler.run_due()
    [dropped] = await env.db.fetchall("SELECT state, note FROM schedule WHERE kind = 'rectify_visit'")
    assert dropped["state"] == "dropped" and "整改尚未办结" in dropped["note"]
    await env.tickets.act(order.number, Action.resolve, by="staff:1", at=env.clock(), result="已重新清理。")
    visits = await env.db.fetchall("SELECT key FROM schedule WHERE kind = 'visit' AND state = 'pending'")
    assert len(visits) == 1  # the 回访 of the redone work


async def test_the_running_scheduler_catches_up_at_start_and_wakes_when_poked(env: Any) -> None:
    """The APScheduler wiring `yiqiban run` uses: a pass at start-up, then one soon after a poke
    (the only test here that lets a real timer fire: APScheduler runs on the wall clock)."""
    token, person = await env.web_user()
    old = Item(Kind.notice, Target("person", person), env.clock(), "启动前到期的通知", "n:old")
    await env.scheduler.store.add([old], env.clock())
    await env.scheduler.start(safety_interval_s=3600)
    try:
        assert await env.pending(token) == ["启动前到期的通知"]  # caught up by the start-up pass
        new = Item(Kind.notice, Target("person", person), env.clock(), "新排入的通知", "n:new")
        await env.scheduler.store.add([new], env.clock())
        env.scheduler.poke()
        await asyncio.wait_for(env.scheduler.next_pass(), 10)  # APScheduler runs it, not the test
        assert await env.pending(token) == ["新排入的通知"]
    finally:
        await env.scheduler.stop()


async def test_a_pass_repeated_after_a_crash_does_not_urge_twice(env: Any, monkeypatch: Any) -> None:
    _, person = await env.web_user()
    order = await env.file_for(person)
    await env.walk(order.number, IN_PROGRESS)
    [row] = await env.db.fetchall("SELECT due_at FROM schedule WHERE kind = 'urge'")
    env.clock.now = env.at(row["due_at"][:16])
    real_settle = env.scheduler.store.settle

    async def crash(*args: Any, **kwargs: Any) -> Any:  # the process dies after the 催办 was
        raise RuntimeError("killed")  # recorded on the order, before the pass recorded anything

    monkeypatch.setattr(env.scheduler.store, "settle", crash)
    with pytest.raises(RuntimeError):
        await env.scheduler.tick()
    monkeypatch.setattr(env.scheduler.store, "settle", real_settle)
    await env.scheduler.run_due()
    late = await env.tickets.get(order.number)
    assert late.urge_count == 1
    assert (await env.states())[next(k for k in await env.states() if k.startswith("urge:"))] == "sent"
