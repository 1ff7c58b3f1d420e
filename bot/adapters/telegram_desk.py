"""The Telegram staff desk: a forum supergroup with one topic per escalated work order.

Once the engine has put a private chat into state "escalated", the user's next real message
finds (or files) the order the desk works on and opens that order's forum topic, named
"{order number} {first 20 characters of its content}". Which order: the one the engine filed
during the handoff (out of office hours), else the user's newest open order, else a new 咨询
order with the user's message, so nothing waits unseen. Topic creation is serialised per user
chat and the order→topic mapping is stored (`bot.store.telegram_desk`), so two quick messages
never open two topics and a restart reuses the old one.

What configured staff write in a topic goes back to the user; `/close`, `/transfer`, `/note`
and `/assign` act on the topic's order through `TicketService` (the state machine decides) and
are kept in the desk log. Anyone else in the group only gets a notice.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from telegram import Bot, Message, Update
from telegram.error import BadRequest
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from bot.cli_tickets import resolve_unit
from bot.core.dialogs import DialogRepo
from bot.core.engine import Core
from bot.core.flows import handoff
from bot.core.messages import Address, Reply
from bot.dispatch import load_catalogue
from bot.filing import InvalidOrder, NewOrder
from bot.store.db import StoreError
from bot.store.telegram_desk import Topic, TopicStore
from bot.tickets import TicketService
from bot.workorder import (
    STATUS_LABELS,
    Action,
    OrderType,
    ReturnReason,
    Source,
    Status,
    TransitionError,
    Urgency,
)

TelegramApp = Application[Any, Any, Any, Any, Any, Any]
Context = ContextTypes.DEFAULT_TYPE

CHANNEL = "telegram"
ESCALATED = handoff.STATE
MAX_TOPIC_NAME = 128  # characters, Bot API limit for a forum topic name
TOPIC_CONTENT = 20  # characters of the order content shown after its number
MAX_CAPTION = 1024  # characters, Bot API limit for a photo/document caption
MAX_CONTENT = 2000
OPEN = frozenset({Status.pending, Status.accepted, Status.dispatched, Status.in_progress})
DEFAULT_RESULT = "已在线答复"
FILE_ONLY = "（用户发送了图片或文件）"

CLOSED = "人工服务已结束，感谢您的耐心"
NOT_STAFF = "您好，本群仅限已登记的工作人员处理用户诉求，您的消息不会转给用户，感谢理解。"
NOT_A_TOPIC = "请在对应工单的话题中使用该命令。"
NO_USER = "这个话题没有关联的用户。"
NO_ORDER = "这个话题是旧版按用户开设的，没有关联工单，无法转办。"
NOT_ESCALATED = "该用户当前不在人工服务中，消息未转发。"
NOTHING_TO_CLOSE = "该用户当前不在人工服务中，工单也不在办理中，无需结束。"
TEXT_ONLY = "目前只能转发文字消息。"
ASSIGN_ONLY_LOG = "（承办人只记入专班台账：工单状态机没有“指定承办人”动作）"


def topic_name(number: str, content: str) -> str:
    return f"{number} {' '.join(content.split())[:TOPIC_CONTENT]}"[:MAX_TOPIC_NAME]


class StaffDesk:
    """The staff supergroup: user messages in, staff replies and order commands out."""

    def __init__(self, core: Core, dialogs: DialogRepo, chat_id: int, staff: frozenset[int]) -> None:
        self.core, self.dialogs, self.chat_id, self.staff = core, dialogs, chat_id, staff
        self.tickets: TicketService = core.deps.tickets
        self.topics = TopicStore(dialogs.db)
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    # -- user → desk ---------------------------------------------------------------------------

    def _lock(self, user_chat_id: int) -> asyncio.Lock:
        lock = self._locks.get(user_chat_id)
        if lock is None:
            lock = self._locks[user_chat_id] = asyncio.Lock()
        return lock

    async def _order_for(self, user_chat_id: int, content: str) -> str:
        """The order this escalation is about: filed at handoff, newest open, or a new 咨询."""
        filed = (await self.dialogs.load(Address(CHANNEL, str(user_chat_id)))).data.get("order")
        if filed:
            return str(filed)
        person = await self.core.deps.people.find_by_identity(CHANNEL, str(user_chat_id))
        if person is None:  # Core.handle links the chat to a person before we get here
            raise LookupError(f"no person for Telegram chat {user_chat_id}")
        for order in await self.tickets.repo.list(petitioner=person.id, limit=50):
            if order.status in OPEN:
                return order.number
        draft = NewOrder(
            type=OrderType.inquiry,
            urgency=Urgency.hoped,
            source=Source.telegram,
            content=content[:MAX_CONTENT],
            petitioner=person.id,
        )
        return (await self.tickets.repo.file(draft, by=person.id, at=self.core.clock())).number

    async def topic(self, bot: Bot, user_chat_id: int, content: str, *, stale: int | None = None) -> Topic:
        """The topic of the user's current order, created at most once per order.

        `stale`: a thread Telegram no longer knows (staff deleted the topic); it is replaced
        once, however many messages noticed it at the same time.
        """
        async with self._lock(user_chat_id):
            number = await self._order_for(user_chat_id, content)
            topic = await self.topics.by_order(number)
            if topic is None or topic.thread_id == stale:
                order = await self.tickets.get(number)
                created = await bot.create_forum_topic(self.chat_id, name=topic_name(number, order.content))
                topic = Topic(created.message_thread_id, user_chat_id, number)
                await self.topics.save(number, user_chat_id, topic.thread_id, self.core.clock())
            return topic

    async def from_user(
        self, bot: Bot, user_chat_id: int, text: str | None, media: Message | None = None
    ) -> None:
        """Copy one user message (text, or a photo/document by file_id) into its order's topic."""
        if not text and media is None:
            return
        topic = await self.topic(bot, user_chat_id, text or FILE_ONLY)
        try:
            await self._copy(bot, topic.thread_id, text, media)
        except BadRequest as exc:
            if "thread" not in str(exc).lower():
                raise
            topic = await self.topic(bot, user_chat_id, text or FILE_ONLY, stale=topic.thread_id)
            await self._copy(bot, topic.thread_id, text, media)

    async def _copy(self, bot: Bot, thread: int, text: str | None, media: Message | None) -> None:
        caption = text[:MAX_CAPTION] if text else None
        if media is not None and media.photo:
            await bot.send_photo(
                self.chat_id, media.photo[-1].file_id, caption=caption, message_thread_id=thread
            )
        elif media is not None and media.document is not None:
            await bot.send_document(
                self.chat_id, media.document.file_id, caption=caption, message_thread_id=thread
            )
        elif text:
            await bot.send_message(self.chat_id, text, message_thread_id=thread)

    # -- desk → user ---------------------------------------------------------------------------

    async def _topic(self, update: Update, *, command: bool) -> Topic | None:
        """The topic behind a staff action, or None after telling the sender why not."""
        message, sender = update.effective_message, update.effective_user
        if message is None or sender is None or sender.is_bot:
            return None
        if sender.id not in self.staff:
            await message.reply_text(NOT_STAFF)
            return None
        if not message.is_topic_message or message.message_thread_id is None:
            if command:
                await message.reply_text(NOT_A_TOPIC)
            return None  # staff talking among themselves in General
        topic = await self.topics.by_thread(message.message_thread_id)
        if topic is None:
            await message.reply_text(NO_USER)
        return topic

    async def _tell_user(self, bot: Bot, user_chat_id: int, text: str) -> None:
        await bot.send_message(user_chat_id, text)
        await self.dialogs.log_out(Address(CHANNEL, str(user_chat_id)), [Reply(text)], self.core.clock())

    async def _escalated(self, user_chat_id: int) -> bool:
        return (await self.dialogs.load(Address(CHANNEL, str(user_chat_id)))).state == ESCALATED

    async def on_text(self, update: Update, context: Context) -> None:
        """A staff reply in a topic goes to the user while the user is with a human."""
        topic = await self._topic(update, command=False)
        message = update.effective_message
        if topic is None or message is None:
            return
        if not message.text:
            await message.reply_text(TEXT_ONLY)
        elif not await self._escalated(topic.user_chat_id):
            await message.reply_text(NOT_ESCALATED)
        else:
            await self._tell_user(context.bot, topic.user_chat_id, message.text)

    async def on_close(self, update: Update, context: Context) -> None:
        """`/close [结果]`: resolve the order if it is in progress, end the escalation, tell the user."""
        topic = await self._topic(update, command=True)
        message, sender = update.effective_message, update.effective_user
        if topic is None or message is None or sender is None:
            return
        result = " ".join(context.args or ()) or DEFAULT_RESULT
        now, resolved = self.core.clock(), False
        if topic.order_number is not None:
            try:
                order = await self.tickets.get(topic.order_number)
                if order.status is Status.in_progress:
                    await self.tickets.act(
                        order.number, Action.resolve, by=f"telegram:{sender.id}", at=now, result=result
                    )
                    resolved = True
            except (TransitionError, StoreError) as exc:
                await message.reply_text(str(exc))
                return
        ended = await self.core.end_escalation(Address(CHANNEL, str(topic.user_chat_id)))
        if not ended and not resolved:
            await message.reply_text(NOTHING_TO_CLOSE)
            return
        await self.topics.record(topic, "close", sender.id, result if resolved else "", now)
        to_user = CLOSED
        if resolved:
            to_user = f"您的工单 {topic.order_number} 已办结，办理结果：{result}\n{CLOSED}"
        await self._tell_user(context.bot, topic.user_chat_id, to_user)
        done = f"工单 {topic.order_number} 已办结（{result}）。" if resolved else ""
        if topic.order_number is not None and not resolved:
            status = STATUS_LABELS[(await self.tickets.get(topic.order_number)).status]
            done = f"工单 {topic.order_number} 当前“{status}”，未办结（只有办理中的工单可以办结）。"
        await message.reply_text(done + ("已结束人工服务，" if ended else "") + "已通知用户。")

    async def on_note(self, update: Update, context: Context) -> None:
        """An internal note: stored for the record, never sent to the user."""
        await self._act(update, context, "note", "/note 备注内容", "已记录内部备注（用户看不到）。")

    async def on_assign(self, update: Update, context: Context) -> None:
        """The handler's name goes to the desk log only: no state-machine action fits."""
        await self._act(update, context, "assign", "/assign 承办人", "已记录承办人：{}。" + ASSIGN_ONLY_LOG)

    async def on_transfer(self, update: Update, context: Context) -> None:
        """`/transfer <单位>`: (accept,) (return,) dispatch the order to the unit; tell the user."""
        topic = await self._topic(update, command=True)
        message, sender = update.effective_message, update.effective_user
        if topic is None or message is None or sender is None:
            return
        text = " ".join(context.args or ())
        if not text:
            await message.reply_text("用法：/transfer 单位（目录编号或名称，如 urban 或 二七区城市管理局）")
            return
        if topic.order_number is None:
            await message.reply_text(NO_ORDER)
            return
        try:
            unit = resolve_unit(text)
        except ValueError as exc:
            await message.reply_text(str(exc))
            return
        spec = load_catalogue().get(unit)
        name = spec.name if spec is not None else unit
        by, now, number = f"telegram:{sender.id}", self.core.clock(), topic.order_number
        try:
            order = await self.tickets.get(number)
            if order.status is Status.pending:
                await self.tickets.act(number, Action.accept, by=by, at=now)
            elif order.status in (Status.dispatched, Status.in_progress):
                note = f"服务专班在 Telegram 中改派至{name}"
                await self.tickets.act(
                    number, Action.return_, by=by, at=now, reason=ReturnReason.other, note=note
                )
            order, _ = await self.tickets.act(number, Action.dispatch, by=by, at=now, unit=unit)
        except (TransitionError, StoreError, InvalidOrder) as exc:
            await message.reply_text(str(exc))
            return
        await self.topics.record(topic, "transfer", sender.id, unit, now)
        await self._tell_user(
            context.bot,
            topic.user_chat_id,
            f"您反映的事项（工单 {number}）已转交{name}办理，请留意后续答复。",
        )
        await message.reply_text(
            f"工单 {number} 已派至{name}，当前状态“{STATUS_LABELS[order.status]}”，并已告知用户。"
        )

    async def _act(self, update: Update, context: Context, kind: str, usage: str, done: str) -> bool:
        topic = await self._topic(update, command=True)
        message, sender = update.effective_message, update.effective_user
        if topic is None or message is None or sender is None:
            return False
        text = " ".join(context.args or ())
        if not text:
            await message.reply_text(f"用法：{usage}")
            return False
        await self.topics.record(topic, kind, sender.id, text, self.core.clock())
        await message.reply_text(done.format(text))
        return True

    async def on_other(self, update: Update, context: Context) -> None:
        """Anything else in the group: non-staff get the notice, staff in a topic a hint."""
        if update.effective_message is not None and update.effective_message.text:
            await self._topic(update, command=True)  # an unknown command: only the checks' notices
            return
        await self.on_text(update, context)

    def register(self, app: TelegramApp) -> None:
        group = filters.Chat(chat_id=self.chat_id) & filters.UpdateType.MESSAGE
        for name, callback in (
            ("close", self.on_close),
            ("note", self.on_note),
            ("assign", self.on_assign),
            ("transfer", self.on_transfer),
        ):
            app.add_handler(CommandHandler(name, callback, filters=group))
        app.add_handler(MessageHandler(group & filters.TEXT & ~filters.COMMAND, self.on_text))
        app.add_handler(MessageHandler(group & ~filters.StatusUpdate.ALL, self.on_other))
