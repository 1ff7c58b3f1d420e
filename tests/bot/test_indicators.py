"""Unit indicators on hand-computed cases; orders and events are made by the real state machine."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, get_args

import pytest

from bot.indicators import (
    BUNDLED,
    COUNT_NAMES,
    DASH,
    TOTAL,
    CountName,
    IndicatorConfig,
    IndicatorConfigError,
    Report,
    compute,
    default_config,
)
from bot.transitions import apply
from bot.workorder import (
    Action,
    Event,
    OrderType,
    Rating,
    Source,
    Status,
    Urgency,
    WorkOrder,
    format_order_number,
)

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CST)  # a Monday
PERIOD = (datetime(2026, 3, 1, tzinfo=CST), datetime(2026, 4, 1, tzinfo=CST))
A, B = "amr", "tax"
_seq = iter(range(1, 10_000))


class Life:
    """One order's life: each step goes through `apply`, so orders and events are real."""

    def __init__(self, created: datetime = T0) -> None:
        self.order = WorkOrder(
            number=format_order_number(date(2026, 3, 2), next(_seq)),
            type=OrderType.complaint,
            urgency=Urgency.hoped,
            source=Source.web,
            status=Status.pending,
            content="诉求内容",
            petitioner="web:1",
            created_at=created,
            updated_at=created,
        )
        self.created = created
        self.events: list[Event] = []

    def do(self, action: Action, hours: float, **params: Any) -> Life:
        at = self.created + timedelta(hours=hours)
        self.order, event = apply(self.order, action, by="staff:1", at=at, **params)
        self.events.append(event)
        return self

    def h(self, hours: float) -> datetime:
        return self.created + timedelta(hours=hours)

    def taken(self, unit: str = A, *, due: float = 72, ack: float = 2) -> Life:
        """受理 at 0 h, 派单 at 1 h with a deadline, 签收 at `ack` h."""
        self.do(Action.accept, 0).do(Action.dispatch, 1, unit=unit, deadline=self.h(due))
        return self.do(Action.acknowledge, ack)

    def closed(self, at: float, rating: str = "satisfied", **rate: Any) -> Life:
        """办结 at `at` h, 回访 an hour later, rated an hour after that."""
        self.do(Action.resolve, at, result="已处理").do(Action.start_visit, at + 1)
        return self.do(Action.rate, at + 2, rating=rating, **rate)


def run(*lives: Life, config: IndicatorConfig | None = None, **kw: Any) -> Report:
    orders = [life.order for life in lives]
    events = [e for life in lives for e in life.events]
    return compute(orders, events, period=PERIOD, config=config or default_config(), **kw)


def rates(report: Report, unit: str) -> dict[str, float | None]:
    row = report.total if unit == TOTAL else next(r for r in report.rows if r.unit == unit)
    return report.rates(row)


def counts(report: Report, unit: str) -> dict[str, int]:
    row = report.total if unit == TOTAL else next(r for r in report.rows if r.unit == unit)
    return {name: getattr(row.counts, name) for name in COUNT_NAMES}


def test_response_rate_counts_acknowledgement_within_the_limit() -> None:
    fast = Life().taken(ack=2)  # 1 h after dispatch
    slow = Life().taken(ack=30)  # 29 h after dispatch: over 24 h
    never = Life().do(Action.accept, 0).do(Action.dispatch, 1, unit=A)
    report = run(fast, slow, never)
    assert rates(report, A)["response_rate"] == pytest.approx(1 / 3)
    assert counts(report, A)["dispatched"] == 3 and counts(report, A)["responded"] == 1
    # The caller's own 签收 rule (e.g. working-day roll-over) replaces the 24 h default.
    lenient = run(fast, slow, never, ack_deadline=lambda order, at: at + timedelta(hours=48))
    assert rates(lenient, A)["response_rate"] == pytest.approx(2 / 3)


def test_on_time_and_late_resolution() -> None:
    on_time = Life().taken(due=72).closed(72)  # exactly at the deadline: on time
    late = Life().taken(due=72).closed(73)
    report = run(on_time, late)
    assert rates(report, A)["on_time_rate"] == 0.5
    assert rates(report, A)["completion_rate"] == 1.0


