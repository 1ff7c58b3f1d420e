"""Which scheduled pushes a work-order change creates, and which pending ones it makes pointless.

Pure: no I/O and no clock. The order (as it stands after the event), its audit `Event`, the
`WorkCalendar` and the `DeadlinePolicy` are passed in, and so is `now` where one is needed.

The clocks follow `bot.tickets`, the one place that decides which action starts which clock:
派单 starts the 签收 clock (after a dispatch `order.deadline` is the 签收 deadline), 签收 starts
the 办结 clock (after an acknowledge `order.deadline` is the 办结 deadline), an approved 延期
moves it, and an unsatisfied 回访 (重办) gives the unit a fresh 办结 clock. So:

- 派单 dispatch: `ack_reminder` to the unit at 50 % and 100 % of the 签收 window;
- 签收 acknowledge: the deadline plan, i.e. `deadline_warning` at 50 / 80 / 100 % of the 办结 window
  (working time), `urge` (催办) and `supervise` (督办, to the leader);
- 批准延期 approve_extension: the deadline plan again, for the rest of the window up to the new deadline;
- 办结 resolve: `visit` (回访) the next working day, `visit_reminder`, `visit_expire`;
- 评价 不满意 / 非常不满意 (重办): `supervise` to the leader at once, `rectify_visit` after the
  rectification deadline, and the deadline plan of the redo.

Every item has a deterministic `key` (`kind:number:version:what`), so producing the items of one
event twice schedules them once. Items that a later event can make pointless share a `group` per
order (`ack:`, `deadline:`, `visit:`, `rectify:` + number), and `superseded_by(event)` names the
groups to cancel. The caller must cancel BEFORE it adds the event's own items: a re-plan (延期,
重办) adds new items into the group it cancels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bot.deadlines import DeadlinePolicy
from bot.dispatch import unit_name
from bot.schedule.model import Item, Kind, Target
from bot.workdays import WorkCalendar
from bot.workorder import (
    RATING_LABELS,
    TYPE_LABELS,
    Action,
    Event,
    Rating,
    Status,
    WorkOrder,
)

MAX_RECTIFY_WORKDAYS = 15  # 好差评: a 差评 is rectified within 15 working days (anchors.md, G9)
CENTRE = Target("leader", "centre")  # the 12345 centre's staff desk: the weekly 通报 goes there

# Statuses in which a unit still owes the work: only these can be overdue. A resolved order
# awaiting its 回访 is not late any more, whatever its old deadline said.
_OWED = frozenset({Status.pending, Status.accepted, Status.dispatched, Status.in_progress})
_DIGEST_LINES = 50  # lines listed in the text; the payload always carries every order


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    """The scheduling rules that are policy, not code. Quiet hours live in `bot.schedule.quiet`.

    - `ack_reminder_work_hours`: when the deadline policy sets no 签收 limit, the 签收 reminder goes
      out after this much working time since 派单;
    - `warning_percents`: the points of the 办结 window (working time) at which the unit is warned;
    - `supervise_after_workdays`: 督办 goes to the leader at the opening of the n-th working day
      after the deadline's day (催办 is the first working day after it);
    - `rectify_workdays`: a 差评's rectification deadline, in working days after the rating (≤ 15);
    - `profile`: the deadline profile (None: the policy's default), as in `TicketService`.
    """

    ack_reminder_work_hours: float = 2.0
    warning_percents: tuple[int, ...] = (50, 80, 100)
    supervise_after_workdays: int = 2
    rectify_workdays: int = 15
    profile: str | None = None

    def __post_init__(self) -> None:
        if not self.ack_reminder_work_hours > 0:
            raise ValueError(f"ack_reminder_work_hours must be > 0, got {self.ack_reminder_work_hours}")
        pcts = self.warning_percents
        if not pcts or any(not 0 < p <= 100 for p in pcts) or list(pcts) != sorted(set(pcts)):
            raise ValueError(f"warning_percents must be increasing values in 1..100, got {pcts}")
        if self.supervise_after_workdays < 1:
            raise ValueError(f"supervise_after_workdays must be >= 1, got {self.supervise_after_workdays}")
        if not 1 <= self.rectify_workdays <= MAX_RECTIFY_WORKDAYS:
            raise ValueError(
                f"rectify_workdays must be in 1..{MAX_RECTIFY_WORKDAYS} (差评整改不超过 "
                f"{MAX_RECTIFY_WORKDAYS} 个工作日), got {self.rectify_workdays}"
            )


# -- groups and keys ------------------------------------------------------------------------------


def ack_group(number: str) -> str:
    """The 签收 reminders of one order."""
    return f"ack:{number}"


def deadline_group(number: str) -> str:
    """The deadline plan of one order: warnings (merged on catch-up), 催办 and 督办."""
    return f"deadline:{number}"


def visit_group(number: str) -> str:
    """The 回访, its reminder and its expiry."""
    return f"visit:{number}"


def rectify_group(number: str) -> str:
    """The second 回访 after a 差评."""
    return f"rectify:{number}"


def _key(kind: Kind, order: WorkOrder, what: str) -> str:
    return f"{kind}:{order.number}:{order.version}:{what}"


def superseded_by(event: Event) -> list[str]:
    """The groups whose pending items `event` makes pointless (for `ScheduleStore.cancel`).

    - 签收: the 签收 reminders;
    - 派单 (a new or a re-dispatch), 退单: the 签收 reminders and the deadline plan;
    - 批准延期: the deadline plan (re-planned by `after_event` for the new deadline);
    - 办结: the 签收 reminders, the deadline plan and a pending `rectify_visit` (the 回访 of the
      redone work is the second 回访: one message, not two);
    - 评价: the 回访 items and the `rectify_visit`; after 不满意 also the deadline plan;
    - 未评价归档: the 回访 items and the `rectify_visit`;
    - 不予受理, 撤销, 合并: everything pending for the order.
    An immediate 督办 after a 差评 is in no group: it is never cancelled.
    """
    n = event.order_number
    ack, plan, visit, rectify = ack_group(n), deadline_group(n), visit_group(n), rectify_group(n)
    match event.action:
        case Action.acknowledge:
            return [ack]
        case Action.dispatch | Action.return_:
            return [ack, plan]
        case Action.approve_extension:
            return [plan]
        case Action.resolve:
            return [ack, plan, rectify]
        case Action.rate:
            return [visit, rectify, plan] if event.get("reopened") is True else [visit, rectify]
        case Action.close_unrated:
            return [visit, rectify]
        case Action.reject | Action.withdraw | Action.merge:
            return [ack, plan, visit, rectify]
        case _:
            return []


# -- working-time arithmetic ----------------------------------------------------------------------


def work_time_between(calendar: WorkCalendar, start: datetime, end: datetime) -> timedelta:
    """Working time (office-hours blocks on working days) in [start, end]; zero if end <= start.

    The inverse of `WorkCalendar.add_work_hours`: `add_work_hours(start, h)` is the first moment `t`
    with `work_time_between(start, t) == h` hours.
    """
    total = timedelta()
    day = start.date()
    while day <= end.date():
        if calendar.is_workday(day):
            for open_t, close_t in calendar.hours:
                lo = max(datetime.combine(day, open_t, tzinfo=start.tzinfo), start)
                hi = min(datetime.combine(day, close_t, tzinfo=start.tzinfo), end)
                if hi > lo:
                    total += hi - lo
        day += timedelta(days=1)
    return total


def _point(calendar: WorkCalendar, start: datetime, end: datetime, percent: int) -> datetime:
    """The moment `percent` % of the window start → end is used, in working time.

    100 % is `end` itself (a deadline may lie outside office hours, e.g. a 24 h 签收 limit). A
    window with no working time in it (an emergency's clock-hour limit at night) is cut on the
    wall clock instead.
    """
    if percent >= 100:
        return end
    work = work_time_between(calendar, start, end)
    if not work:
        return start + (end - start) * percent / 100
    seconds = int(work.total_seconds()) * percent // 100
    return calendar.add_work_hours(start, seconds / 3600)


def _opening(calendar: WorkCalendar, day: date, like: datetime) -> datetime:
    """Start of office hours (09:00 by default) on `day`, in `like`'s tzinfo."""
    return datetime.combine(day, calendar.hours[0][0], tzinfo=like.tzinfo)


def _nth_workday_after(calendar: WorkCalendar, day: date, n: int) -> date:
    for _ in range(n):
        day = calendar.next_workday(day)
    return day


def _fmt(when: datetime) -> str:
    return f"{when:%Y年%m月%d日 %H:%M}"


# -- the producers --------------------------------------------------------------------------------


def after_event(
    order: WorkOrder,
    event: Event,
    calendar: WorkCalendar,
    policy: DeadlinePolicy,
    *,
    settings: ScheduleSettings,
) -> list[Item]:
    """The items `event` causes; `order` is the order as the event left it (its new version).

    Cancel `superseded_by(event)` first, then add these. Events that cause nothing (受理, 申请延期,
    a satisfied 评价 …) return []. Raises ValueError if the event is not about `order`.
    """
    if event.order_number != order.number:
        raise ValueError(f"event of {event.order_number} does not belong to order {order.number}")
    match event.action:
        case Action.dispatch:
            return _ack_reminders(order, event, calendar, policy, settings)
        case Action.acknowledge | Action.approve_extension:
            return _deadline_plan(order, event.at, calendar, settings)
        case Action.resolve:
            return _visits(order, event, calendar)
        case Action.rate if event.get("reopened") is True:
            return _redo(order, event, calendar, settings)
        case _:
            return []


def _make(
    kind: Kind,
    order: WorkOrder,
    what: str,
    to: Target,
    at: datetime,
    text: str,
    group: str,
    payload: dict[str, Any],
    buttons: tuple[tuple[str, str], ...] = (),
) -> Item:
    return Item(kind, to, at, text, _key(kind, order, what), group, buttons, payload)


def _ack_reminders(
    order: WorkOrder, event: Event, calendar: WorkCalendar, policy: DeadlinePolicy, s: ScheduleSettings
) -> list[Item]:
    """签收 reminders: at 50 % of the 签收 window (working time) and when it runs out. Without a 签收
    limit (none stored on the order, none in the policy), one reminder after
    `s.ack_reminder_work_hours` of working time."""
    if order.unit is None:
        return []
    n, to, group = order.number, Target("unit", order.unit), ack_group(order.number)
    kind, typ, urgency = Kind.ack_reminder, order.type.value, order.urgency.value
    due = order.deadline  # TicketService stores the 签收 deadline here at 派单 (or the operator's)
    if due is None and policy.limit("acknowledge", typ, urgency, s.profile) is not None:
        due = policy.due("acknowledge", typ, urgency, event.at, calendar, s.profile)
    base: dict[str, Any] = {"order": n, "version": order.version, "unit": order.unit}
    what = f"{TYPE_LABELS[order.type]}工单 {n}"
    if due is None or due <= event.at:
        at = calendar.add_work_hours(event.at, s.ack_reminder_work_hours)
        hours = f"{s.ack_reminder_work_hours:g}"
        text = f"【签收提醒】{what} 已派至贵单位 {hours} 个工作小时，尚未签收，请尽快签收。"
        return [_make(kind, order, "default", to, at, text, group, {**base, "percent": None})]
    base["ack_deadline"] = due.isoformat()
    half = _point(calendar, event.at, due, 50)
    text_half = f"【签收提醒】{what} 已派至贵单位，签收时限已过半，请于 {_fmt(due)} 前签收。"
    text_due = f"【签收超时】{what} 已到签收期限（{_fmt(due)}），请立即签收；确非本单位职责请按规定退单。"
    return [
        _make(kind, order, "50", to, half, text_half, group, {**base, "percent": 50}),
        _make(kind, order, "100", to, due, text_due, group, {**base, "percent": 100}),
    ]


def _deadline_plan(
    order: WorkOrder, start: datetime, calendar: WorkCalendar, s: ScheduleSettings
) -> list[Item]:
    """Warnings at `s.warning_percents` of the window start → `order.deadline` (working time), 催办
    at the opening of the first working day after the deadline's day and 督办 to the leader at the
    opening of the `s.supervise_after_workdays`-th. If the deadline is already past at `start`, the
    warnings are left out (催办 and 督办 still come)."""
    deadline = order.deadline
    if order.unit is None or deadline is None:
        return []
    n, unit, group = order.number, order.unit, deadline_group(order.number)
    base: dict[str, Any] = {
        "order": n,
        "version": order.version,
        "unit": unit,
        "deadline": deadline.isoformat(),
    }
    items: list[Item] = []
    for pct in s.warning_percents if deadline > start else ():
        if pct >= 100:
            text = f"【到期提醒】工单 {n} 已到办结期限（{_fmt(deadline)}），请立即办结或说明情况。"
        else:
            text = (
                f"【时限预警】工单 {n} 办理时限已用 {pct}%，办结期限为 {_fmt(deadline)}，"
                "请抓紧办理；确需延期请及时申请。"
            )
        at = _point(calendar, start, deadline, pct)
        payload = {**base, "percent": pct}
        items.append(
            _make(Kind.deadline_warning, order, str(pct), Target("unit", unit), at, text, group, payload)
        )
    urge_at = _opening(calendar, calendar.next_workday(deadline.date()), deadline)
    urge_text = f"【催办】工单 {n} 已超过办结期限（{_fmt(deadline)}）仍未办结，请立即办理并反馈进展。"
    items.append(_make(Kind.urge, order, "overdue", Target("unit", unit), urge_at, urge_text, group, base))
    k = s.supervise_after_workdays
    sup_at = _opening(calendar, _nth_workday_after(calendar, deadline.date(), k), deadline)
    sup_text = (
        f"【督办】工单 {n} 超过办结期限（{_fmt(deadline)}）{k} 个工作日仍未办结，"
        f"承办单位：{unit}，请督促办理。"
    )
    sup_payload = {**base, "workdays_overdue": k}
    items.append(
        _make(
            Kind.supervise, order, f"overdue{k}", Target("leader", unit), sup_at, sup_text, group, sup_payload
        )
    )
    return items


def rating_buttons(number: str) -> tuple[tuple[str, str], ...]:
    """The five 好差评 levels, best first, as the engine reads them (`rv:<number>:<rating>`)."""
    return tuple((label, f"rv:{number}:{r.value}") for r, label in RATING_LABELS.items())


def _visits(order: WorkOrder, event: Event, calendar: WorkCalendar) -> list[Item]:
    """回访 at the opening of the working day after 办结, one reminder a working day later, and
    the expiry (recorded as 未评价, staff only) a further working day later."""
    n, group, buttons = order.number, visit_group(order.number), rating_buttons(order.number)
    person = Target("person", order.petitioner)
    day1 = calendar.next_workday(event.at.date())
    day2 = calendar.next_workday(day1)
    day3 = calendar.next_workday(day2)
    base: dict[str, Any] = {"order": n, "version": order.version}
    result = f"办理结果：{order.result}\n" if order.result else ""
    visit_text = f"【回访】您的工单 {n} 已办结。\n{result}请对办理情况进行评价："
    remind_text = f"【回访提醒】您的工单 {n} 尚未评价，请点击下方按钮对办理情况进行评价。"
    expire_text = f"【未评价】工单 {n} 回访期满，诉求人未作评价，记为“未评价”。"
    staff = Target("unit", order.unit) if order.unit else CENTRE
    expire_payload = {**base, "record": "unrated", "unit": order.unit}
    return [
        _make(
            Kind.visit,
            order,
            "1",
            person,
            _opening(calendar, day1, event.at),
            visit_text,
            group,
            base,
            buttons,
        ),
        _make(
            Kind.visit_reminder,
            order,
            "1",
            person,
            _opening(calendar, day2, event.at),
            remind_text,
            group,
            base,
            buttons,
        ),
        _make(
            Kind.visit_expire,
            order,
            "1",
            staff,
            _opening(calendar, day3, event.at),
            expire_text,
            group,
            expire_payload,
        ),
    ]


def _redo(order: WorkOrder, event: Event, calendar: WorkCalendar, s: ScheduleSettings) -> list[Item]:
    """重办 after 不满意 / 非常不满意: the leader hears at once (督办, due at the rating), the petitioner
    gets a second 回访 at the opening of the working day after the rectification deadline
    (`s.rectify_workdays` working days after the rating), and the unit's new 办结 clock gets its
    deadline plan. The payloads name the follow-up owner (the unit) and the rectification deadline."""
    n, unit = order.number, order.unit
    rectify_by = calendar.add_workdays(event.at, s.rectify_workdays)
    rating = Rating(str(event.get("rating")))
    label = RATING_LABELS[rating]
    base: dict[str, Any] = {
        "order": n,
        "version": order.version,
        "owner": unit,
        "rectify_deadline": rectify_by.isoformat(),
        "rating": rating.value,
        "reopen_count": order.reopen_count,
    }
    items: list[Item] = []
    if unit is not None:
        text = (
            f"【差评督办】工单 {n} 回访评价为“{label}”，已退回承办单位重办。整改责任单位：{unit_name(unit)}，"
            f"整改期限：{_fmt(rectify_by)}，请督促整改。"
        )
        items.append(_make(Kind.supervise, order, "redo", Target("leader", unit), event.at, text, "", base))
    visit_at = _opening(calendar, calendar.next_workday(rectify_by.date()), event.at)
    visit_text = (
        f"【整改回访】您对工单 {n} 的评价为“{label}”，整改期限（{_fmt(rectify_by)}）已到。"
        "请对整改后的办理情况再次评价："
    )
    person = Target("person", order.petitioner)
    items.append(
        _make(
            Kind.rectify_visit,
            order,
            "1",
            person,
            visit_at,
            visit_text,
            rectify_group(n),
            base,
            rating_buttons(n),
        )
    )
    return [*items, *_deadline_plan(order, event.at, calendar, s)]


def weekly_overdue_digest(
    orders: Sequence[WorkOrder], now: datetime, calendar: WorkCalendar, *, to: Target = CENTRE
) -> Item | None:
    """One `overdue_digest` (通报) listing the orders still owed by a unit whose deadline has passed
    by `now` (a dispatched order's deadline is its 签收 deadline, an order in progress its 办结
    deadline), most overdue first, with the working days overdue (`workdays_between` the deadline
    and `now`), due at `now`; None when nothing is overdue. Keyed by ISO week, so a second digest in
    the same week is not scheduled again."""
    late: list[tuple[int, str, WorkOrder, datetime]] = []
    for o in orders:
        if o.status in _OWED and o.deadline is not None and o.deadline < now:
            late.append((calendar.workdays_between(o.deadline, now), o.number, o, o.deadline))
    if not late:
        return None
    late.sort(key=lambda t: (-t[0], t[1]))
    year, week, _ = now.isocalendar()
    lines = [
        f"{number}　{o.unit or '未派单'}　{'签收' if o.status is Status.dispatched else '办结'}"
        + (f"超期 {days} 个工作日" if days > 0 else "超期不足 1 个工作日")
        for days, number, o, _ in late[:_DIGEST_LINES]
    ]
    if len(late) > _DIGEST_LINES:
        lines.append(f"……另有 {len(late) - _DIGEST_LINES} 件")
    text = f"【超期工单通报】截至 {_fmt(now)}，共 {len(late)} 件工单超期：\n" + "\n".join(lines)
    listed = [
        {"order": number, "unit": o.unit, "deadline": deadline.isoformat(), "workdays_overdue": days}
        for days, number, o, deadline in late
    ]
    key = f"{Kind.overdue_digest}:{year}-W{week:02d}"
    payload = {"week": f"{year}-W{week:02d}", "orders": listed}
    return Item(Kind.overdue_digest, to, now, text, key, "overdue_digest", payload=payload)


__all__ = [
    "CENTRE",
    "MAX_RECTIFY_WORKDAYS",
    "ScheduleSettings",
    "ack_group",
    "after_event",
    "deadline_group",
    "rating_buttons",
    "rectify_group",
    "superseded_by",
    "visit_group",
    "weekly_overdue_digest",
    "work_time_between",
]
