"""Telegram channel (python-telegram-bot 22): private chats talk to `Core`, staff answer in a forum.

`build_application` is the composition root of this channel. Private chats: every command and
text becomes one `Inbound` for `Core.handle`, and every `Reply` is sent back with an inline
keyboard whose `callback_data` is the engine's own payload string ("petition:start",
"kb:<entry>", …). Those payloads are self-describing and at most 64 bytes (Telegram's limit), so
a button pressed after a restart still means the same thing; PTB's `arbitrary_callback_data`
is never enabled because its cache lives in memory and would die with the process.

Staff desk (when `staff_chat_id` names a forum supergroup): once the engine has put a chat into
state "escalated", each further user message is copied into that user's own forum topic, and
what configured staff write there goes back to the user. The user→topic mapping is stored
(`telegram_topics`), and topic creation is serialised per user, so two quick messages never
open two topics and a restart reuses the old one. SQL lives here rather than in `bot/store`
because only this channel knows what a forum topic is.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import weakref
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.core.dialogs import DialogRepo
from bot.core.engine import Core
from bot.core.flows import handoff
from bot.core.messages import Address, Button, Inbound, Reply
from bot.store.db import Database, to_db

log = logging.getLogger(__name__)

TelegramApp = Application[Any, Any, Any, Any, Any, Any]
Context = ContextTypes.DEFAULT_TYPE

CHANNEL = "telegram"
ESCALATED = handoff.STATE
MAX_CALLBACK_DATA = 64  # bytes, Bot API limit for InlineKeyboardButton.callback_data
MAX_MESSAGE = 4096  # characters, Bot API limit for one text message
MAX_TOPIC_NAME = 128
DEEP_LINK_POLICY = "policy_"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

POLICY_USAGE = "请在 /policy 后面写上您的问题，例如：/policy 小微企业有哪些税费优惠"
CLOSED = "人工服务已结束，感谢您的耐心"
NOT_STAFF = "您好，本群仅限已登记的工作人员处理用户诉求，您的消息不会转给用户，感谢理解。"
NOT_A_TOPIC = "请在对应用户的话题中使用该命令。"
NO_USER = "这个话题没有关联的用户。"
NOT_ESCALATED = "该用户当前不在人工服务中，消息未转发。"
NOTHING_TO_CLOSE = "该用户当前不在人工服务中。"
TEXT_ONLY = "目前只能转发文字消息。"


def callback_data(payload: str) -> str:
    """The payload itself, refused (not truncated) when Telegram would reject it."""
    if len(payload.encode()) > MAX_CALLBACK_DATA:
        raise ValueError(f"button payload longer than {MAX_CALLBACK_DATA} bytes: {payload!r}")
    return payload


def keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """One button per row: labels are Chinese phrases that would be cut off side by side."""
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=callback_data(b.payload))] for b in buttons]
    )


def chunks(text: str) -> list[str]:
    """`text` in pieces Telegram accepts; the engine's own replies are normally one piece."""
    return [text[i : i + MAX_MESSAGE] for i in range(0, len(text), MAX_MESSAGE)] or [""]


