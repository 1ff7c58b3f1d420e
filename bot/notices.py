"""What the petitioner is told when their work order changes: pure, decided from the audit event.

The message is stored in the same transaction as the change it reports (a transactional outbox,
table `notices`), so a committed 延期 can never be left untold by a crash, and delivery (web chat,
Telegram, WeChat, in later issues) reads the outbox at its own pace and within each platform's
limits. Only changes the petitioner should hear about produce a notice (受理, 派单, 延期, 办结, …);
internal steps (签收, 催办, 督办) do not, in the spirit of 无事不扰.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.dispatch import unit_name
from bot.workorder import Action, Event, Rating, RejectReason, WorkOrder

# Why an order was not taken, as the petitioner reads it: each points to the right channel.
REJECT_REASONS: dict[RejectReason, str] = {
    RejectReason.litigation: "已进入诉讼或仲裁程序的事项，请通过人民法院或仲裁机构依法解决",
    RejectReason.xinfang: "信访事项请通过信访渠道依法提出",
    RejectReason.emergency: "紧急情况请立即拨打 110、119、120 或 122",
    RejectReason.out_of_scope: "不属于政务服务便民热线的受理范围",
    RejectReason.duplicate: "与您已提交的诉求重复，将合并办理",
}


@dataclass(frozen=True, slots=True)
class Notice:
    """One message owed to a petitioner."""

    recipient: str  # the order's petitioner id; channels resolve it to an address
    order_number: str
    kind: str  # the action that caused it, e.g. "approve_extension"
    text: str
    at: datetime


def _due(order: WorkOrder) -> str:
    return f"{order.deadline:%Y年%m月%d日 %H:%M}" if order.deadline else "另行告知"


def notices_for(order: WorkOrder, event: Event) -> list[Notice]:
    """The notices owed after `event` produced `order` (the order as it now stands)."""
    n = order.number
    texts: dict[Action, str] = {
        Action.accept: f"您的诉求已受理，工单号 {n}，我们会尽快转交承办单位。",
        Action.dispatch: f"您的工单 {n} 已转交{unit_name(order.unit or '')}办理，请留意后续答复。",
        Action.approve_extension: f"您的工单 {n} 经批准延期办理，新的办结期限为 {_due(order)}。",
        Action.resolve: f"您的工单 {n} 已办结：{order.result or ''}稍后会请您对办理结果进行评价。",
        Action.withdraw: f"您的工单 {n} 已撤销。",
    }
    text = texts.get(event.action)
    if event.action is Action.reject:
        code = _reject_reason(event)
        reason = REJECT_REASONS[code] if code is not None else "不属于受理范围"
        text = f"您的诉求（{n}）不予受理：{reason}。如有疑问可拨打 12345 咨询。"
    elif event.action is Action.rate and order.rating in (Rating.unsatisfied, Rating.very_unsatisfied):
        text = f"您对工单 {n} 的评价为不满意，已退回承办单位重新办理，新的期限为 {_due(order)}。"
    if text is None:
        return []
    return [Notice(order.petitioner, n, event.action.value, text, event.at)]


def _reject_reason(event: Event) -> RejectReason | None:
    try:
        return RejectReason(str(event.get("reason")))
    except ValueError:
        return None
