"""Working-day and working-hour arithmetic against the published 2025 and 2026 holiday schedules."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from bot.workdays import WorkCalendar

CAL = WorkCalendar()


def d(s: str) -> date:
    return date.fromisoformat(s)


def dt(s: str) -> datetime:
    return datetime.fromisoformat(s)


# -- national schedule (chinese_calendar data) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        # Spring Festival 2025: off 01-28…02-04; make-up workdays Sun 01-26 and Sat 02-08.
        ("2025-01-25", False),
        ("2025-01-26", True),
        ("2025-01-27", True),
        ("2025-01-28", False),
        ("2025-02-01", False),
        ("2025-02-04", False),
        ("2025-02-05", True),
        ("2025-02-08", True),
        ("2025-02-09", False),
        # National Day 2025: off 10-01…10-08; make-up Sun 09-28 and Sat 10-11.
        ("2025-09-27", False),
        ("2025-09-28", True),
        ("2025-10-01", False),
        ("2025-10-08", False),
        ("2025-10-09", True),
        ("2025-10-11", True),
        ("2025-10-12", False),
        # Spring Festival 2026 (chinese_calendar 1.11): off 02-15…02-23; make-up Sat 02-14, Sat 02-28.
        ("2026-02-13", True),
        ("2026-02-14", True),
        ("2026-02-15", False),
        ("2026-02-23", False),
        ("2026-02-24", True),
        ("2026-02-28", True),
        # National Day 2026: off 10-01…10-07; make-up Sun 09-20 and Sat 10-10.
        ("2026-09-20", True),
        ("2026-09-30", True),
        ("2026-10-01", False),
        ("2026-10-07", False),
        ("2026-10-08", True),
        ("2026-10-10", True),
        ("2026-10-11", False),
        # Plain week: Monday on, Saturday off.
        ("2025-03-03", True),
        ("2025-03-08", False),
    ],
)
def test_is_workday_follows_national_schedule(day: str, expected: bool) -> None:
    assert CAL.is_workday(d(day)) is expected


def test_is_workday_accepts_datetime() -> None:
    assert CAL.is_workday(dt("2025-02-08T10:00")) is True


@pytest.mark.parametrize("day", ["2003-06-02", "2099-01-05"])
def test_unsupported_year_raises_polite_value_error_naming_the_date(day: str) -> None:
    with pytest.raises(ValueError, match=day) as info:
        CAL.is_workday(d(day))
    assert not isinstance(info.value, NotImplementedError)
    assert "chinese-calendar" in str(info.value)


def test_unsupported_year_also_fails_in_arithmetic() -> None:
    with pytest.raises(ValueError, match="2099-"):
        CAL.add_workdays(dt("2099-01-05T10:00"), 3)


# -- local configuration -------------------------------------------------------------------------------


def test_local_extra_holiday_wins_over_national_workday() -> None:
    cal = WorkCalendar(extra_holidays=[d("2025-03-04")])  # a Tuesday
    assert cal.is_workday(d("2025-03-04")) is False
    # Monday + 1 wd skips the local closure.
    assert cal.add_workdays(dt("2025-03-03T10:00"), 1) == dt("2025-03-05T17:30")
    assert CAL.add_workdays(dt("2025-03-03T10:00"), 1) == dt("2025-03-04T17:30")


def test_local_extra_workday_wins_over_national_rest_day() -> None:
    cal = WorkCalendar(extra_workdays=[d("2025-03-08")])  # a Saturday
    assert cal.is_workday(d("2025-03-08")) is True
    assert cal.add_workdays(dt("2025-03-07T10:00"), 1) == dt("2025-03-08T17:30")


def test_local_config_answers_even_outside_supported_years() -> None:
    cal = WorkCalendar(extra_holidays=[d("2099-01-01")])
    assert cal.is_workday(d("2099-01-01")) is False


def test_date_in_both_local_lists_is_rejected() -> None:
    with pytest.raises(ValueError, match="2025-03-04"):
        WorkCalendar(extra_holidays=[d("2025-03-04")], extra_workdays=[d("2025-03-04")])


@pytest.mark.parametrize(
    "hours",
    [
        [],
        [(time(12), time(9))],
        [(time(9), time(12)), (time(11), time(17))],
        [(time(13), time(17)), (time(9), time(12))],
    ],
)
def test_bad_working_hours_are_rejected(hours: list[tuple[time, time]]) -> None:
    with pytest.raises(ValueError, match="working"):
        WorkCalendar(hours=hours)


# -- day arithmetic ------------------------------------------------------------------------------------


def test_next_workday_is_strictly_after() -> None:
    assert CAL.next_workday(d("2025-03-03")) == d("2025-03-04")
    assert CAL.next_workday(d("2025-03-07")) == d("2025-03-10")
    assert CAL.next_workday(d("2025-01-27")) == d("2025-02-05")
    assert CAL.next_workday(d("2025-02-07")) == d("2025-02-08")  # make-up Saturday


def test_inquiry_filed_day_before_spring_festival_2025() -> None:
    # Filed Mon 2025-01-27 (last workday before the holiday); day 1 = Wed 02-05, day 3 = Fri 02-07.
    assert CAL.add_workdays(dt("2025-01-27T16:00"), 3) == dt("2025-02-07T17:30")


def test_make_up_saturday_counts_as_working_day() -> None:
    # Filed Thu 02-06: day 1 Fri 02-07, day 2 is the make-up Sat 02-08, day 3 Mon 02-10.
    assert CAL.add_workdays(dt("2025-02-06T10:00"), 2) == dt("2025-02-08T17:30")
    assert CAL.add_workdays(dt("2025-02-06T10:00"), 3) == dt("2025-02-10T17:30")


def test_inquiry_filed_day_before_national_day_2025() -> None:
    # Filed Tue 09-30: day 1 Thu 10-09, day 2 Fri 10-10, day 3 make-up Sat 10-11.
    assert CAL.add_workdays(dt("2025-09-30T09:00"), 3) == dt("2025-10-11T17:30")


def test_inquiry_filed_day_before_spring_festival_2026() -> None:
    # Filed make-up Sat 02-14: day 1 Tue 02-24, day 2 Wed 02-25, day 3 Thu 02-26.
    assert CAL.add_workdays(dt("2026-02-14T11:00"), 3) == dt("2026-02-26T17:30")


def test_complaint_over_national_day_2026() -> None:
    # Filed Wed 09-30: 10 wd = 10-08, 09, 10(Sat make-up), 12, 13, 14, 15, 16, 19, 20.
    assert CAL.add_workdays(dt("2026-09-30T15:00"), 10) == dt("2026-10-20T17:30")


def test_start_on_non_working_day_counts_from_next_working_day() -> None:
    # Filed during the holiday (Sat 2025-02-01): day 1 = Wed 02-05.
    assert CAL.add_workdays(dt("2025-02-01T10:00"), 1) == dt("2025-02-05T17:30")
    # Friday evening and Saturday give the same deadline: the start day is never counted.
    assert CAL.add_workdays(dt("2025-03-07T22:00"), 1) == CAL.add_workdays(dt("2025-03-08T08:00"), 1)


def test_zero_workdays_means_same_working_day() -> None:
    assert CAL.add_workdays(dt("2025-03-03T10:00"), 0) == dt("2025-03-03T17:30")
    assert CAL.add_workdays(dt("2025-03-08T10:00"), 0) == dt("2025-03-10T17:30")


def test_negative_amounts_are_rejected() -> None:
    with pytest.raises(ValueError):
        CAL.add_workdays(dt("2025-03-03T10:00"), -1)
    with pytest.raises(ValueError):
        CAL.add_work_hours(dt("2025-03-03T10:00"), -0.5)
    with pytest.raises(ValueError):
        CAL.add_clock_hours_rolling(dt("2025-03-03T10:00"), -1)


def test_workdays_between_is_inverse_of_add_workdays() -> None:
    assert CAL.workdays_between(d("2025-01-27"), d("2025-02-07")) == 3
    assert CAL.workdays_between(d("2025-02-07"), d("2025-01-27")) == -3
    assert CAL.workdays_between(d("2025-03-03"), d("2025-03-03")) == 0
    start = dt("2025-09-26T10:00")
    for n in range(0, 15):
        due = CAL.add_workdays(start, n)
        assert CAL.workdays_between(start, due) == n


def test_add_days_rolling_rolls_to_next_working_day() -> None:
    # Fri + 1 day = Saturday → Monday close of business.
    assert CAL.add_days_rolling(dt("2025-03-07T10:00"), 1) == dt("2025-03-10T17:30")
    assert CAL.add_days_rolling(dt("2025-03-03T10:00"), 3) == dt("2025-03-06T17:30")


# -- hour arithmetic -----------------------------------------------------------------------------------


def test_work_hours_skip_lunch_break() -> None:
    # 11:00 + 2 h: one hour until 12:00, lunch skipped, one hour from 13:30.
    assert CAL.add_work_hours(dt("2025-03-03T11:00"), 2) == dt("2025-03-03T14:30")


def test_work_hours_skip_night_and_weekend() -> None:
    # Fri 16:30 + 2 h: one hour until 17:30, weekend skipped, one hour from Mon 09:00.
    assert CAL.add_work_hours(dt("2025-03-07T16:30"), 2) == dt("2025-03-10T10:00")


def test_work_hours_start_outside_hours_begins_at_next_opening() -> None:
    assert CAL.add_work_hours(dt("2025-03-03T07:00"), 1) == dt("2025-03-03T10:00")
    assert CAL.add_work_hours(dt("2025-03-03T12:30"), 0.5) == dt("2025-03-03T14:00")
    assert CAL.add_work_hours(dt("2025-03-03T20:00"), 1) == dt("2025-03-04T10:00")


def test_work_hours_ending_exactly_at_close_stays_on_that_day() -> None:
    assert CAL.add_work_hours(dt("2025-03-03T15:30"), 2) == dt("2025-03-03T17:30")


def test_work_hours_24h_spans_three_working_days_and_holiday() -> None:
    # A working day has 7 h: Mon 01-27 09:00 + 24 h = 7 (01-27) + 7 + 7 + 3 → day 4 at 12:00.
    # 01-27 is followed by the Spring Festival, so days 2–4 are 02-05, 02-06, 02-07.
    assert CAL.add_work_hours(dt("2025-01-27T09:00"), 24) == dt("2025-02-07T12:00")


def test_work_hours_count_make_up_sunday() -> None:
    # Sat 2025-01-25 is off, Sun 01-26 is a make-up workday.
    assert CAL.add_work_hours(dt("2025-01-25T10:00"), 1) == dt("2025-01-26T10:00")


def test_work_hours_with_custom_hours() -> None:
    cal = WorkCalendar(hours=[(time(8, 0), time(12, 0)), (time(14, 0), time(18, 0))])
    assert cal.add_work_hours(dt("2025-03-03T11:00"), 2) == dt("2025-03-03T15:00")
    assert cal.add_workdays(dt("2025-03-03T11:00"), 1) == dt("2025-03-04T18:00")


def test_zero_work_hours_returns_start() -> None:
    assert CAL.add_work_hours(dt("2025-03-08T03:00"), 0) == dt("2025-03-08T03:00")


def test_clock_hours_rolling_keeps_working_day_result() -> None:
    assert CAL.add_clock_hours_rolling(dt("2025-03-03T16:00"), 24) == dt("2025-03-04T16:00")


def test_acknowledge_due_on_holiday_rolls_to_next_working_day() -> None:
    # Dispatched Mon 2025-01-27 10:00; 24 h later is Tue 01-28 (Spring Festival) → Wed 02-05 10:00.
    assert CAL.add_clock_hours_rolling(dt("2025-01-27T10:00"), 24) == dt("2025-02-05T10:00")
    # Fri 16:00 + 24 h = Sat 16:00 → Mon 16:00.
    assert CAL.add_clock_hours_rolling(dt("2025-03-07T16:00"), 24) == dt("2025-03-10T16:00")
    # Sat 2025-02-08 is a make-up workday: no roll-over.
    assert CAL.add_clock_hours_rolling(dt("2025-02-07T09:00"), 24) == dt("2025-02-08T09:00")


def test_plain_clock_hours_ignore_holidays() -> None:
    assert CAL.add_clock_hours(dt("2025-01-31T23:00"), 2) == dt("2025-02-01T01:00")


def test_timezone_is_preserved() -> None:
    cst = timezone(timedelta(hours=8))
    start = datetime(2025, 1, 27, 16, 0, tzinfo=cst)
    assert CAL.add_workdays(start, 3) == datetime(2025, 2, 7, 17, 30, tzinfo=cst)
    assert CAL.add_work_hours(start, 2).tzinfo is cst
    assert CAL.add_clock_hours_rolling(start, 24) == datetime(2025, 2, 5, 16, 0, tzinfo=cst)
