"""好差评 distribution on the seeded store; hotspot grouping of a hand-made set of petitions."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from bot.reports.hotspots import hotspots
from bot.reports.satisfaction import UNRATED, distribution
from bot.workorder import OrderType, Rating, Source, Status, Urgency, WorkOrder
from knowledge.lexicon import Lexicon

CST = timezone(timedelta(hours=8))
MARCH = (datetime(2026, 3, 1, tzinfo=CST), datetime(2026, 4, 1, tzinfo=CST))

LAMPS = [
    "小区门口路灯不亮，晚上出行不安全", "金水路的路灯坏了好几天都不亮", "路灯晚上不亮，请尽快维修",
    "我们厂区附近的路灯一直不亮", "路灯不亮已经一周了",
]  # fmt: skip
NOISE = ["夜间施工噪音扰民，影响休息", "附近工地噪音太大，扰民严重", "楼下餐馆噪音扰民到深夜"]
SINGLES = ["营业执照变更需要什么材料", "公司拖欠工资三个月"]


def test_distribution_counts_visited_orders_only(seeded: Any) -> None:
    rows, total = distribution(seeded.orders, period=MARCH)
    # happy: 满意; secret: 非常不满意 (reopened, still rated); formula: 未评价;
    # working: still in progress, not counted; april: outside the period.
    assert total.total == 3
    assert total.counts[Rating.satisfied] == 1 and total.counts[Rating.very_unsatisfied] == 1
    assert total.counts[None] == 1 and total.share(None) == pytest.approx(1 / 3)
    urban, street = sorted(rows, key=lambda d: d.unit, reverse=True)
    assert (urban.unit, urban.total, urban.counts[None]) == ("urban", 2, 1)
    assert (street.unit, street.counts[Rating.very_unsatisfied]) == ("huaiheroad", 1)
    row = urban.as_row({"urban": "二七区城市管理局"})
    assert (
        row["承办单位"] == "二七区城市管理局" and row[UNRATED] == "1（50.0%）" and row["满意"] == "1（50.0%）"
    )


_n = iter(range(1, 10_000))


def _order(content: str, unit: str | None, *, status: Status = Status.in_progress, day: int = 2) -> WorkOrder:
    at = datetime(2026, 3, day, 9, tzinfo=CST)
    return WorkOrder(
        number=f"EQ-202603{day:02d}-{next(_n):04d}", type=OrderType.complaint, urgency=Urgency.hoped,
        source=Source.web, status=status, content=content, petitioner="web:1", created_at=at,
        updated_at=at, unit=unit,
    )  # fmt: skip


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon.load()


def test_hotspots_group_similar_petitions_and_label_them(lexicon: Lexicon) -> None:
    orders = [_order(t, "huaiheroad" if i < 3 else "urban") for i, t in enumerate(LAMPS)]
    orders += [_order(t, "urban") for t in NOISE] + [_order(t, None) for t in SINGLES]
    orders.append(_order(LAMPS[0], "urban", status=Status.merged))  # a folded duplicate: not counted
    found = hotspots(orders, lexicon, period=MARCH)
    assert [h.count for h in found] == [5, 3, 1, 1]
    lamps, noise = found[0], found[1]
    assert lamps.label in LAMPS and "路灯" in lamps.terms and "不亮" in lamps.terms
    assert lamps.units == (("huaiheroad", 3), ("urban", 2))
    assert noise.label in NOISE and {"噪音", "扰民"} <= set(noise.terms)
    assert {h.label for h in found[2:]} == set(SINGLES)
    shuffled = list(orders)
    random.Random(7).shuffle(shuffled)
    assert hotspots(shuffled, lexicon, period=MARCH) == found  # deterministic whatever the order
    assert [h.count for h in hotspots(orders, lexicon, period=MARCH, top=1)] == [5]


def test_hotspots_respect_the_period_and_count_repeated_texts(lexicon: Lexicon) -> None:
    orders = [_order("路灯不亮", "urban") for _ in range(4)] + [_order("噪音扰民", "urban", day=20)]
    orders.append(_order("路灯不亮", "urban", day=1))
    first_week = (MARCH[0], datetime(2026, 3, 8, tzinfo=CST))
    (only,) = hotspots(orders, lexicon, period=first_week)
    assert only.count == 5 and only.label == "路灯不亮" and len(only.numbers) == 5
    assert hotspots([], lexicon) == []