class TopicStore:
    """The `telegram_topics` mapping and the desk log; every write commits before returning."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def thread_for(self, user_chat_id: int) -> int | None:
        row = await self.db.fetchone(
            "SELECT thread_id FROM telegram_topics WHERE user_chat_id = ?", (user_chat_id,)
        )
        return int(row["thread_id"]) if row is not None else None

    async def user_for(self, thread_id: int) -> int | None:
        row = await self.db.fetchone(
            "SELECT user_chat_id FROM telegram_topics WHERE thread_id = ?", (thread_id,)
        )
        return int(row["user_chat_id"]) if row is not None else None

    async def save(self, user_chat_id: int, thread_id: int, at: datetime) -> None:
        """Insert, or point the user at a new topic (the old one was deleted by staff)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO telegram_topics (user_chat_id, thread_id, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (user_chat_id) DO UPDATE SET thread_id = excluded.thread_id, "
                "created_at = excluded.created_at",
                (user_chat_id, thread_id, to_db(at)),
            )

    async def record(self, user_chat_id: int, kind: str, staff_id: int, text: str, at: datetime) -> None:
        """Log a desk action; /assign and /transfer also become the topic's current value."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO telegram_desk_log (user_chat_id, kind, staff_user_id, text, at) "
                "VALUES (?, ?, ?, ?, ?)",
                (user_chat_id, kind, staff_id, text, to_db(at)),
            )
            if kind in ("assign", "transfer"):
                column = "assignee" if kind == "assign" else "unit"
                await conn.execute(
                    f"UPDATE telegram_topics SET {column} = ? WHERE user_chat_id = ?", (text, user_chat_id)
                )

    async def actions(self, user_chat_id: int) -> list[tuple[str, str]]:
        rows = await self.db.fetchall(
            "SELECT kind, text FROM telegram_desk_log WHERE user_chat_id = ? ORDER BY id", (user_chat_id,)
        )
        return [(r["kind"], r["text"]) for r in rows]


class StaffDesk:
    """The staff supergroup: user messages in, staff replies and commands out."""

    def __init__(self, core: Core, dialogs: DialogRepo, chat_id: int, staff: frozenset[int]) -> None:
        self.core, self.dialogs, self.chat_id, self.staff = core, dialogs, chat_id, staff
        self.topics = TopicStore(dialogs.db)
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    async def topic(self, bot: Bot, user_chat_id: int, name: str, *, renew: bool = False) -> int:
        """The user's topic thread id, created at most once per user (lock + stored mapping)."""
        lock = self._locks.get(user_chat_id)
        if lock is None:
            lock = self._locks[user_chat_id] = asyncio.Lock()
        async with lock:
            thread = await self.topics.thread_for(user_chat_id)
            if thread is None or renew:
                title = f"{name} · {user_chat_id}"[:MAX_TOPIC_NAME]
                created = await bot.create_forum_topic(self.chat_id, name=title)
                thread = created.message_thread_id
                await self.topics.save(user_chat_id, thread, self.core.clock())
            return thread

    async def from_user(self, bot: Bot, user_chat_id: int, name: str, text: str) -> None:
        """Copy one user message into the user's topic, reopening it if staff deleted it."""
        thread = await self.topic(bot, user_chat_id, name)
        try:
            await bot.send_message(self.chat_id, text, message_thread_id=thread)
        except BadRequest as exc:
            if "thread" not in str(exc).lower():
                raise
            thread = await self.topic(bot, user_chat_id, name, renew=True)
            await bot.send_message(self.chat_id, text, message_thread_id=thread)

    async def _user(self, update: Update, *, command: bool) -> int | None:
        """The user chat behind a staff action, or None after telling the sender why not."""
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
        user = await self.topics.user_for(message.message_thread_id)
        if user is None:
            await message.reply_text(NO_USER)
        return user

    async def _tell_user(self, bot: Bot, user_chat_id: int, text: str) -> None:
        await bot.send_message(user_chat_id, text)
        await self.dialogs.log_out(Address(CHANNEL, str(user_chat_id)), [Reply(text)], self.core.clock())

    async def _escalated(self, user_chat_id: int) -> bool:
        return (await self.dialogs.load(Address(CHANNEL, str(user_chat_id)))).state == ESCALATED

    async def on_text(self, update: Update, context: Context) -> None:
        """A staff reply in a topic goes to the user while the user is with a human."""
        user = await self._user(update, command=False)
        message = update.effective_message
        if user is None or message is None:
            return
        if not message.text:
            await message.reply_text(TEXT_ONLY)
        elif not await self._escalated(user):
            await message.reply_text(NOT_ESCALATED)
        else:
            await self._tell_user(context.bot, user, message.text)

    async def on_close(self, update: Update, context: Context) -> None:
        """End the escalation: the chat is back with the bot and the user is told."""
        user = await self._user(update, command=True)
        message, sender = update.effective_message, update.effective_user
        if user is None or message is None or sender is None:
            return
        if not await self.core.end_escalation(Address(CHANNEL, str(user))):
            await message.reply_text(NOTHING_TO_CLOSE)
            return
        now = self.core.clock()
        await self.topics.record(user, "close", sender.id, "", now)
        await self._tell_user(context.bot, user, CLOSED)
        await message.reply_text("已结束人工服务，并已通知用户。")

    async def on_note(self, update: Update, context: Context) -> None:
        """An internal note: stored for the record, never sent to the user."""
        await self._act(update, context, "note", "/note 备注内容", "已记录内部备注（用户看不到）。")

    async def on_assign(self, update: Update, context: Context) -> None:
        await self._act(update, context, "assign", "/assign 承办人", "已记录承办人：{}。")

    async def on_transfer(self, update: Update, context: Context) -> None:
        """Record the unit now handling the matter and tell the user where it went."""
        if await self._act(update, context, "transfer", "/transfer 单位名称", "已转交{}，并已告知用户。"):
            assert update.effective_message is not None
            user = await self.topics.user_for(update.effective_message.message_thread_id or 0)
            unit = " ".join(context.args or ())
            if user is not None:
                await self._tell_user(context.bot, user, f"您反映的事项已转交{unit}办理，请留意后续答复。")

    async def _act(self, update: Update, context: Context, kind: str, usage: str, done: str) -> bool:
        user = await self._user(update, command=True)
        message, sender = update.effective_message, update.effective_user
        if user is None or message is None or sender is None:
            return False
        text = " ".join(context.args or ())
        if not text:
            await message.reply_text(f"用法：{usage}")
            return False
        await self.topics.record(user, kind, sender.id, text, self.core.clock())
        await message.reply_text(done.format(text))
        return True

    async def on_other(self, update: Update, context: Context) -> None:
        """Anything else in the group: non-staff get the notice, staff in a topic a hint."""
        if update.effective_message is not None and update.effective_message.text:
            await self._user(update, command=True)  # an unknown command: only the checks' notices
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


