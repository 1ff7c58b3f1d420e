"""The 12345 work-order state machine: the whole machine as data, enforced in one function.

django-helpdesk keeps its status flow as data but only uses it to fill UI choices, so any code path
can still set any status. Here `apply` is the only way to change an order: it checks `ALLOWED`,
the action's parameters and its rules, and returns the new order together with its audit `Event`.
A refusal raises `TransitionError` and, being pure, leaves the input order as it was.
Who may perform an action (a unit, the centre, the petitioner) is the caller's permission check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from bot.workorder import (
    SATISFIED,
    Action,
    DataValue,
    Event,
    Rating,
    RejectReason,
    ReturnReason,
    Status,
    TransitionError,
    WorkOrder,
    parse_order_number,
)

S, A = Status, Action
_OPEN = (S.pending, S.accepted, S.dispatched, S.in_progress, S.resolved, S.awaiting_visit)

ALLOWED: Mapping[tuple[Status, Action], Status] = {
    (S.pending, A.accept): S.accepted,
    (S.pending, A.reject): S.rejected,
    (S.accepted, A.dispatch): S.dispatched,
    (S.dispatched, A.acknowledge): S.in_progress,
    # 退单 goes back to the dispatcher (改派), before or after 签收: a unit may find out late.
    (S.dispatched, A.return_): S.accepted,
    (S.in_progress, A.return_): S.accepted,
    # Extensions only once the unit's clock runs (it starts at 签收).
    (S.in_progress, A.apply_extension): S.in_progress,
    (S.in_progress, A.approve_extension): S.in_progress,
    (S.in_progress, A.reject_extension): S.in_progress,
    (S.in_progress, A.resolve): S.resolved,
    (S.resolved, A.start_visit): S.awaiting_visit,
    # A satisfied rating archives; an unsatisfied one reopens to `REOPEN_TO` (重办), see `_rate`.
    (S.awaiting_visit, A.rate): S.archived,
    # No answer to the 回访 and its one reminder: archived as 未评价 (no rating is invented).
    (S.resolved, A.close_unrated): S.archived,
    (S.awaiting_visit, A.close_unrated): S.archived,
    # 催办 nudges a unit, so only while a unit holds the order.
    (S.dispatched, A.urge): S.dispatched,
    (S.in_progress, A.urge): S.in_progress,
    # 督办 escalates anything stuck before 办结, including an order nobody has taken.
    (S.pending, A.supervise): S.pending,
    (S.accepted, A.supervise): S.accepted,
    (S.dispatched, A.supervise): S.dispatched,
    (S.in_progress, A.supervise): S.in_progress,
    # The petitioner may withdraw at any point before the order is closed.
    **{(s, A.withdraw): S.withdrawn for s in _OPEN},
    # A duplicate is merged while work on it is still open; finished work is not merged away.
    **{(s, A.merge): S.merged for s in (S.pending, S.accepted, S.dispatched, S.in_progress)},
}
REOPEN_TO = S.in_progress  # 重办: back to the same unit, whose work the petitioner rejected

# (required, optional) parameters per action, besides `note` (free text, always allowed).
PARAMS: Mapping[Action, tuple[frozenset[str], frozenset[str]]] = {
    A.accept: (frozenset(), frozenset()),
    A.reject: (frozenset({"reason"}), frozenset()),
    A.dispatch: (frozenset({"unit"}), frozenset({"deadline"})),
    A.acknowledge: (frozenset(), frozenset({"deadline"})),
    A.return_: (frozenset({"reason"}), frozenset()),
    A.apply_extension: (frozenset({"days"}), frozenset()),
    A.approve_extension: (frozenset({"deadline"}), frozenset()),
    A.reject_extension: (frozenset(), frozenset()),
    A.resolve: (frozenset({"result"}), frozenset()),
    A.start_visit: (frozenset(), frozenset()),
    A.rate: (frozenset({"rating"}), frozenset({"deadline"})),
    A.close_unrated: (frozenset(), frozenset()),
    A.urge: (frozenset(), frozenset()),
    A.supervise: (frozenset(), frozenset()),
    A.withdraw: (frozenset(), frozenset()),
    A.merge: (frozenset({"into"}), frozenset()),
}
# The 3rd 退单 of one order is flagged for the 12345 centre's final ruling (终审): units bouncing
# an order between them (退单拉锯) stop its clock, since it only starts at 签收. Counted per order,
# not per unit, because ping-pong between two units is exactly the case neither unit reaches 3 alone.
# The return itself still goes through: refusing it would leave the order with a unit that denies it.
MAX_RETURNS = 3
MAX_EXTENSION_DAYS = 30

Pairs = tuple[tuple[str, DataValue], ...]
_E = TypeVar("_E", RejectReason, ReturnReason, Rating)


class _Refusal(Exception):
    """Raised inside the checks; `apply` turns it into a TransitionError with the order's context."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(detail)
        self.rule, self.detail = rule, detail


