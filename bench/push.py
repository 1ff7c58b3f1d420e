"""Scheduled pushes under Telegram's limits, and one dispatcher pass over a large schedule.

Part 1 — 3,000 poll messages (one per enterprise chat) are scheduled in a fresh database and
delivered by `bot.schedule.runner.Scheduler` through `TelegramPusher` (our `PushLimiter`) to a
local HTTP server that speaks the Bot API's `sendMessage` and enforces Telegram's limits (30
messages/s overall, 1/s per chat, 20/min per group), answering 429 with `retry_after` when a
request exceeds one (tests/fixtures/fake_bot_api.py). Printed: the sustained rate as a fraction
of 30 messages/s (target ≥ 0.95), messages lost and duplicated (target 0 and 0), 429s received.
The peer, in the same run: the same messages sent by python-telegram-bot's own `AIORateLimiter`
(overall and group limits, retries on 429), all at once as `asyncio.gather`.

Part 2 — a dispatcher pass (`Scheduler.tick`) with 100,000 pending items in the schedule: once
with a batch of 500 due (delivered to the staff inbox, one transaction each), once with nothing
due yet (target ≤ 200 ms for a pass).

Usage: python bench/push.py [--messages 3000] [--pending 100000] [--skip-peer] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ.setdefault("PTB_TIMEDELTA", "true")  # PTB 22: RetryAfter.retry_after as a timedelta

from telegram import Bot  # noqa: E402
from telegram.ext import AIORateLimiter, ExtBot  # noqa: E402

from bot.calendar_config import load_calendar  # noqa: E402
from bot.schedule.model import Item, Kind, Target  # noqa: E402
from bot.schedule.runner import Scheduler  # noqa: E402
from bot.schedule.telegram_push import PushLimiter, TelegramPusher  # noqa: E402
from bot.store.db import open_db  # noqa: E402
from tests.fixtures.fake_bot_api import FakeBotApi  # noqa: E402

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=CST)  # a Thursday morning: no quiet hours in the way
TOKEN = "123456:BENCH"
LIMIT = 30.0


def poll_items(n: int) -> list[Item]:
    return [
        Item(
            Kind.poll,
            Target("telegram", str(100_000 + i)),
            NOW,
            f"【满意度调查】请为本月服务打分（{i}）",
            f"poll:bench:{i}",
        )
        for i in range(n)
    ]


def tally(api: FakeBotApi, items: list[Item]) -> dict[str, Any]:
    got = Counter((m.chat_id, m.text) for m in api.messages)
    want = {(i.target.chat_id, i.text) for i in items}
    first, last = min(m.at for m in api.messages), max(m.at for m in api.messages)
    span = last - first
    rate = (len(api.messages) - 1) / span if span > 0 else float("inf")
    return {
        "delivered": len(api.messages),
        "lost": sum(1 for k in want if got[k] == 0),
        "duplicates": sum(c - 1 for c in got.values() if c > 1),
        "unexpected": sum(1 for k in got if k not in want),
        "seconds": round(span, 2),
        "per_s": round(rate, 2),
        "fraction_of_30": round(rate / LIMIT, 3),
        "rejected_429": api.rejected_429,
    }


async def ours(n: int, tmp: Path) -> dict[str, Any]:
    items = poll_items(n)
    async with FakeBotApi() as api, await open_db(tmp / "push.db") as db:
        bot = Bot(TOKEN, base_url=api.base_url)
        await bot.initialize()
        try:
            scheduler = Scheduler(
                db, clock=lambda: NOW, calendar=load_calendar(), telegram=TelegramPusher(bot, PushLimiter())
            )
            await scheduler.store.add(items, NOW)
            total = await scheduler.run_due()
            counts = await scheduler.store.counts()
        finally:
            await bot.shutdown()
        return {**tally(api, items), "schedule": counts, "failed": total.failed}


async def peer(n: int) -> dict[str, Any]:
    """PTB's AIORateLimiter (overall 30/s, groups 20/min, retries on 429) given all messages."""
    items = poll_items(n)
    async with FakeBotApi() as api:
        bot = ExtBot(TOKEN, base_url=api.base_url, rate_limiter=AIORateLimiter(max_retries=20))
        await bot.initialize()
        try:
            results = await asyncio.gather(
                *(bot.send_message(chat_id=i.target.chat_id, text=i.text) for i in items),
                return_exceptions=True,
            )
        finally:
            await bot.shutdown()
        return {**tally(api, items), "errors": sum(isinstance(r, Exception) for r in results)}


