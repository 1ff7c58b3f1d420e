"""The petitioner's own work orders: list, detail with the progress timeline, and rating (回访).

Every lookup checks `order.petitioner == turn.person`: someone else's number gets the same
answer as a number that does not exist, so numbers cannot be probed.
"""

from __future__ import annotations

from bot.core.flows import PETITION_BUTTON, Turn, fmt_time
from bot.core.messages import Button, Reply
from bot.workorder import (
    ACTION_LABELS,
    RATING_LABELS,
    SATISFIED,
    STATUS_LABELS,
    TYPE_LABELS,
    Action,
    Rating,
    Status,
    WorkOrder,
)

NOT_FOUND = "未找到您名下的这个工单，请核对工单号（格式如 EQ-20261126-0001）。"
LIST_LIMIT = 10


async def _own(turn: Turn, number: str) -> WorkOrder | None:
    order = await turn.deps.tickets.repo.get(number)
    return order if order is not None and order.petitioner == turn.person else None


async def list_orders(turn: Turn) -> list[Reply]:
    orders = await turn.deps.tickets.repo.list(petitioner=turn.person, limit=LIST_LIMIT)
    if not orders:
        return [Reply("您还没有提交过诉求工单。", (PETITION_BUTTON,))]
    buttons = tuple(Button(f"{o.number} {STATUS_LABELS[o.status]}", f"order:{o.number}") for o in orders)
    lines = [f"{o.number}  {TYPE_LABELS[o.type]}  {STATUS_LABELS[o.status]}" for o in orders]
    return [Reply("您的工单（最近 10 件）：\n" + "\n".join(lines) + "\n点选查看办理进度。", buttons)]


async def detail(turn: Turn, number: str) -> list[Reply]:
    order = await _own(turn, number)
    if order is None:
        return [Reply(NOT_FOUND)]
    events = await turn.deps.tickets.repo.events(number)
    lines = [
        f"工单 {order.number}（{TYPE_LABELS[order.type]}）",
        f"当前状态：{STATUS_LABELS[order.status]}",
        f"办理时限：{fmt_time(order.deadline)}",
        "办理进度：",
        *(f"  {fmt_time(e.at)} {ACTION_LABELS[e.action]}（{STATUS_LABELS[e.to_status]}）" for e in events),
    ]
    if order.result:
        lines.append(f"办理结果：{order.result}")
    buttons = (Button("评价", f"rate:{number}"),) if order.status is Status.awaiting_visit else ()
    return [Reply("\n".join(lines), buttons)]


async def rating_list(turn: Turn) -> list[Reply]:
    orders = await turn.deps.tickets.repo.list(
        petitioner=turn.person, status=Status.awaiting_visit, limit=LIST_LIMIT
    )
    if not orders:
        return [Reply("您目前没有待评价的工单。诉求办结、进入回访后就可以评价。")]
    buttons = tuple(Button(f"{o.number} {TYPE_LABELS[o.type]}", f"rate:{o.number}") for o in orders)
    return [Reply("请选择要评价的工单：", buttons)]


async def rating_choices(turn: Turn, number: str) -> list[Reply]:
    order = await _own(turn, number)
    if order is None:
        return [Reply(NOT_FOUND)]
    if order.status is not Status.awaiting_visit:
        return [Reply(f"工单 {number} 当前状态为“{STATUS_LABELS[order.status]}”，暂时不能评价。")]
    result = f"\n办理结果：{order.result}" if order.result else ""
    buttons = tuple(Button(label, f"rv:{number}:{r.value}") for r, label in RATING_LABELS.items())
    return [Reply(f"请对工单 {number} 的办理情况进行评价：{result}", buttons)]


COMMENT_STATE = "rating_comment"
COMMENT_PROMPT = "如有意见或建议，可以直接输入（选填），或点“跳过”。"
COMMENT_SKIP = "rc:skip"
MAX_COMMENT = 500


async def rate(turn: Turn, number: str, value: str) -> list[Reply] | None:
    """None when `value` is not a rating (a stale or forged button)."""
    try:
        rating = Rating(value)
    except ValueError:
        return None
    order = await _own(turn, number)
    if order is None:
        return [Reply(NOT_FOUND)]
    if order.status is Status.resolved:
        # Answering the scheduled 回访 (bot.schedule) is what starts the visit.
        await turn.deps.tickets.act(number, Action.start_visit, by="scheduler:回访", at=turn.now)
    await turn.deps.tickets.act(number, Action.rate, rating=rating, by=turn.person, at=turn.now)
    text = f"感谢您的评价（{RATING_LABELS[rating]}）！"
    if rating not in SATISFIED:
        text += "工单已退回承办单位重办，办结后会再次请您评价。"
    turn.dialog.reset(COMMENT_STATE, order=number)
    return [Reply(text + "\n" + COMMENT_PROMPT, (Button("跳过", COMMENT_SKIP),))]


async def on_comment(turn: Turn, text: str) -> list[Reply]:
    """The optional comment after a rating: stored beside the order, the chat back to idle."""
    number = str(turn.dialog.data.get("order", ""))
    turn.dialog.reset()
    if await _own(turn, number) is None:
        return [Reply(NOT_FOUND)]
    await turn.deps.tickets.repo.add_rating_comment(number, turn.person, text[:MAX_COMMENT], turn.now)
    return [Reply(f"已记录您对工单 {number} 的意见，我们会转给承办单位。谢谢！")]


def skip_comment(turn: Turn) -> list[Reply]:
    turn.dialog.reset()
    return [Reply("好的，感谢您的评价。")]
