"""The reports page of the staff console: the 三率 and the other indicators per unit for a period,
a 12-month trend drawn as inline SVG (server-side, no script), the 好差评 distribution, the
period's hotspots (每月一题), and CSV / XLSX downloads. Handlers see their own unit only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.dispatch import load_catalogue
from bot.indicators import IndicatorConfig, Report, compute
from bot.reports.export import indicator_rows, orders_csv, orders_xlsx
from bot.reports.hotspots import hotspots
from bot.reports.satisfaction import distribution
from bot.reports.svg import line_chart
from bot.reports.trend import periods, trend
from bot.staff.accounts import Account, Role
from bot.staff.pages import esc, table
from bot.tickets import TicketService
from bot.workdays import WorkCalendar
from bot.workorder import Event, WorkOrder
from knowledge.lexicon import Lexicon

TREND_LINES = ("response_rate", "resolution_rate", "satisfaction_rate")  # the 三率


def month_of(now: datetime, text: str | None) -> tuple[datetime, datetime]:
    """The calendar month `text` ("2026-11") or the one `now` is in, as [start, end)."""
    if text:
        try:
            start = datetime.strptime(text, "%Y-%m").replace(tzinfo=now.tzinfo)
        except ValueError:
            raise ValueError("月份格式应为 YYYY-MM，例如 2026-11") from None
    else:
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


class Reports:
    def __init__(self, tickets: TicketService, calendar: WorkCalendar) -> None:
        self.tickets, self.calendar = tickets, calendar
        self.config = IndicatorConfig.load()
        self.names = {u.id: u.name for u in load_catalogue().units}
        self._lexicon: Lexicon | None = None

    async def _data(self, account: Account) -> tuple[list[WorkOrder], list[Event]]:
        """Everything this account may report on: a handler only their own unit's orders."""
        orders = [o async for o in self.tickets.repo.iter_all() if account.may_see(o)]
        numbers = {o.number for o in orders}
        events = [e for e in await self.tickets.repo.all_events() if e.order_number in numbers]
        return orders, events

    async def page(self, account: Account, now: datetime, month: str | None) -> str:
        period = month_of(now, month)
        orders, events = await self._data(account)
        spans = periods("month", 12, period[0])  # the last of them is `period` itself
        t = trend(
            orders,
            events,
            granularity="month",
            spans=spans,
            config=self.config,
            ack_deadline=self.tickets.ack_deadline,
        )
        report = t.reports[-1]  # the month's report: one pass over the data for all of it
        lines = [(self.config.indicators[n].label, t.series(n)) for n in TREND_LINES]
        months = [m.split("年")[-1] for m in t.labels]  # "3月": twelve of them fit under the axis
        chart = line_chart("全区三率趋势（近 12 个月）", months, lines)
        per_unit, total = distribution(orders, period=period)
        if self._lexicon is None:
            self._lexicon = Lexicon.load()
        spots = hotspots(orders, self._lexicon, period=period, top=5)
        label = f"{period[0]:%Y年%m月}"
        mine = "（本单位）" if account.role is Role.handler else ""
        return (
            f"<h2>{esc(label)} 报表{esc(mine)}</h2>"
            '<form class="filters" method="get">'
            f'<input name="month" placeholder="YYYY-MM" value="{esc(month or "")}">'
            f"<button>查看</button> "
            f'<a href="/staff/reports/orders.csv?month={esc(f"{period[0]:%Y-%m}")}">导出 CSV</a> '
            f'<a href="/staff/reports/orders.xlsx?month={esc(f"{period[0]:%Y-%m}")}">导出 Excel</a></form>'
            + "<h3>各单位指标</h3>"
            + _indicator_table(report, self.names)
            + f"<h3>趋势</h3><div class='box'>{chart}</div>"
            + "<h3>好差评分布</h3>"
            + _distribution_table([*per_unit, total], self.names)
            + "<h3>本月热点（每月一题）</h3>"
            + _hotspot_table(spots, self.names)
        )

    async def export(self, account: Account, now: datetime, month: str | None, kind: str) -> bytes:
        period = month_of(now, month)
        orders, events = await self._data(account)
        chosen = [o for o in orders if period[0] <= o.created_at < period[1]]
        if kind == "csv":
            return orders_csv(chosen, names=self.names)
        report = compute(
            orders, events, period=period, config=self.config, ack_deadline=self.tickets.ack_deadline
        )
        return orders_xlsx(chosen, names=self.names, report=report)


def _pct(value: Any) -> str:
    return "—" if value is None else f"{value:.1%}" if isinstance(value, float) else esc(value)


def _indicator_table(report: Report, names: dict[str, str]) -> str:
    headers, rows = indicator_rows(report, names)
    return table(headers, ([esc(r[0]), *(_pct(v) for v in r[1:4]), *(_pct(v) for v in r[4:])] for r in rows))


def _distribution_table(rows: list[Any], names: dict[str, str]) -> str:
    shown = [r.as_row(names) for r in rows]
    if not shown:
        return '<p class="muted">（无数据）</p>'
    headers = list(shown[0])
    return table(headers, ([esc(r[h]) for h in headers] for r in shown))


def _hotspot_table(spots: list[Any], names: dict[str, str]) -> str:
    if not spots:
        return '<p class="muted">（本月没有诉求）</p>'
    rows = (
        [
            ("★ " if i == 0 else "") + esc(s.label),
            esc("、".join(s.terms[:5])),
            esc(s.count),
            esc("、".join(names.get(u, u) for u, _ in s.units[:3] if u is not None) or "未派单"),
        ]
        for i, s in enumerate(spots)
    )
    return table(["诉求", "关键词", "件数", "主要承办单位"], rows)
