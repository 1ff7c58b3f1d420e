"""`yiqiban tickets suggest` (which unit should take an order) and `yiqiban tickets report` (三率).

Both read the store and hand the work to pure domain code: `dispatch.Router` for suggestions,
`indicators.compute` for the rates, with the 签收 limit taken from the same deadline rules and
working-day calendar that set the orders' deadlines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from typing import Any, TextIO

from bot.cli_tickets import CST, db_path
from bot.workorder import WorkOrder


def _period(args: argparse.Namespace) -> tuple[datetime, datetime]:
    """[from, to] as whole days in China time; the default is the current month so far."""
    today = datetime.now(CST).date()
    start = date.fromisoformat(args.start) if args.start else today.replace(day=1)
    end = date.fromisoformat(args.end) if args.end else today
    if end < start:
        raise ValueError(f"结束日期 {end} 早于开始日期 {start}")
    return datetime.combine(start, time(), CST), datetime.combine(end + timedelta(days=1), time(), CST)


def cmd_suggest(args: argparse.Namespace, out: TextIO) -> int:
    from bot.dispatch import Router
    from bot.store.db import open_db
    from bot.store.orders import OrderNotFound, SqliteWorkOrderRepo
    from knowledge.matcher import default_matcher

    async def run() -> WorkOrder:
        async with await open_db(db_path(args)) as db:
            order = await SqliteWorkOrderRepo(db).get(args.number)
        if order is None:
            raise OrderNotFound(args.number)
        return order

    order = asyncio.run(run())
    kb_hits = [h.entry_id for h in default_matcher().search(order.content, 3)]
    suggestions = Router.load().suggest(order.content, location=order.location, kb_hits=kb_hits)
    if args.json:
        out.write(json.dumps([asdict(s) for s in suggestions], ensure_ascii=False, indent=2) + "\n")
    elif not suggestions:
        out.write(f"工单 {order.number}：派单目录中没有明显对应的单位，请人工判断。\n")
    else:
        out.write(f"工单 {order.number} 建议派给：\n")
        for s in suggestions:
            out.write(f"  {s.unit_name}（{s.confidence:.0%}）：{s.reason}\n")
    return 0


def cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    from bot.calendar_config import load_calendar
    from bot.deadlines import DeadlinePolicy
    from bot.dispatch import load_catalogue
    from bot.indicators import IndicatorConfig, compute
    from bot.store.db import open_db
    from bot.store.orders import SqliteWorkOrderRepo

    period = _period(args)
    calendar, policy = load_calendar(), DeadlinePolicy.load()

    def ack_deadline(order: WorkOrder, dispatched_at: datetime) -> datetime:
        try:
            return policy.due("acknowledge", order.type.value, order.urgency.value, dispatched_at, calendar)
        except LookupError:
            return dispatched_at + timedelta(hours=24)

    async def run() -> Any:
        async with await open_db(db_path(args)) as db:
            repo = SqliteWorkOrderRepo(db)
            orders = [o async for o in repo.iter_all()]
            events = await repo.all_events()
        return compute(
            orders, events, period=period, config=IndicatorConfig.load(), ack_deadline=ack_deadline
        )

    report = asyncio.run(run())
    if args.json:
        out.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
        return 0
    names = {u.id: u.name for u in load_catalogue().units}
    rows = report.as_rows(names)
    start, end = period[0].date(), (period[1] - timedelta(days=1)).date()
    out.write(f"工单指标 {start} 至 {end}\n")
    if not rows:
        return 0
    columns = list(rows[0])
    widths = {c: max(_width(c), *(_width(r[c]) for r in rows)) for c in columns}
    out.write("  ".join(_pad(c, widths[c]) for c in columns) + "\n")
    for row in rows:
        out.write("  ".join(_pad(row[c], widths[c]) for c in columns) + "\n")
    return 0


def _width(text: str) -> int:
    """Display width: CJK characters take two columns in a terminal."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def add_parsers(tickets: Any, common: argparse.ArgumentParser) -> None:
    """Register `suggest` and `report` under `yiqiban tickets`."""
    sug = tickets.add_parser("suggest", parents=[common], help="按派单目录建议承办单位")
    sug.add_argument("number")
    sug.set_defaults(func=cmd_suggest)
    rep = tickets.add_parser("report", parents=[common], help="三率等指标（按单位、按期间）")
    rep.add_argument("--from", dest="start", help="开始日期 YYYY-MM-DD（默认本月 1 日）")
    rep.add_argument("--to", dest="end", help="结束日期 YYYY-MM-DD（含当天，默认今天）")
    rep.set_defaults(func=cmd_report)
