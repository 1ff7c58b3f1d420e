"""A real process killed with SIGKILL in the middle of a Telegram push: no duplicate, no silent loss.

The runner claims a Telegram item (`sending`, committed) before calling the Bot API and marks it
`sent` after. These tests run the scheduler in a child process against `FakeBotApi` (served by
this test's event loop, so the parent awaits the child without blocking) and have the child kill
itself with SIGKILL right after the send to the first chat returned, or before it was claimed.
Either way the parent then restarts the scheduler on the same database file, as the service
would: the interrupted item must become `uncertain` and listed for staff, must not be sent again,
and the other item must still go out exactly once.

Order is deterministic: the second item is due half an hour after the first and the child ticks
when only the first is due, so exactly one send is under way when the child dies.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from telegram import Bot

from bot.calendar_config import load_calendar
from bot.schedule.model import Item, Kind, State, Target
from bot.schedule.runner import Scheduler
from bot.schedule.store import ScheduleStore
from bot.schedule.telegram_push import PushLimiter, TelegramPusher
from bot.store.db import CST, open_db
from tests.conftest import Clock
from tests.fixtures.fake_bot_api import FakeBotApi

REPO = Path(__file__).resolve().parents[2]
TOKEN = "123:ABC"
FIRST_CHAT, SECOND_CHAT = "424242", "515151"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=CST)  # a Thursday, a working day, office hours
FIRST_DUE = NOW - timedelta(minutes=5)
SECOND_DUE = NOW + timedelta(minutes=30)  # not due when the child ticks
CHILD_TIMEOUT_S = 30.0

# The child: the production Scheduler and TelegramPusher on the same database file, with `send`
# wrapped to SIGKILL the process around the real send to the chat named on the command line.
CHILD = """
import asyncio, os, signal, sys
from datetime import datetime

from telegram import Bot

from bot.calendar_config import load_calendar
from bot.schedule.runner import Scheduler
from bot.schedule.telegram_push import PushLimiter, TelegramPusher
from bot.store.db import open_db

db_path, base_url, kill_chat, when, now_iso = sys.argv[1:]
now = datetime.fromisoformat(now_iso)


class KillingPusher:
    def __init__(self, real):
        self.real = real

    async def send(self, chat_id, text, buttons=(), before_request=None):
        if chat_id == kill_chat and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        message_id = await self.real.send(chat_id, text, buttons, before_request)
        if chat_id == kill_chat and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return message_id


async def main():
    db = await open_db(db_path)
    try:
        async with Bot("123:ABC", base_url=base_url) as bot:
            pusher = KillingPusher(TelegramPusher(bot, PushLimiter()))
            scheduler = Scheduler(db, clock=lambda: now, calendar=load_calendar(), telegram=pusher)
            tick = await scheduler.tick(now)
            print("survived the pass:", tick, flush=True)
    finally:
        await db.close()


