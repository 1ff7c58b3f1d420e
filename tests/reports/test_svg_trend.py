"""Periods, per-period indicator series, and the SVG chart parsed back as XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from bot.indicators import TOTAL, compute, default_config
from bot.reports.svg import line_chart
from bot.reports.trend import combined, period_label, periods, trend
from bot.transitions import apply
from bot.workorder import Action, Event, OrderType, Source, Status, Urgency, WorkOrder, format_order_number

CST = timezone(timedelta(hours=8))
SVG = "{http://www.w3.org/2000/svg}"
_seq = iter(range(1, 1000))


def test_periods_are_calendar_aligned_and_end_with_the_given_moment() -> None:
    months = periods("month", 3, datetime(2026, 3, 15, 12, tzinfo=CST))
    assert [(s.date(), e.date()) for s, e in months] == [
        (date(2026, 1, 1), date(2026, 2, 1)), (date(2026, 2, 1), date(2026, 3, 1)),
        (date(2026, 3, 1), date(2026, 4, 1)),
    ]  # fmt: skip
    across_year = periods("month", 2, datetime(2026, 1, 31, 23, tzinfo=CST))
    assert across_year[0][0].date() == date(2025, 12, 1)
    weeks = periods("week", 2, datetime(2026, 3, 8, 23, 59, tzinfo=CST))  # a Sunday
    assert [s.date() for s, _ in weeks] == [date(2026, 2, 23), date(2026, 3, 2)]
    assert (
        period_label("week", weeks[1]) == "3月2日–3月8日" and period_label("month", months[0]) == "2026年1月"
    )
    with pytest.raises(ValueError, match="至少为 1"):
        periods("month", 0, datetime(2026, 3, 1, tzinfo=CST))


def _order(created: datetime, unit: str, rating: str | None) -> tuple[WorkOrder, list[Event]]:
    o = WorkOrder(
        number=format_order_number(created.date(), next(_seq)), type=OrderType.help, urgency=Urgency.hoped,
        source=Source.web, status=Status.pending, content="诉求", petitioner="web:1",
        created_at=created, updated_at=created,
    )  # fmt: skip
    events = []
    steps: list[tuple[Action, dict[str, Any]]] = [(Action.accept, {}), (Action.dispatch, {"unit": unit}),
                                                  (Action.acknowledge, {})]  # fmt: skip
    if rating:
        steps += [
            (Action.resolve, {"result": "好"}),
            (Action.start_visit, {}),
            (Action.rate, {"rating": rating}),
        ]
    for h, (action, params) in enumerate(steps, 1):
        o, ev = apply(o, action, by="s", at=created + timedelta(hours=h), **params)
        events.append(ev)
    return o, events


def test_trend_matches_compute_per_period_and_leaves_gaps_where_nothing_was_rated() -> None:
    made = [
        _order(datetime(2026, 1, 5, 9, tzinfo=CST), "amr", "satisfied"),
        _order(datetime(2026, 1, 20, 9, tzinfo=CST), "tax", "very_unsatisfied"),
        _order(datetime(2026, 2, 10, 9, tzinfo=CST), "amr", None),  # February: nothing rated
        _order(datetime(2026, 3, 3, 9, tzinfo=CST), "amr", "unsatisfied"),
        _order(datetime(2026, 5, 3, 9, tzinfo=CST), "amr", "satisfied"),  # after the last period
    ]
    orders = [o for o, _ in made]
    events = [e for _, evs in made for e in evs]
    spans = periods("month", 3, datetime(2026, 3, 31, tzinfo=CST))
    t = trend(orders, events, granularity="month", spans=spans, config=default_config())
    assert t.labels == ("2026年1月", "2026年2月", "2026年3月")
    assert t.series("satisfaction_rate") == [0.5, None, 0.0]
    assert t.series("satisfaction_rate", "amr") == [1.0, None, 0.0]
    assert t.series("satisfaction_rate", "tax") == [0.0, None, None]  # no row at all in Feb / Mar
    assert t.units() == ["amr", "tax"]
    for span, report in zip(spans, t.reports, strict=True):
        assert report == compute(orders, events, period=span, config=default_config())
    assert t.reports[2].total.counts.received == 1 and t.reports[0].total.unit == TOTAL


def test_svg_is_well_formed_escapes_names_and_breaks_lines_at_gaps() -> None:
    evil = "<script>alert(1)</script>"
    svg = line_chart(
        "满意率 & 响应率", ["1月", "2月", "3月", "4月"],
        [(evil, [0.5, None, 0.7, 0.8]), ("全区合计", [0.9, 0.95, 1.2, -0.1])],
    )  # fmt: skip
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert not [el for el in root.iter() if el.tag.endswith("script")]
    texts = [el.text for el in root.iter(f"{SVG}text")]
    assert evil in texts and "满意率 & 响应率" in texts and "100%" in texts and "1月" in texts
    assert "&lt;script&gt;" in svg and evil not in svg
    first, second = root.findall(f"{SVG}g")
    assert len(first.findall(f"{SVG}polyline")) == 1  # 0.7–0.8; the lone 0.5 is a dot
    assert len(first.findall(f"{SVG}circle")) == 3
    (line,) = second.findall(f"{SVG}polyline")
    ys = [float(p.split(",")[1]) for p in line.get("points", "").split()]
    assert min(ys) >= 40 and max(ys) <= 380 - 64  # clamped to the 0–100 % plot area
    with pytest.raises(ValueError, match="横轴有 4 个标签"):
        line_chart("x", ["1", "2", "3", "4"], [("a", [0.1])])


def test_the_reports_of_consecutive_periods_combine_into_the_whole_periods_report() -> None:
    made = [
        _order(datetime(2026, 1, 5, 9, tzinfo=CST), "amr", "satisfied"),
        _order(datetime(2026, 1, 20, 9, tzinfo=CST), "tax", "very_unsatisfied"),
        _order(datetime(2026, 2, 10, 9, tzinfo=CST), "amr", None),
        _order(datetime(2026, 3, 3, 9, tzinfo=CST), "amr", "unsatisfied"),
        _order(datetime(2026, 3, 30, 9, tzinfo=CST), "tax", "basically_satisfied"),
        _order(datetime(2026, 5, 3, 9, tzinfo=CST), "amr", "satisfied"),  # outside
    ]
    orders = [o for o, _ in made]
    events = [e for _, evs in made for e in evs]
    spans = periods("month", 3, datetime(2026, 3, 31, tzinfo=CST))
    t = trend(orders, events, granularity="month", spans=spans, config=default_config())
    whole = (spans[0][0], spans[-1][1])
    assert combined(t.reports) == compute(orders, events, period=whole, config=default_config())
    with pytest.raises(ValueError, match="至少需要"):
        combined([])
