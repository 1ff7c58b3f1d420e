"""无事不扰: when a push to an entrepreneur may go out.

Not at night (default 21:00–08:00) and not on non-working days (the Chinese calendar, 调休
included): an item due then waits for the next allowed moment. Staff items and urgent items are
not held (the caller decides which those are). Pure: the time is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bot.workdays import WorkCalendar


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time = time(21, 0)  # from this time on, nothing is pushed …
    end: time = time(8, 0)  # … until this time (the next morning)
    workdays_only: bool = True  # weekends and holidays are quiet all day (调休 days are not)

    def __post_init__(self) -> None:
        if not self.end < self.start:
            raise ValueError(f"quiet hours must run overnight: {self.start}–{self.end}")

    def allowed(self, t: datetime, calendar: WorkCalendar) -> bool:
        day_ok = calendar.is_workday(t.date()) or not self.workdays_only
        return day_ok and self.end <= t.time() < self.start

    def next_allowed(self, t: datetime, calendar: WorkCalendar) -> datetime:
        """`t` itself if a push may go out then, else the first moment after it that may."""
        if self.allowed(t, calendar):
            return t
        day = t.date() if t.time() < self.end else t.date() + timedelta(days=1)
        while self.workdays_only and not calendar.is_workday(day):
            day += timedelta(days=1)
        return datetime.combine(day, self.end, tzinfo=t.tzinfo)
