"""Working days and working hours for 12345 deadlines, with China's holidays and 调休.

Hotline time limits are counted in working days, and in China a weekend day is not simply a day
off: the State Council moves workdays around each holiday (调休), so some Saturdays and Sundays are
working days. The maintained `chinese_calendar` package carries the published schedules; the district
can add its own closures or extra working days on top, and that local configuration always wins.

Everything here is pure: the time is always passed in, nothing reads the clock, and the datetimes
returned keep the caller's `tzinfo` (naive in, naive out). The rules for counting follow the civil
code's rules for periods (民法典 art. 201: the starting day is not counted; art. 203: a period whose
last day is a holiday ends on the next working day, at the end of business hours).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from itertools import pairwise

import chinese_calendar

WorkingHours = tuple[tuple[time, time], ...]

DEFAULT_HOURS: WorkingHours = ((time(9, 0), time(12, 0)), (time(13, 30), time(17, 30)))
"""Office hours with the lunch break split out: 09:00–12:00 and 13:30–17:30."""

_ONE_DAY = timedelta(days=1)


def _check_hours(hours: Sequence[tuple[time, time]]) -> WorkingHours:
    """Blocks must be non-empty, each start < end, sorted and non-overlapping, all on one day."""
    blocks = tuple((start, end) for start, end in hours)
    if not blocks:
        raise ValueError("working hours must contain at least one (start, end) block")
    for start, end in blocks:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError(f"working hours must be naive wall-clock times, got {start}–{end}")
        if not start < end:
            raise ValueError(f"working-hours block {start}–{end}: start must be before end")
    for (_, prev_end), (start, _) in pairwise(blocks):
        if start < prev_end:
            raise ValueError(f"working-hours blocks must be sorted and must not overlap (at {start})")
    return blocks


class WorkCalendar:
    """Which days are working days and which hours of them count.

    `extra_holidays` are local closures (e.g. a district-ordered day off); `extra_workdays` are local
    make-up days. Both override `chinese_calendar`; a date may not be in both.
    """

    def __init__(
        self,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
        hours: Sequence[tuple[time, time]] = DEFAULT_HOURS,
    ) -> None:
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_workdays = frozenset(extra_workdays)
        both = self.extra_holidays & self.extra_workdays
        if both:
            listed = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"dates configured both as extra holiday and extra workday: {listed}")
        self.hours: WorkingHours = _check_hours(hours)

    # -- days ---------------------------------------------------------------------------------------

    def is_workday(self, day: date) -> bool:
        """Local configuration first, then the national schedule (statutory holidays and 调休)."""
        if isinstance(day, datetime):
            day = day.date()
        if day in self.extra_holidays:
            return False
        if day in self.extra_workdays:
            return True
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError as exc:
            # The package only knows the years whose schedule the State Council has published.
            raise ValueError(
                f"{day.isoformat()}: no holiday schedule for {day.year} ({exc}); "
                "upgrade chinese-calendar or configure the days locally"
            ) from None

    def next_workday(self, day: date) -> date:
        """The first working day strictly after `day` (never `day` itself)."""
        if isinstance(day, datetime):
            day = day.date()
        nxt = day + _ONE_DAY
        while not self.is_workday(nxt):
            nxt += _ONE_DAY
        return nxt

    def workday_on_or_after(self, day: date) -> date:
        """`day` if it is a working day, else the next working day."""
        if isinstance(day, datetime):
            day = day.date()
        return day if self.is_workday(day) else self.next_workday(day)

    def workdays_between(self, a: date, b: date) -> int:
        """Working days in the half-open range (a, b]: `a` not counted, `b` counted.

        This matches `add_workdays`: if `add_workdays(start, n)` falls on day D, then
        `workdays_between(start, D) == n`. Returns a negative count when b < a, 0 when equal.
        """
        if isinstance(a, datetime):
            a = a.date()
        if isinstance(b, datetime):
            b = b.date()
        if b < a:
            return -self.workdays_between(b, a)
        count, day = 0, a
        while day < b:
            day += _ONE_DAY
            count += self.is_workday(day)
        return count

    # -- deadlines ----------------------------------------------------------------------------------

    def end_of_day(self, day: date, like: datetime) -> datetime:
        """Close of business (end of the last working-hours block) on `day`, in `like`'s tzinfo."""
        return datetime.combine(day, self.hours[-1][1], tzinfo=like.tzinfo)

    def add_workdays(self, start: datetime, n: int) -> datetime:
        """Deadline of an n-working-day limit: close of business on the n-th working day after `start`'s day.

        Rule: the day of `start` is never counted, whatever the hour (民法典 art. 201: 开始的当日不计入);
        day 1 is the first working day strictly after that calendar day. So a petition filed on a
        Friday or on a Saturday both count Monday as day 1 (if Monday is a working day): a start on a
        non-working day simply means counting starts from the next working day. The deadline is the end
        of the last working-hours block (17:30 by default) of day n. `n == 0` means "the same working
        day": close of business on `start`'s day if it is a working day, else on the next working day.
        """
        if n < 0:
            raise ValueError(f"number of working days must be >= 0, got {n}")
        day = start.date()
        if n == 0:
            return self.end_of_day(self.workday_on_or_after(day), start)
        for _ in range(n):
            day = self.next_workday(day)
        return self.end_of_day(day, start)

    def add_days_rolling(self, start: datetime, n: int) -> datetime:
        """Deadline of an n-calendar-day limit: close of business on `start`'s day + n days, rolled over.

        Used where a source says "天" rather than "工作日" (the 13710 enterprise clock). The start day
        is not counted (民法典 art. 201); if day n is not a working day the deadline becomes close of
        business on the next working day (art. 203). `n == 0` behaves as in `add_workdays`.
        """
        if n < 0:
            raise ValueError(f"number of days must be >= 0, got {n}")
        return self.end_of_day(self.workday_on_or_after(start.date() + timedelta(days=n)), start)

    def add_work_hours(self, start: datetime, hours: float) -> datetime:
        """The moment when `hours` of working time have passed since `start`.

        Only time inside working-hours blocks on working days counts: lunch breaks, nights, weekends
        and holidays are skipped, and 调休 weekend workdays count. A `start` outside working time
        begins counting at the next block's opening. A deadline that is used up exactly at the end of a
        block is that block's end (17:30 today, not 09:00 tomorrow). `hours == 0` returns `start`.
        """
        if hours < 0:
            raise ValueError(f"number of working hours must be >= 0, got {hours}")
        remaining = timedelta(hours=hours)
        if not remaining:
            return start
        tz = start.tzinfo
        day = start.date()
        while True:
            if self.is_workday(day):
                for open_t, close_t in self.hours:
                    block_end = datetime.combine(day, close_t, tzinfo=tz)
                    block_start = max(datetime.combine(day, open_t, tzinfo=tz), start)
                    if block_start >= block_end:
                        continue
                    available = block_end - block_start
                    if remaining <= available:
                        return block_start + remaining
                    remaining -= available
            day = self.next_workday(day)

    def add_clock_hours(self, start: datetime, hours: float) -> datetime:
        """Plain wall-clock hours, day and night, holidays included: for emergencies (急事)."""
        if hours < 0:
            raise ValueError(f"number of hours must be >= 0, got {hours}")
        return start + timedelta(hours=hours)

    def add_clock_hours_rolling(self, start: datetime, hours: float) -> datetime:
        """`start + hours` on the wall clock; if that lands on a non-working day, the same clock time
        on the next working day.

        This is the Henan reading of "派单/签收 ≤24 h, 非工作日顺延": the 24 h run day and night, but a
        due time that falls on a weekend or holiday moves forward to the next working day. Keeping the
        time of day (rather than jumping to close of business) never shortens the limit, gives the
        unit at least the full 24 h, and keeps the deadline predictable ("Friday 16:00 + 24 h → Monday
        16:00"). The due time is not clamped into office hours: a due time of Monday 20:00 stays 20:00.
        """
        if hours < 0:
            raise ValueError(f"number of hours must be >= 0, got {hours}")
        due = start + timedelta(hours=hours)
        if self.is_workday(due.date()):
            return due
        return datetime.combine(self.next_workday(due.date()), due.timetz())
