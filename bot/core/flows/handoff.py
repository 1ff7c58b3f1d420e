"""Human handoff: the chat goes to state `escalated`; out of office hours a 咨询 order is filed
with the chat's last question, so the request is on a work list instead of waiting unseen."""

from __future__ import annotations

from datetime import datetime, time

from bot.core.flows import Turn
from bot.core.messages import Reply
from bot.filing import NewOrder
from bot.workorder import OrderType, Urgency

STATE = "escalated"
NO_QUESTION = "（用户未留下具体问题）"


def in_office_hours(turn: Turn) -> bool:
    cal, now = turn.deps.calendar, turn.now
    return cal.is_workday(now.date()) and any(a <= now.time() < b for a, b in cal.hours)


def next_opening(turn: Turn) -> datetime:
    """When staff are next at work: a later block today (after lunch), else the next working day."""
    cal, now = turn.deps.calendar, turn.now
    if cal.is_workday(now.date()):
        for start, _ in cal.hours:
            if now.time() < start:
                return datetime.combine(now.date(), start, tzinfo=now.tzinfo)
    day = cal.next_workday(now.date())
    first: time = cal.hours[0][0]
    return datetime.combine(day, first, tzinfo=now.tzinfo)


async def start(turn: Turn) -> list[Reply]:
    if in_office_hours(turn):
        turn.dialog.reset(STATE, since=turn.now.isoformat())
        return [Reply("已为您转接人工客服，工作人员会尽快在这里回复您。发送“取消”可结束人工服务。")]
    when = next_opening(turn)
    number = turn.dialog.data.get("order") if turn.dialog.state == STATE else None
    if number is None:
        question = await turn.deps.dialogs.last_text_before(turn.address, turn.message_id)
        draft = NewOrder(
            type=OrderType.inquiry,
            urgency=Urgency.hoped,
            source=turn.source,
            content=f"用户在非工作时间请求人工服务。最后的问题：{question or NO_QUESTION}",
            petitioner=turn.person,
        )
        number = (await turn.deps.tickets.repo.file(draft, by=turn.person, at=turn.now)).number
    turn.dialog.reset(STATE, since=turn.now.isoformat(), order=number)
    return [
        Reply(
            f"现在是非工作时间，工作人员将于 {when:%m月%d日 %H:%M} 上班后回复您。"
            f"您的问题已登记为咨询工单 {number}，不会遗漏。"
            "紧急情况请拨打 12345 热线（24 小时）。发送“取消”可结束人工服务。"
        )
    ]


def waiting(turn: Turn) -> list[Reply]:
    number = turn.dialog.data.get("order")
    extra = f"（工单 {number}）" if number else ""
    return [Reply(f"您的消息已记录{extra}，工作人员会尽快回复。发送“取消”可结束人工服务，回到自助问答。")]
