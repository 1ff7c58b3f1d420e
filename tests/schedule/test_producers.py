"""What each work-order change schedules (bot.schedule.producers), on the real 2026 calendar.

Orders are filed and moved with `bot.filing.file_order` and `bot.transitions.apply`; the deadlines
are filled in the way `TicketService` does (派单 → 签收 limit, 签收 → 办结 limit, 延期 → + working
days, 重办 → a fresh 办结 limit), from the bundled `DeadlinePolicy` and calendar.

2026 around National Day (chinese_calendar): Mid-autumn 09-25…09-27 off, National Day 10-01…10-07
off, Sat 10-10 a make-up working day.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from bot.calendar_config import load_calendar
from bot.deadlines import DeadlinePolicy
from bot.filing import NewOrder, file_order
from bot.schedule.model import Audience, CatchUp, Item, Kind, Target
from bot.schedule.producers import (
    CENTRE,
    ScheduleSettings,
    ack_group,
    after_event,
    deadline_group,
    rating_buttons,
    rectify_group,
    superseded_by,
    visit_group,
    weekly_overdue_digest,
    work_time_between,
)
from bot.transitions import apply
from bot.workdays import WorkCalendar
from bot.workorder import (
    RATING_LABELS,
    SATISFIED,
    Action,
    Event,
    OrderType,
    Rating,
    Source,
    Status,
    Urgency,
    WorkOrder,
)

CST = timezone(timedelta(hours=8))
CAL = load_calendar()
POLICY = DeadlinePolicy.load()
SETTINGS = ScheduleSettings()
UNIT = "amr"
PERSON = "p-0001"
STAFF = "dispatcher"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST)


def filed(when: str, *, type: OrderType = OrderType.complaint, number: str = "EQ-20260924-0001") -> WorkOrder:
    draft = NewOrder(
        type=type,
        urgency=Urgency.worrying,
        source=Source.web,
        content="门店门口道路长期占道经营",
        petitioner=PERSON,
    )
    order, _ = file_order(draft, number=number, by=PERSON, at=at(when))
    return order


def step(
    order: WorkOrder, action: Action, when: str, profile: str | None = None, **params: Any
) -> tuple[WorkOrder, Event]:
    """`apply`, with the deadline TicketService would compute (an explicit one wins)."""
    t = at(when)
    if "deadline" not in params:
        due: datetime | None = None
        if action is Action.dispatch:
            due = _due("acknowledge", order, t, profile)
        elif action is Action.acknowledge:
            due = _due("resolve", order, t, profile)
        elif action is Action.approve_extension and order.extension_pending_days:
            due = CAL.add_workdays(order.deadline or t, order.extension_pending_days)
        elif action is Action.rate and Rating(str(params["rating"])) not in SATISFIED:
            due = _due("resolve", order, t, profile)
        if due is not None:
            params["deadline"] = due
    return apply(order, action, by=STAFF, at=t, **params)


def _due(stage: str, order: WorkOrder, start: datetime, profile: str | None) -> datetime | None:
    try:
        return POLICY.due(stage, order.type.value, order.urgency.value, start, CAL, profile)
    except LookupError:
        return None


def dispatched(when: str = "2026-09-24 09:30", **kw: Any) -> tuple[WorkOrder, Event]:
    order, _ = step(filed("2026-09-24 09:00", **kw), Action.accept, "2026-09-24 09:10")
    return step(order, Action.dispatch, when, unit=UNIT)


def acknowledged(when: str = "2026-09-28 10:00") -> tuple[WorkOrder, Event]:
    order, _ = dispatched()
    return step(order, Action.acknowledge, when)


def resolved(when: str = "2026-09-30 15:00") -> tuple[WorkOrder, Event]:
    order, _ = acknowledged()
    return step(order, Action.resolve, when, result="已约谈商户并清理占道")


def produce(order: WorkOrder, event: Event, settings: ScheduleSettings = SETTINGS) -> list[Item]:
    return after_event(order, event, CAL, POLICY, settings=settings)


def by_kind(items: list[Item], kind: Kind) -> list[Item]:
    return [i for i in items if i.kind is kind]


# -- 派单: 签收 reminders ------------------------------------------------------------------------------


def test_dispatch_reminds_the_unit_when_half_the_acknowledge_window_is_used_and_when_it_runs_out() -> None:
    # 签收 ≤24 h (clock_hours_rolling): Thu 2026-11-26 10:00 → Fri 10:00. Working time in between:
    # Thu 10–12, 13:30–17:30, Fri 9–10 = 7 h; half = 3.5 h → Thu 15:00.
    order, _ = step(filed("2026-11-26 09:00", number="EQ-20261126-0001"), Action.accept, "2026-11-26 09:30")
    order, event = step(order, Action.dispatch, "2026-11-26 10:00", unit=UNIT)
    assert order.deadline == at("2026-11-27 10:00")
    items = produce(order, event)
    assert [i.kind for i in items] == [Kind.ack_reminder, Kind.ack_reminder]
    assert [i.due_at for i in items] == [at("2026-11-26 15:00"), at("2026-11-27 10:00")]
    assert {i.target for i in items} == {Target("unit", UNIT)}
    assert {i.group for i in items} == {ack_group(order.number)}
    assert [i.payload["percent"] for i in items] == [50, 100]
    assert all(order.number in i.text for i in items)
    assert "过半" in items[0].text and "签收期限" in items[1].text


def test_acknowledge_window_over_a_weekend_counts_working_time_only() -> None:
    # Fri 2026-11-27 16:00 + 24 h = Sat 16:00 → rolled to Mon 11-30 16:00. Working time: Fri 1.5 h,
    # Mon 9–12 and 13:30–16:00 = 7 h in all; half = 3.5 h → Mon 11:00.
    order, _ = step(filed("2026-11-27 09:00", number="EQ-20261127-0001"), Action.accept, "2026-11-27 09:30")
    order, event = step(order, Action.dispatch, "2026-11-27 16:00", unit=UNIT)
    assert order.deadline == at("2026-11-30 16:00")
    assert [i.due_at for i in produce(order, event)] == [at("2026-11-30 11:00"), at("2026-11-30 16:00")]


def test_without_an_acknowledge_limit_one_reminder_after_the_configured_working_hours() -> None:
    # The 13710 profile sets no 签收 limit: the order keeps no deadline after 派单.
    settings = ScheduleSettings(profile="enterprise_13710")
    order, _ = step(filed("2026-09-30 09:00"), Action.accept, "2026-09-30 09:10", "enterprise_13710")
    order, event = step(order, Action.dispatch, "2026-09-30 16:30", "enterprise_13710", unit=UNIT)
    assert order.deadline is None
    (item,) = produce(order, event, settings)
    assert item.kind is Kind.ack_reminder
    assert item.due_at == at("2026-10-08 10:00")  # 1 h on 09-30, then National Day, then 1 h
    assert "2 个工作小时" in item.text and order.number in item.text
    (half_hour,) = produce(
        order, event, ScheduleSettings(profile="enterprise_13710", ack_reminder_work_hours=0.5)
    )
    assert half_hour.due_at == at("2026-09-30 17:00")


def test_a_window_without_working_time_is_cut_on_the_wall_clock() -> None:
    order, _ = step(filed("2026-10-03 09:00"), Action.accept, "2026-10-03 09:10")
    order, event = step(
        order, Action.dispatch, "2026-10-03 10:00", unit=UNIT, deadline=at("2026-10-03 20:00")
    )
    assert [i.due_at for i in produce(order, event)] == [at("2026-10-03 15:00"), at("2026-10-03 20:00")]


# -- 签收: the deadline plan -------------------------------------------------------------------------


def test_acknowledge_plans_warnings_at_50_80_100_percent_of_the_working_time_then_urge_and_supervise() -> (
    None
):
    # 投诉 10 working days from Mon 09-28 10:00: 09-29, 09-30, 10-08, 10-09, 10-10 (调休 Sat), 10-12 …
    # 10-16 → 10-16 17:30. Working time: 6 h on 09-28 + 10 days × 7 h = 76 h.
    order, event = acknowledged("2026-09-28 10:00")
    assert order.status is Status.in_progress and order.deadline == at("2026-10-16 17:30")
    assert work_time_between(CAL, event.at, order.deadline) == timedelta(hours=76)
    items = produce(order, event)
    warnings = by_kind(items, Kind.deadline_warning)
    assert [(w.payload["percent"], w.due_at) for w in warnings] == [
        (50, at("2026-10-10 14:30")),  # 38 h: 6 + 4 × 7 = 34, then 3 h + 1 h on the make-up Saturday
        (80, at("2026-10-14 16:18")),  # 60.8 h: 6 + 7 × 7 = 55, then 3 h + 2 h 48 min
        (100, at("2026-10-16 17:30")),
    ]
    (urge,) = by_kind(items, Kind.urge)
    assert urge.due_at == at("2026-10-19 09:00")  # the working day after Fri 10-16
    (supervise,) = by_kind(items, Kind.supervise)
    assert supervise.due_at == at("2026-10-20 09:00")  # 2nd working day after the deadline
    assert {w.target for w in [*warnings, urge]} == {Target("unit", UNIT)}
    assert supervise.target == Target("leader", UNIT)
    assert {i.group for i in items} == {deadline_group(order.number)}
    assert all(order.number in i.text for i in items)
    assert "80%" in warnings[1].text and "催办" in urge.text and "督办" in supervise.text
    assert all(i.payload["deadline"] == "2026-10-16T17:30:00+08:00" for i in items)
    assert all(i.due_at.tzinfo is CST for i in items)


def test_supervise_after_a_configured_number_of_working_days() -> None:
    order, event = acknowledged()
    (sup,) = by_kind(produce(order, event, ScheduleSettings(supervise_after_workdays=5)), Kind.supervise)
    assert sup.due_at == at("2026-10-23 09:00")  # 10-19, 20, 21, 22, 23
    assert sup.payload["workdays_overdue"] == 5 and "5 个工作日" in sup.text


def test_the_percent_instants_are_where_that_share_of_working_time_is_used() -> None:
    order, event = acknowledged()
    assert order.deadline is not None
    total = work_time_between(CAL, event.at, order.deadline)
    for w in by_kind(produce(order, event), Kind.deadline_warning):
        assert work_time_between(CAL, event.at, w.due_at) == total * w.payload["percent"] / 100


def test_a_deadline_already_past_gets_no_warnings_but_urge_and_supervise() -> None:
    order, _ = dispatched()
    order, event = step(order, Action.acknowledge, "2026-09-28 10:00", deadline=at("2026-09-25 17:30"))
    assert [i.kind for i in produce(order, event)] == [Kind.urge, Kind.supervise]


# -- 延期: re-planned ------------------------------------------------------------------------------


def test_approved_extension_replans_the_deadline_plan_for_the_new_deadline() -> None:
    order, ack_event = acknowledged()
    first = produce(order, ack_event)
    order, _ = step(order, Action.apply_extension, "2026-10-12 10:00", days=5)
    order, event = step(order, Action.approve_extension, "2026-10-13 10:00")
    assert order.deadline == at("2026-10-23 17:30")
    assert superseded_by(event) == [deadline_group(order.number)]
    items = produce(order, event)
    assert [i.kind for i in items] == [Kind.deadline_warning] * 3 + [Kind.urge, Kind.supervise]
    assert items[2].due_at == at("2026-10-23 17:30")
    # 10-13 10:00 → 10-23 17:30: 6 h + 8 × 7 h = 62 h; half = 31 h → 10-13 6 h + 3 days + 4 h → 10-19 14:30
    assert items[0].due_at == at("2026-10-19 14:30")
    assert by_kind(items, Kind.urge)[0].due_at == at("2026-10-26 09:00")
    assert {i.group for i in items} == {i.group for i in first}
    assert not {i.key for i in items} & {i.key for i in first}


# -- 办结: 回访 ------------------------------------------------------------------------------------


def test_resolve_before_national_day_visits_on_the_first_working_day_after_it() -> None:
    order, event = resolved("2026-09-30 15:00")
    items = produce(order, event)
    assert [(i.kind, i.due_at) for i in items] == [
        (Kind.visit, at("2026-10-08 09:00")),
        (Kind.visit_reminder, at("2026-10-09 09:00")),
        (Kind.visit_expire, at("2026-10-10 09:00")),  # the make-up Saturday is a working day
    ]
    visit, reminder, expire = items
    assert visit.target == reminder.target == Target("person", PERSON)
    assert visit.buttons == reminder.buttons == rating_buttons(order.number)
    assert [label for label, _ in visit.buttons] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    # the payloads the engine handles (bot/core/engine.py: `rv:<number>:<rating>`)
    assert [p for _, p in visit.buttons] == [f"rv:{order.number}:{r.value}" for r in Rating]
    assert "已约谈商户并清理占道" in visit.text
    assert expire.policy.audience is Audience.staff and expire.target == Target("unit", UNIT)
    assert expire.payload["record"] == "unrated" and not expire.buttons
    assert {i.group for i in items} == {visit_group(order.number)}
    assert all(order.number in i.text for i in items)


def test_resolve_on_a_friday_evening_visits_on_monday() -> None:
    order, _ = acknowledged()
    order, event = step(order, Action.resolve, "2026-10-16 21:00", result="已处理")
    assert [i.due_at for i in produce(order, event)] == [
        at("2026-10-19 09:00"),
        at("2026-10-20 09:00"),
        at("2026-10-21 09:00"),
    ]


# -- 评价 --------------------------------------------------------------------------------------------


def rated(rating: Rating, when: str = "2026-09-29 10:00") -> tuple[WorkOrder, Event]:
    order, _ = acknowledged("2026-09-28 09:00")
    order, _ = step(order, Action.resolve, "2026-09-28 16:00", result="已处理")
    order, _ = step(order, Action.start_visit, "2026-09-29 09:00")
    return step(order, Action.rate, when, rating=rating.value)


@pytest.mark.parametrize("rating", [Rating.unsatisfied, Rating.very_unsatisfied])
def test_unsatisfied_rating_escalates_now_and_revisits_after_15_working_days(rating: Rating) -> None:
    order, event = rated(rating, "2026-09-29 10:00")
    assert order.status is Status.in_progress and order.reopen_count == 1
    items = produce(order, event)
    (now_sup,) = [i for i in by_kind(items, Kind.supervise) if i.due_at == event.at]
    assert now_sup.target == Target("leader", UNIT)
    assert RATING_LABELS[rating] in now_sup.text and order.number in now_sup.text
    # 15 working days after Tue 09-29: 09-30, 10-08, 10-09, 10-10, 10-12 … 10-23, 10-26 → 10-26 17:30
    (visit,) = by_kind(items, Kind.rectify_visit)
    assert visit.due_at == at("2026-10-27 09:00")
    assert visit.target == Target("person", PERSON) and visit.group == rectify_group(order.number)
    assert visit.buttons == rating_buttons(order.number) and order.number in visit.text
    for item in (now_sup, visit):
        assert item.payload["owner"] == UNIT
        assert item.payload["rectify_deadline"] == "2026-10-26T17:30:00+08:00"
    # the redo's own 办结 clock (投诉 10 wd from 09-29 → 10-19) gets its warnings, 催办 and 督办
    assert order.deadline == at("2026-10-19 17:30")
    assert [w.due_at for w in by_kind(items, Kind.deadline_warning)][-1] == order.deadline
    assert len(by_kind(items, Kind.urge)) == 1 and len(by_kind(items, Kind.supervise)) == 2


def test_a_shorter_rectification_period_is_allowed() -> None:
    order, event = rated(Rating.unsatisfied)
    (visit,) = by_kind(produce(order, event, ScheduleSettings(rectify_workdays=5)), Kind.rectify_visit)
    # 5 working days after 09-29: 09-30, 10-08, 10-09, 10-10, 10-12 → the 回访 the working day after
    assert visit.payload["rectify_deadline"] == "2026-10-12T17:30:00+08:00"
    assert visit.due_at == at("2026-10-13 09:00")


@pytest.mark.parametrize("days", [16, 30, 0, -1])
def test_rectification_is_capped_at_15_working_days(days: int) -> None:
    with pytest.raises(ValueError, match="rectify_workdays"):
        ScheduleSettings(rectify_workdays=days)


@pytest.mark.parametrize("rating", sorted(SATISFIED))
def test_a_satisfied_rating_schedules_nothing_and_ends_the_visits(rating: Rating) -> None:
    order, event = rated(rating)
    assert order.status is Status.archived
    assert produce(order, event) == []
    assert superseded_by(event) == [visit_group(order.number), rectify_group(order.number)]


# -- supersession -------------------------------------------------------------------------------------


def test_acknowledge_supersedes_only_the_acknowledge_reminder() -> None:
    order, event = acknowledged()
    assert superseded_by(event) == [ack_group(order.number)]


def test_supersession_by_action() -> None:
    n = "EQ-20260924-0001"
    ack, plan, visit, rectify = ack_group(n), deadline_group(n), visit_group(n), rectify_group(n)
    order, dispatch = dispatched()
    assert superseded_by(dispatch) == [ack, plan]  # a (re-)dispatch starts a new 签收 clock
    order, _ = step(order, Action.acknowledge, "2026-09-28 10:00")
    _, returned = step(order, Action.return_, "2026-09-28 11:00", reason="not_our_duty")
    assert superseded_by(returned) == [ack, plan]
    _, withdrawn = step(order, Action.withdraw, "2026-09-28 11:00")
    _, merged = step(order, Action.merge, "2026-09-28 11:00", into="EQ-20260923-0009")
    rejected = step(filed("2026-09-28 09:00"), Action.reject, "2026-09-28 09:10", reason="litigation")[1]
    for event in (withdrawn, merged, rejected):
        assert superseded_by(event) == [ack, plan, visit, rectify]
    _, resolve = step(order, Action.resolve, "2026-09-30 15:00", result="已处理")
    assert superseded_by(resolve) == [ack, plan, rectify]
    _, bad = rated(Rating.very_unsatisfied)
    assert set(superseded_by(bad)) == {visit, rectify, plan}
    for quiet in (Action.urge, Action.supervise):
        assert superseded_by(step(order, quiet, "2026-09-29 10:00")[1]) == []


def test_superseded_groups_cover_every_item_the_earlier_events_planned() -> None:
    order, dispatch = dispatched()
    ack_items = produce(order, dispatch)
    order, ack_event = step(order, Action.acknowledge, "2026-09-28 10:00")
    assert {i.group for i in ack_items} <= set(superseded_by(ack_event))
    plan = produce(order, ack_event)
    order, resolve = step(order, Action.resolve, "2026-09-30 15:00", result="已处理")
    assert {i.group for i in plan} <= set(superseded_by(resolve))
    visits = produce(order, resolve)
    order, _ = step(order, Action.start_visit, "2026-10-08 09:00")
    _, rate = step(order, Action.rate, "2026-10-08 10:00", rating="satisfied")
    assert {i.group for i in visits} <= set(superseded_by(rate))


# -- keys ---------------------------------------------------------------------------------------------


def all_items() -> list[tuple[WorkOrder, Event, list[Item]]]:
    cases = [dispatched(), acknowledged(), resolved(), rated(Rating.unsatisfied)]
    return [(o, e, produce(o, e)) for o, e in cases]


def test_keys_are_deterministic_unique_and_name_kind_order_and_version() -> None:
    seen: set[str] = set()
    for order, event, items in all_items():
        assert items and produce(order, event) == items  # the same inputs give the same items
        for item in items:
            assert item.key.startswith(f"{item.kind}:{order.number}:{order.version}:")
            assert item.key not in seen
            assert item.payload["order"] == order.number
            seen.add(item.key)


def test_every_item_has_the_policy_of_its_audience() -> None:
    for _, _, items in all_items():
        for item in items:
            person = item.target.channel == "person"
            assert (item.policy.audience is Audience.petitioner) == person
            if item.kind in (Kind.ack_reminder, Kind.deadline_warning):
                assert item.policy.catch_up is CatchUp.merge and item.group


@pytest.mark.parametrize(
    ("action", "params"),
    [
        (Action.apply_extension, {"days": 3}),
        (Action.urge, {}),
        (Action.supervise, {}),
        (Action.reject_extension, {}),
    ],
)
def test_events_that_schedule_nothing(action: Action, params: dict[str, Any]) -> None:
    order, _ = acknowledged()
    if action is Action.reject_extension:
        order, _ = step(order, Action.apply_extension, "2026-09-29 09:00", days=3)
    assert produce(*step(order, action, "2026-09-29 10:00", **params)) == []


def test_an_event_of_another_order_is_refused() -> None:
    order, event = acknowledged()
    with pytest.raises(ValueError, match="does not belong"):
        produce(replace(order, number="EQ-20260924-0002"), event)


@pytest.mark.parametrize(
    "changes",
    [
        {"warning_percents": ()},
        {"warning_percents": (80, 50)},
        {"warning_percents": (50, 101)},
        {"supervise_after_workdays": 0},
        {"ack_reminder_work_hours": 0},
    ],
)
def test_settings_are_checked(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ScheduleSettings(**changes)


# -- the weekly 通报 --------------------------------------------------------------------------------


def test_weekly_digest_lists_overdue_open_orders_most_overdue_first() -> None:
    base, _ = acknowledged()
    assert base.deadline == at("2026-10-16 17:30")
    late = replace(base, number="EQ-20260924-0002")
    later = replace(base, number="EQ-20260924-0003", deadline=at("2026-10-09 17:30"), unit="tax")
    today = replace(base, number="EQ-20260924-0004", deadline=at("2026-10-22 09:00"))
    on_time = replace(base, number="EQ-20260924-0005", deadline=at("2026-10-30 17:30"))
    done = replace(base, number="EQ-20260924-0006", status=Status.awaiting_visit)
    closed = replace(base, number="EQ-20260924-0007", status=Status.archived)
    unacknowledged = replace(base, number="EQ-20260924-0008", status=Status.dispatched)
    now = at("2026-10-22 10:00")  # a Thursday, ISO week 43
    item = weekly_overdue_digest([late, later, today, on_time, done, closed, unacknowledged], now, CAL)
    assert item is not None
    assert item.kind is Kind.overdue_digest and item.due_at == now and item.target == CENTRE
    assert item.key == "overdue_digest:2026-W43"
    assert [(o["order"], o["workdays_overdue"]) for o in item.payload["orders"]] == [
        ("EQ-20260924-0003", 10),  # 10-10 (make-up Sat), 12 … 16, 19 … 22
        ("EQ-20260924-0002", 4),  # 10-19 … 10-22
        ("EQ-20260924-0008", 4),
        ("EQ-20260924-0004", 0),
    ]
    lines = item.text.splitlines()
    assert "4 件" in lines[0]
    assert lines[1:] == [
        "EQ-20260924-0003　tax　办结超期 10 个工作日",
        "EQ-20260924-0002　amr　办结超期 4 个工作日",
        "EQ-20260924-0008　amr　签收超期 4 个工作日",
        "EQ-20260924-0004　amr　办结超期不足 1 个工作日",
    ]
    # the same week gives the same key: scheduling it again on Friday is a no-op
    again = weekly_overdue_digest([late], at("2026-10-23 10:00"), CAL)
    assert again is not None and again.key == item.key


def test_weekly_digest_is_none_when_nothing_is_overdue() -> None:
    order, _ = acknowledged()
    assert weekly_overdue_digest([order], at("2026-10-16 17:30"), CAL) is None
    assert weekly_overdue_digest([], at("2026-10-16 17:30"), CAL) is None


def test_work_time_between_is_the_inverse_of_add_work_hours() -> None:
    cal = WorkCalendar()
    start = at("2026-09-30 11:15")
    for hours in (0.25, 1, 3, 7.5, 12, 40):
        assert work_time_between(cal, start, cal.add_work_hours(start, hours)) == timedelta(hours=hours)
    assert work_time_between(cal, start, start - timedelta(hours=1)) == timedelta()
