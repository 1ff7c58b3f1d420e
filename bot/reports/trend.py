"""Indicator series over consecutive weeks or months, per unit and for the district.

A trend is `bot.indicators.compute` run once per period, so every point means exactly what the
monthly report means. Orders and events are bucketed by period first (one pass over each), so
twelve periods cost about one `compute` over the same data instead of twelve full scans.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.indicators import COUNT_NAMES, TOTAL, AckDeadline, Counts, IndicatorConfig, Report, Row, compute
from bot.workorder import Event, WorkOrder

Granularity = Literal["week", "month"]


def _month_start(when: datetime) -> datetime:
    return when.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(start: datetime) -> datetime:
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


def periods(granularity: Granularity, count: int, last: datetime) -> list[tuple[datetime, datetime]]:
    """`count` consecutive calendar periods [start, end), oldest first, the last one containing
    `last` (weeks start on Monday 00:00, months on the 1st), in `last`'s time zone."""
    if count < 1:
        raise ValueError(f"期数必须至少为 1：{count}")
    if granularity == "week":
        day = last.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=last.weekday())
        starts = [day - timedelta(weeks=k) for k in range(count - 1, -1, -1)]
        return [(s, s + timedelta(weeks=1)) for s in starts]
    if granularity != "month":
        raise ValueError(f"周期只能是 week 或 month：{granularity!r}")
    start = _month_start(last)
    out = [(start, _next_month(start))]
    for _ in range(count - 1):
        prev = _month_start(start - timedelta(days=1))
        out.insert(0, (prev, start))
        start = prev
    return out


def period_label(granularity: Granularity, period: tuple[datetime, datetime]) -> str:
    """“2026年3月” for a month, “3月2日–3月8日” for a week (Chinese axis and table labels)."""
    start, end = period
    if granularity == "month":
        return f"{start.year}年{start.month}月"
    last = end - timedelta(days=1)
    return f"{start.month}月{start.day}日–{last.month}月{last.day}日"


@dataclass(frozen=True, slots=True)
class Trend:
    """One `Report` per period, oldest first, with display labels."""

    granularity: Granularity
    labels: tuple[str, ...]
    reports: tuple[Report, ...]

    def units(self) -> list[str]:
        """Every unit that has a row in any period, sorted."""
        return sorted({row.unit for r in self.reports for row in r.rows})

    def series(self, indicator: str, unit: str = TOTAL) -> list[float | None]:
        """The rate per period (None where the unit had no row or the denominator was 0)."""
        out: list[float | None] = []
        for r in self.reports:
            ind = r.config.indicators[indicator]
            row: Row | None = r.total if unit == TOTAL else next((x for x in r.rows if x.unit == unit), None)
            out.append(None if row is None else row.rate(ind))
        return out


def trend(
    orders: Iterable[WorkOrder],
    events: Iterable[Event],
    *,
    granularity: Granularity,
    spans: Sequence[tuple[datetime, datetime]],
    config: IndicatorConfig,
    ack_deadline: AckDeadline | None = None,
) -> Trend:
    """The indicators of each period in `spans` (consecutive, oldest first; see `periods`)."""
    if not spans:
        raise ValueError("至少需要一个统计周期")
    bounds = [s for s, _ in spans]
    first, end = spans[0][0], spans[-1][1]
    buckets: list[list[WorkOrder]] = [[] for _ in spans]
    where: dict[str, int] = {}
    for o in orders:
        at = o.created_at
        if first <= at < end:
            k = _locate(bounds, at)
            buckets[k].append(o)
            where[o.number] = k
    ev_buckets: list[list[Event]] = [[] for _ in spans]
    for ev in events:
        k_ev = where.get(ev.order_number)
        if k_ev is not None:
            ev_buckets[k_ev].append(ev)
    reports = tuple(
        compute(os, evs, period=span, config=config, ack_deadline=ack_deadline)
        for os, evs, span in zip(buckets, ev_buckets, spans, strict=True)
    )
    return Trend(granularity, tuple(period_label(granularity, s) for s in spans), reports)


def _locate(bounds: list[datetime], at: datetime) -> int:
    """Index of the last start ≤ `at` (binary search: months are not all the same length)."""
    lo, hi = 0, len(bounds) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if bounds[mid] <= at:
            lo = mid
        else:
            hi = mid - 1
    return lo


def combined(reports: Sequence[Report]) -> Report:
    """One report for the union of consecutive periods, from their per-period reports.

    Every count is a per-order count attributed to one period (by the order's filing time, as in
    `bot.indicators.compute`), so the counts of disjoint periods add up: the year of a 12-month
    trend costs nothing more than the trend (tests check it equals computing the year directly).
    """
    if not reports:
        raise ValueError("至少需要一个统计周期的报表")
    first = reports[0]

    def add(rows: Sequence[Row]) -> Counts:
        return Counts(**{name: sum(getattr(r.counts, name) for r in rows) for name in COUNT_NAMES})

    by_unit: dict[str, list[Row]] = {}
    for report in reports:
        for row in report.rows:
            by_unit.setdefault(row.unit, []).append(row)
    rows = tuple(Row(unit, add(parts)) for unit, parts in sorted(by_unit.items()))
    total = Row(first.total.unit, add([r.total for r in reports]))
    return Report((first.period[0], reports[-1].period[1]), rows, total, first.config)
