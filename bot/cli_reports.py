"""`yiqiban tickets suggest` (which unit should take an order) and `yiqiban tickets report` (三率).

Both read the store and hand the work to pure domain code: `dispatch.Router` for suggestions,
`indicators.compute` for the rates, with the 签收 limit taken from the same deadline rules and
working-day calendar that set the orders' deadlines. The report's options add the pieces of
`bot.reports` on the same orders and events: a trend over weeks or months (as a table and an SVG
chart), the 好差评 distribution, the hotspots (每月一题) and a CSV / XLSX export of the period.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.cli_tickets import CST, db_path
from bot.workorder import Event, WorkOrder

if TYPE_CHECKING:
    from bot.indicators import AckDeadline, IndicatorConfig, Report


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
    from bot.deadlines import ack_deadline as ack_deadline_for
    from bot.dispatch import load_catalogue
    from bot.indicators import IndicatorConfig, compute
    from bot.store.db import open_db
    from bot.store.orders import SqliteWorkOrderRepo

    period = _period(args)
    if args.svg and not args.trend:
        raise ValueError("--svg 需要同时指定 --trend week 或 --trend month")
    if bool(args.export) != bool(args.out):
        raise ValueError("--export 与 --out 需要同时指定")
    calendar, policy = load_calendar(), DeadlinePolicy.load()

    def ack_deadline(order: WorkOrder, dispatched_at: datetime) -> datetime:
        return ack_deadline_for(policy, calendar, order, dispatched_at)

    async def load() -> tuple[list[WorkOrder], list[Event]]:
        async with await open_db(db_path(args)) as db:
            repo = SqliteWorkOrderRepo(db)
            return [o async for o in repo.iter_all()], await repo.all_events()

    orders, events = asyncio.run(load())
    config = IndicatorConfig.load()
    report = compute(orders, events, period=period, config=config, ack_deadline=ack_deadline)
    names = {u.id: u.name for u in load_catalogue().units}
    doc: dict[str, Any] = report.to_dict()
    if not args.json:
        start, end = period[0].date(), (period[1] - timedelta(days=1)).date()
        out.write(f"工单指标 {start} 至 {end}\n")
        _table(report.as_rows(names), out)
    if args.trend:
        doc["trend"] = _trend(args, orders, events, config, ack_deadline, names, period, out)
    if args.satisfaction:
        doc["satisfaction"] = _satisfaction(args, orders, names, period, out)
    if args.hotspots:
        doc["hotspots"] = _hotspots(args, orders, names, period, out)
    if args.export:
        _export(args, orders, report, names, period, out)
    if args.json:
        out.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    return 0


def _table(rows: list[dict[str, str]], out: TextIO) -> None:
    if not rows:
        return
    columns = list(rows[0])
    widths = {c: max(_width(c), *(_width(r[c]) for r in rows)) for c in columns}
    out.write("  ".join(_pad(c, widths[c]) for c in columns) + "\n")
    for row in rows:
        out.write("  ".join(_pad(row[c], widths[c]) for c in columns) + "\n")


def _trend(
    args: argparse.Namespace,
    orders: list[WorkOrder],
    events: list[Event],
    config: IndicatorConfig,
    ack_deadline: AckDeadline,
    names: dict[str, str],
    period: tuple[datetime, datetime],
    out: TextIO,
) -> dict[str, Any]:
    """The trend table (district or `--unit`), the SVG chart if asked; JSON-ready series."""
    from bot.indicators import TOTAL
    from bot.reports.svg import line_chart
    from bot.reports.trend import periods, trend

    unit = TOTAL
    if args.unit:
        unit = next((uid for uid, name in names.items() if args.unit in (uid, name)), args.unit)
    spans = periods(args.trend, args.periods, period[1] - timedelta(microseconds=1))
    t = trend(orders, events, granularity=args.trend, spans=spans, config=config, ack_deadline=ack_deadline)
    series = {key: t.series(key, unit) for key in config.indicators}
    shown = names.get(unit, unit)
    if not args.json:
        out.write(f"\n{shown}指标趋势（按{'周' if args.trend == 'week' else '月'}）\n")
        rows = []
        for i, label in enumerate(t.labels):
            row = {"周期": label}
            for key, ind in config.indicators.items():
                v = series[key][i]
                row[ind.label] = "—" if v is None else f"{v:.1%}"
            rows.append(row)
        _table(rows, out)
    if args.svg:
        lines = [(ind.label, series[key]) for key, ind in config.indicators.items()]
        svg = line_chart(f"{shown}指标趋势", list(t.labels), lines)
        from bot.reports.export import write

        path = write(Path(args.svg), svg.encode("utf-8"))
        if not args.json:
            out.write(f"趋势图已写入 {path}\n")
    return {"unit": unit, "labels": list(t.labels), "series": series}


def _satisfaction(
    args: argparse.Namespace,
    orders: list[WorkOrder],
    names: dict[str, str],
    period: tuple[datetime, datetime],
    out: TextIO,
) -> dict[str, Any]:
    from bot.reports.satisfaction import LABELS, distribution

    rows, total = distribution(orders, period=period)
    if not args.json:
        out.write("\n好差评分布（已办结工单）\n")
        _table([d.as_row(names) for d in (*rows, total)], out)

    def counts(d: Any) -> dict[str, int]:
        return dict(zip(LABELS, d.counts.values(), strict=True))

    return {"rows": [{"unit": d.unit, "counts": counts(d)} for d in rows], "total": counts(total)}


def _hotspots(
    args: argparse.Namespace,
    orders: list[WorkOrder],
    names: dict[str, str],
    period: tuple[datetime, datetime],
    out: TextIO,
) -> list[dict[str, Any]]:
    from bot.reports.hotspots import hotspots
    from knowledge.lexicon import Lexicon

    found = hotspots(orders, Lexicon.load(), period=period, top=args.hotspots)
    if not args.json:
        out.write(f"\n热点诉求（前 {args.hotspots} 组）\n")
        if not found:
            out.write("  本期没有工单。\n")
        for i, h in enumerate(found, 1):
            units = "、".join(f"{names.get(u, u) if u else '未派单'} {n}" for u, n in h.units[:3])
            head = "每月一题" if i == 1 else f"{i}."
            out.write(f"  {head} {h.label}（{h.count} 件）关键词：{'、'.join(h.terms)}；单位：{units}\n")
    return [
        {"label": h.label, "terms": list(h.terms), "count": h.count,
         "units": [[u, n] for u, n in h.units], "numbers": list(h.numbers)}
        for h in found
    ]  # fmt: skip


def _export(
    args: argparse.Namespace,
    orders: list[WorkOrder],
    report: Report,
    names: dict[str, str],
    period: tuple[datetime, datetime],
    out: TextIO,
) -> None:
    from bot.reports.export import orders_csv, orders_xlsx, write

    chosen = sorted((o for o in orders if period[0] <= o.created_at < period[1]), key=lambda o: o.number)
    if args.export == "csv":
        data = orders_csv(chosen, names=names, show_phones=args.show_phones)
    else:
        data = orders_xlsx(chosen, names=names, show_phones=args.show_phones, report=report)
    path = write(Path(args.out), data)
    if not args.json:
        out.write(f"\n已导出 {len(chosen)} 件工单到 {path}\n")


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
    rep.add_argument("--trend", choices=("week", "month"), help="按周或按月的指标趋势")
    rep.add_argument("--periods", type=int, default=6, help="趋势的期数（默认 6，最后一期含结束日期）")
    rep.add_argument("--unit", help="趋势只看该单位（名称或编号；默认全区合计）")
    rep.add_argument("--svg", metavar="FILE", help="把趋势图写成 SVG 文件（需 --trend）")
    rep.add_argument("--satisfaction", action="store_true", help="好差评分布（五级评价及未评价）")
    rep.add_argument("--hotspots", type=int, metavar="N", help="本期最集中的 N 组相似诉求（每月一题）")
    rep.add_argument("--export", choices=("csv", "xlsx"), help="导出本期工单（需 --out）")
    rep.add_argument("--out", metavar="FILE", help="导出文件路径")
    rep.add_argument(
        "--show-phones", action="store_true", help="导出完整电话（默认打码；保密工单始终不导出）"
    )
    rep.set_defaults(func=cmd_report)
