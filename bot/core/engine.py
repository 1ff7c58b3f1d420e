"""`Core.handle(Inbound) -> list[Reply]`: the one entry point every channel adapter calls.

Per inbound event, in order: take the chat's lock (one event per address at a time), clean the
input, store it (committed before anything else happens), find or create the person behind the
address, load the chat's dialog, dispatch to a flow, save the dialog, store the replies. Domain
refusals become specific Chinese replies here, in one place; anything else is logged and
answered with a generic "busy" message, so user input can never crash an adapter.
"""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from collections.abc import Callable
from datetime import datetime

from bot.core.dialogs import Dialog, DialogRepo
from bot.core.flows import (
    MENU_BUTTONS,
    Deps,
    Turn,
    consult,
    files,
    handoff,
    help_reply,
    orders,
    petition,
    polls,
)
from bot.core.messages import Address, Inbound, InboundFile, Reply
from bot.core.texts import GREETING, OUT_OF_SCOPE, WELCOME
from bot.deadlines import DeadlinePolicy
from bot.filing import InvalidOrder
from bot.store.attachments import AttachmentStore
from bot.store.db import Database
from bot.store.orders import ConcurrentUpdate, OrderNotFound
from bot.store.people import PeopleRepo
from bot.tickets import TicketService
from bot.workdays import WorkCalendar
from bot.workorder import TransitionError
from intents.classifier import KnowledgeMatcher, classify
from intents.model import EMERGENCY_NUMBERS, Intent, IntentResult, OutOfScopeReason
from knowledge.loader import KnowledgeBase

log = logging.getLogger(__name__)

MAX_TEXT = 2000
MAX_PAYLOAD = 200
BUSY = "系统繁忙，请稍后再试。"
CANCELLED = "已取消。有需要随时再找我。"
EMPTY = "请用文字描述您的问题，例如“小微企业有哪些税费优惠”；输入“帮助”查看菜单。"
TOO_LONG = f"您的消息较长，只处理了前 {MAX_TEXT} 字。"
STALE = "该按钮已失效。\n"
CANCEL_WORDS = frozenset({"取消", "/cancel", "算了", "不办了", "cancel"})
RATING_WORDS = frozenset({"评价", "我要评价", "/rate"})
START_WORDS = frozenset({"/start", "开始"})
# C0/C1 controls except \t and \n, zero-width and bidi overrides, BOM.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def clean(text: str, limit: int = MAX_TEXT) -> tuple[str, bool]:
    """Control characters removed, blanks stripped, at most `limit` characters; and whether cut."""
    text = _CONTROL.sub("", text).strip()
    return text[:limit].strip(), len(text) > limit


def has_words(text: str) -> bool:
    """False for emoji, punctuation or symbols only (Chinese characters count as letters)."""
    return any(ch.isalnum() for ch in text)


