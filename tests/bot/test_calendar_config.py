"""The district's local calendar file: local closures and make-up days override the national one."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.calendar_config import CalendarConfigError, load_calendar

CST = timezone(timedelta(hours=8))


def test_bundled_calendar_follows_the_national_schedule() -> None:
    cal = load_calendar()
    assert not cal.is_workday(date(2026, 10, 1))  # National Day
    assert cal.is_workday(date(2026, 10, 10))  # make-up Saturday


def test_local_closure_and_make_up_day_move_deadlines(tmp_path: Path) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text("extra_holidays: [2026-11-27]\nextra_workdays: [2026-11-28]\n", encoding="utf-8")
    cal = load_calendar(path)
    assert not cal.is_workday(date(2026, 11, 27)) and cal.is_workday(date(2026, 11, 28))
    due = cal.add_workdays(datetime(2026, 11, 26, 10, 0, tzinfo=CST), 2)
    assert due.date() == date(2026, 11, 30)  # 11-27 closed, 11-28 open, 11-29 Sunday


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("extra_holidays: [2026-13-01]\n", "month must be in 1..12"),
        ("extra_holidays: [tomorrow]\n", "extra_holidays"),
        ("extra_holiday: []\n", "extra_holiday"),
        ('hours: [["09:00", "12:00"], ["11:00", "17:00"]]\n', "overlap"),
        ("extra_holidays: [2026-11-27]\nextra_workdays: [2026-11-27]\n", "2026-11-27"),
    ],
)
def test_bad_calendar_files_name_the_problem(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CalendarConfigError, match=needle) as info:
        load_calendar(path)
    assert "calendar.yaml" in str(info.value)


def test_an_unreadable_calendar_file_is_named_in_the_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-calendar.yaml"
    with pytest.raises(CalendarConfigError, match=r"no-such-calendar\.yaml：无法读取文件"):
        load_calendar(missing)
    garbled = tmp_path / "gbk.yaml"
    garbled.write_bytes("extra_holidays: [] # 二七区".encode("gbk"))
    with pytest.raises(CalendarConfigError, match=r"gbk\.yaml：无法读取文件"):
        load_calendar(garbled)
