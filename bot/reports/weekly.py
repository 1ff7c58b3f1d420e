"""The weekly summary for the district's leaders: a few lines they read on a phone.

Last week's 三率 district-wide, the three units furthest behind, how many orders are overdue now,
and the week's top hotspot. Pure: the caller passes the orders, events, clock and lexicon, so the
scheduler (which owns when and to whom it goes) and the tests build the same text.

Scheduling it needs a `weekly_summary` kind in `bot.schedule.model` (staff audience, dropped when
more than 2 days stale); until that exists this module only builds the text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from bot.indicators import AckDeadline, IndicatorConfig, Report, Row, compute
from bot.reports.hotspots import Hotspot, hotspots
from bot.workorder import Event, Status, WorkOrder
from knowledge.lexicon import Lexicon

THREE_RATES = ("response_rate", "resolution_rate", "satisfaction_rate")
# Statuses in which a unit still owes work (as in the overdue 通报 of bot.schedule.producers).
OWED = frozenset({Status.pending, Status.accepted, Status.dispatched, Status.in_progress})


def last_week(now: datetime) -> tuple[datetime, datetime]:
    """The ISO week (Monday 00:00 to Monday 00:00) before the one containing `now`."""
    monday = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=now.weekday())
    return monday - timedelta(weeks=1), monday


def overdue_count(orders: Iterable[WorkOrder], now: datetime) -> int:
    """Orders a unit still owes whose deadline has passed by `now`."""
    return sum(1 for o in orders if o.status in OWED and o.deadline is not None and o.deadline < now)


def _score(report: Report, row: Row) -> float | None:
    """Mean of the unit's 三率 that can be computed (None if none can)."""
    rates = [r for key in THREE_RATES if key in report.config.indicators
             if (r := row.rate(report.config.indicators[key])) is not None]  # fmt: skip
    return sum(rates) / len(rates) if rates else None


def worst_units(report: Report, count: int = 3, *, min_orders: int = 3) -> list[Row]:
    """The `count` units with the lowest mean 三率, ties by name. Units with fewer than
    `min_orders` orders in the week are not ranked: one late order would put them last."""
    scored = [(s, row.unit, row) for row in report.rows
              if row.counts.received >= min_orders and (s := _score(report, row)) is not None]  # fmt: skip
    return [row for _, _, row in sorted(scored, key=lambda t: (t[0], t[1]))[:count]]


def _rates(report: Report, row: Row) -> str:
    parts = []
    for key in THREE_RATES:
        ind = report.config.indicators.get(key)
        if ind is not None:
            r = row.rate(ind)
            parts.append(f"{ind.label} {'—' if r is None else f'{r:.1%}'}")
    return "，".join(parts)


def weekly_summary(
    report: Report,
    *,
    overdue: int,
    hotspot: Hotspot | None,
    names: Mapping[str, str] | None = None,
    worst: Sequence[Row] | None = None,
) -> str:
    """The summary text for `report`'s week (see `build_weekly` for where the parts come from)."""
    names = names or {}
    start, end = report.period
    last = end - timedelta(days=1)
    lines = [
        f"【12345 工单周报】{start:%Y-%m-%d} 至 {last:%Y-%m-%d}",
        f"全区受理 {report.total.counts.received} 件：{_rates(report, report.total)}",
    ]
    rows = worst_units(report) if worst is None else list(worst)
    if rows:
        lines.append("三率较低的单位：")
        lines += [f"  {i}. {names.get(r.unit, r.unit)}：{_rates(report, r)}" for i, r in enumerate(rows, 1)]
    lines.append(f"当前超期未办结：{overdue} 件" if overdue else "当前没有超期未办结的工单")
    if hotspot is not None:
        units = "、".join(names.get(u, u) for u, _ in hotspot.units[:3] if u is not None)
        lines.append(
            f"本周热点：{hotspot.label}（{hotspot.count} 件" + (f"，涉及 {units}" if units else "") + "）"
        )
    return "\n".join(lines)


def build_weekly(
    orders: Sequence[WorkOrder],
    events: Iterable[Event],
    *,
    now: datetime,
    config: IndicatorConfig,
    lexicon: Lexicon,
    names: Mapping[str, str] | None = None,
    ack_deadline: AckDeadline | None = None,
) -> str:
    """The summary of the week before `now`: its indicators, its top hotspot, overdue as of `now`."""
    week = last_week(now)
    report = compute(orders, events, period=week, config=config, ack_deadline=ack_deadline)
    top = hotspots(orders, lexicon, period=week, top=1)
    return weekly_summary(
        report, overdue=overdue_count(orders, now), hotspot=top[0] if top else None, names=names
    )
