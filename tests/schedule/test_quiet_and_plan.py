"""无事不扰 and the per-pass decisions, on plain values and the real Chinese calendar."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from bot.calendar_config import load_calendar
from bot.schedule.model import Item, Kind, Target
from bot.schedule.plan import Verdict, plan
from bot.schedule.quiet import QuietHours

CST = timezone(timedelta(hours=8))
CAL = load_calendar()
QUIET = QuietHours()


def at(day: str, hhmm: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=CST)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at("2026-11-26", "10:00"), at("2026-11-26", "10:00")),  # a Thursday in the day: now
        (at("2026-11-26", "21:00"), at("2026-11-27", "08:00")),  # 21:00 is already quiet
        (at("2026-11-26", "07:59"), at("2026-11-26", "08:00")),
        (at("2026-11-27", "22:30"), at("2026-11-30", "08:00")),  # Friday night → Monday
        (at("2026-11-28", "12:00"), at("2026-11-30", "08:00")),  # Saturday
        (at("2026-09-30", "20:00"), at("2026-09-30", "20:00")),
        (at("2026-10-01", "09:00"), at("2026-10-08", "08:00")),  # National Day 2026: 10-1…10-7 off
        (at("2026-10-10", "09:00"), at("2026-10-10", "09:00")),  # a Saturday 调休 working day
    ],
)
def test_next_allowed_skips_nights_weekends_and_holidays(now: datetime, expected: datetime) -> None:
    assert QUIET.next_allowed(now, CAL) == expected


def test_quiet_hours_must_run_overnight() -> None:
    with pytest.raises(ValueError, match="overnight"):
        QuietHours(start=time(8, 0), end=time(21, 0))


def item(kind: Kind, due: datetime, key: str, who: str = "p1", group: str = "", n: int = 1) -> Item:
    return Item(
        kind,
        Target("person" if kind is not Kind.deadline_warning else "unit", who),
        due,
        "x",
        key,
        group,
        id=n,
    )


def verdicts(decisions: list) -> dict[str, tuple[Verdict, datetime | None, str]]:  # type: ignore[type-arg]
    return {d.item.key: (d.verdict, d.at, d.note) for d in decisions}


def test_petitioner_items_wait_for_the_morning_staff_items_do_not() -> None:
    night = at("2026-11-26", "23:00")
    due = [item(Kind.visit, night, "v"), item(Kind.deadline_warning, night, "w", "urban", "g", 2)]
    got = verdicts(plan(due, night, CAL, quiet=QUIET, sent_today={}))
    assert got["v"] == (Verdict.defer, at("2026-11-27", "08:00"), "quiet hours")
    assert got["w"][0] is Verdict.send


def test_merge_keeps_only_the_newest_of_a_group() -> None:
    now = at("2026-11-26")
    due = [
        item(Kind.deadline_warning, now - timedelta(days=2), "w50", "urban", "deadline:EQ-1", 1),
        item(Kind.deadline_warning, now - timedelta(days=1), "w80", "urban", "deadline:EQ-1", 2),
        item(Kind.deadline_warning, now - timedelta(days=1), "x50", "urban", "deadline:EQ-2", 3),
    ]
    got = verdicts(plan(due, now, CAL, quiet=QUIET, sent_today={}))
    assert got["w50"] == (Verdict.drop, None, "merged into w80")
    assert got["w80"][0] is Verdict.send and got["x50"][0] is Verdict.send


def test_stale_polls_are_dropped_with_a_record_and_late_notices_still_go() -> None:
    now = at("2026-11-26")
    due = [
        item(Kind.poll, now - timedelta(days=4), "poll"),
        item(Kind.notice, now - timedelta(days=4), "n", "p2", n=2),
    ]
    got = verdicts(plan(due, now, CAL, quiet=QUIET, sent_today={}))
    assert got["poll"][0] is Verdict.drop and got["poll"][2].startswith("stale")
    assert got["n"][0] is Verdict.send


def test_unsubscribed_people_get_no_polls_but_still_their_notices() -> None:
    now = at("2026-11-26")
    due = [item(Kind.poll, now, "poll"), item(Kind.notice, now, "n", n=2)]
    got = verdicts(plan(due, now, CAL, quiet=QUIET, sent_today={}, unsubscribed={"p1"}))
    assert got["poll"] == (Verdict.drop, None, "unsubscribed")
    assert got["n"][0] is Verdict.send


def test_the_daily_cap_counts_earlier_pushes_and_this_pass() -> None:
    now = at("2026-11-27", "16:00")  # a Friday: over the cap waits for Monday morning
    due = [item(Kind.notice, now, f"n{i}", n=i) for i in range(3)]
    got = verdicts(plan(due, now, CAL, quiet=QUIET, sent_today={"p1": 1}, daily_cap=3))
    assert [got[f"n{i}"][0] for i in range(3)] == [Verdict.send, Verdict.send, Verdict.defer]
    assert got["n2"][1] == at("2026-11-30", "08:00")
