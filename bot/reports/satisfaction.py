"""The 好差评 distribution of a period: the five ratings plus 未评价, per unit and district-wide.

满意率 alone hides whether the unsatisfied are 不满意 or 非常不满意, and how many petitioners never
answered the 回访 — which is what the centre chases. Only orders that reached the 回访 stage are
counted (办结 done: resolved, awaiting the visit or archived, or already rated), so an order still
being worked on is not “未评价”. The order's own rating is its latest one (after a 重办, the second
回访's), the same rule the indicators use. Units are the unit holding the order now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.indicators import TOTAL
from bot.workorder import RATING_LABELS, Rating, Status, WorkOrder

UNRATED = "未评价"
LABELS: tuple[str, ...] = (*RATING_LABELS.values(), UNRATED)
_VISITED = frozenset({Status.resolved, Status.awaiting_visit, Status.archived})
_ORDER: tuple[Rating | None, ...] = (*Rating, None)


@dataclass(frozen=True, slots=True)
class Distribution:
    """Counts per rating (None: 未评价) of one unit (or `TOTAL`)."""

    unit: str
    counts: Mapping[Rating | None, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def share(self, rating: Rating | None) -> float | None:
        """Fraction of the counted orders with `rating`; None when none were counted."""
        return self.counts.get(rating, 0) / self.total if self.total else None

    def as_row(self, names: Mapping[str, str] | None = None) -> dict[str, str]:
        """Display row keyed by Chinese column names: “12（60.0%）” per rating."""
        row = {"承办单位": (names or {}).get(self.unit, self.unit), "回访工单": str(self.total)}
        for rating, label in zip(_ORDER, LABELS, strict=True):
            share = self.share(rating)
            row[label] = f"{self.counts.get(rating, 0)}" + ("" if share is None else f"（{share:.1%}）")
        return row


def distribution(
    orders: Iterable[WorkOrder], *, period: tuple[datetime, datetime]
) -> tuple[list[Distribution], Distribution]:
    """(per-unit distributions sorted by unit, the district's) for the orders created in `period`.

    Orders no unit holds count in the district's only, as in `bot.indicators`.
    """
    start, end = period
    per_unit: dict[str | None, dict[Rating | None, int]] = {}
    for o in orders:
        if not start <= o.created_at < end:
            continue
        if o.rating is None and o.status not in _VISITED:
            continue
        counts = per_unit.setdefault(o.unit, dict.fromkeys(_ORDER, 0))
        counts[o.rating] += 1
    total = dict.fromkeys(_ORDER, 0)
    for counts in per_unit.values():
        for k, v in counts.items():
            total[k] += v
    rows = [Distribution(u, per_unit[u]) for u in sorted(u for u in per_unit if u is not None)]
    return rows, Distribution(TOTAL, total)
