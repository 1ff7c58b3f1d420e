"""Unit indicators (三率, 办结率, 按时办结率, 催办率, 重办率) computed the way the government does.

Units are ranked and 通报'd on these numbers, so every definition choice is data in
`bot/data/indicators.yaml` with its source, not buried in code: which ratings count as satisfied,
which statuses leave the denominators, whether extensions move the deadline. The work orders only
keep their current state, so timing comes from the audit events, replayed per order in time order.
Pure: no clock (the period and the 签收 limit are passed in) and one pass over the events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.workorder import Action, Event, Rating, Status, WorkOrder
from knowledge.errors import yaml_line
from knowledge.yamlio import parse_yaml

BUNDLED = Path(__file__).resolve().parent / "data" / "indicators.yaml"
DASH = "—"
TOTAL = "全区合计"

AckDeadline = Callable[[WorkOrder, datetime], datetime]


@dataclass(frozen=True, slots=True)
class Counts:
    """Per-order counts that every rate is a ratio of (defined in words in the YAML header)."""

    received: int = 0
    excluded: int = 0
    handled: int = 0
    dispatched: int = 0
    responded: int = 0
    resolved: int = 0
    on_time: int = 0
    rated: int = 0
    satisfied: int = 0
    solved: int = 0
    urged: int = 0
    reopened: int = 0


COUNT_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Counts))
CountName = Literal[
    "received", "excluded", "handled", "dispatched", "responded", "resolved",
    "on_time", "rated", "satisfied", "solved", "urged", "reopened",
]  # fmt: skip
# Positions in the per-unit count lists of `compute` (plain lists of ints: the hot loop is 600k events).
(RECEIVED, EXCLUDED, HANDLED, DISPATCHED, RESPONDED, RESOLVED,
 ON_TIME, RATED, SATISFIED, SOLVED, URGED, REOPENED) = range(len(COUNT_NAMES))  # fmt: skip


class IndicatorConfigError(ValueError):
    """An indicators file that cannot be used; names the file, line and field."""

    def __init__(self, path: Path, field: str | None, message: str, line: int | None = None) -> None:
        self.path, self.field, self.message, self.line = path, field, message, line
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}，字段 {field}：{message}" if field else f"{where}：{message}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Indicator(_Strict):
    """One rate: its Chinese name, which counts it divides, in words, and where it comes from."""

    label: str = Field(min_length=1)
    numerator: CountName
    denominator: CountName
    numerator_text: str = Field(min_length=1)
    denominator_text: str = Field(min_length=1)
    source: str = Field(min_length=1)
    floor: float | None = Field(default=None, ge=0, le=1)  # below it, the unit is flagged

    @model_validator(mode="after")
    def _distinct(self) -> Indicator:
        if self.numerator == self.denominator:
            raise ValueError("numerator and denominator are the same count")
        return self


class IndicatorConfig(_Strict):
    """The definition choices; `model_copy(update=...)` gives a variant for a what-if report."""

    version: Literal[1] = 1
    satisfied_ratings: frozenset[Rating]
    solved_ratings: frozenset[Rating]
    exclude_statuses: frozenset[Status] = frozenset()
    ack_limit_hours: float = Field(gt=0)
    on_time_rule: Literal["deadline_in_force", "original_deadline"] = "deadline_in_force"
    indicators: dict[str, Indicator] = Field(min_length=1)

    @classmethod
    def load(cls, path: Path = BUNDLED) -> IndicatorConfig:
        """Read and validate `path` (default: the bundled `bot/data/indicators.yaml`)."""
        try:
            doc = parse_yaml(path.read_text(encoding="utf-8"))
            return cls.model_validate(doc)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = tuple(err["loc"])
            msg = {"missing": "缺少必填字段", "extra_forbidden": "未知字段（拼写错误？）"}.get(
                err["type"], err["msg"]
            )
            field = ".".join(str(s) for s in loc) or None
            raise IndicatorConfigError(path, field, msg, yaml_line(path, loc)) from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise IndicatorConfigError(path, None, f"无法读取：{exc}") from None


@dataclass(frozen=True, slots=True)
class Row:
    """One unit's counts (or the district total's) and the rates derived from them."""

    unit: str
    counts: Counts

    def rate(self, indicator: Indicator) -> float | None:
        """numerator / denominator, or None when the denominator is 0."""
        den = getattr(self.counts, indicator.denominator)
        return getattr(self.counts, indicator.numerator) / den if den else None


@dataclass(frozen=True, slots=True)
class Report:
    """Per-unit rows (sorted by unit) and the district total, with the definitions used."""

    period: tuple[datetime, datetime]
    rows: tuple[Row, ...]
    total: Row
    config: IndicatorConfig

    def rates(self, row: Row) -> dict[str, float | None]:
        return {key: row.rate(ind) for key, ind in self.config.indicators.items()}

    def below_floor(self, row: Row) -> list[str]:
        """Indicators of `row` under their floor (e.g. 满意率 < 85 %): candidates for a 通报."""
        return [
            key
            for key, ind in self.config.indicators.items()
            if ind.floor is not None and (r := row.rate(ind)) is not None and r < ind.floor
        ]

    def as_rows(self, names: Mapping[str, str] | None = None) -> list[dict[str, str]]:
        """Display rows (units, then the total) keyed by Chinese column names; rates as “92.3%” or “—”."""
        out = []
        for row in (*self.rows, self.total):
            line = {
                "承办单位": (names or {}).get(row.unit, row.unit),
                "工单量": str(row.counts.received),
                "办结量": str(row.counts.resolved),
                "评价量": str(row.counts.rated),
            }
            for ind in self.config.indicators.values():
                r = row.rate(ind)
                line[ind.label] = DASH if r is None else f"{r:.1%}"
            out.append(line)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: raw counts, rates as floats or null, the period and the definitions used."""

        def one(row: Row) -> dict[str, Any]:
            counts = {name: getattr(row.counts, name) for name in COUNT_NAMES}
            return {
                "unit": row.unit,
                "counts": counts,
                "rates": self.rates(row),
                "below_floor": self.below_floor(row),
            }

        return {
            "period": {"start": self.period[0].isoformat(), "end": self.period[1].isoformat()},
            "rows": [one(r) for r in self.rows],
            "total": one(self.total),
            "config": self.config.model_dump(mode="json"),
        }


