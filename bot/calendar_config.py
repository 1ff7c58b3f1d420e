"""Load the district's local calendar (`bot/data/calendar.yaml`) into a `WorkCalendar`.

The national schedule is data maintained upstream (chinese-calendar); what the district adds, a
closure or a local make-up day, is data here, validated so that a typo is an error naming the file
and field rather than a silently wrong deadline.
"""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from bot.datafiles import read_data_file
from bot.workdays import WorkCalendar
from knowledge.yamlio import parse_yaml


class CalendarFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    extra_holidays: tuple[date, ...] = ()
    extra_workdays: tuple[date, ...] = ()
    hours: tuple[tuple[time, time], ...] = ((time(9), time(12)), (time(13, 30), time(17, 30)))


class CalendarConfigError(ValueError):
    """The calendar file cannot be used; the message names the file and the field."""


def load_calendar(path: Path | None = None) -> WorkCalendar:
    """The bundled calendar file, or `path`."""
    where, text = read_data_file(
        path, "data/calendar.yaml", lambda w, msg: CalendarConfigError(f"{w}：{msg}")
    )
    try:
        doc = parse_yaml(text) or {}
    except (yaml.YAMLError, ValueError) as exc:  # PyYAML builds dates itself: 2026-13-01 fails here
        raise CalendarConfigError(f"{where}：无法解析（{exc}）") from None
    try:
        parsed = CalendarFile.model_validate(doc)
        return WorkCalendar(parsed.extra_holidays, parsed.extra_workdays, parsed.hours)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "（整个文件）"
        raise CalendarConfigError(f"{where}，字段 {field}：{err['msg']}") from None
    except ValueError as exc:  # WorkCalendar's own checks (overlapping hours, a date in both lists)
        raise CalendarConfigError(f"{where}：{exc}") from None
