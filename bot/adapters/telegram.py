"""Telegram channel (python-telegram-bot 22): private chats talk to `Core`, staff answer in a forum.

`build_application` is the composition root of this channel. Private chats: every command and
text becomes one `Inbound` for `Core.handle`, and every `Reply` is sent back with an inline
keyboard whose `callback_data` is the engine's own payload string ("petition:start",
"kb:<entry>", …). Those payloads are self-describing and at most 64 bytes (Telegram's limit), so
a button pressed after a restart still means the same thing; PTB's `arbitrary_callback_data`
is never enabled because its cache lives in memory and would die with the process.

Staff desk (when `staff_chat_id` names a forum supergroup): see `bot.adapters.telegram_desk`,
one forum topic per escalated work order. Photos and documents from private chats are downloaded
(at most 20 MB, the Bot API's download limit) and given to the engine as `InboundFile`s; while a
chat is escalated they are also forwarded to the order's topic by file_id, never re-uploaded.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Bot, Document, InlineKeyboardButton, InlineKeyboardMarkup, Message, PhotoSize, Update
from telegram.error import BadRequest
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.adapters.telegram_desk import (
    CHANNEL,
    CLOSED,
    ESCALATED,
    NOT_STAFF,
    StaffDesk,
    TelegramApp,
)
from bot.core.dialogs import DialogRepo
from bot.core.engine import Core
from bot.core.messages import Address, Button, Inbound, InboundFile, Reply
from bot.store.telegram_desk import TopicStore

__all__ = ["CLOSED", "NOT_STAFF", "StaffDesk", "TelegramApp", "TopicStore", "build_application"]

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE

MAX_CALLBACK_DATA = 64  # bytes, Bot API limit for InlineKeyboardButton.callback_data
MAX_MESSAGE = 4096  # characters, Bot API limit for one text message
MAX_DOWNLOAD = 20 * 1024 * 1024  # bytes, Bot API limit for getFile downloads
DEEP_LINK_POLICY = "policy_"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

POLICY_USAGE = "请在 /policy 后面写上您的问题，例如：/policy 小微企业有哪些税费优惠"
FILE_TOO_BIG = "抱歉，文件超过 20 MB，机器人无法接收。请压缩后重新发送，或改用网页端提交附件。"


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


class PrivateChats:
    """Users in private chats: commands and text go to the engine, its replies come back."""

    def __init__(self, core: Core, dialogs: DialogRepo, desk: StaffDesk | None) -> None:
        self.core, self.dialogs, self.desk = core, dialogs, desk

    async def converse(self, update: Update, context: Context, *, text: str | None = None,
                       button: str | None = None,
                       files: tuple[InboundFile, ...] = ()) -> None:  # fmt: skip
        """One `Core.handle` call; while escalated, the user's message is copied to the staff desk."""
        chat, user, message = update.effective_chat, update.effective_user, update.effective_message
        if chat is None:
            return
        address = Address(CHANNEL, str(chat.id))
        escalated = self.desk is not None and (await self.dialogs.load(address)).state == ESCALATED
        at = message.date if message is not None and button is None else self.core.clock()
        name = user.full_name if user is not None else None
        inbound = Inbound(address, at, text=text, button=button, user_name=name, files=files)
        replies = await self.core.handle(inbound)
        if self.desk is not None and escalated and button is None and (text or files):
            await self.desk.from_user(context.bot, chat.id, text, message if files else None)
        reply_to = message if button is None else None
        await send(context.bot, chat.id, replies, reply_to)

    async def download(self, message: Message) -> tuple[InboundFile, ...] | None:
        """The photo (largest size) or document as bytes; None, after a polite reply, if too big."""
        media_type: str | None
        if message.photo:
            photo: PhotoSize = message.photo[-1]
            source: PhotoSize | Document = photo
            name, media_type = f"photo_{photo.file_unique_id}.jpg", "image/jpeg"
        elif message.document is not None:
            source = doc = message.document
            name, media_type = doc.file_name or f"file_{doc.file_unique_id}", doc.mime_type
        else:
            return ()
        if (source.file_size or 0) > MAX_DOWNLOAD:
            await message.reply_text(FILE_TOO_BIG)
            return None
        try:
            file = await source.get_file()
        except BadRequest as exc:  # sizes are optional in updates; getFile refuses big files
            if "too big" not in str(exc).lower():
                raise
            await message.reply_text(FILE_TOO_BIG)
            return None
        if (file.file_size or 0) > MAX_DOWNLOAD:
            await message.reply_text(FILE_TOO_BIG)
            return None
        data = await file.download_as_bytearray()
        return (InboundFile(name, bytes(data), media_type),)

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

    async def on_unsubscribe(self, update: Update, context: Context) -> None:
        """`/unsubscribe`: no more satisfaction polls (the engine's 退订)."""
        await self.converse(update, context, text="退订")

    async def on_message(self, update: Update, context: Context) -> None:
        """Text (and unknown /commands, which the engine knows some of), a photo or a document."""
        message = update.effective_message
        if message is None:
            return
        if message.photo or message.document is not None:
            files = await self.download(message)
            if files is not None:
                await self.converse(update, context, text=message.caption, files=files)
            return
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
            ("unsubscribe", self.on_unsubscribe),
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