def test_an_approved_extension_moves_the_deadline() -> None:
    life = Life().taken(due=24)
    life.do(Action.apply_extension, 10, days=3).do(Action.approve_extension, 12, deadline=life.h(96))
    life.closed(48)
    assert rates(run(life), A)["on_time_rate"] == 1.0
    strict = default_config().model_copy(update={"on_time_rule": "original_deadline"})
    assert rates(run(life, config=strict), A)["on_time_rate"] == 0.0


def test_a_rejected_extension_leaves_the_deadline() -> None:
    life = Life().taken(due=24)
    life.do(Action.apply_extension, 10, days=3).do(Action.reject_extension, 12).closed(48)
    assert rates(run(life), A)["on_time_rate"] == 0.0


def test_reopened_then_satisfied_counts_the_final_rating() -> None:
    redo = Life().taken(due=72).closed(10, "unsatisfied", deadline=T0 + timedelta(hours=100))
    assert redo.order.status is Status.in_progress and redo.order.reopen_count == 1
    redo.closed(50, "satisfied")
    first_time = Life().taken().closed(10, "very_satisfied")
    report = run(redo, first_time)
    r = rates(report, A)
    assert r["satisfaction_rate"] == 1.0  # the second rating of the redo counts
    assert r["resolution_rate"] == 1.0
    assert r["reopen_rate"] == 0.5
    assert counts(report, A)["rated"] == 2  # one order, one rating, however many visits


def test_redo_deadline_judges_the_second_resolution() -> None:
    redo = Life().taken(due=72).closed(10, "unsatisfied", deadline=T0 + timedelta(hours=40))
    redo.closed(50)  # after the redo deadline of 40 h
    assert rates(run(redo), A)["on_time_rate"] == 0.0


def test_an_order_still_in_redo_counts_as_unsatisfied() -> None:
    waiting = Life().taken().closed(10, "very_unsatisfied")
    happy = Life().taken().closed(10, "satisfied")
    r = rates(run(waiting, happy), A)
    assert r["satisfaction_rate"] == 0.5 and r["reopen_rate"] == 0.5


def test_excluded_statuses_leave_every_denominator() -> None:
    rejected = Life().do(Action.reject, 0, reason="litigation")
    withdrawn = Life().taken().do(Action.withdraw, 5)
    merged = Life().do(Action.accept, 0).do(Action.merge, 1, into="EQ-20260301-0001")
    kept = Life().taken().closed(10)
    report = run(rejected, withdrawn, merged, kept)
    assert counts(report, A)["received"] == 2 and counts(report, A)["excluded"] == 1
    assert counts(report, A)["handled"] == 1
    assert counts(report, TOTAL)["received"] == 4 and counts(report, TOTAL)["excluded"] == 3
    assert rates(report, A)["completion_rate"] == 1.0
    keep_all = default_config().model_copy(update={"exclude_statuses": frozenset()})
    assert rates(run(rejected, withdrawn, merged, kept, config=keep_all), A)["completion_rate"] == 0.5


def test_zero_denominators_are_none_and_shown_as_a_dash() -> None:
    only_dispatched = Life().do(Action.accept, 0).do(Action.dispatch, 1, unit=A)
    report = run(only_dispatched)
    r = rates(report, A)
    assert r["response_rate"] == 0.0
    assert r["on_time_rate"] is None and r["satisfaction_rate"] is None and r["reopen_rate"] is None
    row = report.as_rows()[0]
    assert row["满意率"] == DASH and row["响应率"] == "0.0%" and row["承办单位"] == A
    assert report.to_dict()["rows"][0]["rates"]["satisfaction_rate"] is None
    empty = compute([], [], period=PERIOD, config=default_config())
    assert empty.rows == () and all(v is None for v in empty.rates(empty.total).values())
    assert empty.as_rows()[-1]["承办单位"] == TOTAL


def test_attribution_follows_the_unit_at_resolution() -> None:
    moved = Life().taken(A).do(Action.return_, 3, reason="not_our_duty")
    moved.do(Action.dispatch, 4, unit=B, deadline=moved.h(72)).do(Action.acknowledge, 5).closed(20)
    returned = Life().taken(A).do(Action.return_, 3, reason="wrong_dispatch")  # waiting for 改派
    held = Life().do(Action.accept, 0).do(Action.dispatch, 1, unit=B)  # not resolved yet
    report = run(moved, returned, held)
    assert [r.unit for r in report.rows] == [B]  # A holds nothing: its return is not its order
    assert counts(report, B)["received"] == 2 and counts(report, B)["resolved"] == 1
    assert counts(report, B)["responded"] == 1  # B's own 签收 of its dispatch, not A's
    assert counts(report, TOTAL)["received"] == 3 and counts(report, TOTAL)["handled"] == 2


