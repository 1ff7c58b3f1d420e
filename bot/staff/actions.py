"""What staff do at the console: reply to a user, add an internal note, act on an order, end a
chat's human service. Each act is audited; replies go out through the durable schedule, so they
reach the user on their own channel (web chat or Telegram) exactly as the scheduler delivers
anything else: once, within the platform's limits, never lost in a restart.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.core.messages import Address
from bot.schedule.model import Item, Kind, Target
from bot.schedule.store import ScheduleStore
from bot.staff.accounts import Account, Role
from bot.staff.store import StaffStore
from bot.store.db import Database, from_db, to_db
from bot.tickets import TicketService
from bot.workorder import Action, Rating, RejectReason, ReturnReason, WorkOrder
from knowledge.yamlio import parse_yaml

MAX_REPLY = 2000


class _Canned(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sample: bool = False
    replies: tuple[str, ...] = Field(min_length=1)


@cache
def canned_replies() -> tuple[str, ...]:
    """常用语 from `bot/data/canned_replies.yaml`."""
    text = resources.files("bot").joinpath("data", "canned_replies.yaml").read_text(encoding="utf-8")
    return _Canned.model_validate(parse_yaml(text)).replies


# Which roles may take which action at the console, and the form fields each needs.
ACTIONS: dict[Action, tuple[frozenset[Role], tuple[str, ...]]] = {
    Action.accept: (frozenset({Role.admin, Role.dispatcher}), ()),
    Action.reject: (frozenset({Role.admin, Role.dispatcher}), ("reason",)),
    Action.dispatch: (frozenset({Role.admin, Role.dispatcher}), ("unit",)),
    Action.acknowledge: (frozenset({Role.handler}), ()),
    Action.return_: (frozenset({Role.handler, Role.dispatcher, Role.admin}), ("reason",)),
    Action.apply_extension: (frozenset({Role.handler}), ("days",)),
    Action.approve_extension: (frozenset({Role.admin, Role.dispatcher}), ()),
    Action.reject_extension: (frozenset({Role.admin, Role.dispatcher}), ()),
    Action.resolve: (frozenset({Role.handler}), ("result",)),
    Action.urge: (frozenset({Role.admin, Role.dispatcher, Role.supervisor}), ()),
    Action.supervise: (frozenset({Role.admin, Role.leader}), ()),
}
REOPEN = "reopen"  # 重办 on a petitioner's behalf (a complaint by phone about a closed order)


def allowed_actions(account: Account, order: WorkOrder) -> list[Action]:
    """The console's buttons for this order; the state machine still has the last word."""
    if not account.may_see(order):
        return []
    return [a for a, (roles, _) in ACTIONS.items() if account.role in roles]


class ConsoleActions:
    def __init__(
        self, db: Database, tickets: TicketService, clock: Callable[[], datetime], wake: Callable[[], None]
    ):
        self.db, self.tickets, self.clock, self.wake = db, tickets, clock, wake
        self.staff, self.schedule = StaffStore(db), ScheduleStore(db)

    async def reply(self, account: Account, to: Address | str, text: str, *, about: str = "") -> None:
        """Send `text` to a chat (`Address`) or to an order's petitioner (order number `str`)."""
        text = text.strip()[:MAX_REPLY]
        if not text:
            raise ValueError("回复内容不能为空")
        now = self.clock()
        if isinstance(to, str):
            order = await self.tickets.get(to)
            target, about = Target("person", order.petitioner), to
        else:
            target = Target(to.channel, to.chat_id)
        body = f"【工作人员】{text}"
        key = f"staff_reply:{uuid.uuid4().hex}"  # every reply is its own push
        payload: dict[str, Any] = {"order": about} if about else {}
        await self.schedule.add([Item(Kind.staff_reply, target, now, body, key, payload=payload)], now)
        await self._log_out(target, body, now)
        await self.staff.audit(
            account.id, "reply", about or f"{target.channel}:{target.chat_id}", text[:200], now
        )
        self.wake()

    async def _log_out(self, target: Target, text: str, now: datetime) -> None:
        """Into the conversation log, so the transcript shows what staff said."""
        if target.channel == "person":
            row = await self.db.fetchone(
                "SELECT i.channel, i.external_id FROM identities i JOIN messages m ON m.channel = i.channel "
                "AND m.chat_id = i.external_id WHERE i.person_id = ? ORDER BY m.id DESC LIMIT 1",
                (target.chat_id,),
            )
            if row is None:
                return
            channel, chat = str(row["channel"]), str(row["external_id"])
        else:
            channel, chat = target.channel, target.chat_id
        await self.db.execute_atomic(
            "INSERT INTO messages (channel, chat_id, direction, text, button, at) "
            "VALUES (?, ?, 'out', ?, NULL, ?)",
            (channel, chat, text, to_db(now)),
        )

    async def note(self, account: Account, number: str, text: str) -> None:
        """An internal note on an order: for staff only, never sent to the user."""
        text = text.strip()[:MAX_REPLY]
        if not text:
            raise ValueError("备注内容不能为空")
        await self.staff.audit(account.id, "order.note", number, text, self.clock())

    async def notes(self, number: str) -> list[tuple[str, str, datetime]]:
        rows = await self.db.fetchall(
            "SELECT a.display_name, s.detail, s.at FROM staff_audit s "
            "JOIN staff_accounts a ON a.id = s.account_id "
            "WHERE s.action = 'order.note' AND s.target = ? ORDER BY s.id",
            (number,),
        )
        return [(str(r["display_name"]), str(r["detail"]), from_db(r["at"])) for r in rows]

    async def act(self, account: Account, order: WorkOrder, action: str, form: dict[str, str]) -> WorkOrder:
        """One lifecycle action from the console's form; ValueError (Chinese) when refused."""
        now, by = self.clock(), f"staff:{account.username}"
        if action == REOPEN:
            if account.role not in (Role.admin, Role.dispatcher):
                raise ValueError("只有受理/派单员可以登记重办")
            new, _ = await self.tickets.act(
                order.number, Action.rate, by=by, at=now, rating=Rating.unsatisfied
            )
        else:
            try:
                chosen = Action(action)
            except ValueError:
                raise ValueError("不支持的操作") from None
            roles, needs = ACTIONS.get(chosen, (frozenset(), ()))
            if account.role not in roles:
                raise ValueError("您的角色不能执行这个操作")
            params = {name: _param(name, form.get(name, "")) for name in needs}
            new, _ = await self.tickets.act(order.number, chosen, by=by, at=now, **params)
        await self.staff.audit(account.id, f"order.{action}", order.number, str(form)[:200], now)
        return new


def _param(name: str, value: str) -> object:
    value = value.strip()
    if not value:
        raise ValueError(f"请填写“{PARAM_LABELS.get(name, name)}”")
    if name == "days":
        if not value.isdigit() or not 1 <= int(value) <= 60:
            raise ValueError("延期天数应为 1–60 的整数")
        return int(value)
    if name == "reason":
        for enum in (ReturnReason, RejectReason):
            if value in enum.__members__:
                return enum(value)
        raise ValueError("原因代码不正确")
    return value


PARAM_LABELS = {"reason": "原因", "unit": "承办单位", "days": "延期天数", "result": "办理结果"}
