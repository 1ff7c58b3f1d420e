"""Sending due pushes to Telegram within the Bot API's flood limits.

The scheduler may find hundreds of items due at 09:00 on a Monday (回访, 催办, deadline warnings).
Telegram documents three limits for bots: about 30 messages per second overall, one message per
second to one chat, and 20 messages per minute to one group. Exceeding them earns HTTP 429 with a
`retry_after` of seconds to minutes, during which *every* send fails, so it is far cheaper to stay
under the limits than to bounce off them. PTB's `AIORateLimiter` only knows the overall and group
limits (not one per second per chat) and retries opaquely, so this path keeps its own limiter and
builds its `telegram.Bot` without one.

`PushLimiter` decides *when* a message may go; `TelegramPusher` sends it and sorts failures into
the two outcomes the scheduler acts on: `PushRefused` (Telegram will never take this message:
blocked bot, unknown chat, malformed text — do not try again) and `PushFailed` (Telegram could not
be reached or kept failing — try again later).
"""

from __future__ import annotations

import asyncio
import time
import warnings
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

__all__ = ["PushFailed", "PushLimiter", "PushRefused", "TelegramPusher"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

OVERALL_PER_SECOND = 30  # Bot API FAQ: "no more than 30 messages per second" in bulk
CHAT_INTERVAL = 1.0  # seconds; "avoid sending more than one message per second" to one chat
GROUP_PER_MINUTE = 20  # "bots are not able to send more than 20 messages per minute" to a group
GROUP_WINDOW = 60.0  # seconds
OVERALL_WINDOW = 1.0  # seconds

BACKOFF_BASE = 0.5  # seconds before the 2nd attempt after a network error, doubled each time
BACKOFF_CAP = 30.0  # seconds


class PushRefused(Exception):
    """Telegram answered and will not deliver this message, however often it is sent again."""


class PushFailed(Exception):
    """The message could not be handed to Telegram now; the scheduler should try again later."""


def is_group(chat_id: str) -> bool:
    """Group and supergroup ids are negative (users' ids positive), so the sign tells them apart
    without a `getChat` round trip per push. An "@channel" username counts as a single chat."""
    return chat_id.startswith("-")


@dataclass(slots=True)
class _ChatTurn:
    """Serialises one chat's senders so its backlog waits on itself, never on the global lock."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0


MARGIN = 0.02  # see PushLimiter.__init__


class PushLimiter:
    """Sliding-window limiter over the three Telegram limits, fair across chats.

    Why sliding windows rather than token buckets: Telegram counts what was *sent* in the last
    second / minute; a window over the actual send times states exactly that ("at most N in any
    window of W seconds"), and nothing is ever sent earlier than a bucket refill would allow.

    Fairness: `acquire` first waits for the chat's own limits (one per `chat_interval`, and for
    groups `group_per_minute` per minute) holding only that chat's lock, then queues on one global
    lock for the overall limit and any penalty. asyncio locks wake waiters first-in first-out, so
    chats that are ready go out in the order they became ready, and a chat with a long backlog
    (a group that used its 20 per minute) never holds up the others. Messages to one chat are
    released in the order `acquire` was called for them.

    The clock and sleep are injected so tests run in virtual time; defaults are the real ones.
    """

    def __init__(
        self,
        *,
        overall_per_second: int = OVERALL_PER_SECOND,
        chat_interval: float = CHAT_INTERVAL,
        group_per_minute: int = GROUP_PER_MINUTE,
        margin: float = MARGIN,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if overall_per_second < 1 or group_per_minute < 1 or chat_interval < 0 or not 0 <= margin < 1:
            raise ValueError("limits must allow at least one message")
        self.overall_per_second = overall_per_second
        # Requests can reach Telegram closer together than they left (network jitter), so sends
        # are spaced evenly and every interval is stretched by `margin`: at the server no window
        # ever holds one message too many, which would cost a whole `retry_after` pause.
        # margin 0: plain sliding windows, bursts allowed (what the limit literally says).
        self.spacing = OVERALL_WINDOW / overall_per_second * (1 + margin) if margin else 0.0
        self.chat_interval = chat_interval * (1 + margin)
        # The window itself is stretched too: after a late send the slots catch up, and without
        # this a catch-up could put 31 requests into one second as Telegram counts them.
        self.window = OVERALL_WINDOW * (1 + margin)
        self.group_per_minute = group_per_minute
        self._clock, self._sleep = clock, sleep
        self._sent: deque[float] = deque(maxlen=overall_per_second)  # the latest sends, any chat
        # Per chat: its latest send times (1 kept for users, `group_per_minute` for groups),
        # ordered by last send so stale chats are forgotten from the front in O(1).
        self._chats: OrderedDict[str, deque[float]] = OrderedDict()
        self._turns: dict[str, _ChatTurn] = {}
        self._global = asyncio.Lock()
        self._paused_until = float("-inf")
        self._next_slot = float("-inf")  # the earliest evenly spaced slot for the next send

    def penalise(self, seconds: float) -> None:
        """Hold every send for `seconds` from now (after a 429's `retry_after`).

        Telegram's flood wait applies to the whole bot, so it pauses all chats, and a shorter
        penalty never shortens a longer one already in force."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def acquire(self, chat_id: int | str) -> None:
        """Wait until a message to `chat_id` is within all limits, then count it as sent.

        Call it immediately before each HTTP attempt, retries included: an attempt Telegram
        received counts against its limits whether or not it succeeded."""
        key = str(chat_id)
        turn = self._turns.setdefault(key, _ChatTurn())
        turn.waiting += 1
        try:
            async with turn.lock:
                await self._wait(lambda: self._chat_ready_at(key))
                async with self._global:
                    await self._wait(self._overall_ready_at)
                    self._record(key, self._clock())
        finally:
            turn.waiting -= 1
            if turn.waiting == 0:
                del self._turns[key]

    async def _wait(self, ready_at: Callable[[], float]) -> None:
        """Sleep until `ready_at()` has passed, re-reading it after every sleep: a penalty may
        have arrived meanwhile, and a timer may wake a hair early."""
        while (delay := ready_at() - self._clock()) > 0:
            await self._sleep(delay)

    def _chat_ready_at(self, key: str) -> float:
        sent = self._chats.get(key)
        if not sent:
            return float("-inf")
        ready = sent[-1] + self.chat_interval
        if is_group(key) and len(sent) == self.group_per_minute:
            ready = max(ready, sent[0] + GROUP_WINDOW)
        return ready

    def _overall_ready_at(self) -> float:
        ready = self._paused_until
        if self.spacing:
            ready = max(ready, self._next_slot)
        if len(self._sent) == self.overall_per_second:
            ready = max(ready, self._sent[0] + self.window)
        return ready

    def _record(self, key: str, now: float) -> None:
        # The next evenly spaced slot follows the previous *slot*, not the previous actual send:
        # timers wake a little late (asyncio: up to a millisecond), and spacing from the actual
        # send would add that lateness to every gap (3 % of the rate, measured by bench/push.py).
        # After an idle spell the slots restart from now.
        base = self._next_slot if now - self._next_slot < self.spacing else now
        self._next_slot = base + self.spacing
        self._sent.append(now)
        sent = self._chats.pop(key, None)
        if sent is None:
            sent = deque(maxlen=self.group_per_minute if is_group(key) else 1)
        sent.append(now)
        self._chats[key] = sent  # re-inserted at the end: most recently used
        horizon = now - max(GROUP_WINDOW, self.chat_interval)
        while self._chats:
            oldest_key, oldest = next(iter(self._chats.items()))
            if oldest[-1] > horizon:
                break
            del self._chats[oldest_key]


def retry_after_seconds(error: RetryAfter) -> float:
    """`RetryAfter.retry_after` as seconds: PTB 22 returns int or timedelta depending on the
    PTB_TIMEDELTA environment variable and warns about the int form, which is noise here."""
    with warnings.catch_warnings():  # synchronous block: no other task can run inside it
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramPusher:
    """Sends one push through a `PushLimiter`, retrying only what is safe and worth retrying.

    Delivery semantics (decided deliberately; the Bot API has no idempotency key):

    * Once Telegram has answered with a message, `send` returns its id and never sends again.
    * 429 (`RetryAfter`): nothing was delivered. The whole bot is paused for `retry_after`
      (never less) and the same message is tried again, at most `max_flood_waits` times.
    * `Forbidden` (the user blocked the bot), `BadRequest` (chat not found, text or markup
      invalid) and `ChatMigrated`: Telegram will refuse the same request again, so `PushRefused`
      at once, no retry.
    * `NetworkError` incl. `TimedOut`: retried with exponential backoff (0.5 s doubling, capped
      at 30 s) up to `max_attempts` attempts, then `PushFailed`. A `TimedOut` may mean Telegram
      did deliver the message and only the answer was lost, so a retry can duplicate it. Within
      one process we accept that (as PTB and other bot frameworks do): a duplicated reminder is
      better than a lost one. Across a crash it is the scheduler's job: an item whose send had
      started but not finished when the process died is marked uncertain, not blindly resent.
    * Any other `TelegramError` (e.g. an invalid token) becomes `PushFailed` without retry.
    """

    def __init__(
        self,
        bot: Bot,
        limiter: PushLimiter,
        *,
        max_attempts: int = 5,
        max_flood_waits: int = 10,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """`bot` is already initialised by the caller and built without a rate limiter."""
        if max_attempts < 1 or max_flood_waits < 0:
            raise ValueError("max_attempts must be at least 1 and max_flood_waits not negative")
        self.bot, self.limiter = bot, limiter
        self.max_attempts, self.max_flood_waits = max_attempts, max_flood_waits
        self._sleep = sleep

    async def send(
        self,
        chat_id: str,
        text: str,
        buttons: tuple[tuple[str, str], ...] = (),
        before_request: Callable[[], Awaitable[None]] | None = None,
    ) -> int:
        """Send `text` (with one inline button per row for each (label, callback payload)) to
        `chat_id`; returns Telegram's message_id. Raises `PushRefused` or `PushFailed`.

        `before_request` runs after the limiter has granted an attempt, right before its HTTP
        request (the scheduler records "sending" there, so a crash while merely waiting for the
        limiter leaves the item pending rather than uncertain); an exception from it aborts."""
        markup = (
            InlineKeyboardMarkup(
                [[InlineKeyboardButton(label, callback_data=data)] for label, data in buttons]
            )
            if buttons
            else None
        )
        failures = floods = 0
        while True:
            await self.limiter.acquire(chat_id)
            if before_request is not None:
                await before_request()
            try:
                message = await self.bot.send_message(chat_id=chat_id, text=text, reply_markup=markup)
            except RetryAfter as error:
                floods += 1
                if floods > self.max_flood_waits:
                    raise PushFailed(f"chat {chat_id}: still flood-limited after {floods} waits") from error
                self.limiter.penalise(retry_after_seconds(error))
            except (Forbidden, BadRequest, ChatMigrated) as error:  # before NetworkError: BadRequest is one
                raise PushRefused(f"chat {chat_id}: {error.message}") from error
            except NetworkError as error:  # TimedOut included
                failures += 1
                if failures >= self.max_attempts:
                    raise PushFailed(f"chat {chat_id}: {failures} attempts failed, last: {error}") from error
                await self._sleep(min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (failures - 1)))
            except TelegramError as error:
                raise PushFailed(f"chat {chat_id}: {error}") from error
            else:
                return message.message_id
