"""Time the full report (indicators per unit, a 12-month trend, the 好差评 distribution, hotspots)
over 100,000 synthetic orders, and the XLSX / CSV export of 100,000 rows, each beside a peer.

Data: `bench/indicators.py`'s generator (realistic event mix), spread over 12 months (order i is
moved, with its events, by i mod 12 months) and given contents from 40 issue templates × places ×
phrasings, so hotspots have real groups to find. The report period is the whole year.

Peers, in the same process on the same rows:
- XLSX: openpyxl's default (not write-only) workbook — what a developer writes first with the same
  library, so the ratio shows what streaming buys, not a different library's speed. No pandas:
  it is not a dependency, and `DataFrame.to_excel` writes through openpyxl anyway.
- CSV: a bare `csv.writer` over the same rows with no BOM, masking or formula guard — the floor.
- Report: `compute` run once per month over all orders and events (the obvious way to a trend),
  against `bot.reports.trend`, which buckets first.

Usage: python bench/reports.py [--orders N] [--seed S] [--json]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.indicators import CST, START, synth  # noqa: E402
from bot.indicators import compute, default_config  # noqa: E402
from bot.reports.export import ORDER_COLUMNS, order_rows, orders_csv, orders_xlsx  # noqa: E402
from bot.reports.hotspots import hotspots  # noqa: E402
from bot.reports.satisfaction import distribution  # noqa: E402
from bot.reports.trend import combined, periods, trend  # noqa: E402
from bot.workorder import Event, WorkOrder  # noqa: E402
from knowledge.lexicon import Lexicon  # noqa: E402

REPORT_TARGET_S, XLSX_TARGET_S = 1.0, 10.0
ISSUES = (
    "路灯不亮", "井盖缺失", "道路破损", "占道经营", "噪音扰民", "油烟扰民", "垃圾清运不及时", "违章停车",
    "拖欠工资", "社保缴纳", "营业执照变更", "发票领用", "退税进度", "消防验收", "电梯故障", "停水",
    "燃气报装", "招工补贴", "创业贷款", "租金减免", "高企认定", "专利资助", "食品安全", "价格欺诈",
    "物业收费", "供暖不热", "排水不畅", "绿化带损毁", "共享单车乱停", "施工扬尘", "网络信号差", "断电",
    "公交站点", "学校招生", "医保报销", "公积金提取", "落户办理", "环评审批", "厂房租赁", "水费异常",
)  # fmt: skip
PLACES = ("淮河路", "大学路", "长江路", "马寨镇", "德化街", "建中街", "一马路", "蜜蜂张", "嵩山路", "五里堡")
FRAMES = ("{p}{i}，请尽快处理", "反映{p}附近{i}问题", "{p}一带{i}好几天了", "我们公司在{p}，{i}影响经营")


def dataset(n: int, seed: int) -> tuple[list[WorkOrder], list[Event]]:
    """`synth` orders spread over the 12 months ending March 2026, with petition contents."""
    orders, events = synth(n, seed)
    rnd = random.Random(seed + 1)
    shift: dict[str, timedelta] = {}
    out = []
    for i, o in enumerate(orders):
        k = 11 - i % 12
        month = (START.month - 1 - k) % 12 + 1
        year = START.year - (1 if month > START.month else 0)
        delta = START.replace(year=year, month=month) - START
        shift[o.number] = delta
        text = rnd.choice(FRAMES).format(p=rnd.choice(PLACES), i=rnd.choice(ISSUES))
        out.append(replace(o, content=text, created_at=o.created_at + delta, updated_at=o.updated_at + delta))
    moved = [replace(e, at=e.at + shift[e.order_number]) for e in events]
    return out, moved


def best(fn: object, runs: int = 3) -> float:
    assert callable(fn)
    t = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        t = min(t, time.perf_counter() - t0)
    return t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    orders, events = dataset(args.orders, args.seed)
    config, lexicon = default_config(), Lexicon.load()
    lexicon.jieba  # noqa: B018  (load jieba's dictionary before any timing)
    spans = periods("month", 12, datetime(2026, 3, 31, tzinfo=CST))
    year = (spans[0][0], spans[-1][1])

    def report() -> None:
        t = trend(orders, events, granularity="month", spans=spans, config=config)
        combined(t.reports)  # the year's rows: the months' counts added up (no second pass)
        distribution(orders, period=year)

    def naive_trend() -> None:
        compute(orders, events, period=year, config=config)
        for span in spans:
            compute(orders, events, period=span, config=config)
        distribution(orders, period=year)

    r: dict[str, float] = {}
    r["report_s"] = best(report)
    r["report_peer_s"] = best(naive_trend)
    found: list[object] = []
    r["hotspots_s"] = best(lambda: found.append(hotspots(orders, lexicon, period=year, top=10)), 1)
    rows = list(order_rows(orders))
    r["xlsx_s"] = best(lambda: orders_xlsx(orders), 1)

    def openpyxl_default() -> None:
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        assert ws is not None
        ws.append([h for h, _ in ORDER_COLUMNS])
        for row in rows:
            ws.append(row)
        wb.save(io.BytesIO())

    r["xlsx_peer_s"] = best(openpyxl_default, 1)
    r["csv_s"] = best(lambda: orders_csv(orders))

    def bare_csv() -> None:
        buf = io.StringIO()
        csv.writer(buf).writerows(order_rows(orders))
        buf.getvalue().encode("utf-8")

    r["csv_peer_s"] = best(bare_csv)
    if args.json:
        print(json.dumps({"orders": len(orders), "events": len(events), **r}))
        return
    top = found[0]
    assert isinstance(top, list)
    print(
        f"orders {len(orders):,}, events {len(events):,}, "
        f"distinct contents {len({o.content for o in orders}):,}"
    )
    ok = "OK" if r["report_s"] <= REPORT_TARGET_S else "SLOW"
    print(
        f"report (indicators + 12-month trend + satisfaction): {r['report_s']:.3f} s (target ≤ 1 s) {ok}; "
        f"per-month compute peer {r['report_peer_s']:.3f} s, ratio {r['report_peer_s'] / r['report_s']:.1f}×"
    )
    print(
        f"hotspots over all contents: {r['hotspots_s']:.3f} s (timed apart); "
        f"top: {top[0].label} ({top[0].count})"
    )
    ok = "OK" if r["xlsx_s"] <= XLSX_TARGET_S else "SLOW"
    print(
        f"xlsx export: {r['xlsx_s']:.2f} s (target ≤ 10 s) {ok}; openpyxl default workbook "
        f"{r['xlsx_peer_s']:.2f} s, ratio {r['xlsx_peer_s'] / r['xlsx_s']:.2f}×"
    )
    print(f"csv export: {r['csv_s']:.2f} s; bare csv.writer {r['csv_peer_s']:.2f} s, "
          f"ratio {r['csv_s'] / r['csv_peer_s']:.2f}× (ours / bare)")  # fmt: skip


if __name__ == "__main__":
    main()
