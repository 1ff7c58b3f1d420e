"""What every flow handler receives (`Turn`) and the texts and buttons the flows share.

A handler is `async def f(turn: Turn, ...) -> list[Reply]`; it may change `turn.dialog`, which
the engine saves after the handler returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.core.dialogs import Dialog, DialogRepo
from bot.core.messages import Address, Button, Reply
from bot.core.texts import HELP
from bot.deadlines import DeadlinePolicy
from bot.store.attachments import AttachmentStore
from bot.store.people import PeopleRepo
from bot.tickets import TicketService
from bot.workdays import WorkCalendar
from bot.workorder import Source
from intents.classifier import KnowledgeMatcher
from knowledge.loader import KnowledgeBase

SKIP_WORDS = frozenset({"跳过", "略过", "没有", "无", "不填", "skip"})
YES_WORDS = frozenset({"是", "是的", "对", "要", "需要", "保密", "y", "yes"})
NO_WORDS = frozenset({"否", "不", "不是", "不要", "不需要", "不用", "n", "no"})

PETITION_BUTTON = Button("提交诉求", "petition:start")
HANDOFF_BUTTON = Button("转人工", "handoff:start")
ORDERS_BUTTON = Button("我的工单", "orders:list")
CANCEL_BUTTON = Button("取消", "cancel")
MENU_BUTTONS = (PETITION_BUTTON, ORDERS_BUTTON, HANDOFF_BUTTON)


@dataclass(slots=True)
class Deps:
    """The engine's collaborators, passed in explicitly (no globals, no clock). Not frozen: the
    staff console swaps `kb` and `matcher` after an edit (bot.staff.kb), and every turn reads
    them afresh, so the next message uses the change."""

    dialogs: DialogRepo
    matcher: KnowledgeMatcher
    kb: KnowledgeBase
    tickets: TicketService
    people: PeopleRepo
    calendar: WorkCalendar
    policy: DeadlinePolicy
    attachments: AttachmentStore | None = None  # None: files are refused politely


@dataclass(slots=True)
class Turn:
    """One inbound event being handled: who, where, when, and the chat's dialog."""

    deps: Deps
    address: Address
    person: str
    dialog: Dialog
    now: datetime
    message_id: int
    text: str = ""

    @property
    def source(self) -> Source:
        try:
            return Source(self.address.channel)
        except ValueError:
            return Source.web


def help_reply(prefix: str = "") -> Reply:
    return Reply(prefix + HELP, MENU_BUTTONS)


def fmt_time(when: datetime | None) -> str:
    return f"{when:%Y-%m-%d %H:%M}" if when is not None else "尚未确定"
