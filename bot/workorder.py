"""Vocabulary of a 12345 work order (工单): its enums, the record, its audit event and its error.

A leaf module: no imports from the rest of the project. The state machine itself (`ALLOWED` and
the one function that enforces it, `apply`) lives in `bot.transitions`, so that the table can be
read on its own. Everything here is pure: no I/O, no clock; callers pass `at` and `by`.
Chinese labels are kept next to the English names so user-facing text has one source.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from intents.slots import mask_phone


class OrderType(StrEnum):
    """诉求类型: each type has its own handling time limit (set by the calendar owner)."""

    inquiry = "inquiry"
    help = "help"
    complaint = "complaint"
    report = "report"
    suggestion = "suggestion"


class Urgency(StrEnum):
    """急难愁盼: how the district grades a petition, which decides who leads it."""

    urgent = "urgent"
    hard = "hard"
    worrying = "worrying"
    hoped = "hoped"


class Source(StrEnum):
    """Where the petition came in: our own channels, the hotline, or one of the 四把哨."""

    web = "web"
    telegram = "telegram"
    wechat = "wechat"
    console = "console"
    hotline = "hotline"
    leader_contact = "leader_contact"
    deputies = "deputies"
    street_community = "street_community"
    whistle_hotline = "whistle_hotline"


class Status(StrEnum):
    """Where the order is in its life; `TERMINAL` ones never change again."""

    pending = "pending"
    accepted = "accepted"  # 已受理, waiting for the dispatcher (also after a 退单: 改派)
    dispatched = "dispatched"  # 已派单, waiting for the unit's 签收
    in_progress = "in_progress"  # 签收 done; the unit's clock runs
    resolved = "resolved"
    awaiting_visit = "awaiting_visit"
    archived = "archived"
    rejected = "rejected"
    withdrawn = "withdrawn"
    merged = "merged"  # a duplicate folded into another order (`merged_into`)


class Action(StrEnum):
    """What someone does to an order. `return_` because `return` is a keyword.

    `file` is the creation event's action (提交): it is recorded in the audit trail but is not in
    the state machine, because an order that exists has already been filed (`bot.filing`).
    """

    file = "file"
    accept = "accept"
    reject = "reject"
    dispatch = "dispatch"
    acknowledge = "acknowledge"
    return_ = "return"
    apply_extension = "apply_extension"
    approve_extension = "approve_extension"
    reject_extension = "reject_extension"
    resolve = "resolve"
    start_visit = "start_visit"
    rate = "rate"
    close_unrated = "close_unrated"  # 回访 unanswered after its reminder: archived as 未评价
    urge = "urge"
    supervise = "supervise"
    withdraw = "withdraw"
    merge = "merge"


class RejectReason(StrEnum):
    """不予受理 grounds: matters with their own channel (courts, 信访, 110/119/120) or no remit."""

    litigation = "litigation"
    xinfang = "xinfang"
    emergency = "emergency"
    out_of_scope = "out_of_scope"
    duplicate = "duplicate"


class ReturnReason(StrEnum):
    """退单 reason codes: coded so the centre can see which units bounce orders and why."""

    not_our_duty = "not_our_duty"
    wrong_dispatch = "wrong_dispatch"
    info_missing = "info_missing"
    other = "other"  # needs a note: an uncoded reason must at least be explained


class Rating(StrEnum):
    """好差评: the national five-level scale, best first."""

    very_satisfied = "very_satisfied"
    satisfied = "satisfied"
    basically_satisfied = "basically_satisfied"
    unsatisfied = "unsatisfied"
    very_unsatisfied = "very_unsatisfied"


TYPE_LABELS: Mapping[OrderType, str] = {
    OrderType.inquiry: "咨询",
    OrderType.help: "求助",
    OrderType.complaint: "投诉",
    OrderType.report: "举报",
    OrderType.suggestion: "建议",
}
URGENCY_LABELS: Mapping[Urgency, str] = {
    Urgency.urgent: "急事即知即办",
    Urgency.hard: "难事建账领办",
    Urgency.worrying: "愁事合力共办",
    Urgency.hoped: "盼事跟踪订办",
}
SOURCE_LABELS: Mapping[Source, str] = {
    Source.web: "网页",
    Source.telegram: "Telegram",
    Source.wechat: "微信",
    Source.console: "控制台",
    Source.hotline: "12345热线",
    Source.leader_contact: "领导联系企业",
    Source.deputies: "两代表一委员",
    Source.street_community: "街道社区",
    Source.whistle_hotline: "吹哨报到热线",
}
STATUS_LABELS: Mapping[Status, str] = {
    Status.pending: "待受理",
    Status.accepted: "待派单",
    Status.dispatched: "待签收",
    Status.in_progress: "办理中",
    Status.resolved: "已办结",
    Status.awaiting_visit: "待回访",
    Status.archived: "已归档",
    Status.rejected: "不予受理",
    Status.withdrawn: "已撤销",
    Status.merged: "已合并",
}
ACTION_LABELS: Mapping[Action, str] = {
    Action.file: "提交",
    Action.accept: "受理",
    Action.reject: "不予受理",
    Action.dispatch: "派单",
    Action.acknowledge: "签收",
    Action.return_: "退单",
    Action.apply_extension: "申请延期",
    Action.approve_extension: "批准延期",
    Action.reject_extension: "驳回延期",
    Action.resolve: "办结",
    Action.start_visit: "回访",
    Action.rate: "评价",
    Action.close_unrated: "未评价归档",
    Action.urge: "催办",
    Action.supervise: "督办",
    Action.withdraw: "撤销",
    Action.merge: "合并",
}
RATING_LABELS: Mapping[Rating, str] = {
    Rating.very_satisfied: "非常满意",
    Rating.satisfied: "满意",
    Rating.basically_satisfied: "基本满意",
    Rating.unsatisfied: "不满意",
    Rating.very_unsatisfied: "非常不满意",
}

TERMINAL: frozenset[Status] = frozenset({Status.archived, Status.rejected, Status.withdrawn, Status.merged})
# 基本满意 counts as satisfied: the 满意率 of the 好差评 system counts the top three levels.
SATISFIED: frozenset[Rating] = frozenset(
    {Rating.very_satisfied, Rating.satisfied, Rating.basically_satisfied}
)

DataValue = str | int | bool


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkOrder:
    """One petition's record. Immutable: every change is a new value with `version` + 1.

    `petitioner` is an opaque id (never a name) so the record can be shown to units without
    leaking identity; the phone is released through `visible_contact` only.
    """

    number: str
    type: OrderType
    urgency: Urgency
    source: Source
    status: Status
    content: str
    petitioner: str
    created_at: datetime
    updated_at: datetime
    enterprise_credit_code: str | None = None
    contact_phone: str | None = None
    location: str | None = None
    confidential: bool = False
    unit: str | None = None  # the handling unit (承办单位) currently holding the order
    deadline: datetime | None = None  # computed by the calendar owner, never here
    result: str | None = None  # the unit's 办结 report, shown at the 回访
    return_count: int = 0
    reopen_count: int = 0
    urge_count: int = 0
    supervised: bool = False
    extension_pending_days: int | None = None
    rating: Rating | None = None
    merged_into: str | None = None
    version: int = 0  # optimistic concurrency: the store refuses a write from a stale version


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """The audit row written for every accepted action ("全流程可追溯").

    `data` is a tuple of pairs rather than a dict so the event stays hashable and immutable.
    """

    order_number: str
    action: Action
    from_status: Status
    to_status: Status
    by: str
    at: datetime
    note: str = ""
    data: tuple[tuple[str, DataValue], ...] = ()

    def get(self, key: str) -> DataValue | None:
        """The value recorded under `key`, or None."""
        return next((v for k, v in self.data if k == key), None)


class TransitionError(ValueError):
    """An action refused by the state machine; the order it was applied to is unchanged.

    `rule` is machine-readable (e.g. "not_allowed", "missing_param") so callers can pick a reply.
    """

    def __init__(
        self, order_number: str, status: Status, action: Action, rule: str, detail: str = ""
    ) -> None:
        self.order_number, self.status, self.action, self.rule = order_number, status, action, rule
        self.detail = detail
        msg = f"工单 {order_number}：当前状态“{STATUS_LABELS[status]}”不能执行“{ACTION_LABELS[action]}”"
        super().__init__(msg + (f"（{detail}）" if detail else ""))


_NUMBER = re.compile(r"EQ-(\d{4})(\d{2})(\d{2})-(\d{4})")
MAX_SEQ = 9999


def format_order_number(day: date, seq: int) -> str:
    """Format as "EQ-20261126-0007": the date the order was opened, then its sequence that day."""
    if isinstance(seq, bool) or not 1 <= seq <= MAX_SEQ:
        raise ValueError(f"工单序号必须在 1..{MAX_SEQ} 之间：{seq!r}")
    return f"EQ-{day:%Y%m%d}-{seq:04d}"


def parse_order_number(text: str) -> tuple[date, int]:
    """Inverse of `format_order_number`; strict, since numbers are typed in by people."""
    m = _NUMBER.fullmatch(text)
    if m is None:
        raise ValueError(f"工单编号格式应为 EQ-YYYYMMDD-NNNN：{text!r}")
    year, month, day, seq = (int(g) for g in m.groups())
    try:
        when = date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"工单编号中的日期无效：{text!r}") from exc
    if seq < 1:
        raise ValueError(f"工单序号必须在 1..{MAX_SEQ} 之间：{text!r}")
    return when, seq


def visible_contact(order: WorkOrder, viewer_unit: str | None) -> str | None:
    """The phone as `viewer_unit` may see it (None: no phone on file).

    A 保密工单 shows the number only to the unit currently assigned, because it must call back;
    everyone else (other units, the bot's own logs) gets the masked form. An unassigned
    confidential order shows the number to no unit at all.
    """
    if order.contact_phone is None:
        return None
    if not order.confidential:
        return order.contact_phone
    if viewer_unit is not None and order.unit is not None and viewer_unit == order.unit:
        return order.contact_phone
    return mask_phone(order.contact_phone)