asyncio.run(main())
sys.exit(3)  # only reached if the kill never happened
"""


def items() -> list[Item]:
    return [
        Item(Kind.notice, Target("telegram", FIRST_CHAT), FIRST_DUE, "您的诉求已受理", "crash:first"),
        Item(Kind.notice, Target("telegram", SECOND_CHAT), SECOND_DUE, "您的诉求已办结", "crash:second"),
    ]


@pytest.fixture(autouse=True)
def timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in test_telegram_push.py: PTB 22 warns about the int form of `retry_after`."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
async def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "yiqiban.db"
    async with await open_db(path) as db:
        assert await ScheduleStore(db).add(items(), NOW - timedelta(hours=1)) == 2
    return path


async def run_child(tmp_path: Path, db_path: Path, api: FakeBotApi, when: str) -> None:
    """Run one scheduler pass in a child process that SIGKILLs itself `when` ("before" or
    "after") the send to FIRST_CHAT. The event loop keeps serving the fake meanwhile."""
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    env = {**os.environ, "PTB_TIMEDELTA": "true", "PYTHONPATH": str(REPO)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        str(db_path),
        api.base_url,
        FIRST_CHAT,
        when,
        NOW.isoformat(),
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), CHILD_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.communicate()
        raise
    output = (out + err).decode(errors="replace")
    assert proc.returncode == -signal.SIGKILL, f"child exited {proc.returncode}:\n{output}"


async def states(store: ScheduleStore) -> dict[str, tuple[str, int]]:
    rows = await store.db.fetchall("SELECT key, state, attempts FROM schedule ORDER BY id")
    return {str(r["key"]): (str(r["state"]), int(r["attempts"])) for r in rows}


def delivered(api: FakeBotApi) -> Counter[str]:
    return Counter(m.chat_id for m in api.messages)


async def restart_and_finish(db_path: Path, api: FakeBotApi) -> None:
    """What a restarted service does, then the pass at which the second item is due: the
    interrupted item is uncertain, listed for staff and not resent; the second goes out once."""
    clock = Clock(NOW)
    async with await open_db(db_path) as db, Bot(TOKEN, base_url=api.base_url) as bot:
        pusher = TelegramPusher(bot, PushLimiter())
        scheduler = Scheduler(db, clock=clock, calendar=load_calendar(), telegram=pusher)
        store = scheduler.store
        try:
            assert await scheduler.start() == 1  # one item found interrupted
        finally:
            await scheduler.stop()
        assert await states(store) == {"crash:first": ("uncertain", 1), "crash:second": ("pending", 0)}
        [uncertain] = await store.listing([State.uncertain])
        assert uncertain.key == "crash:first"
        assert "interrupted while sending" in uncertain.note

        before = len(api.messages)
        clock.now = SECOND_DUE
        tick = await scheduler.tick()
        assert (tick.sent, tick.failed, tick.retried) == (1, 0, 0)
        assert [m.chat_id for m in api.messages[before:]] == [SECOND_CHAT]
        assert (await scheduler.tick()).sent == 0  # nothing twice

        assert await states(store) == {"crash:first": ("uncertain", 1), "crash:second": ("sent", 1)}
        [still] = await store.listing([State.uncertain])  # visible to staff, not dropped
        assert (still.key, still.target) == ("crash:first", Target("telegram", FIRST_CHAT))
        row = await db.fetchone("SELECT sent_to FROM schedule WHERE key = 'crash:second'")
        assert row is not None and row["sent_to"] == f"telegram:{SECOND_CHAT}"


async def test_kill_after_send_before_record_neither_duplicates_nor_loses(
    tmp_path: Path, db_path: Path, api: FakeBotApi
) -> None:
    await run_child(tmp_path, db_path, api, "after")

    assert delivered(api) == Counter({FIRST_CHAT: 1})  # it went out …
    async with await open_db(db_path) as db:  # … and was not recorded as sent
        assert await states(ScheduleStore(db)) == {
            "crash:first": ("sending", 1),
            "crash:second": ("pending", 0),
        }

    await restart_and_finish(db_path, api)
    assert delivered(api) == Counter({FIRST_CHAT: 1, SECOND_CHAT: 1})  # the first not resent
    assert api.send_calls == 2


async def test_kill_before_the_request_leaves_the_item_pending(
    tmp_path: Path, db_path: Path, api: FakeBotApi
) -> None:
    """Killed while the send was still waiting (the limiter, say): nothing was claimed, so after
    the restart the item simply goes out, once, with the other one."""
    await run_child(tmp_path, db_path, api, "before")

    assert api.send_calls == 0  # nothing reached the Bot API, and nothing was claimed
    clock = Clock(NOW)
    async with await open_db(db_path) as db, Bot(TOKEN, base_url=api.base_url) as bot:
        scheduler = Scheduler(
            db, clock=clock, calendar=load_calendar(), telegram=TelegramPusher(bot, PushLimiter())
        )
        assert await states(scheduler.store) == {
            "crash:first": ("pending", 0),
            "crash:second": ("pending", 0),
        }
        try:
            assert await scheduler.start() == 0  # nothing interrupted mid-send
        finally:
            await scheduler.stop()
        clock.now = SECOND_DUE  # (the start-up pass already sent the first, due at NOW)
        await scheduler.tick()
        assert (await scheduler.tick()).sent == 0
        assert await states(scheduler.store) == {"crash:first": ("sent", 1), "crash:second": ("sent", 1)}
    assert delivered(api) == Counter({FIRST_CHAT: 1, SECOND_CHAT: 1})