class PrivateChats:
    """Users in private chats: commands and text go to the engine, its replies come back."""

    def __init__(self, core: Core, dialogs: DialogRepo, desk: StaffDesk | None) -> None:
        self.core, self.dialogs, self.desk = core, dialogs, desk

    async def converse(self, update: Update, context: Context, *, text: str | None = None,
                       button: str | None = None) -> None:  # fmt: skip
        """One `Core.handle` call; while escalated, the user's text is copied to the staff desk."""
        chat, user, message = update.effective_chat, update.effective_user, update.effective_message
        if chat is None:
            return
        address = Address(CHANNEL, str(chat.id))
        escalated = self.desk is not None and (await self.dialogs.load(address)).state == ESCALATED
        at = message.date if message is not None and button is None else self.core.clock()
        name = user.full_name if user is not None else None
        replies = await self.core.handle(Inbound(address, at, text=text, button=button, user_name=name))
        if self.desk is not None and escalated and text:
            await self.desk.from_user(context.bot, chat.id, name or str(chat.id), text)
        reply_to = message if button is None else None
        await send(context.bot, chat.id, replies, reply_to)

    async def on_start(self, update: Update, context: Context) -> None:
        """`/start policy_<entry>` (a deep link from a policy page) answers that entry directly."""
        arg = context.args[0] if context.args else ""
        entry = arg.removeprefix(DEEP_LINK_POLICY) if arg.startswith(DEEP_LINK_POLICY) else ""
        if entry and self.core.deps.kb.get(entry) is not None:
            await self.converse(update, context, button=f"kb:{entry}")
        else:
            await self.converse(update, context, text="/start")

    async def on_help(self, update: Update, context: Context) -> None:
        await self.converse(update, context, text="帮助")

    async def on_policy(self, update: Update, context: Context) -> None:
        message = update.effective_message
        question = (message.text or "").partition(" ")[2].strip() if message is not None else ""
        if not question and message is not None:
            await message.reply_text(POLICY_USAGE)
        elif question:
            await self.converse(update, context, text=question)

    async def on_new(self, update: Update, context: Context) -> None:
        await self.converse(update, context, button="petition:start")

    async def on_my(self, update: Update, context: Context) -> None:
        await self.converse(update, context, button="orders:list")

    async def on_cancel(self, update: Update, context: Context) -> None:
        await self.converse(update, context, button="cancel")

    async def on_message(self, update: Update, context: Context) -> None:
        """Text (and unknown /commands, which the engine knows some of) or a caption; else None."""
        message = update.effective_message
        if message is not None:
            await self.converse(update, context, text=message.text or message.caption)

    async def on_button(self, update: Update, context: Context) -> None:
        """Answer the query first (stops the client's spinner), then reply as new messages."""
        query = update.callback_query
        if query is None:
            return
        await query.answer()
        chat = update.effective_chat
        if chat is not None and chat.type == chat.PRIVATE and query.data:
            await self.converse(update, context, button=query.data)

    def register(self, app: TelegramApp) -> None:
        private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
        for name, callback in (
            ("start", self.on_start),
            ("help", self.on_help),
            ("policy", self.on_policy),
            ("new", self.on_new),
            ("my", self.on_my),
            ("cancel", self.on_cancel),
        ):
            app.add_handler(CommandHandler(name, callback, filters=private))
        app.add_handler(MessageHandler(private & ~filters.StatusUpdate.ALL, self.on_message))
        app.add_handler(CallbackQueryHandler(self.on_button))