def test_urge_rate() -> None:
    urged = Life().taken().do(Action.urge, 30).do(Action.urge, 40).closed(50)
    calm = Life().taken().closed(10)
    assert rates(run(urged, calm), A)["urge_rate"] == 0.5


def test_basically_satisfied_can_be_configured_out() -> None:
    lives = [Life().taken().closed(10, r) for r in ("very_satisfied", "basically_satisfied", "satisfied")]
    assert rates(run(*lives), A)["satisfaction_rate"] == 1.0
    top_two = frozenset({Rating.very_satisfied, Rating.satisfied})
    strict = default_config().model_copy(update={"satisfied_ratings": top_two})
    r = rates(run(*lives, config=strict), A)
    assert r["satisfaction_rate"] == pytest.approx(2 / 3)
    assert r["resolution_rate"] == 1.0  # solved_ratings is a separate choice


def test_period_is_half_open_on_creation_time() -> None:
    before = Life(PERIOD[0] - timedelta(seconds=1)).taken().closed(10)
    first = Life(PERIOD[0]).taken().closed(10)
    at_end = Life(PERIOD[1]).taken().closed(10)
    assert counts(run(before, first, at_end), TOTAL)["received"] == 1


def test_event_order_in_the_input_does_not_matter() -> None:
    lives = [Life().taken().closed(80), Life().taken(ack=30).do(Action.urge, 40).closed(10, "unsatisfied")]
    orders = [life.order for life in lives]
    events = [e for life in lives for e in life.events]
    config = default_config()
    shuffled = events[:]
    random.Random(7).shuffle(shuffled)
    a = compute(orders, events, period=PERIOD, config=config).to_dict()
    b = compute(orders, shuffled, period=PERIOD, config=config).to_dict()
    assert a == b


def test_floor_flags_and_report_shapes() -> None:
    lives = [Life().taken().closed(10, "satisfied"), Life().taken().closed(10, "unsatisfied")]
    report = run(*lives)
    row = report.rows[0]
    assert report.below_floor(row) == ["satisfaction_rate"]  # 50 % < 85 %
    data = report.to_dict()
    assert data["rows"][0]["below_floor"] == ["satisfaction_rate"]
    assert data["period"]["start"] == PERIOD[0].isoformat()
    assert data["config"]["indicators"]["satisfaction_rate"]["floor"] == 0.85
    display = report.as_rows(names={A: "二七区市场监督管理局"})
    assert display[0]["承办单位"] == "二七区市场监督管理局" and display[0]["满意率"] == "50.0%"
    assert list(display[0])[:4] == ["承办单位", "工单量", "办结量", "评价量"]


def test_bundled_definitions() -> None:
    config = default_config()
    assert set(get_args(CountName)) == set(COUNT_NAMES)
    assert config.satisfied_ratings == {Rating.very_satisfied, Rating.satisfied, Rating.basically_satisfied}
    assert config.exclude_statuses == {Status.rejected, Status.withdrawn, Status.merged}
    labels = {ind.label for ind in config.indicators.values()}
    assert {"响应率", "解决率", "满意率", "按时办结率", "催办率", "重办率"} <= labels
    assert all(ind.source and ind.numerator_text for ind in config.indicators.values())


def test_config_errors_name_the_file_field_and_line(tmp_path: Path) -> None:
    path = tmp_path / "indicators.yaml"
    text = BUNDLED.read_text(encoding="utf-8")
    path.write_text(text.replace("numerator: urged", "numerator: urgd"), encoding="utf-8")
    with pytest.raises(IndicatorConfigError) as info:
        IndicatorConfig.load(path)
    assert info.value.field == "indicators.urge_rate.numerator" and info.value.line is not None
    path.write_text(text.replace("[very_satisfied, satisfied, basically", "[great, satisfied, basically"))
    with pytest.raises(IndicatorConfigError, match="satisfied_ratings"):
        IndicatorConfig.load(path)
    path.write_text("indicators: [\n")
    with pytest.raises(IndicatorConfigError, match="无法读取"):
        IndicatorConfig.load(path)
