"""The 12345 work-order state machine: every allowed transition, every refused one, and the rules."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from bot.transitions import ALLOWED, MAX_RETURNS, PARAMS, REOPEN_TO, apply
from bot.workorder import (
    SATISFIED,
    TERMINAL,
    Action,
    OrderType,
    Rating,
    Source,
    Status,
    TransitionError,
    Urgency,
    WorkOrder,
    format_order_number,
    parse_order_number,
    visible_contact,
)
from intents.slots import mask_phone

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=CST)
AT = T0 + timedelta(hours=3)
DUE = T0 + timedelta(days=5)
NUMBER = "EQ-20261126-0007"
UNIT = "区市场监督管理局"

# Valid parameters for each action, enough to pass its checks from any allowed from-state.
VALID: dict[Action, dict[str, Any]] = {
    Action.file: {},  # filing creates an order; `apply` must refuse it from every status
    Action.accept: {},
    Action.reject: {"reason": "litigation"},
    Action.dispatch: {"unit": UNIT},
    Action.acknowledge: {},
    Action.return_: {"reason": "not_our_duty"},
    Action.apply_extension: {"days": 5},
    Action.approve_extension: {"deadline": DUE + timedelta(days=5)},
    Action.reject_extension: {},
    Action.resolve: {"result": "已上门核实并解决"},
    Action.start_visit: {},
    Action.rate: {"rating": "satisfied"},
    Action.close_unrated: {},
    Action.urge: {},
    Action.supervise: {},
    Action.withdraw: {},
    Action.merge: {"into": "EQ-20261125-0001"},
}


def make(status: Status = Status.pending, **changes: Any) -> WorkOrder:
    """An order as it would look in `status`: a unit and deadline once dispatched."""
    held = status in (Status.dispatched, Status.in_progress, Status.resolved, Status.awaiting_visit)
    order = WorkOrder(
        number=NUMBER,
        type=OrderType.complaint,
        urgency=Urgency.urgent,
        source=Source.telegram,
        status=status,
        content="门店附近道路施工，围挡挡住了出入口",
        petitioner="tg:42",
        created_at=T0,
        updated_at=T0,
        contact_phone="13812345678",
        unit=UNIT if held else None,
        deadline=DUE if held else None,
        version=4,
    )
    return replace(order, **changes)


def order_for(status: Status, action: Action) -> WorkOrder:
    pending = 5 if action in (Action.approve_extension, Action.reject_extension) else None
    return make(status, extension_pending_days=pending)


@pytest.mark.parametrize(("key", "target"), sorted(ALLOWED.items()), ids=lambda v: str(v))
def test_every_allowed_transition(key: tuple[Status, Action], target: Status) -> None:
    status, action = key
    order = order_for(status, action)
    before = replace(order)
    new, event = apply(order, action, by="staff:1", at=AT, note=" 备注 ", **VALID[action])
    assert new.status == target
    assert (new.version, new.updated_at, new.created_at) == (5, AT, T0)
    assert (event.order_number, event.action, event.by, event.at, event.note) == (
        NUMBER,
        action,
        "staff:1",
        AT,
        "备注",
    )
    assert (event.from_status, event.to_status) == (status, target)
    assert order == before  # the input is untouched
    assert new.number == order.number and new.content == order.content


REFUSED = sorted(set(itertools.product(Status, Action)) - set(ALLOWED))


@pytest.mark.parametrize(("status", "action"), REFUSED, ids=lambda v: str(v))
def test_every_other_pair_is_refused(status: Status, action: Action) -> None:
    order = order_for(status, action)
    before = replace(order)
    result = None
    with pytest.raises(TransitionError) as info:
        result = apply(order, action, by="staff:1", at=AT, **VALID[action])
    err = info.value
    assert (err.order_number, err.status, err.action, err.rule) == (NUMBER, status, action, "not_allowed")
    assert result is None
    assert order == before


def test_the_table_covers_the_machine() -> None:
    assert len(REFUSED) + len(ALLOWED) == len(Status) * len(Action)
    assert {a for _, a in ALLOWED} == set(Action) - {Action.file}  # see bot.filing
    assert set(PARAMS) == set(Action) - {Action.file}
    assert not {s for s, _ in ALLOWED} & TERMINAL  # nothing leaves a closed order
    for status in set(Status) - TERMINAL:  # and everything open can still move
        assert any(s == status for s, _ in ALLOWED)


# The machine as reviewed: "action>target", or just "action" when the status stays. Editing ALLOWED
# must be a deliberate change to this literal too, since the walks above follow the table itself.
EXPECTED_TABLE = {
    "pending": "accept>accepted reject>rejected supervise withdraw>withdrawn merge>merged",
    "accepted": "dispatch>dispatched supervise withdraw>withdrawn merge>merged",
    "dispatched": "acknowledge>in_progress return>accepted urge supervise withdraw>withdrawn merge>merged",
    "in_progress": "return>accepted apply_extension approve_extension reject_extension resolve>resolved"
    " urge supervise withdraw>withdrawn merge>merged",
    "resolved": "start_visit>awaiting_visit close_unrated>archived withdraw>withdrawn",
    "awaiting_visit": "rate>archived close_unrated>archived withdraw>withdrawn",
}


def test_the_table_is_the_reviewed_one() -> None:
    rows: dict[str, set[str]] = {}
    for (status, action), target in ALLOWED.items():
        cell = action.value if target == status else f"{action.value}>{target.value}"
        rows.setdefault(status.value, set()).add(cell)
    assert rows == {k: set(v.split()) for k, v in EXPECTED_TABLE.items()}


def test_error_message_names_order_status_and_action() -> None:
    with pytest.raises(TransitionError) as info:
        apply(make(Status.resolved), Action.acknowledge, by="unit:1", at=AT)
    assert str(info.value) == "工单 EQ-20261126-0007：当前状态“已办结”不能执行“签收”"
    assert isinstance(info.value, ValueError)
    with pytest.raises(TransitionError) as info:
        apply(make(), Action.reject, by="staff:1", at=AT)
    assert str(info.value).startswith(
        "工单 EQ-20261126-0007：当前状态“待受理”不能执行“不予受理”（缺少参数 reason"
    )


@pytest.mark.parametrize(
    ("status", "action", "params", "rule"),
    [
        (Status.pending, Action.reject, {}, "missing_param"),
        (Status.pending, Action.reject, {"reason": "weather"}, "invalid_param"),
        (Status.pending, Action.reject, {"reason": 3}, "invalid_param"),
        (Status.pending, Action.accept, {"unit": UNIT}, "unknown_param"),
        (Status.pending, Action.accept, {"note": 7}, "invalid_param"),
        (Status.accepted, Action.dispatch, {}, "missing_param"),
        (Status.accepted, Action.dispatch, {"unit": "  "}, "invalid_param"),
        (
            Status.accepted,
            Action.dispatch,
            {"unit": UNIT, "deadline": datetime(2026, 12, 1)},
            "invalid_param",
        ),
        (Status.dispatched, Action.return_, {}, "missing_param"),
        (Status.dispatched, Action.return_, {"reason": "busy"}, "invalid_param"),
        (Status.dispatched, Action.return_, {"reason": "other"}, "missing_param"),
        (Status.in_progress, Action.apply_extension, {}, "missing_param"),
        (Status.in_progress, Action.apply_extension, {"days": 0}, "invalid_param"),
        (Status.in_progress, Action.apply_extension, {"days": 31}, "invalid_param"),
        (Status.in_progress, Action.apply_extension, {"days": "5"}, "invalid_param"),
        (Status.in_progress, Action.apply_extension, {"days": True}, "invalid_param"),
        (
            Status.in_progress,
            Action.approve_extension,
            {"deadline": DUE + timedelta(days=1)},
            "no_pending_extension",
        ),
        (Status.in_progress, Action.reject_extension, {}, "no_pending_extension"),
        (Status.in_progress, Action.resolve, {}, "missing_param"),
        (Status.in_progress, Action.resolve, {"result": ""}, "invalid_param"),
        (Status.awaiting_visit, Action.rate, {}, "missing_param"),
        (Status.awaiting_visit, Action.rate, {"rating": 5}, "invalid_param"),
        (Status.awaiting_visit, Action.rate, {"rating": "good"}, "invalid_param"),
        (Status.pending, Action.merge, {}, "missing_param"),
        (Status.pending, Action.merge, {"into": NUMBER}, "invalid_param"),
        (Status.pending, Action.merge, {"into": "EQ-2026-1"}, "invalid_param"),
    ],
)
def test_parameter_errors(status: Status, action: Action, params: dict[str, Any], rule: str) -> None:
    order = make(status)
    before = replace(order)
    with pytest.raises(TransitionError) as info:
        apply(order, action, by="staff:1", at=AT, **params)
    assert info.value.rule == rule
    assert info.value.status == status and info.value.action == action
    assert order == before


def test_actor_and_time_are_required() -> None:
    with pytest.raises(TransitionError) as info:
        apply(make(), Action.accept, by=" ", at=AT)
    assert info.value.rule == "actor_required"
    with pytest.raises(TransitionError) as info:
        apply(make(), Action.accept, by="staff:1", at=datetime(2026, 11, 26, 12))
    assert info.value.rule == "invalid_param"


def test_lifecycle_dispatch_acknowledge_resolve_visit_archive() -> None:
    order, events = make(), []
    steps: list[tuple[Action, dict[str, Any]]] = [
        (Action.accept, {}),
        (Action.dispatch, {"unit": UNIT, "deadline": DUE}),
        (Action.acknowledge, {}),
        (Action.urge, {}),
        (Action.supervise, {}),
        (Action.resolve, {"result": "围挡已后移"}),
        (Action.start_visit, {}),
        (Action.rate, {"rating": "very_satisfied"}),
    ]
    for i, (action, params) in enumerate(steps):
        order, event = apply(order, action, by="staff:1", at=AT + timedelta(hours=i), **params)
        events.append(event)
    assert order.status == Status.archived and order.version == 4 + len(steps)
    assert (order.unit, order.deadline, order.urge_count, order.supervised) == (UNIT, DUE, 1, True)
    assert (order.result, order.rating) == ("围挡已后移", Rating.very_satisfied)
    assert [e.to_status for e in events][:3] == [Status.accepted, Status.dispatched, Status.in_progress]
    assert events[1].get("unit") == UNIT and events[1].get("deadline") == DUE.isoformat()
    assert events[3].get("urge_count") == 1
    assert all(a.to_status == b.from_status for a, b in itertools.pairwise(events))


def test_third_return_is_flagged_for_the_centre() -> None:
    order = make(Status.accepted)
    flags, units = [], ["区住建局", "街道办事处", "区城管局", "区住建局"]
    for unit in units:
        order, _ = apply(order, Action.dispatch, by="centre", at=AT, unit=unit, deadline=DUE)
        order, event = apply(order, Action.return_, by=unit, at=AT, reason="wrong_dispatch")
        flags.append(event.get("bounce_flag"))
        assert event.get("unit") == unit and event.to_status == Status.accepted
        assert (order.unit, order.deadline) == (None, None)  # 改派 starts afresh
    assert MAX_RETURNS == 3
    assert flags == [False, False, True, True]
    assert order.return_count == 4


def test_return_other_with_note_and_after_acknowledge() -> None:
    order = make(Status.in_progress, extension_pending_days=3)
    new, event = apply(order, Action.return_, by=UNIT, at=AT, reason="other", note="属省级事权")
    assert new.status == Status.accepted and new.extension_pending_days is None
    assert (event.get("reason"), event.note, event.get("return_count")) == ("other", "属省级事权", 1)


@pytest.mark.parametrize("rating", list(Rating))
def test_rating_archives_or_reopens(rating: Rating) -> None:
    order = make(Status.awaiting_visit, result="已处理", reopen_count=1)
    new, event = apply(order, Action.rate, by="tg:42", at=AT, rating=rating.value)
    assert new.rating == rating and event.get("rating") == rating.value
    if rating in SATISFIED:
        assert (new.status, new.reopen_count, new.result) == (Status.archived, 1, "已处理")
        assert event.get("reopened") is False
    else:
        assert (new.status, new.reopen_count, new.unit, new.result) == (REOPEN_TO, 2, UNIT, None)
        assert new.status == Status.in_progress and event.get("reopened") is True


def test_unsatisfied_rating_takes_a_new_deadline() -> None:
    new_due = AT + timedelta(days=3)
    new, event = apply(
        make(Status.awaiting_visit),
        Action.rate,
        by="tg:42",
        at=AT,
        rating=Rating.unsatisfied,
        deadline=new_due,
    )
    assert (new.status, new.deadline, event.get("deadline")) == (
        Status.in_progress,
        new_due,
        new_due.isoformat(),
    )
    assert {Rating.very_satisfied, Rating.satisfied, Rating.basically_satisfied} == SATISFIED


def test_extension_apply_approve_and_reject() -> None:
    order = make(Status.in_progress)
    order, event = apply(order, Action.apply_extension, by=UNIT, at=AT, days=10)
    assert (order.extension_pending_days, event.get("days")) == (10, 10)
    with pytest.raises(TransitionError) as info:
        apply(order, Action.apply_extension, by=UNIT, at=AT, days=3)
    assert info.value.rule == "extension_pending"
    with pytest.raises(TransitionError) as info:  # the new deadline must move it later
        apply(order, Action.approve_extension, by="centre", at=AT, deadline=DUE)
    assert info.value.rule == "invalid_param"
    later = DUE + timedelta(days=14)
    approved, event = apply(order, Action.approve_extension, by="centre", at=AT, deadline=later)
    assert (approved.deadline, approved.extension_pending_days, approved.status) == (
        later,
        None,
        Status.in_progress,
    )
    assert (event.get("days"), event.get("deadline")) == (10, later.isoformat())
    refused, event = apply(order, Action.reject_extension, by="centre", at=AT, note="理由不充分")
    assert (refused.deadline, refused.extension_pending_days, event.get("days")) == (DUE, None, 10)


@pytest.mark.parametrize("status", sorted(set(Status) - TERMINAL))
def test_withdraw_from_every_open_status(status: Status) -> None:
    new, event = apply(make(status), Action.withdraw, by="tg:42", at=AT, note="问题已自行解决")
    assert new.status == Status.withdrawn and event.from_status == status
    with pytest.raises(TransitionError):
        apply(new, Action.withdraw, by="tg:42", at=AT)


def test_merge_records_the_surviving_order() -> None:
    new, event = apply(make(Status.accepted), Action.merge, by="centre", at=AT, into="EQ-20261125-0001")
    assert (new.status, new.merged_into, event.get("into")) == (
        Status.merged,
        "EQ-20261125-0001",
        "EQ-20261125-0001",
    )
    with pytest.raises(TransitionError) as info:
        apply(make(Status.resolved), Action.merge, by="centre", at=AT, into="EQ-20261125-0001")
    assert info.value.rule == "not_allowed"


def test_event_data_is_immutable_and_hashable() -> None:
    _, event = apply(make(), Action.reject, by="staff:1", at=AT, reason="xinfang")
    assert event.data == (("reason", "xinfang"),) and event.get("missing") is None
    assert hash(event)


def test_order_number_round_trip() -> None:
    assert format_order_number(date(2026, 11, 26), 7) == NUMBER
    assert parse_order_number(NUMBER) == (date(2026, 11, 26), 7)
    for seq in (1, 42, 9999):
        assert parse_order_number(format_order_number(date(2027, 1, 5), seq)) == (date(2027, 1, 5), seq)


@pytest.mark.parametrize("seq", [0, -1, 10000])
def test_order_number_sequence_bounds(seq: int) -> None:
    with pytest.raises(ValueError, match="序号"):
        format_order_number(date(2026, 11, 26), seq)


@pytest.mark.parametrize(
    "text",
    [
        "EQ-20261126-0000",
        "EQ-20261301-0001",
        "EQ-20260230-0001",
        "EQ-2026112-0001",
        "eq-20261126-0007",
        "XX-20261126-0007",
        "EQ-20261126-00007",
        " EQ-20261126-0007",
        "",
    ],
)
def test_order_number_parse_errors(text: str) -> None:
    with pytest.raises(ValueError):
        parse_order_number(text)


def test_contact_visibility() -> None:
    public = make(Status.in_progress)
    secret = make(Status.in_progress, confidential=True)
    assert visible_contact(public, None) == "13812345678"
    assert visible_contact(public, "区城管局") == "13812345678"
    assert visible_contact(secret, UNIT) == "13812345678"
    assert visible_contact(secret, "区城管局") == "138****5678"
    assert visible_contact(secret, None) == "138****5678"
    unassigned = make(Status.accepted, confidential=True)
    assert unassigned.unit is None and visible_contact(unassigned, None) == "138****5678"
    assert visible_contact(make(contact_phone=None, confidential=True), UNIT) is None
    assert mask_phone("0371-67891234") == "0371-****1234"