async def send(bot: Bot, chat_id: int, replies: Sequence[Reply], reply_to: Message | None = None) -> None:
    """Each reply as text plus keyboard; replies addressed to another Telegram chat go there."""
    for reply in replies:
        target = chat_id
        if reply.to is not None:
            if reply.to.channel != CHANNEL:
                log.warning("reply for %s cannot be sent from the Telegram channel", reply.to)
                continue
            target = int(reply.to.chat_id)
        pieces, markup = chunks(reply.text), keyboard(reply.buttons)
        for i, piece in enumerate(pieces):
            extra = markup if i == len(pieces) - 1 else None  # buttons under the last piece
            if reply_to is not None and target == chat_id:
                await reply_to.reply_text(piece, reply_markup=extra)
            else:
                await bot.send_message(target, piece, reply_markup=extra)


async def log_error(update: object, context: Context) -> None:
    """Without an error handler PTB only logs "No error handlers are registered"; say where."""
    log.error("Telegram update %r failed", update, exc_info=context.error)


def build_application(
    core: Core,
    token: str,
    *,
    staff_chat_id: int | None = None,
    staff_user_ids: frozenset[int] = frozenset(),
    request: BaseRequest | None = None,
    rate_limit: bool = True,
    dialogs: DialogRepo | None = None,
) -> TelegramApp:
    """The PTB application with all handlers; nothing is started or contacted here.

    `request` (tests: a fake transport) serves both API calls and getUpdates. The rate
    limiter retries a flood-wait `RetryAfter` at most 3 times instead of forever.
    """
    builder = ApplicationBuilder().token(token)
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    app: TelegramApp = (
        builder.rate_limiter(AIORateLimiter(max_retries=3)).build() if rate_limit else builder.build()
    )
    repo = dialogs or core.dialogs
    desk = StaffDesk(core, repo, staff_chat_id, staff_user_ids) if staff_chat_id is not None else None
    if desk is not None:
        desk.register(app)  # first: the staff group must never reach the private-chat handlers
    PrivateChats(core, repo, desk).register(app)
    app.add_error_handler(log_error)
    return app


def telegram_webhook_route(application: TelegramApp, secret_token: str) -> Route:
    """POST /telegram/webhook: checks Telegram's secret header, then queues the update.

    The update is processed by the running application (`application.start()` consumes
    `update_queue`), so the HTTP answer does not wait for the engine.
    """
    expected = secret_token.encode()

    async def webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return Response(status_code=403)
        try:
            update = Update.de_json(await request.json(), application.bot)
        except ValueError:
            return Response(status_code=400)
        await application.update_queue.put(update)
        return Response()

    return Route(WEBHOOK_PATH, webhook, methods=["POST"])