def _text(params: Mapping[str, object], name: str) -> str:
    value = params[name]
    if not isinstance(value, str) or not value.strip():
        raise _Refusal("invalid_param", f"参数 {name} 必须是非空文本")
    return value.strip()


def _time(value: object, name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise _Refusal("invalid_param", f"参数 {name} 必须是带时区的时间")
    return value


def _choice(params: Mapping[str, object], name: str, kind: type[_E]) -> _E:
    value = params[name]
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return kind(value)
    except ValueError:
        known = "/".join(m.value for m in kind)
        raise _Refusal("invalid_param", f"参数 {name} 应为 {known}，收到 {value!r}") from None


def _deadline(order: WorkOrder, params: Mapping[str, object]) -> datetime | None:
    return _time(params["deadline"], "deadline") if "deadline" in params else order.deadline


def _iso(when: datetime | None) -> Pairs:
    return (("deadline", when.isoformat()),) if when is not None else ()


Effect = Callable[[WorkOrder, Status, Mapping[str, object]], tuple[WorkOrder, Pairs]]


def _plain(order: WorkOrder, to: Status, p: Mapping[str, object]) -> tuple[WorkOrder, Pairs]:
    return replace(order, status=to), ()


def _reject(order: WorkOrder, to: Status, p: Mapping[str, object]) -> tuple[WorkOrder, Pairs]:
    return replace(order, status=to), (("reason", _choice(p, "reason", RejectReason).value),)


def _dispatch(order: WorkOrder, to: Status, p: Mapping[str, object]) -> tuple[WorkOrder, Pairs]:
    unit = _text(p, "unit")
    deadline = _time(p["deadline"], "deadline") if "deadline" in p else None
    return replace(order, status=to, unit=unit, deadline=deadline), (("unit", unit), *_iso(deadline))


def _acknowledge(order: WorkOrder, to: Status, p: Mapping[str, object]) -> tuple[WorkOrder, Pairs]:
    deadline = _deadline(order, p)
    return replace(order, status=to, deadline=deadline), _iso(deadline)


def _return(order: WorkOrder, to: Status, p: Mapping[str, object]) -> tuple[WorkOrder, Pairs]:
    reason = _choice(p, "reason", ReturnReason)
    if reason is ReturnReason.other and not str(p.get("note", "")).strip():
        raise _Refusal("missing_param", "退单理由为“其他”时必须填写说明 note")
    count = order.return_count + 1
    new = replace(order, status=to, unit=None, deadline=None, extension_pending_days=None, return_count=count)
    data: Pairs = (("reason", reason.value), ("unit", order.unit or ""), ("return_count", count))
    return new, (*data, ("bounce_flag", count >= MAX_RETURNS))


def _apply_extension(order: WorkOrder, to: Status, p: Mapping[str, object]) -> tuple[WorkOrder, Pairs]:
    days = p["days"]
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_EXTENSION_DAYS:
        raise _Refusal("invalid_param", f"延期天数必须是 1..{MAX_EXTENSION_DAYS} 的整数，收到 {days!r}")
    if order.extension_pending_days is not None:
        raise _Refusal("extension_pending", "已有待审批的延期申请")
    return replace(order, status=to, extension_pending_days=days), (("days", days),)


def _pending_days(order: WorkOrder) -> int:
    if order.extension_pending_days is None:
        raise _Refusal("no_pending_extension", "没有待审批的延期申请")
    return order.extension_pending_days


def _approve_extension(order: WorkOrder, to: Status, p: Mapping[str, object]) -> tuple[WorkOrder, Pairs]:
    days = _pending_days(order)
    deadline = _time(p["deadline"], "deadline")
    if order.deadline is not None and deadline <= order.deadline:
        raise _Refusal("invalid_param", "延期后的期限必须晚于原期限")
    new = replace(order, status=to, deadline=deadline, extension_pending_days=None)
    return new, (("days", days), *_iso(deadline))


def _reject_extension(order: WorkOrder, to: Status, p: Mapping[str, object]) -> tuple[WorkOrder, Pairs]:
    days = _pending_days(order)
    return replace(order, status=to, extension_pending_days=None), (("days", days),)


def _resolve(order: WorkOrder, to: Status, p: Mapping[str, object]) -> tuple[WorkOrder, Pairs]:
    result = _text(p, "result")
    return replace(order, status=to, result=result, extension_pending_days=None), (("result", result),)


def _rate(order: WorkOrder, to: Status, p: Mapping[str, object]) -> tuple[WorkOrder, Pairs]:
    rating = _choice(p, "rating", Rating)
    if rating in SATISFIED:
        return replace(order, status=to, rating=rating), (("rating", rating.value), ("reopened", False))
    deadline = _time(p["deadline"], "deadline") if "deadline" in p else None
    new = replace(
        order,
        status=REOPEN_TO,
        rating=rating,
        reopen_count=order.reopen_count + 1,
        deadline=deadline,
        result=None,  # the next 回访 must show the redone result, not the rejected one
    )
    return new, (("rating", rating.value), ("reopened", True), *_iso(deadline))


def _urge(order: WorkOrder, to: Status, p: Mapping[str, object]) -> tuple[WorkOrder, Pairs]:
    count = order.urge_count + 1
    return replace(order, status=to, urge_count=count), (("urge_count", count),)


def _supervise(order: WorkOrder, to: Status, p: Mapping[str, object]) -> tuple[WorkOrder, Pairs]:
    return replace(order, status=to, supervised=True), ()


def _close(order: WorkOrder, to: Status, p: Mapping[str, object]) -> tuple[WorkOrder, Pairs]:
    return replace(order, status=to, extension_pending_days=None), ()


def _merge(order: WorkOrder, to: Status, p: Mapping[str, object]) -> tuple[WorkOrder, Pairs]:
    into = _text(p, "into")
    try:
        parse_order_number(into)
    except ValueError as exc:
        raise _Refusal("invalid_param", str(exc)) from None
    if into == order.number:
        raise _Refusal("invalid_param", "工单不能合并到自身")
    return replace(order, status=to, merged_into=into, extension_pending_days=None), (("into", into),)


_EFFECTS: Mapping[Action, Effect] = {
    A.accept: _plain,
    A.reject: _reject,
    A.dispatch: _dispatch,
    A.acknowledge: _acknowledge,
    A.return_: _return,
    A.apply_extension: _apply_extension,
    A.approve_extension: _approve_extension,
    A.reject_extension: _reject_extension,
    A.resolve: _resolve,
    A.start_visit: _plain,
    A.rate: _rate,
    A.close_unrated: _plain,
    A.urge: _urge,
    A.supervise: _supervise,
    A.withdraw: _close,
    A.merge: _merge,
}


def _check(order: WorkOrder, action: Action, by: str, at: datetime, params: Mapping[str, object]) -> Status:
    """The checks common to every action; returns the target status from `ALLOWED`."""
    target = ALLOWED.get((order.status, action))
    if target is None:
        raise _Refusal("not_allowed", "")
    if not isinstance(by, str) or not by.strip():
        raise _Refusal("actor_required", "必须注明操作人 by")
    _time(at, "at")
    required, optional = PARAMS[action]
    unknown = sorted(set(params) - required - optional - {"note"})
    if unknown:
        raise _Refusal("unknown_param", f"未知参数 {', '.join(unknown)}")
    missing = sorted(required - set(params))
    if missing:
        raise _Refusal("missing_param", f"缺少参数 {', '.join(missing)}")
    if not isinstance(params.get("note", ""), str):
        raise _Refusal("invalid_param", "参数 note 必须是文本")
    return target


def apply(
    order: WorkOrder, action: Action, *, by: str, at: datetime, **params: object
) -> tuple[WorkOrder, Event]:
    """Perform `action` on `order` as `by` at `at`: the new order (version + 1) and its audit event.

    Raises TransitionError if the transition is not in `ALLOWED`, a parameter is missing, unknown
    or invalid, or a rule refuses (e.g. approving an extension nobody applied for).
    """
    try:
        target = _check(order, action, by, at, params)
        new, data = _EFFECTS[action](order, target, params)
    except _Refusal as refusal:
        raise TransitionError(order.number, order.status, action, refusal.rule, refusal.detail) from None
    new = replace(new, version=order.version + 1, updated_at=at)
    note = str(params.get("note", "")).strip()
    event = Event(
        order_number=order.number,
        action=action,
        from_status=order.status,
        to_status=new.status,
        by=by,
        at=at,
        note=note,
        data=data,
    )
    return new, event