class Core:
    """The conversation engine. All collaborators are passed in; `clock` is the only time source."""

    def __init__(
        self,
        *,
        db: Database,
        matcher: KnowledgeMatcher,
        kb: KnowledgeBase,
        tickets: TicketService,
        people: PeopleRepo,
        calendar: WorkCalendar,
        policy: DeadlinePolicy,
        clock: Callable[[], datetime],
        attachments: AttachmentStore | None = None,
    ) -> None:
        """`attachments` None: files the user sends are refused politely."""
        self.deps = Deps(DialogRepo(db), matcher, kb, tickets, people, calendar, policy, attachments)
        self.clock = clock
        self._locks: weakref.WeakValueDictionary[Address, asyncio.Lock] = weakref.WeakValueDictionary()

    @property
    def dialogs(self) -> DialogRepo:
        return self.deps.dialogs

    def _lock(self, address: Address) -> asyncio.Lock:
        lock = self._locks.get(address)
        if lock is None:
            lock = self._locks[address] = asyncio.Lock()
        return lock

    async def end_escalation(self, address: Address) -> bool:
        """Hand the chat back to the bot (staff /close); False if it was not with a person.

        Taken under the chat's lock, so a user message handled at the same moment cannot
        overwrite the change with the dialog it loaded before.
        """
        async with self._lock(address):
            dialog = await self.dialogs.load(address)
            if dialog.state != "escalated":
                return False
            await self.dialogs.save(address, Dialog(), self.clock())
            return True

    async def handle(self, inbound: Inbound) -> list[Reply]:
        async with self._lock(inbound.address):
            try:
                return await self._handle(inbound)
            except Exception:
                log.exception("handling a message from %s failed", inbound.address)
                return [Reply(BUSY)]

    async def _handle(self, inbound: Inbound) -> list[Reply]:
        now, address = self.clock(), inbound.address
        text, cut = clean(inbound.text or "")
        button = clean(inbound.button or "", MAX_PAYLOAD)[0] or None
        arrival = await self.dialogs.log_in(address, text or None, button, now)
        person = arrival.person_id or await self._new_person(inbound, now)
        turn = Turn(self.deps, address, person, arrival.dialog, now, arrival.message_id, text)
        replies = await self._on_files(turn, inbound.files) if inbound.files else []
        if not inbound.files or text or button is not None:  # a caption is handled as a message
            replies += await self._dispatch(turn, button)
        if cut:
            replies.insert(0, Reply(TOO_LONG))
        await self.dialogs.end_turn(address, replies, turn.dialog, arrival.stored, now)
        return replies

    async def _new_person(self, inbound: Inbound, now: datetime) -> str:
        """A chat's first message: its person, created and linked to the chat's identity."""
        name = clean(inbound.user_name or "", 100)[0] or None
        address = inbound.address
        return await self.deps.people.first_contact(
            address.channel, address.chat_id, at=now, display_name=name
        )

    async def _dispatch(self, turn: Turn, button: str | None) -> list[Reply]:
        try:
            if button is not None:
                return await self._on_button(turn, button)
            return await self._on_text(turn)
        except TransitionError as exc:
            return [Reply(f"操作未能完成：{exc}")]
        except InvalidOrder as exc:
            return [Reply(f"诉求未能提交：{exc}。请修改后重试。")]
        except OrderNotFound:
            return [Reply(orders.NOT_FOUND)]
        except ConcurrentUpdate:
            return [Reply("工单刚刚有了新的办理进展，请稍后重试。")]

    async def _on_files(self, turn: Turn, received: tuple[InboundFile, ...]) -> list[Reply]:
        in_petition = turn.dialog.state == petition.STATE
        refused = files.refusal(turn, in_petition)
        return refused if refused is not None else await petition.on_files(turn, received)

    async def _on_button(self, turn: Turn, payload: str) -> list[Reply]:
        kind, _, arg = payload.partition(":")
        replies: list[Reply] | None = None
        if payload == "cancel":
            return cancel(turn)
        if kind == "fb":
            entry, _, flag = arg.rpartition(":")
            replies = await consult.feedback(turn, entry, flag)
        elif kind == "kb" and self.deps.kb.get(arg) is not None:
            replies = consult.answer(turn, arg)
        elif payload == "petition:start":
            replies = petition.start(turn)
        elif payload == "handoff:start":
            replies = await handoff.start(turn)
        elif payload == "orders:list":
            replies = await orders.list_orders(turn)
        elif kind == "order":
            replies = await orders.detail(turn, arg)
        elif kind == "rate":
            replies = await orders.rating_choices(turn, arg)
        elif kind == "rv":
            number, _, value = arg.partition(":")
            replies = await orders.rate(turn, number, value)
        elif payload == orders.COMMENT_SKIP and turn.dialog.state == orders.COMMENT_STATE:
            replies = orders.skip_comment(turn)
        elif kind == "poll":
            replies = await polls.answer(turn, arg)
        elif kind in ("pt", "pc", "pp", "pf", "pe") and turn.dialog.state == petition.STATE:
            replies = await petition.on_button(turn, payload)
        return replies if replies is not None else [help_reply(STALE)]

    async def _on_text(self, turn: Turn) -> list[Reply]:
        text, state = turn.text, turn.dialog.state
        if not has_words(text):
            return [Reply(EMPTY)]
        if text.lower() in CANCEL_WORDS:
            return cancel(turn)
        if text.lower() in START_WORDS:
            return [Reply(WELCOME, MENU_BUTTONS)]
        if text.lower() in polls.UNSUBSCRIBE_WORDS:
            return await polls.unsubscribe(turn)
        if text.lower() in polls.SUBSCRIBE_WORDS:
            return await polls.subscribe(turn)
        if state == polls.STATE and (noted := await polls.on_comment(turn, text)) is not None:
            return noted
        if state == orders.COMMENT_STATE:
            return await orders.on_comment(turn, text)
        if state == petition.STATE:
            return await petition.on_text(turn, text)
        if state == handoff.STATE:
            return handoff.waiting(turn)
        if text in RATING_WORDS:
            return await orders.rating_list(turn)
        return await self._route(turn, classify(text, self.deps.matcher, today=turn.now.date()))

    async def _route(self, turn: Turn, r: IntentResult) -> list[Reply]:
        if r.intent is Intent.OUT_OF_SCOPE:
            return [Reply(out_of_scope(r))]
        if r.intent is Intent.GREETING:
            return [Reply(GREETING, MENU_BUTTONS)]
        if r.intent is Intent.HELP:
            return [help_reply()]
        if r.intent is Intent.PETITION:
            return petition.start(turn, r, turn.text)
        if r.intent is Intent.TALK_TO_HUMAN:
            return await handoff.start(turn)
        if r.intent is Intent.RATING:
            return await orders.rating_list(turn)
        if r.slots.order_number and r.intent in (Intent.MY_ORDERS, Intent.UNKNOWN):
            return await orders.detail(turn, r.slots.order_number)
        if r.intent is Intent.MY_ORDERS:
            return await orders.list_orders(turn)
        return consult.from_match(turn, r.match or self.deps.matcher.match(turn.text))


def cancel(turn: Turn) -> list[Reply]:
    turn.dialog = Dialog()
    return [Reply(CANCELLED, MENU_BUTTONS)]


def out_of_scope(r: IntentResult) -> str:
    if r.out_of_scope_reason is OutOfScopeReason.EMERGENCY:
        number = r.emergency_number or "110"
        return f"情况紧急！请立即拨打 {number}（{EMERGENCY_NUMBERS.get(number, '紧急求助')}）。"
    return OUT_OF_SCOPE.get(r.out_of_scope_reason or OutOfScopeReason.LITIGATION, "")