# Enum attribute access costs ~100 ns; the replay loop compares each of 600k events several times.
_DISPATCH, _ACK, _URGE, _RESOLVE = Action.dispatch, Action.acknowledge, Action.urge, Action.resolve
_RATE, _EXTEND, _RETURN = Action.rate, Action.approve_extension, Action.return_
_AT = attrgetter("at")


_RATINGS = {r.value: r for r in Rating}
_parse = datetime.fromisoformat


def _replay(
    data: tuple[tuple[str, Any], ...], deadline: datetime | None
) -> tuple[str | None, datetime | None]:
    """(unit, deadline) recorded in an event's data; `deadline` when none is recorded.

    A plain loop over the pairs: `Event.get`'s generator costs twice as much on 600k events.
    """
    unit = None
    for k, v in data:
        if k == "deadline":
            deadline = _parse(v)
        elif k == "unit":
            unit = v
    return unit, deadline


def compute(
    orders: Iterable[WorkOrder],
    events: Iterable[Event],
    *,
    period: tuple[datetime, datetime],
    config: IndicatorConfig,
    ack_deadline: AckDeadline | None = None,
) -> Report:
    """Indicators for the orders created in [start, end), per unit and for the district.

    `ack_deadline(order, dispatched_at)` is the 签收 limit of one 派单 (default: dispatched_at +
    `config.ack_limit_hours`); pass the calendar owner's rule for working-day roll-over. Events of
    orders outside the period are ignored. A dispatch still waiting for 签收 counts as not
    responded, so run a period's report once its orders have had time to be taken.
    """
    start, end = period
    limit = timedelta(hours=config.ack_limit_hours)
    due = ack_deadline or (lambda _order, dispatched_at: dispatched_at + limit)
    in_force = config.on_time_rule == "deadline_in_force"
    satisfied, solved, excluded = config.satisfied_ratings, config.solved_ratings, config.exclude_statuses
    scope = {o.number: o for o in orders if start <= o.created_at < end}
    groups: dict[str, list[Event]] = {n: [] for n in scope}
    for ev in events:
        group = groups.get(ev.order_number)
        if group is not None:
            group.append(ev)

    width = len(COUNT_NAMES)
    per_unit: dict[str | None, list[int]] = {}
    for number, order in scope.items():
        evs = groups[number]
        if len(evs) > 1:
            evs.sort(key=_AT)  # stable: events at the same instant keep their recorded order
        unit: str | None = None
        deadline: datetime | None = None
        dispatched_at: datetime | None = None
        acked: bool | None = None  # None: the current dispatch has no 签收 yet
        resolved = late = urged = False
        res_unit: str | None = None
        res_dispatched: datetime | None = None
        res_acked: bool | None = None
        rating: Rating | None = None
        for ev in evs:
            a = ev.action
            if a is _DISPATCH:
                unit, deadline = _replay(ev.data, None)
                dispatched_at, acked = ev.at, None
            elif a is _ACK:
                if dispatched_at is not None and acked is None:
                    acked = ev.at <= due(order, dispatched_at)
                if ev.data:
                    deadline = _replay(ev.data, deadline)[1]
            elif a is _URGE:
                urged = True
            elif a is _RESOLVE:
                resolved = True
                res_unit, res_dispatched, res_acked = unit, dispatched_at, acked
                if deadline is not None and ev.at > deadline:
                    late = True
            elif a is _RATE:
                rating = _RATINGS[str(next(v for k, v in ev.data if k == "rating"))]
                deadline = _replay(ev.data, deadline)[1]
            elif a is _EXTEND:
                if in_force:
                    deadline = _replay(ev.data, deadline)[1]
            elif a is _RETURN:
                unit = deadline = dispatched_at = acked = None

        if resolved:
            owner, disp, ack = res_unit, res_dispatched, res_acked
        else:
            owner, disp, ack = order.unit, dispatched_at, acked
        c = per_unit.get(owner)
        if c is None:
            c = per_unit[owner] = [0] * width
        c[RECEIVED] += 1
        if order.status in excluded:
            c[EXCLUDED] += 1
            continue
        if owner is not None:
            c[HANDLED] += 1
            c[URGED] += urged or order.urge_count > 0
        if disp is not None:
            c[DISPATCHED] += 1
            c[RESPONDED] += ack is True
        if resolved:
            c[RESOLVED] += 1
            c[ON_TIME] += not late
        if rating is None:
            rating = order.rating  # no 评价 event supplied: the order's own (latest) rating
        if rating is not None:
            c[RATED] += 1
            c[SATISFIED] += rating in satisfied
            c[SOLVED] += rating in solved
            c[REOPENED] += order.reopen_count > 0

    total = [sum(col) for col in zip(*per_unit.values(), strict=True)] if per_unit else [0] * width
    units = sorted(u for u in per_unit if u is not None)  # orders no unit holds count in the total only
    rows = tuple(Row(u, Counts(*per_unit[u])) for u in units)
    return Report(period, rows, Row(TOTAL, Counts(*total)), config)


_default: IndicatorConfig | None = None


def default_config() -> IndicatorConfig:
    """The bundled configuration, loaded once per process."""
    global _default
    if _default is None:
        _default = IndicatorConfig.load()
    return _default
