"""The Telegram push path: `PushLimiter` in virtual time, `TelegramPusher` against a local Bot API.

The limiter tests never sleep: `VirtualTime` hands the limiter a clock and a sleep and advances
the clock to the next sleeper's deadline only when every task is blocked, so send times are exact
and comparable with `==`. The pusher tests run a real `telegram.Bot` (PTB's own HTTP stack)
against `FakeBotApi`, which enforces Telegram's limits in real time; message counts are kept
small so each test needs at most about two seconds.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import Counter
from collections.abc import Awaitable, Iterator
from typing import Any

import pytest
from telegram import Bot

from bot.schedule.telegram_push import PushFailed, PushLimiter, PushRefused, TelegramPusher
from tests.fixtures.fake_bot_api import FakeBotApi

TOKEN = "123:ABC"
USER, OTHER_USER, GROUP = "424242", "515151", "-1001987654321"


class VirtualTime:
    """A clock that moves only when every task waits on `sleep`, to the earliest deadline."""

    def __init__(self) -> None:
        self.now = 0.0
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._timers, (self.now + seconds, self._seq, future))
        await future

    async def run(self, *jobs: Awaitable[Any]) -> list[Any]:
        tasks = [asyncio.ensure_future(job) for job in jobs]
        while True:
            for _ in range(50):  # let every runnable task reach its next sleep (or finish)
                await asyncio.sleep(0)
            if all(task.done() for task in tasks):
                return [task.result() for task in tasks]
            assert self._timers, "tasks blocked without any sleeper: deadlock"
            at, _, future = heapq.heappop(self._timers)
            self.now = max(self.now, at)
            future.set_result(None)


@pytest.fixture
def vt() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
def limiter(vt: VirtualTime) -> PushLimiter:
    return PushLimiter(clock=vt.clock, sleep=vt.sleep, margin=0)  # exact windows: see below


def most_in_window(times: list[float], window: float) -> int:
    """The largest number of `times` inside any half-open window [t, t + window)."""
    ordered = sorted(times)
    return max((sum(1 for u in ordered if t <= u < t + window) for t in ordered), default=0)


async def sends(vt: VirtualTime, limiter: PushLimiter, chat: int | str, n: int) -> list[float]:
    """`n` acquires for one chat, one after another; the virtual time each was granted."""
    granted = []
    for _ in range(n):
        await limiter.acquire(chat)
        granted.append(vt.now)
    return granted


# --- PushLimiter -------------------------------------------------------------------------------


async def test_one_message_per_second_per_chat(vt: VirtualTime, limiter: PushLimiter) -> None:
    [in_turn] = await vt.run(sends(vt, limiter, USER, 3))
    assert in_turn == [0.0, 1.0, 2.0]

    async def one() -> float:
        await limiter.acquire(OTHER_USER)
        return vt.now

    concurrent = await vt.run(*(one() for _ in range(3)))
    assert sorted(concurrent) == [2.0, 3.0, 4.0]  # OTHER_USER's first may go at once


async def test_by_default_sends_are_spaced_evenly_with_a_margin(vt: VirtualTime) -> None:
    """Network jitter can bring requests closer together at Telegram than they left: the default
    limiter spaces them evenly, 2 % wider than the limit, instead of in bursts of 30."""
    limiter = PushLimiter(clock=vt.clock, sleep=vt.sleep)
    granted = await vt.run(*(sends(vt, limiter, str(1000 + i), 1) for i in range(90)))
    times = sorted(t for [t] in granted)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) == pytest.approx(1.02 / 30)
    assert most_in_window(times, 1.0) == 30  # the limit holds with room to spare …
    assert pytest.approx(times[-1]) == 89 * 1.02 / 30  # … and the rate is 98 % of it
    [chat] = await vt.run(sends(vt, limiter, USER, 2))
    assert chat[1] - chat[0] == pytest.approx(1.02)


async def test_int_and_str_ids_are_the_same_chat(vt: VirtualTime, limiter: PushLimiter) -> None:
    async def both() -> list[float]:
        await limiter.acquire(424242)
        first = vt.now
        await limiter.acquire(USER)
        return [first, vt.now]

    assert await vt.run(both()) == [[0.0, 1.0]]


async def test_at_most_thirty_per_second_overall(vt: VirtualTime, limiter: PushLimiter) -> None:
    granted = await vt.run(*(sends(vt, limiter, str(1000 + i), 1) for i in range(61)))
    times = [t for [t] in granted]
    assert Counter(times) == {0.0: 30, 1.0: 30, 2.0: 1}
    assert most_in_window(times, 1.0) == 30


async def test_at_most_twenty_per_minute_per_group(vt: VirtualTime, limiter: PushLimiter) -> None:
    [times] = await vt.run(sends(vt, limiter, GROUP, 22))
    assert times[:20] == [float(s) for s in range(20)]  # 1/s until the minute's quota is used
    assert times[20:] == [60.0, 61.0]  # then only as the oldest leave the 60 s window
    assert most_in_window(times, 60.0) == 20


async def test_private_chats_are_not_limited_per_minute(vt: VirtualTime, limiter: PushLimiter) -> None:
    [times] = await vt.run(sends(vt, limiter, USER, 22))
    assert times == [float(s) for s in range(22)]


async def test_a_waiting_chat_does_not_hold_up_others(vt: VirtualTime, limiter: PushLimiter) -> None:
    async def later_user() -> list[float]:
        await vt.sleep(30.5)  # arrives while the group waits for its minute window
        return await sends(vt, limiter, USER, 2)

    group, user = await vt.run(sends(vt, limiter, GROUP, 21), later_user())
    assert group[-1] == 60.0
    assert user == [30.5, 31.5]


async def test_penalise_pauses_every_chat(vt: VirtualTime, limiter: PushLimiter) -> None:
    async def scenario() -> list[float]:
        await limiter.acquire(USER)
        limiter.penalise(5.0)
        limiter.penalise(1.0)  # a shorter penalty does not shorten the longer one
        await limiter.acquire(OTHER_USER)
        after_other = vt.now
        await limiter.acquire(USER)
        return [after_other, vt.now]

    assert await vt.run(scenario()) == [[5.0, 5.0]]


async def test_penalise_reaches_senders_already_waiting(vt: VirtualTime, limiter: PushLimiter) -> None:
    async def waiting() -> float:
        await limiter.acquire(USER)
        await limiter.acquire(USER)  # would be granted at 1.0
        return vt.now

    async def flood() -> None:
        await vt.sleep(0.5)
        limiter.penalise(3.0)

    granted, _ = await vt.run(waiting(), flood())
    assert granted == 3.5


# --- TelegramPusher against the fake Bot API -------------------------------------------------


@pytest.fixture(autouse=True)
def timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """PTB 22 warns (an error under filterwarnings=error) when it builds `RetryAfter` with the
    deprecated int form; opting in to timedeltas is what PTB asks for."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


