"""`yiqiban scheduler tick|list|unsubscribe`: the durable schedule from the command line.

`tick --now` runs everything due as of that time, exactly as the running service would (web chat
and staff inbox; Telegram when a token is configured), so operators can catch up by hand and
tests can drive time without waiting for it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from datetime import datetime
from typing import Any, TextIO

from bot.cli_tickets import CST, db_path

STATES = ("pending", "sending", "sent", "uncertain", "dropped", "failed")


def _when(text: str | None) -> datetime:
    if not text:
        return datetime.now(CST)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"时间格式不正确：{text!r}（请用 ISO 8601，如 2026-11-27T09:00）") from None
    return at if at.tzinfo else at.replace(tzinfo=CST)


def cmd_tick(args: argparse.Namespace, out: TextIO) -> int:
    from bot.calendar_config import load_calendar
    from bot.deadlines import DeadlinePolicy
    from bot.schedule.runner import Scheduler
    from bot.store.db import open_db
    from bot.store.orders import SqliteWorkOrderRepo
    from bot.tickets import TicketService

    now = _when(args.now)

    async def run() -> int:
        async with await open_db(db_path(args)) as db:
            calendar = load_calendar()
            tickets = TicketService(SqliteWorkOrderRepo(db), calendar, DeadlinePolicy.load())
            scheduler = Scheduler(db, clock=lambda: now, calendar=calendar, tickets=tickets)
            interrupted = await scheduler.store.recover(now)
            total = await scheduler.run_due()
        report = {
            "now": now.isoformat(),
            "sent": total.sent,
            "deferred": total.deferred,
            "dropped": total.dropped,
            "retried": total.retried,
            "failed": total.failed,
            "uncertain": interrupted,
        }
        if args.json:
            out.write(json.dumps(report, ensure_ascii=False) + "\n")
        else:
            out.write(
                f"截至 {now:%Y-%m-%d %H:%M}：送达 {total.sent}，推迟 {total.deferred}，放弃 {total.dropped}，"
                f"待重试 {total.retried}，失败 {total.failed}"
                + (f"，中断待核实 {interrupted}" if interrupted else "")
                + "\n"
            )
        return 0

    return asyncio.run(run())


def cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    from bot.schedule.model import State
    from bot.schedule.store import ScheduleStore
    from bot.store.db import open_db

    states = [State(s) for s in (args.state or ["pending", "uncertain", "failed"])]

    async def run() -> int:
        async with await open_db(db_path(args)) as db:
            store = ScheduleStore(db)
            items = await store.listing(states, args.limit)
            counts = await store.counts()
        if args.json:
            rows: list[dict[str, Any]] = [
                {
                    "id": i.id,
                    "kind": i.kind.value,
                    "target": f"{i.target.channel}:{i.target.chat_id}",
                    "due_at": i.due_at.isoformat(),
                    "state": i.state.value,
                    "attempts": i.attempts,
                    "note": i.note,
                    "text": i.text,
                }
                for i in items
            ]
            out.write(json.dumps({"counts": counts, "items": rows}, ensure_ascii=False) + "\n")
            return 0
        out.write("  ".join(f"{s} {counts.get(s, 0)}" for s in STATES) + "\n")
        for i in items:
            note = f"  （{i.note}）" if i.note else ""
            out.write(
                f"#{i.id}  {i.due_at:%Y-%m-%d %H:%M}  {i.state.value:9}  {i.kind.value:16}  "
                f"{i.target.channel}:{i.target.chat_id}  {i.text[:30]}{note}\n"
            )
        return 0

    return asyncio.run(run())


def cmd_resolve(args: argparse.Namespace, out: TextIO) -> int:
    from bot.schedule.store import ScheduleStore
    from bot.store.db import open_db

    now = _when(None)

    async def run() -> bool:
        async with await open_db(db_path(args)) as db:
            return await ScheduleStore(db).resolve_uncertain(
                args.id, delivered=args.delivered, by=args.by, now=now
            )

    if not asyncio.run(run()):
        raise LookupError(f"#{args.id} 不是“中断待核实”（uncertain）状态的推送")
    out.write(f"#{args.id} 已标记为{'已送达' if args.delivered else '未送达，将重新发送'}。\n")
    return 0


def add_parsers(sub: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="数据库文件（默认 var/yiqiban.db，或环境变量 YIQIBAN_DB）")
    common.add_argument("--json", action="store_true")
    sched = sub.add_parser("scheduler", help="定时推送（回访、催办、督办、通知、问卷）")
    cmds = sched.add_subparsers(dest="scheduler_command", required=True)
    tick = cmds.add_parser("tick", parents=[common], help="执行截至某一时刻到期的全部推送")
    tick.add_argument("--now", help="时刻（ISO 8601，默认现在）")
    tick.set_defaults(func=cmd_tick)
    lst = cmds.add_parser("list", parents=[common], help="列出推送（默认：待发、中断待核实、失败）")
    lst.add_argument("--state", action="append", choices=STATES, help="按状态筛选，可重复")
    lst.add_argument("--limit", type=int, default=200)
    lst.set_defaults(func=cmd_list)
    res = cmds.add_parser("resolve", parents=[common], help="处理一条中断待核实的推送")
    res.add_argument("id", type=int)
    how = res.add_mutually_exclusive_group(required=True)
    how.add_argument("--delivered", action="store_true", help="已确认用户收到：记为已送达")
    how.add_argument("--resend", action="store_true", help="已确认用户没收到：重新发送")
    res.add_argument("--by", default=os.environ.get("USER") or "operator", help="处理人")
    res.set_defaults(func=cmd_resolve)