async def dispatcher_pass(pending: int, tmp: Path) -> dict[str, Any]:
    """Time `tick` with `pending` items in the schedule: a batch due, then nothing due."""
    async with await open_db(tmp / "pass.db") as db:
        scheduler = Scheduler(db, clock=lambda: NOW, calendar=load_calendar())
        later = [
            Item(Kind.deadline_warning, Target("unit", f"u{i % 40}"), NOW + timedelta(minutes=1 + i % 5000),
                 f"工单 EQ-{i} 时限提醒", f"w:{i}", group=f"deadline:EQ-{i}")
            for i in range(pending - scheduler.batch)
        ]  # fmt: skip
        due = [
            Item(
                Kind.urge, Target("unit", f"u{i % 40}"), NOW - timedelta(minutes=1), f"催办 EQ-{i}", f"u:{i}"
            )
            for i in range(scheduler.batch)
        ]
        t = time.perf_counter()
        await scheduler.store.add(later + due, NOW)
        fill = time.perf_counter() - t
        t = time.perf_counter()
        busy = await scheduler.tick()
        busy_s = time.perf_counter() - t
        t = time.perf_counter()
        idle = await scheduler.tick()
        idle_s = time.perf_counter() - t
        return {
            "pending": pending,
            "fill_s": round(fill, 2),
            "batch_pass_ms": round(1000 * busy_s, 1),
            "batch_sent": busy.sent,
            "idle_pass_ms": round(1000 * idle_s, 1),
            "idle_sent": idle.sent,
        }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out: dict[str, Any] = {"messages": args.messages, "ours": await ours(args.messages, Path(tmp))}
        if not args.skip_peer:
            out["peer"] = await peer(args.messages)
        out["pass"] = await dispatcher_pass(args.pending, Path(tmp))
    return out


def report(r: dict[str, Any]) -> str:
    lines = [
        f"{r['messages']} poll pushes to distinct chats through a local Bot API with Telegram's limits",
        "",
    ]
    lines.append("| side | delivered | lost | duplicates | 429s | seconds | msgs/s | of 30/s |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    sides = [("ours: Scheduler + PushLimiter", r["ours"])]
    if "peer" in r:
        sides.append(("PTB AIORateLimiter", r["peer"]))
    for name, s in sides:
        lines.append(
            f"| {name} | {s['delivered']} | {s['lost']} | {s['duplicates']} | {s['rejected_429']} | "
            f"{s['seconds']} | {s['per_s']} | {s['fraction_of_30']} |"
        )
    o, p = r["ours"], r["pass"]
    ok = o["fraction_of_30"] >= 0.95 and o["lost"] == 0 and o["duplicates"] == 0
    lines += [
        "",
        f"ours: {o['fraction_of_30']} of 30 msgs/s, {o['lost']} lost, {o['duplicates']} duplicated "
        f"(target ≥ 0.95, 0, 0: {'ok' if ok else 'MISSED'}); schedule afterwards {o['schedule']}",
        f"dispatcher pass with {p['pending']:,} pending: {p['batch_pass_ms']} ms for a due batch of "
        f"{p['batch_sent']} (staff inbox), {p['idle_pass_ms']} ms with nothing due "
        f"(target ≤ 200 ms: {'ok' if max(p['batch_pass_ms'], p['idle_pass_ms']) <= 200 else 'MISSED'})",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--messages", type=int, default=3000)
    ap.add_argument("--pending", type=int, default=100_000)
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    result = asyncio.run(run(args))
    print(json.dumps(result, ensure_ascii=False) if args.json else report(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