def loose() -> PushLimiter:
    """A client limiter far looser than Telegram, so the fake's 429s are provoked on purpose."""
    return PushLimiter(overall_per_second=100, chat_interval=0.01, group_per_minute=100, margin=0)


class Sleeps:
    """Backoff sleeps recorded, not slept: the fake answers at once anyway."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def delivered(api: FakeBotApi) -> Counter[tuple[str, str]]:
    return Counter((m.chat_id, m.text) for m in api.messages)


def retries_waited(api: FakeBotApi) -> Iterator[float]:
    """For every 429, how long until the same message was tried again."""
    for i, attempt in enumerate(api.attempts):
        if attempt.status == 429:
            after = next(
                a for a in api.attempts[i + 1 :] if (a.chat_id, a.text) == (attempt.chat_id, attempt.text)
            )
            yield after.at - attempt.at


async def test_send_with_buttons_arrives_with_inline_keyboard() -> None:
    buttons = (("非常满意", "visit:rate:42:5"), ("不满意", "visit:rate:42:1"))
    async with FakeBotApi() as api, Bot(TOKEN, base_url=api.base_url) as bot:
        pusher = TelegramPusher(bot, PushLimiter())
        message_id = await pusher.send(USER, "您反映的问题已办结，请评价：", buttons)
        plain_id = await pusher.send(OTHER_USER, "提醒：工单即将到期")
    first, plain = api.messages
    assert (first.message_id, plain.message_id) == (message_id, plain_id)
    assert (first.chat_id, first.text) == (USER, "您反映的问题已办结，请评价：")
    assert first.reply_markup == {
        "inline_keyboard": [
            [{"text": "非常满意", "callback_data": "visit:rate:42:5"}],
            [{"text": "不满意", "callback_data": "visit:rate:42:1"}],
        ]
    }
    assert plain.reply_markup is None


async def test_per_chat_429_is_retried_after_retry_after_without_loss_or_duplicates() -> None:
    wanted = [(chat, f"第{n}条") for chat in (USER, GROUP) for n in (1, 2)]
    async with FakeBotApi() as api, Bot(TOKEN, base_url=api.base_url) as bot:
        pusher = TelegramPusher(bot, loose())
        ids = await asyncio.gather(*(pusher.send(chat, text) for chat, text in wanted))
    assert api.rejected_429 >= 1
    assert delivered(api) == Counter(wanted)
    assert sorted(ids) == sorted(m.message_id for m in api.messages)
    assert all(waited >= api.retry_after for waited in retries_waited(api))


async def test_overall_429_is_retried_without_loss_or_duplicates() -> None:
    wanted = [(str(1000 + i), "政策更新提醒") for i in range(40)]
    async with FakeBotApi() as api, Bot(TOKEN, base_url=api.base_url) as bot:
        pusher = TelegramPusher(bot, loose())
        await asyncio.gather(*(pusher.send(chat, text) for chat, text in wanted))
    assert api.rejected_429 >= 10
    assert delivered(api) == Counter(wanted)
    assert most_in_window([m.at for m in api.messages], 1.0) <= 30
    assert all(waited >= api.retry_after for waited in retries_waited(api))


async def test_network_errors_are_retried_with_backoff(sleeps: Sleeps) -> None:
    async with FakeBotApi(fail_first_n=2) as api, Bot(TOKEN, base_url=api.base_url) as bot:
        pusher = TelegramPusher(bot, loose(), sleep=sleeps)
        message_id = await pusher.send(USER, "催办提醒")
    assert sleeps.delays == [0.5, 1.0]
    assert api.send_calls == 3
    assert [(m.chat_id, m.text, m.message_id) for m in api.messages] == [(USER, "催办提醒", message_id)]


async def test_network_errors_give_up_after_max_attempts(sleeps: Sleeps) -> None:
    async with FakeBotApi(fail_first_n=99) as api, Bot(TOKEN, base_url=api.base_url) as bot:
        pusher = TelegramPusher(bot, loose(), sleep=sleeps)
        with pytest.raises(PushFailed, match="5 attempts"):
            await pusher.send(USER, "催办提醒")
    assert sleeps.delays == [0.5, 1.0, 2.0, 4.0]
    assert api.send_calls == 5
    assert api.messages == []


async def test_backoff_is_capped(sleeps: Sleeps) -> None:
    async with FakeBotApi(fail_first_n=8) as api, Bot(TOKEN, base_url=api.base_url) as bot:
        pusher = TelegramPusher(bot, loose(), max_attempts=9, sleep=sleeps)
        await pusher.send(USER, "催办提醒")
    assert sleeps.delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert len(api.messages) == 1


async def test_blocked_bot_is_refused_without_retry(sleeps: Sleeps) -> None:
    async with FakeBotApi(forbidden_chats={USER}) as api, Bot(TOKEN, base_url=api.base_url) as bot:
        pusher = TelegramPusher(bot, loose(), sleep=sleeps)
        with pytest.raises(PushRefused, match="blocked"):
            await pusher.send(USER, "回访邀请")
        await pusher.send(OTHER_USER, "回访邀请")
    assert api.send_calls == 2
    assert sleeps.delays == []
    assert [m.chat_id for m in api.messages] == [OTHER_USER]


async def test_bad_request_is_refused_without_retry(sleeps: Sleeps) -> None:
    async with FakeBotApi() as api, Bot(TOKEN, base_url=api.base_url) as bot:
        pusher = TelegramPusher(bot, loose(), sleep=sleeps)
        with pytest.raises(PushRefused, match=r"(?i)chat not found"):
            await pusher.send("@no_such_chat", "回访邀请")
    assert api.send_calls == 1
    assert sleeps.delays == []
